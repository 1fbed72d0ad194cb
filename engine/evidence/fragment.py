"""Lines no format claims: pasted fragments, bounce prose, forum quotes, other daemons' logs.

People paste the part of a line they think matters (``status=bounced (host ... said: 550 ...)``,
``timeout after DATA from ...``) without the ``postfix/smtp[123]:`` tag that would name its
family, and they paste lines from daemons that have no family module of their own (Dovecot,
Sendmail, content filters, DKIM/DMARC milters, fail2ban, dig, openssl s_client, swaks). Such a
line is matched against every message-body signature: those of the MTA families, the SMTP reply
texts, and the formats whose signatures need no structure beyond one line. Findings name the
extractor of the signature that matched, so the output still says how the line was read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import ExtractedAnswer, Line

FAMILY = "fragment"
MTA_EXTRACTORS = ("postfix_log", "exim_log", "smtp_reply", "dsn", "reply_class")
LINE_FORMAT_EXTRACTORS = (
    "dovecot_log", "sendmail_log", "exchange_ndr", "content_filter_log", "dkim_dmarc_log", "fail2ban_log",
    "dns_tool", "tls_tool", "smtp_transcript", "mail_client",
)
"""Formats read one line at a time, by signature alone: their lines land here, or among the SMTP
replies when they carry a reply code (Exchange's texts are also read on MTA and DSN lines, which
quote them). ``mail_client`` is what submitting programs print: client-library exceptions,
mail-app dialogs."""
SIGNATURE_EXTRACTORS = (*MTA_EXTRACTORS, *LINE_FORMAT_EXTRACTORS)


_LOOPBACK_TEST = re.compile(
    r"^ ?(?:=== )?(?:trying|connected to|connecting to|connection to) "
    r"\[?(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)\b",
    re.IGNORECASE,
)
"""A connection test's own line naming the loopback address: swaks (``=== Trying localhost:25...``,
``=== Connected to localhost.``), telnet (``Trying 127.0.0.1...``), nc (``Connection to localhost 25
port [tcp/smtp] succeeded!``)."""
REACHABLE_FROM_OUTSIDE = ("smtp_port_unreachable", "no")
"""The answer a greeting gives to "from outside, does a connection to port 25 fail": a test run on
the server itself against loopback does not give it."""


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """A fragment carries its meaning in the signatures alone, except that a connection test against
    loopback says nothing of what outside clients reach (the greeting it got is dropped)."""
    if not any((f.question, f.answer) == REACHABLE_FROM_OUTSIDE for f in found):
        return found
    if not any(_LOOPBACK_TEST.match(line.text) for line in lines):
        return found
    return [f for f in found if (f.question, f.answer) != REACHABLE_FROM_OUTSIDE]
