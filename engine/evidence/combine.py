"""From many extracted findings to the engine's evidence: hard answers and likelihood vectors."""

from __future__ import annotations

from collections.abc import Iterable

from engine.evidence.model import HARD_STRENGTH, ExtractedAnswer
from engine.kb.knowledge import KnowledgeBase
from engine.reason.evidence import SoftAnswer

SOFT_FLOOR = 0.01
"""Strengths are clamped to [0.01, 0.99] inside a soft vector so that two opposite findings of
strength 1 give a flat likelihood (they cancel) instead of a division by zero."""


def strongest(found: Iterable[ExtractedAnswer]) -> dict[str, dict[str, ExtractedAnswer]]:
    """question -> answer -> the strongest finding for it.

    Repeats of one answer are not multiplied together: a hundred timeout lines from one stalled
    peer are one fact seen a hundred times, and their false-positive causes repeat with them.
    """
    best: dict[str, dict[str, ExtractedAnswer]] = {}
    for finding in found:
        answers = best.setdefault(finding.question, {})
        current = answers.get(finding.answer)
        if current is None or finding.strength > current.strength:
            answers[finding.answer] = finding
    return best


def to_evidence(
    found: list[ExtractedAnswer], kb: KnowledgeBase | None = None
) -> tuple[dict[str, str], list[SoftAnswer]]:
    """Hard answers (one answer, strength >= 0.95) and soft likelihoods for everything else.

    A finding of strength ``s`` for answer ``a`` means ``P(line | other answer) = (1 - s) *
    P(line | a)``: the likelihood ``{a: 1, every other answer: 1 - s}`` (see
    :class:`ExtractedAnswer`). Findings for different answers of one question multiply, so
    contradicting lines weaken each other instead of one silently winning.

    With ``kb`` every answer of the question is listed and the largest entry is 1. Without it only
    the answers the findings name are listed, scaled so that unnamed answers stand at 1 (the
    engine reads a missing answer as likelihood 1): ``{a: 1 / (1 - s)}`` -- the same evidence.

    Typed answers always override extracted ones: merge them *last*, as in
    ``build_evidence(kb, {**hard, **typed}, soft=soft)``; ``build_evidence`` drops a soft finding
    whenever its question also has a hard answer (and a typed ``unknown`` removes the extracted
    hard answer without adding evidence).
    """
    hard: dict[str, str] = {}
    soft: list[SoftAnswer] = []
    for question, answers in strongest(found).items():
        if len(answers) == 1:
            (answer, finding), = answers.items()
            if finding.strength >= HARD_STRENGTH:
                hard[question] = answer
                continue
        states = kb.questions[question].answers if kb is not None and question in kb.questions else None
        soft.append(_soft(question, answers, states))
    return hard, soft


def _soft(question: str, answers: dict[str, ExtractedAnswer], states: list[str] | None) -> SoftAnswer:
    named = {a: 1.0 / (1.0 - min(max(f.strength, SOFT_FLOOR), 1.0 - SOFT_FLOOR)) for a, f in answers.items()}
    if states is None:
        likelihood = named
    else:
        full = {state: named.get(state, 1.0) for state in states}
        top = max(full.values())
        likelihood = {state: value / top for state, value in full.items()}
    sources = "; ".join(f"{f.extractor}:{f.line_number}" for f in answers.values())
    return SoftAnswer(question, likelihood, sources)
