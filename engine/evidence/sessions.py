"""Findings from the pattern of deliveries and data-phase failures across peers in an MTA log.

One timeout line says little; the seed incident's log said much more as a whole: every failure
came from one sender, that sender's short mails were accepted, and large mail from everyone else
arrived. Those are answers to three KB questions that only the whole log can give.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.evidence.model import ExtractedAnswer, Line

SMALL_MESSAGE_BYTES = 256 * 1024
"""A delivered message this small is "short plain mail": it fits in a few dozen packets."""
LARGE_MESSAGE_BYTES = 1024 * 1024
"""A delivered message this large is "large mail": thousands of full-size packets."""

SINGLE_PEER_STRENGTH = 0.8
"""All data-phase failures from one peer while others deliver: strong but not decisive, because an
excerpt grepped for one sender hides everyone else's failures."""
MANY_PEERS_STRENGTH = 0.6
"""Failures from three or more peers argue against a peer-specific fault, weakly: spambots and
flaky clients time out in DATA on every busy server."""
SMALL_OK_STRENGTH = 0.75
"""The failing peer's short mails got through: the size pattern, read from the log rather than
from users; weaker than a test because message sizes in the log are not attachment flags."""
OTHERS_LARGE_OK_STRENGTH = 0.85
"""Another peer's message of a megabyte or more was accepted while the failing peer's were not."""

LOOPBACK = ("127.", "::1")


@dataclass(frozen=True)
class Delivery:
    peer: str
    size: int
    line: Line


@dataclass(frozen=True)
class Failure:
    peer: str
    line: Line


def peer_findings(family: str, failures: list[Failure], deliveries: list[Delivery]) -> list[ExtractedAnswer]:
    """single_sender_affected, attachment_mail_fails and other_senders_large_mail_ok from a log."""
    if not failures:
        return []
    deliveries = [d for d in deliveries if not d.peer.startswith(LOOPBACK)]
    failing = {f.peer for f in failures}
    first = failures[0].line
    found: list[ExtractedAnswer] = []

    def finding(question: str, answer: str, strength: float, line: Line) -> None:
        found.append(ExtractedAnswer(question, answer, strength, line.text, family, None, line.number))

    others = [d for d in deliveries if d.peer not in failing]
    if len(failing) == 1 and len(failures) >= 2 and others:
        finding("single_sender_affected", "yes", SINGLE_PEER_STRENGTH, first)
    elif len(failing) >= 3:
        finding("single_sender_affected", "no", MANY_PEERS_STRENGTH, first)
    small_ok = [d for d in deliveries if d.peer in failing and d.size <= SMALL_MESSAGE_BYTES]
    if small_ok:
        finding("attachment_mail_fails", "yes", SMALL_OK_STRENGTH, small_ok[0].line)
    large_ok = [d for d in others if d.size >= LARGE_MESSAGE_BYTES]
    if large_ok:
        finding("other_senders_large_mail_ok", "yes", OTHERS_LARGE_OK_STRENGTH, large_ok[0].line)
    return found
