"""``postconf -n`` output (or main.cf): ``name = value`` lines, continuation lines indented.

Answers come from logic over the parameters, not from patterns:

* ``mailbox_size_limit`` (or an explicit ``virtual_mailbox_limit``) below ``message_size_limit``:
  Postfix refuses to deliver and logs "fatal: ... is smaller than message_size_limit"
  -> ``config_warnings_logged``;
* Dovecot SASL enabled without ``smtpd_sasl_path``: the default path ``smtpd`` is Cyrus's
  application name, so every AUTH fails with "SASL: Connect to smtpd failed"
  -> ``sasl_auth_errors_logged``;
* SASL enabled but ``smtpd_relay_restrictions`` (or the recipient restrictions that stand in for
  it) reject unauthorised relaying before any ``permit_sasl_authenticated``: authenticated users
  cannot send outside -> ``users_cannot_send``;
* a greylisting policy service among the restrictions (postgrey's port 10023 or a name containing
  "grey"/"gray"): first-time senders are deferred -> ``greylist_deferral_logged``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import ExtractedAnswer, Line

FAMILY = "postconf"
SIGNATURE_EXTRACTORS = ("postconf",)

DEFAULTS = {"message_size_limit": 10_240_000, "mailbox_size_limit": 51_200_000}
"""Postfix's documented defaults (postconf(5)), used when ``postconf -n`` omits a parameter."""

SIZE_LIMITS_STRENGTH = 0.9
"""Postfix checks this at delivery and logs a fatal error; the log line itself is stronger (0.97)."""
SASL_PATH_STRENGTH = 0.8
"""Wrong unless a socket was deliberately placed at ``$queue_directory/smtpd``."""
RELAY_ORDER_STRENGTH = 0.7
"""Authenticated users whose clients are also in mynetworks are not affected."""
GREYLIST_STRENGTH = 0.6
"""Greylisting defers only first-time (sender, client, recipient) triples; repeat senders pass."""

_SETTING = re.compile(
    r"^(?P<name>[a-z][a-z0-9]{0,40}(?:_[a-z0-9]{1,40}){1,8}|my[a-z]{2,20})\s{0,20}=\s{0,20}(?P<value>.*)$"
)
_RESTRICTIONS = re.compile(r"^smtpd_\w{1,40}_restrictions$")
_GREYLIST = re.compile(r"check_policy_service\s+\S*(?::10023\b|gr[ae]y)", re.IGNORECASE)


def claims(text: str) -> bool:
    return "=" in text and _SETTING.match(text) is not None


def settings(lines: Sequence[Line]) -> dict[str, tuple[str, Line]]:
    """Parameter -> (value with continuations joined, the line that set it); the last one wins."""
    values: dict[str, tuple[str, Line]] = {}
    current: str | None = None
    for line in lines:
        match = _SETTING.match(line.text)
        if match:
            current = match["name"]
            values[current] = (match["value"].strip(), line)
        elif current is not None and line.text[:1].isspace():
            value, first = values[current]
            values[current] = (f"{value} {line.text.strip()}", first)
    return values


def _size(values: dict[str, tuple[str, Line]], name: str) -> int | None:
    text = values[name][0] if name in values else str(DEFAULTS.get(name, ""))
    return int(text) if text.isdigit() else None


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """The checks listed in the module docstring."""
    values = settings(lines)
    if not values:
        return found
    result = list(found)

    def answer(question: str, value: str, strength: float, line: Line) -> None:
        result.append(ExtractedAnswer(question, value, strength, line.text, FAMILY, None, line.number))

    message = _size(values, "message_size_limit")
    limits = ["mailbox_size_limit", *(["virtual_mailbox_limit"] if "virtual_mailbox_limit" in values else [])]
    for limit in limits:
        size = _size(values, limit)
        if message and size and size < message:
            answer("config_warnings_logged", "yes", SIZE_LIMITS_STRENGTH,
                   (values.get(limit) or values["message_size_limit"])[1])
    sasl = values.get("smtpd_sasl_auth_enable", ("no", lines[0]))[0].lower() == "yes"
    if sasl and "smtpd_sasl_type" in values and values["smtpd_sasl_type"][0] == "dovecot" \
            and "smtpd_sasl_path" not in values:
        answer("sasl_auth_errors_logged", "yes", SASL_PATH_STRENGTH, values["smtpd_sasl_type"][1])
    relay = values.get("smtpd_relay_restrictions") or values.get("smtpd_recipient_restrictions")
    if sasl and relay is not None:
        tokens = [t for t in re.split(r"[\s,]+", relay[0]) if t]
        if "reject_unauth_destination" in tokens:
            cut = tokens.index("reject_unauth_destination")
            if "permit_sasl_authenticated" not in tokens[:cut]:
                answer("users_cannot_send", "yes", RELAY_ORDER_STRENGTH, relay[1])
    for name, (value, line) in values.items():
        if _RESTRICTIONS.match(name) and _GREYLIST.search(value):
            answer("greylist_deferral_logged", "yes", GREYLIST_STRENGTH, line)
            break
    return result
