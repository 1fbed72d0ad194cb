"""Which artifact family each line belongs to, for text that may mix several kinds.

Incident notes are pasted together: a log excerpt, a bounce, ``dig`` output and a zone file in one
file. Lines are therefore classified one by one, in an order that puts the most specific test
first (a Postfix line can contain an SMTP reply; a zone file's indented line could look like a
DSN continuation only right after a DSN field).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from engine.evidence import dsn, exim, ping, postconf, postfix, reply, tracepath, zone
from engine.evidence.model import Line
from engine.evidence.zone import ZoneReader

LINE_FAMILIES: tuple[ModuleType, ...] = (postfix, exim, dsn, tracepath, ping, postconf, reply)
"""Families whose lines are recognised one at a time, each with ``claims(text) -> bool``; zone
files come last, through a stateful :class:`ZoneReader` (owners carry over, SOA spans lines)."""

SIGNATURE_EXTRACTORS: frozenset[str] = frozenset(
    name for module in (*LINE_FAMILIES, zone) for name in module.SIGNATURE_EXTRACTORS
)
"""Every ``extractor`` value a signature may have; others would never be applied."""


@dataclass
class Classified:
    lines: dict[str, list[Line]] = field(default_factory=dict)
    zone: ZoneReader = field(default_factory=ZoneReader)


def classify(lines: Sequence[Line]) -> Classified:
    """Assign every line to at most one family; DSN fields are unfolded on the way."""
    result = Classified()
    groups: dict[str, list[Line]] = {module.FAMILY: [] for module in (*LINE_FAMILIES, zone)}
    previous = ""
    tests: list[tuple[str, Callable[[str], bool]]] = [(m.FAMILY, m.claims) for m in LINE_FAMILIES]
    for line in lines:
        indented = line.text[:1].isspace()
        if indented and previous == dsn.FAMILY:
            groups[dsn.FAMILY][-1] = dsn.unfold(groups[dsn.FAMILY][-1], line)
            continue
        if indented and previous == postconf.FAMILY:
            groups[postconf.FAMILY].append(line)
            continue
        family = next((name for name, claims in tests if claims(line.text)), "")
        if not family and result.zone.claims(line):
            family = zone.FAMILY
        if family in groups:
            groups[family].append(line)
        previous = family
    result.lines = {name: group for name, group in groups.items() if group}
    return result
