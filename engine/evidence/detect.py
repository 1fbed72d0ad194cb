"""Which artifact family each line belongs to, for text that may mix several kinds.

Incident notes are pasted together: a log excerpt, a bounce, ``dig`` output and a zone file in one
file. Lines are therefore classified one by one, in an order that puts the most specific test
first (a Postfix line can contain an SMTP reply; a zone file's indented line could look like a
DSN continuation only right after a DSN field).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from engine.evidence import dsn, exim, fragment, ping, postconf, postfix, reply, tracepath, zone
from engine.evidence.model import MAX_LINE_CHARS, Line
from engine.evidence.zone import ZoneReader

CLAIMING_FAMILIES: tuple[ModuleType, ...] = (postfix, exim, dsn, tracepath, ping, postconf, reply)
"""Families whose lines are recognised one at a time, each with ``claims(text) -> bool``; zone
files come next, through a stateful :class:`ZoneReader` (owners carry over, SOA spans lines), and
every line nothing claims is a :mod:`fragment <engine.evidence.fragment>`."""

LINE_FAMILIES: tuple[ModuleType, ...] = (*CLAIMING_FAMILIES, fragment)
"""Every family whose lines are scanned with signatures and then analysed, zone files aside."""

TEXT_FAMILIES = frozenset({postfix.FAMILY, exim.FAMILY, dsn.FAMILY, reply.FAMILY, fragment.FAMILY})
"""Families of mail text: their lines carry SMTP reply codes, may wrap onto indented continuation
lines, and are the ones listed as not understood when they look like errors and say nothing."""

LOG_FAMILIES = frozenset({postfix.FAMILY, exim.FAMILY})
"""MTA logs: most of their lines record success, and a reply code appears only in a line that also
says what failed (``said:``, ``reject``, ``deferred``, ``bounced``)."""

SIGNATURE_EXTRACTORS: frozenset[str] = frozenset(
    name for module in (*LINE_FAMILIES, zone) for name in module.SIGNATURE_EXTRACTORS
)
"""Every ``extractor`` value a signature may have; others would never be applied."""


@dataclass
class Classified:
    lines: dict[str, list[Line]] = field(default_factory=dict)
    zone: ZoneReader = field(default_factory=ZoneReader)
    continuations: dict[int, list[int]] = field(default_factory=dict)
    """Line number -> the numbers of the continuation lines joined onto it, for provenance."""


def classify(lines: Sequence[Line]) -> Classified:
    """Assign every line to exactly one family; continuation lines are joined on the way.

    An indented line that no family claims on its own continues the mail-text line before it: a
    folded DSN field (RFC 5322 folding), a Postfix bounce's wrapped ``said:`` text, a paste
    wrapped by a mail client. Indented lines that *are* claimed (tracepath hops, zone records,
    an indented ``550 5.1.1`` reply) stay lines of their own. So does every other line, unless it
    looks like the tail of a line a terminal or mail client wrapped (see :func:`_wrapped`).
    """
    result = Classified()
    groups: dict[str, list[Line]] = {module.FAMILY: [] for module in (*LINE_FAMILIES, zone)}
    previous = ""
    open_reply = ""
    """The code of a multi-line reply whose last line so far ended in ``code-``."""
    tests: list[tuple[str, Callable[[str], bool]]] = [(m.FAMILY, m.claims) for m in CLAIMING_FAMILIES]
    for line in lines:
        step = _REPLY_LINE.match(line.text.lstrip()) if open_reply and previous in TEXT_FAMILIES else None
        if step is not None and step["code"] == open_reply:
            groups[previous][-1] = _join_reply(result, groups[previous][-1], line, step)
            open_reply = open_reply if step["more"] == "-" else ""
            continue
        open_reply = ""
        indented = line.text[:1].isspace()
        if indented and previous == dsn.FAMILY:
            groups[dsn.FAMILY][-1] = _join(result, groups[dsn.FAMILY][-1], line)
            continue
        if indented and previous == postconf.FAMILY:
            groups[postconf.FAMILY].append(line)
            continue
        if indented and previous in TEXT_FAMILIES and groups[previous][-1].text.rstrip().endswith("said:"):
            # a Postfix bounce wraps the remote reply onto the next indented line: "said:" then
            # "    550 5.1.1 ...". The reply is the rest of that sentence, though it claims a family of its own
            groups[previous][-1] = _join(result, groups[previous][-1], line)
            continue
        family = ""
        for name, claims in tests:
            if claims(line.text):
                family = name
                break
        if not family and result.zone.claims(line):
            family = zone.FAMILY
        if not family:
            last = groups[previous][-1].text if previous in TEXT_FAMILIES else ""
            continues = indented or _wrapped(last, line.text)
            if len(last) >= MIN_CONTINUED and continues and not _own_reply(last, line.text):
                groups[previous][-1] = _join(result, groups[previous][-1], line)
                continue
            family = fragment.FAMILY
        groups[family].append(line)
        previous = family
        if "-" in line.text[:_REPLY_HEAD_WITHIN] and family in TEXT_FAMILIES:
            head = _REPLY_LINE.match(line.text.lstrip())
            open_reply = head["code"] if head is not None and head["more"] == "-" else ""
    result.lines = {name: group for name, group in groups.items() if group}
    return result


MIN_CONTINUED = 20
"""Lines shorter than this are not continued (a ``{`` opening JSON, a ``Subject`` of two words):
what follows them indented is a block of its own."""
WRAP_WIDTH = 60
"""A line at least this long may have been wrapped; shorter ones ended where their writer ended them."""
_LINE_ENDS = frozenset(".)]>;:!?\"'")


def _wrapped(previous: str, text: str) -> bool:
    """Whether an unindented, unclaimed line is the tail of a wrapped one.

    Only when the line before is long, stops without closing punctuation, and this line starts in
    lower case (``table (in reply to RCPT TO command)``): new log lines start with a timestamp, new
    sentences with a capital, and a bare message with a label (``warning: ...``, ``status=...``),
    so those are never swallowed.
    """
    if len(previous) < WRAP_WIDTH or previous[-1:] in _LINE_ENDS or not text[:1].islower():
        return False
    first = text.split(" ", 1)[0]
    return not first.endswith(":") and "=" not in first


_INDENTED_REPLY = re.compile(r" ?(?:\[[245]\d\d\] ['\"]|[245]\d\d[ -])")
"""An indented server reply in a client's transcript: swaks ``<-  220 ...`` (its marker gone),
smtp-cli ``    [220] '...'``."""


def _own_reply(previous: str, text: str) -> bool:
    """Whether an indented line is a server reply of its own rather than the tail of the line before:
    it starts with a reply code, and the line before does not end waiting for one (a Postfix bounce
    wraps ``said:`` and its reply onto the next line)."""
    return _INDENTED_REPLY.match(text) is not None and not previous.rstrip().endswith("said:")


_REPLY_HEAD_WITHIN = 12
"""A reply line's code and its hyphen stand within this many characters of the line's start (an
indent, a quote such as ``b'``, ``S: ``): a cheap test that spares log lines the pattern."""
_REPLY_LINE = re.compile(r"(?P<lead>[^\w\s]{0,3}(?:[SC]: ?)?)(?P<code>[245]\d\d)(?P<more>[ -])")
"""A line of an SMTP reply, after an optional quote or transcript marker (``S: ``); ``more`` is ``-``
on every line but the last (RFC 5321 4.2.1)."""


def _join_reply(result: Classified, previous: Line, continuation: Line, step: re.Match[str]) -> Line:
    """One more line of a multi-line reply appended to its first line, as one reply: ``550-a`` then
    ``550 b`` reads ``550 a b`` (the code is repeated on each line; the first line's hyphen only
    said that more lines follow). An enhanced code repeated after the basic one is dropped too."""
    if len(previous.text) >= MAX_LINE_CHARS:
        return previous
    result.continuations.setdefault(previous.number, []).append(continuation.number)
    text = previous.text
    head = _REPLY_LINE.match(text.lstrip())
    if head is not None and head["more"] == "-":
        at = len(text) - len(text.lstrip()) + head.end("code")
        text = text[:at] + " " + text[at + 1:]
    rest = continuation.text.lstrip()[step.end():]
    if head is not None:
        enhanced = text.lstrip()[head.end():].split(" ", 1)[0]
        if enhanced.count(".") == 2 and enhanced[:1] == head["code"][:1] and rest.startswith(enhanced + " "):
            rest = rest[len(enhanced) + 1:]
    return Line(previous.number, f"{text} {rest}"[:MAX_LINE_CHARS])


def _join(result: Classified, previous: Line, continuation: Line) -> Line:
    """The line with its continuation appended (bounded like any line), remembered for provenance."""
    if len(previous.text) >= MAX_LINE_CHARS:
        return previous
    result.continuations.setdefault(previous.number, []).append(continuation.number)
    return dsn.unfold(previous, continuation)
