"""Evidence from artifacts: answers to KB questions read from logs, bounces, zones and tool output.

``extract(text, kb)`` finds what the text says; ``to_evidence(found)`` turns the findings into the
hard answers and soft likelihoods that :func:`engine.reason.evidence.build_evidence` takes.

Input is bounded (``MAX_INPUT_CHARS`` = 50 Mi characters; lines truncated at ``MAX_LINE_CHARS`` =
10 000) and extraction never raises on any ``str``: binary junk, truncated files and huge lines
simply yield fewer findings. Signature patterns are the pack's (``signatures.yaml``); structural
checks (zone records, tracepath's final pmtu, postconf logic, peer patterns across log lines) live
in the family modules.
"""

from __future__ import annotations

from engine.evidence import zone
from engine.evidence.combine import to_evidence
from engine.evidence.detect import LINE_FAMILIES, classify
from engine.evidence.model import (
    HARD_STRENGTH,
    MAX_INPUT_CHARS,
    MAX_LINE_CHARS,
    ExtractedAnswer,
)
from engine.evidence.signatures import compiled_signatures, scan
from engine.evidence.text import redact, split_lines
from engine.kb.knowledge import KnowledgeBase

__all__ = [
    "HARD_STRENGTH",
    "MAX_INPUT_CHARS",
    "MAX_LINE_CHARS",
    "ExtractedAnswer",
    "extract",
    "redact",
    "to_evidence",
]


def extract(text: str, kb: KnowledgeBase) -> list[ExtractedAnswer]:
    """Every answer the text supports, in line order; the artifact kinds are detected per line.

    Findings name questions of ``kb`` only: a signature or structural check whose question the
    pack lacks is skipped, so a smaller pack simply gets fewer answers.
    """
    classified = classify(split_lines(text))
    signatures = compiled_signatures(kb)
    found: list[ExtractedAnswer] = []
    for module in LINE_FAMILIES:
        lines = classified.lines.get(module.FAMILY, [])
        if not lines:
            continue
        applicable = [sig for name in module.SIGNATURE_EXTRACTORS for sig in signatures.get(name, [])]
        found += module.analyse(lines, scan(lines, applicable, module.FAMILY))
    zone_lines = classified.lines.get(zone.FAMILY, [])
    zone_signatures = [sig for name in zone.SIGNATURE_EXTRACTORS for sig in signatures.get(name, [])]
    found += scan(zone_lines, zone_signatures, zone.FAMILY) + zone.findings(classified.zone)
    usable = [f for f in found if f.question in kb.questions and f.answer in kb.questions[f.question].answers]
    return sorted(usable, key=lambda f: (f.line_number, f.question, f.answer))
