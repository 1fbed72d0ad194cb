"""SMTP reply text outside a log or DSN field: the prose of a bounce, a pasted client error.

A line is taken when it carries a reply code with an RFC 3463 enhanced status code (``552 5.3.4``)
or the ``host X said: 5xx`` form of Postfix bounces. Such a line is as likely to come from any
daemon as a fragment is, so it is matched against every message-body signature, as fragments are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence import fragment
from engine.evidence.model import ExtractedAnswer, Line

FAMILY = "smtp_reply"
SIGNATURE_EXTRACTORS = fragment.SIGNATURE_EXTRACTORS

_REPLY = re.compile(r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b|\bsaid: [245]\d\d\b")


def claims(text: str) -> bool:
    return _REPLY.search(text) is not None


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """Reply text carries its meaning in the signatures alone."""
    return found
