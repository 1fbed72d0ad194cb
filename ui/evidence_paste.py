"""Pasted logs, bounces, zone files and tool output → proposed answers, each with the line behind it.

A thin adapter over ``Service.read_artifacts`` so the page deals in one small shape and can say
plainly when the extractor is not installed, instead of failing on import.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.service import Service


@dataclass(frozen=True)
class Finding:
    """One proposed answer: staff see the line that matched and may override the answer."""

    question: str
    answer: str
    strength: float
    line: str
    line_number: int
    strong: bool
    """Strong enough for the engine to take as a hard answer; weaker lines are flagged for a second look."""


@dataclass(frozen=True)
class Pasted:
    """What a paste gave: proposed answers, and the error-like lines that nothing understood."""

    findings: list[Finding]
    unmatched: list[tuple[int, str]]
    """(line number, redacted line): shown as "these lines were not understood" rather than nothing."""


def read_paste(text: str, pack: str, service: Service | None = None) -> Pasted | None:
    """The strongest finding per (question, answer), in order of first appearance; None without extractor.

    Repeats of one log line add nothing for staff to review, so only the strongest is kept; two
    different answers to one question are both shown, because that conflict is what staff must judge.
    E-mail addresses are redacted from the lines, since they are shown and may be stored in cases.
    """
    service = service or Service()
    try:
        reading = service.read_artifacts(pack, [text], keep_emails=False).texts[0]
        hard = service.hard_strength()
    except ImportError:
        return None
    questions = service.pack_view(pack).questions
    best: dict[tuple[str, str], Finding] = {}
    for item in reading.findings:
        if item.question not in questions:
            continue
        finding = Finding(item.question, item.answer, float(item.strength), item.source_line, item.line_number,
                          item.strength >= hard)
        key = (item.question, item.answer)
        if key not in best or finding.strength > best[key].strength:
            best[key] = finding
    return Pasted(list(best.values()), [(line.line_number, line.text) for line in reading.unmatched])
