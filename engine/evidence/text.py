"""Turning arbitrary input into bounded lines, and redacting e-mail addresses before display."""

from __future__ import annotations

import re

from engine.evidence.model import MAX_INPUT_CHARS, MAX_LINE_CHARS, Line

REDACTED = "<redacted>"

# Local part and labels are bounded so that a long run of address characters without an '@'
# costs O(64) per start position instead of O(line length).
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,8}"
)


def redact(text: str) -> str:
    """Replace every e-mail address with ``<redacted>`` (logs and bounces are personal data)."""
    return _ADDRESS.sub(REDACTED, text)


def split_lines(text: str) -> list[Line]:
    """Lines of at most ``MAX_LINE_CHARS`` from the first ``MAX_INPUT_CHARS`` characters.

    Only ``\\n`` separates lines (``str.splitlines`` would also split on form feeds and other
    control characters found in binary junk, shifting line numbers away from what ``grep -n``
    shows); a trailing ``\\r`` is dropped so CRLF files read the same as LF files.
    """
    return [
        Line(number, raw[:MAX_LINE_CHARS].removesuffix("\r"))
        for number, raw in enumerate(text[:MAX_INPUT_CHARS].split("\n"), start=1)
        if raw and not raw.isspace()
    ]
