"""The reply-code layer: soft evidence from SMTP reply codes, enhanced status codes and vendor tokens.

A line whose wording no signature knows still carries a code chosen from a registry: RFC 5321's
basic reply codes (``550``), RFC 3463 / RFC 5248 enhanced status codes (``5.2.2``) and the tokens
big receivers add (Yahoo's ``[TSS04]``, Outlook.com's ``(S3150)``). What each code says about the
pack's questions is data (``reply_codes.yaml``, validated by :class:`engine.kb.schema.ReplyCode`),
always as soft evidence.

Specific beats broad, at two levels:

* on one line, a vendor token beats an enhanced code, which beats a basic code: ``552 5.2.2`` is a
  full mailbox, not the size limit ``552`` alone would suggest. The most specific *known* level
  decides, even when it bears on no question (``550 5.5.2`` says nothing, and neither does 550);
* a signature that matched the line beats the registry: on such a line only vendor entries (a
  provider's own code or token, more specific than any wording) still speak, and the RFC
  readings, which a specific signature has already refined, add nothing that could contradict it.
  Signatures about the reply's class do not count here: those of the ``reply_class`` extractor,
  and any other answering the questions they answer. They read only whether a failure is
  temporary or permanent (RFC 5321 4.2.1), refine no reading of a code, and so leave the codes
  free to say what failed.

Within a code, an entry whose ``text`` phrase occurs in the line beats the plain reading, and a
class-specific entry (``4.7.1``) beats one for both classes (``X.7.1``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.evidence.model import ExtractedAnswer, Line
from engine.evidence.signatures import joined
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import ReplyCode

_NUMERIC = re.compile(r"[45](?:\d\d(?=[ -]|$|, b?['\"])|\.[0-7]\.\d{1,3}(?![\w]|\.\d))", re.MULTILINE)
"""Basic (``550``) and enhanced (``5.7.1``) codes. The pattern starts with a character class, which
the regex engine scans for at C speed; the context a code needs on its left is checked afterwards.
A basic code may also end in ``, b'`` : Python's smtplib prints a reply as the pair
``(550, b'5.7.60 ...')``, and the ``(`` before it is context enough."""
_TOKEN = re.compile(r"[\[(](?P<token>(?:TSS|PH)\d{2}|S\d{3,5}|(?:SC|DY|OU)-\d{3})[\])]"
                    r"|(?<![\w.-])[45]\d\d[ -](?P<bare>(?:SC|DY|OU)-\d{3})(?![\w-])")
"""Vendor tokens, written in brackets or parentheses (``[TSS04]``, ``(S3150)``), or, for
Outlook.com's SC/DY/OU codes, bare after the reply code: ``550 SC-001 (BAY004-MC1F31) ...``."""
_BASIC_AFTER = "\n'\"("
"""A basic code counts at the start of a line, after ``: `` (``said: 550``) or after a quote or
parenthesis (``'550 ...``): elsewhere a three-digit number is a size, a port or a count."""
_ENHANCED_AFTER = "\n=#([\"'"
"""An enhanced code counts at the start of a line, after one of these (``dsn=5.1.1``, ``#5.1.1``,
``(5.7.1)``), after ``: `` or ``; `` (``Status: 5.1.1``) or after a basic code (``550-5.7.26``):
elsewhere ``4.7.1`` is a version or a section number in prose."""


def _enhanced_context(block: str, start: int) -> bool:
    before = block[start - 1]
    if before in _ENHANCED_AFTER or block[start - 2:start] in (": ", "; "):
        return True
    basic = block[start - 4:start - 1]
    return before in " -" and basic[:1] in "245" and basic.isdigit() and not block[start - 5:start - 4].isalnum()

RFC_SOURCE = "rfc"
_LEVELS = ("token", "enhanced", "basic")
"""Most specific first."""


@dataclass(frozen=True)
class CodeTable:
    """The pack's reply-code entries indexed by code, compiled once per pack version."""

    exact: dict[str, list[ReplyCode]]
    ranges: list[tuple[str, int, int, ReplyCode]]
    """(class.subject prefix such as "5.7", first detail, last detail, entry) for ranges."""

    def readings(self, code: str, lowered_line: str) -> list[ReplyCode] | None:
        """The entries that read ``code`` on this line; None when the code is unknown."""
        tiers: list[list[ReplyCode]] = [self.exact.get(code, [])]
        if code[:1] in "45" and code.count(".") == 2:
            prefix, detail = code.rsplit(".", 1)
            tiers.append([entry for head, low, high, entry in self.ranges
                          if head == prefix and low <= int(detail) <= high])
            tiers.append(self.exact.get("X" + code[1:], []))
        known = False
        for tier in tiers:
            if not tier:
                continue
            known = True
            phrased = [entry for entry in tier if entry.text and entry.text.lower() in lowered_line]
            if phrased:
                return phrased
            plain = [entry for entry in tier if not entry.text]
            if plain:
                return plain
        return [] if known else None


_TABLES: dict[tuple[str, str], CodeTable] = {}


def code_table(kb: KnowledgeBase) -> CodeTable:
    """The pack's entries by code (ranges such as ``5.7.606-649`` apart), built once per version."""
    key = (kb.id, kb.version_hash)
    if key not in _TABLES:
        exact: dict[str, list[ReplyCode]] = {}
        ranges: list[tuple[str, int, int, ReplyCode]] = []
        for entry in kb.reply_codes:
            if "-" in entry.code and entry.code[1] == ".":
                head, _, span = entry.code.rpartition(".")
                low, _, high = span.partition("-")
                ranges.append((head, int(low), int(high), entry))
            else:
                exact.setdefault(entry.code, []).append(entry)
        _TABLES[key] = CodeTable(exact, ranges)
    return _TABLES[key]


CLASS_EXTRACTOR = "reply_class"
"""The extractor of signatures that say whether a failure is temporary or permanent, and nothing of
what failed: their matches do not silence the RFC readings of a line's codes."""


def class_questions(kb: KnowledgeBase) -> frozenset[str]:
    """The questions the ``reply_class`` signatures answer: whichever pattern answers them (a bare
    reply pasted from a client is read by another family) reads a reply's class, not its detail."""
    return frozenset(s.question for s in kb.signatures.values() if s.extractor == CLASS_EXTRACTOR)


def understood_lines(found: Iterable[ExtractedAnswer], kb: KnowledgeBase) -> set[int]:
    """Numbers of the lines a signature understood, for :func:`code_findings` (class readings aside)."""
    reply_class = class_questions(kb)
    return {f.line_number for f in found if f.signature_id is not None and f.question not in reply_class}


def line_codes(lines: Sequence[Line]) -> dict[int, dict[str, list[str]]]:
    """Line index -> level -> the codes found at that level, for lines that carry any code.

    One search over the joined lines (a leading space, which marks continuation lines, is no
    obstacle: each line is searched from its first non-blank character).
    """
    block, starts = joined([line.text.lstrip() for line in lines])
    block = "\n" + block  # every line now follows a newline, the first one too
    found: dict[int, dict[str, list[str]]] = {}

    def note(position: int, level: str, code: str) -> None:
        index = bisect.bisect_right(starts, position - 1) - 1
        found.setdefault(index, {}).setdefault(level, []).append(code)

    for match in _NUMERIC.finditer(block):
        code, start = match.group(), match.start()
        if "." in code:
            if _enhanced_context(block, start):
                note(start, "enhanced", code)
        elif block[start - 1] in _BASIC_AFTER or block[start - 2:start] == ": ":
            note(start, "basic", code)
    for match in _TOKEN.finditer(block):
        group = "token" if match["token"] else "bare"
        note(match.start(group), "token", match[group])
    return found


def code_findings(lines: Sequence[Line], families: Sequence[str], codes: dict[int, dict[str, list[str]]],
                  kb: KnowledgeBase, understood: Iterable[int]) -> list[ExtractedAnswer]:
    """Soft findings from the codes of each line (RFC readings only where no signature matched).

    ``families[i]`` is the family of ``lines[i]`` (the findings' extractor), ``codes`` is
    :func:`line_codes` of ``lines``, and ``understood`` holds the numbers of lines a signature
    matched.
    """
    table = code_table(kb)
    if not table.exact and not table.ranges:
        return []
    skip = set(understood)
    found: list[ExtractedAnswer] = []
    for index, levels in codes.items():
        line = lines[index]
        vendor_only = line.number in skip
        lowered = line.text.lower()
        for level in _LEVELS:
            entries: list[ReplyCode] = []
            known = False
            for code in dict.fromkeys(levels.get(level, [])):
                readings = table.readings(code, lowered)
                if readings is not None:
                    known = True
                    entries += readings
            if not known:
                continue
            seen: set[tuple[str, str]] = set()
            for entry in entries:
                if vendor_only and entry.source == RFC_SOURCE:
                    continue
                for answer in entry.answers:
                    if (answer.question, answer.answer) in seen or answer.question not in kb.questions:
                        continue
                    seen.add((answer.question, answer.answer))
                    found.append(ExtractedAnswer(answer.question, answer.answer, answer.reliability, line.text,
                                                 families[index], None, line.number, reply_code=entry.id))
            break
    return found
