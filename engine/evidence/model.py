"""The value every extractor produces, and the bounds that keep extraction safe on any input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

MAX_INPUT_CHARS = 50 * 1024 * 1024
"""Text beyond the first 50 Mi characters is ignored: an incident's artifacts are excerpts, and the
bound keeps memory and time predictable (about 20 s at the benchmarked rate)."""

MAX_LINE_CHARS = 10_000
"""Longer lines are truncated to this many characters before any pattern sees them, so one
pathological line (a base64 body, binary junk) cannot dominate the run time."""

MAX_HITS_PER_SIGNATURE = 500
"""Further hits of the same signature in one artifact family are dropped: repeats of one line add
no evidence (:func:`engine.evidence.to_evidence` keeps the strongest), only output volume."""

HARD_STRENGTH = 0.95
"""A finding at least this strong, with nothing contradicting it, becomes a hard answer."""


class Line(NamedTuple):
    """One line of an artifact (already truncated); ``number`` is 1-based in the input text.

    A named tuple rather than a frozen dataclass: a 50 MB log has half a million of them, and a
    tuple is built several times faster.
    """

    number: int
    text: str


@dataclass(frozen=True)
class ExtractedAnswer:
    """An answer to a KB question read from an artifact line, with how strongly the line implies it.

    ``strength`` in (0, 1] is ``1 - P(line | any other answer) / P(line | this answer)``: 0.9 means
    the line is ten times likelier under this answer. A finding therefore never counts *against* the
    answer it names, however weak it is (a SASL failure from a bot is still weakly for SASL errors).
    ``signature_id`` is None for structural findings (a zone's apex record, a tracepath's final
    pmtu, a session pattern across log lines), whose ``source_line`` is the line that proved them,
    and for findings of the reply-code layer, which name their ``reply_codes.yaml`` entry in
    ``reply_code`` instead. ``source_line`` is the line as it was written (wrapper, quoting and
    continuation lines included); patterns saw its normalised rendering.
    """

    question: str
    answer: str
    strength: float
    source_line: str
    extractor: str
    signature_id: str | None
    line_number: int
    reply_code: str | None = None


@dataclass(frozen=True)
class UnmatchedLine:
    """A line that looks like an error (a reply code, "reject", "timed out" ...) and gave no finding.

    These are what the pack does not understand yet: shown to staff instead of a silent nothing,
    and listed for authors (``rootward extract --unmatched``) as candidates for new signatures.
    """

    line_number: int
    text: str


MAX_UNMATCHED = 1000
"""At most this many unmatched lines are returned per text: enough for an author to see every kind,
while a 50 MB log full of one unknown error cannot blow up the answer."""
