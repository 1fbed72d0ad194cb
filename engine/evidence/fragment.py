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


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """A fragment carries its meaning in the signatures alone."""
    return found
