"""Evidence from artifacts: answers to KB questions read from logs, bounces, zones and tool output.

``extract(text, kb)`` finds what the text says; ``read(text, kb)`` also returns the lines that look
like errors but gave no finding; ``to_evidence(found)`` turns the findings into the hard answers
and soft likelihoods that :func:`engine.reason.evidence.build_evidence` takes.

Every line is normalised first (:mod:`engine.evidence.normalize`: container, syslog, journald and
RFC 5424 prefixes, quoting, HTML escapes, redactions, spacing), then classified by family, joined
with its continuation lines, and matched case-insensitively. Findings keep the line as written.

Three layers speak, most specific first: the pack's signatures (``signatures.yaml``), structural
checks in the family modules (zone records, tracepath's final pmtu, postconf logic, peer patterns
across log lines), and the reply-code layer (:mod:`engine.evidence.codes`, ``reply_codes.yaml``),
which adds soft findings only to lines no signature understood (the ``reply_class`` signatures,
which only say whether a failure is temporary, leave a line to the codes).

Input is bounded (``MAX_INPUT_CHARS`` = 50 Mi characters; lines truncated at ``MAX_LINE_CHARS`` =
10 000) and extraction never raises on any ``str``: binary junk, truncated files and huge lines
simply yield fewer findings.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from engine.evidence import fragment, zone
from engine.evidence.codes import code_findings, line_codes, understood_lines
from engine.evidence.combine import to_evidence
from engine.evidence.detect import LINE_FAMILIES, LOG_FAMILIES, TEXT_FAMILIES, Classified, classify
from engine.evidence.dsn import FAMILY as DSN_FAMILY
from engine.evidence.model import (
    HARD_STRENGTH,
    MAX_INPUT_CHARS,
    MAX_LINE_CHARS,
    MAX_UNMATCHED,
    ExtractedAnswer,
    Line,
    UnmatchedLine,
)
from engine.evidence.normalize import normalise
from engine.evidence.signatures import Haystack, compiled_signatures, scan
from engine.evidence.text import redact, split_lines
from engine.kb.knowledge import KnowledgeBase

__all__ = [
    "HARD_STRENGTH",
    "MAX_INPUT_CHARS",
    "MAX_LINE_CHARS",
    "ExtractedAnswer",
    "Extraction",
    "UnmatchedLine",
    "extract",
    "read",
    "redact",
    "to_evidence",
]

ERROR_WORDS = (
    "reject", "error", "fatal", "warning", "panic", "timeout", "timed out", "defer", "bounced", "refused", "denied",
    "fail", "not found", "expired", "unavailable", "unreachable", "too many", "exceed", "quota", "block",
    "blacklist", "unknown user", "user unknown", "aborted login", "not secure", "couldn't be delivered",
    "could not be delivered", "wasn't found",
)
"""Words that make a line look like an error (besides a 4xx/5xx reply or enhanced status code).

