"""RFC 3464 delivery status notifications: the fields of a ``message/delivery-status`` part.

Fields are matched unfolded (RFC 5322 folding: a line starting with white space continues the
previous field), because long ``Diagnostic-Code`` values are routinely folded mid-sentence.
The prose part of a bounce is left to the ``smtp_reply`` family.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import MAX_LINE_CHARS, ExtractedAnswer, Line

FAMILY = "dsn"
SIGNATURE_EXTRACTORS = ("dsn", "smtp_reply", "exchange_ndr", "reply_class")

_FIELD = re.compile(
    r"^(?:Reporting-MTA|Received-From-MTA|Arrival-Date|Original-Envelope-Id|DSN-Gateway|Final-Recipient"
    r"|Original-Recipient|Action|Status|Remote-MTA|Diagnostic-Code|Last-Attempt-Date|Final-Log-ID"
    r"|Will-Retry-Until|X-Postfix-[\w-]{1,40}|X-Actual-Recipient|X-Display-Name):",
    re.IGNORECASE,
)


def claims(text: str) -> bool:
    """A per-message or per-recipient DSN field line (RFC 3464 section 2.2 and 2.3)."""
    return ":" in text[:40] and _FIELD.match(text) is not None


def unfold(previous: Line, continuation: Line) -> Line:
    """The field with its continuation line appended (folding white space becomes one space).

    The unfolded field is bounded like any line, so a run of indented junk after a field cannot
    grow it without limit.
    """
    if len(previous.text) >= MAX_LINE_CHARS:
        return previous
    return Line(previous.number, f"{previous.text} {continuation.text.strip()}"[:MAX_LINE_CHARS])


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """DSN fields need no structure beyond their signatures: Status and Diagnostic-Code say it all."""
    return found
