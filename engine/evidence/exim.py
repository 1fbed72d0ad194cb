"""Exim mainlog/rejectlog lines (``YYYY-MM-DD HH:MM:SS [pid] id ...`` or syslog ``exim[pid]:``).

Arrivals (``<=`` with ``H=... [ip]`` and ``S=size``) and ``SMTP data timeout ... [ip]`` lines
feed the same peer analysis as Postfix; deliveries (``=>``) are not sized in Exim's default log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import ExtractedAnswer, Line
from engine.evidence.sessions import Delivery, Failure, peer_findings

FAMILY = "exim_log"
SIGNATURE_EXTRACTORS = ("exim_log", "smtp_reply", "exchange_ndr", "reply_class")

_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?(?: [-+]\d{4})? ")
_SYSLOG = re.compile(r"\bexim\d?\[\d{1,10}\]: ")
_HOST = re.compile(r"\bH=(?:[^\s(\[]{1,255} )?(?:\([^)\n]{0,255}\) )?\[(?P<ip>[0-9A-Fa-f:.]{2,45})\]")
_SIZE = re.compile(r" S=(?P<size>\d{1,12})\b")
_FAILURE = re.compile(
    r"SMTP data timeout \(message abandoned\) on connection from [^\[\n]{0,600}\[(?P<ip>[0-9A-Fa-f:.]{2,45})\]"
)


_CLIENT_DEBUG = re.compile(r"(?:SERVER -> CLIENT|CLIENT -> SERVER|SMTP (?:ERROR|NOTICE|INBOUND)):")
"""PHPMailer's SMTP debug output, which starts with the same date and time as Exim's log
(``2026-11-28 10:00:00 SERVER -> CLIENT: 535 ...``): a client's transcript, read as any pasted
reply is, not as Exim's log."""


_APPLICATION_LOG = re.compile(r"\[(?!\d{1,10}\])[^\]\n]{1,80}\]|(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL) ")
"""What an application's log writes after the same date and time: a thread name in brackets
(``[XNIO-1 task-2]``, ``[main]``) or a level word (logback, log4j, Python logging). Exim writes a
bracketed process id only (``log_selector = +pid``) and no level."""


def claims(text: str) -> bool:
    """An Exim log line: Exim's own timestamp at the start, or an ``exim[pid]:`` syslog tag."""
    if (stamp := _STAMP.match(text)) is not None:
        return _CLIENT_DEBUG.match(text, stamp.end()) is None and _APPLICATION_LOG.match(text, stamp.end()) is None
    return "exim" in text and _SYSLOG.search(text) is not None


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """Add the peer-pattern findings (see :mod:`engine.evidence.sessions`) to the signature hits."""
    deliveries: list[Delivery] = []
    failures: list[Failure] = []
    for line in lines:
        if " <= " in line.text and (host := _HOST.search(line.text)) and (size := _SIZE.search(line.text)):
            deliveries.append(Delivery(host["ip"], int(size["size"]), line))
        elif "SMTP data timeout" in line.text and (m := _FAILURE.search(line.text)):
            failures.append(Failure(m["ip"], line))
    return found + peer_findings(FAMILY, failures, deliveries)
