"""``tracepath`` / ``tracepath6`` output: per-hop lines and the final ``Resume: pmtu N`` line.

A pmtu below 1500 is the ``tracepath_reduced_pmtu`` signature's job. The structural finding here is
the opposite one: the trace reached its end with a 1500-byte pmtu and no hop reported less.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import ExtractedAnswer, Line

FAMILY = "tracepath"
SIGNATURE_EXTRACTORS = ("tracepath",)

ETHERNET_MTU = 1500
CLEAN_PATH_STRENGTH = 0.7
"""A clean trace is weaker evidence than a reduced one: a hop that drops ICMP "fragmentation
needed" (the PMTUD black hole itself) is invisible to tracepath, which then reports 1500."""

_HOP = re.compile(r"^\s{0,4}\d{1,3}\??:\s")
_RESUME = re.compile(r"^\s{0,8}Resume: pmtu (?P<pmtu>\d{2,5})\b")
_PMTU = re.compile(r"\bpmtu (?P<pmtu>\d{2,5})\b")


def claims(text: str) -> bool:
    if _RESUME.match(text):
        return True
    return _HOP.match(text) is not None and (
        "pmtu" in text or "ms" in text or "no reply" in text or "LOCALHOST" in text or "reached" in text
    )


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """path_mtu_reduced=no when the trace finished at 1500 and no hop reported a smaller pmtu."""
    pmtus = [int(m["pmtu"]) for line in lines if (m := _PMTU.search(line.text))]
    resume = [line for line in lines if _RESUME.match(line.text)]
    if resume and pmtus and min(pmtus) >= ETHERNET_MTU:
        last = resume[-1]
        found = [*found, ExtractedAnswer("path_mtu_reduced", "no", CLEAN_PATH_STRENGTH, last.text, FAMILY, None,
                                         last.number)]
    return found
