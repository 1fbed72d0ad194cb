"""Postfix maillog lines (syslog or journal timestamps; smtpd, smtp, qmgr, postscreen, anvil ...).

Both sides are read: as a receiver (smtpd: ``timeout after DATA from peer``) and as a sender
(smtp: ``status=deferred (conversation with peer timed out while sending message body)``).
Queue ids tie a message's size (qmgr) to the peer that sent it (smtpd) or received it (smtp).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import ExtractedAnswer, Line
from engine.evidence.sessions import Delivery, Failure, peer_findings

FAMILY = "postfix_log"
SIGNATURE_EXTRACTORS = ("postfix_log", "smtp_reply", "exchange_ndr", "reply_class")

_PROGRAM = re.compile(r"postfix(?:-[\w.-]{1,40})?/[\w./-]{1,60}\[\d{1,10}\]: ")
_QID = r"(?P<qid>[0-9A-F]{6,12}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,20})"
_PEER = r"(?P<host>[^\s\[]{1,255})\[(?P<ip>[0-9A-Fa-f:.]{2,45})\]"
_CLIENT = re.compile(_QID + r": client=" + _PEER)
_SIZE = re.compile(_QID + r": from=<[^>]{0,512}>, size=(?P<size>\d{1,12}), nrcpt=")
_SENT = re.compile(
    _QID + r": to=<[^>]{0,512}>, (?:orig_to=<[^>]{0,512}>, )?relay=" + _PEER + r"[^\n]{0,400}?status=sent "
)
_FAILURE = re.compile(
    r"(?:timeout|lost connection) after (?:DATA|BDAT|END-OF-MESSAGE)(?: \(\d+ bytes\))? from " + _PEER
    + r"|status=(?:deferred|bounced) \((?:conversation|lost connection) with " + _PEER.replace("(?P<", "(?P<out_")
    + r" (?:timed out )?while sending (?:message body|end of data)"
)


_ANALYSED = ("client=", "size=", "status=sent", " after ", "while sending")
"""What the lines :func:`analyse` reads contain."""


def message(text: str) -> str | None:
    """The part after ``postfix/<daemon>[pid]: `` (the qid or the text), or None for other lines.

    Found with ``str.find`` and an anchored match: a regex search for a pattern that starts with
    a character class would try every position of every line.
    """
    position = text.find("postfix")
    while position >= 0:
        match = _PROGRAM.match(text, position)
        if match is not None:
            return text[match.end():]
        position = text.find("postfix", position + 1)
    return None


def claims(text: str) -> bool:
    """A line written by a Postfix daemon (any syslog, rsyslog or journalctl timestamp style)."""
    return message(text) is not None


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """Add the peer-pattern findings (see :mod:`engine.evidence.sessions`) to the signature hits."""
    peers: dict[str, str] = {}
    sizes: dict[str, tuple[int, Line]] = {}
    sent: list[tuple[str, str, Line]] = []
    failures: list[Failure] = []
    for line in lines:
        if not any(map(line.text.__contains__, _ANALYSED)):
            continue  # connect, cleanup, removed, disconnect ... lines: no need to find the message
        text = message(line.text) or ""
        if "client=" in text and (m := _CLIENT.match(text)):
            peers[m["qid"]] = m["ip"]
        elif "size=" in text and (m := _SIZE.match(text)):
            sizes[m["qid"]] = (int(m["size"]), line)
        elif "status=sent" in text and (m := _SENT.match(text)):
            sent.append((m["qid"], m["ip"], line))
        elif (" after " in text or "while sending" in text) and (m := _FAILURE.search(text)):
            failures.append(Failure(m["ip"] or m["out_ip"], line))
    deliveries = [Delivery(peers[qid], size, size_line) for qid, (size, size_line) in sizes.items() if qid in peers]
    deliveries += [Delivery(ip, sizes[qid][0], line) for qid, ip, line in sent if qid in sizes]
    return found + peer_findings(FAMILY, failures, deliveries)