Dovecot writes its authentication and login problems without any of the generic words ("pam(u,ip):
unknown user", "Aborted login (tried to use disabled plaintext auth)"), and OpenDKIM its key-file
permission problem as "key data is not secure": those wordings are listed too."""
_WARN_ONLY = "reject_warning: "
"""What Postfix logs for a restriction under warn_if_reject (postconf(5)): the reply it *would* have
sent, while it sent none and let the mail through. Such a line says nothing of what failed: it gives
no answer, and is listed among the lines not understood."""
_DSN_DIAGNOSES = ("status:", "diagnostic-code:")
_MESSAGE_HEADERS = ("subject:", "x-failed-recipients:", "from:", "to:", "date:", "return-path:", "content-",
                    "auto-submitted:", "message-id:", "received:")


@dataclass(frozen=True)
class Extraction:
    """What a text says (findings, in line order) and what it seems to say that nothing understood."""

    found: list[ExtractedAnswer]
    unmatched: list[UnmatchedLine]


def extract(text: str, kb: KnowledgeBase) -> list[ExtractedAnswer]:
    """Every answer the text supports, in line order; the artifact kinds are detected per line.

    Findings name questions of ``kb`` only: a signature, check or code entry whose question the
    pack lacks is skipped, so a smaller pack simply gets fewer answers.
    """
    return read(text, kb).found


def read(text: str, kb: KnowledgeBase) -> Extraction:
    """The findings of :func:`extract` and the error-like lines that gave none (at most MAX_UNMATCHED)."""
    originals = split_lines(text)
    lines = [Line(line.number, rendered) for line in originals if (rendered := normalise(line.text))]
    classified = classify(lines)
    signatures = compiled_signatures(kb)
    found: list[ExtractedAnswer] = []
    text_lines: list[Line] = []
    text_families: list[str] = []
    code_lines: list[Line] = []
    code_families: list[str] = []
    error_like: set[int] = set()
    for module in LINE_FAMILIES:
        family_lines = classified.lines.get(module.FAMILY, [])
        if not family_lines:
            continue
        applicable = [sig for name in module.SIGNATURE_EXTRACTORS for sig in signatures.get(name, [])]
        own = None if module.FAMILY == fragment.FAMILY else module.FAMILY
        haystack = Haystack(family_lines)
        # the error words first: a signature literal that contains one is then looked for among its lines
        worded = haystack.containing(ERROR_WORDS) if module.FAMILY in TEXT_FAMILIES else []
        found += module.analyse(family_lines, scan(family_lines, applicable, own, haystack))
        if module.FAMILY in TEXT_FAMILIES:
            error_like |= {family_lines[i].number for i in worded}
            text_lines += family_lines
            text_families += [module.FAMILY] * len(family_lines)
            if module.FAMILY in LOG_FAMILIES:  # a log's reply codes sit in failure lines: skip the rest
                family_lines = [family_lines[i] for i in sorted({*worded, *haystack.containing(("said:",))})]
            code_lines += family_lines
            code_families += [module.FAMILY] * len(family_lines)
    zone_lines = classified.lines.get(zone.FAMILY, [])
    zone_signatures = [sig for name in zone.SIGNATURE_EXTRACTORS for sig in signatures.get(name, [])]
    found += scan(zone_lines, zone_signatures, zone.FAMILY) + zone.findings(classified.zone)
    understood = understood_lines(found, kb)
    codes = line_codes(code_lines)
    found += code_findings(code_lines, code_families, codes, kb, understood)
    warn_only = {line.number for line in lines if _WARN_ONLY in line.text}
    usable = [f for f in found if f.question in kb.questions and f.answer in kb.questions[f.question].answers
              and f.line_number not in warn_only]
    provenance = _Provenance(originals, classified)
    usable = [_with_source(f, provenance) for f in usable]
    said = {f.line_number for f in usable}
    error_like |= {code_lines[i].number for i in codes}
    unmatched = [UnmatchedLine(line.number, provenance.get(line.number, line.text))
                 for line, family in zip(text_lines, text_families, strict=True)
                 if line.number in error_like and line.number not in said and _diagnosis(line, family)]
    unmatched.sort(key=lambda u: u.line_number)
    return Extraction(sorted(usable, key=lambda f: (f.line_number, f.question, f.answer)), unmatched[:MAX_UNMATCHED])


def _diagnosis(line: Line, family: str) -> bool:
    """Whether an error-like line says what went wrong: of a DSN only Status and Diagnostic-Code do
    (``Action: failed`` only repeats them), and a bounce's own header lines never do (``Subject:
    Delivery Status Notification (Failure)``, ``X-Failed-Recipients:``)."""
    lowered = line.text.lower()
    if family == DSN_FAMILY:
        return lowered.startswith(_DSN_DIAGNOSES)
    return not lowered.startswith(_MESSAGE_HEADERS)


class _Provenance:
    """Line number -> the line as written, with its continuation lines when some were joined on.

    Looked up by bisection in the (number-ordered) original lines, for the few lines that gave a
    finding or are listed as not understood, instead of indexing half a million lines.
    """

    def __init__(self, originals: list[Line], classified: Classified) -> None:
        self.originals = originals
        self.continuations = classified.continuations

    def _written(self, number: int) -> str | None:
        index = bisect.bisect_left(self.originals, (number,))
        if index < len(self.originals) and self.originals[index].number == number:
            return self.originals[index].text
        return None

    def get(self, number: int, default: str) -> str:
        written = self._written(number)
        if written is None:
            return default
        parts = [written, *((self._written(n) or "").strip() for n in self.continuations.get(number, []))]
        return " ".join(parts)[:MAX_LINE_CHARS]


def _with_source(finding: ExtractedAnswer, provenance: _Provenance) -> ExtractedAnswer:
    source = provenance.get(finding.line_number, finding.source_line)
    if source == finding.source_line:
        return finding
    return ExtractedAnswer(finding.question, finding.answer, finding.strength, source, finding.extractor,
                           finding.signature_id, finding.line_number, finding.reply_code)
