"""``ping -M do -s SIZE`` output (iputils): header, replies, Frag-needed / Message-too-long errors.

Also tcpdump's and tshark's renderings of the same ICMP error (``ICMP host unreachable - need to frag
(mtu N)``, ``ICMP Destination unreachable (Fragmentation needed)``), which people paste from a capture
instead of a probe: it is the Datagram Too Big message a ``ping -M do`` would have drawn.

The header ``PING host (ip) 1472(1500) bytes of data.`` states the probe's total size. A probe
larger than 1500 bytes fails on every Ethernet path, so its errors say nothing about a *reduced*
path and are dropped here (the ``ping_frag_needed`` signature's first false positive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.evidence.model import ExtractedAnswer, Line
from engine.evidence.tracepath import ETHERNET_MTU

FAMILY = "ping"
SIGNATURE_EXTRACTORS = ("ping",)

_HEADER = re.compile(
    r"^PING \S{1,255} \([0-9A-Fa-f:.]{2,45}\) (?P<payload>\d{1,6})\((?P<total>\d{1,6})\) bytes of data"
)
_LINE = re.compile(
    r"^PING \S|icmp_seq=|^ping: |packets transmitted|^--- \S{1,255} ping statistics ---|^rtt min/avg|Frag needed"
    r"|\bICMP \S{1,64} unreachable - need to frag \(mtu \d{1,5}\)"
    r"|\bICMP Destination unreachable \(Fragmentation needed\)"
)


def claims(text: str) -> bool:
    return _LINE.search(text) is not None


def analyse(lines: Sequence[Line], found: list[ExtractedAnswer]) -> list[ExtractedAnswer]:
    """Drop reduced-path findings from probes that were larger than a full Ethernet frame."""
    totals = [int(m["total"]) for line in lines if (m := _HEADER.match(line.text))]
    if totals and min(totals) > ETHERNET_MTU:
        return [f for f in found if not (f.question == "path_mtu_reduced" and f.answer == "yes")]
    return found
