"""Extraction never raises or hangs, whatever the input; signature patterns cannot backtrack badly."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bundled import samples_dir
from engine.evidence import MAX_LINE_CHARS, extract, redact, to_evidence
from engine.evidence.signatures import nested_repeats
from engine.kb.knowledge import KnowledgeBase
from engine.kb.validate import load_kb

SAMPLES = samples_dir()
SAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.rglob("*")) if p.is_file()]

KB = load_kb("mail_delivery")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str, kb: KnowledgeBase = KB) -> None:
    found = extract(text, kb)
    for finding in found:
        assert 0.0 < finding.strength <= 1.0
        assert finding.question in kb.questions
        assert len(finding.source_line) <= MAX_LINE_CHARS
    to_evidence(found, kb)
    redact(text)


@pytest.mark.timeout(60)
@FUZZ
@given(st.text())
def test_random_text(text: str) -> None:
    check(text)


@pytest.mark.timeout(60)
@FUZZ
@given(st.binary(max_size=4096))
def test_binary_input(data: bytes) -> None:
    check(data.decode("utf-8", errors="replace"))
    check(data.decode("latin-1"))


@pytest.mark.timeout(60)
@FUZZ
@given(st.sampled_from(SAMPLE_TEXTS), st.integers(min_value=0), st.integers(min_value=0), st.text(max_size=50))
def test_truncated_and_spliced_samples(text: str, cut: int, splice: int, junk: str) -> None:
    """Samples cut anywhere (a truncated download) with junk inserted (a copy-paste accident)."""
    head = text[: cut % (len(text) + 1)]
    at = splice % (len(head) + 1)
    check(head[:at] + junk + head[at:])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("unit", ["a", " ", "[", "@", "postfix/smtpd[1]: ", "timeout after DATA from ", "5.7.1 ",
                                  "IN A ", "pmtu ", "=", "\t", "\x00", "a@b.", "> ", "&lt;", "x.", "[x]", "***",
                                  "550 ", "<22>1 ", "a | ", "said: 552 ", "Nov 28 10:00:00 ", "550-",
                                  "\\r\\n550-", "\\n550 5.7.1 ", "'550-x\\r\\n", "  [220] '"])
def test_huge_pathological_lines_finish_quickly(unit: str) -> None:
    """A 1 MB line of one repeated fragment is truncated to MAX_LINE_CHARS and scanned in linear time."""
    started = time.perf_counter()
    check(unit * (1_000_000 // len(unit)) + "\n" + unit * 5000)
    assert time.perf_counter() - started < 10.0


@pytest.mark.timeout(60)
def test_long_folded_dsn_field_stays_bounded() -> None:
    text = "Status: 4.4.2\nDiagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed limit\n" + " x\n" * 200_000
    found = extract(text, KB)
    assert {f.line_number for f in found} == {1, 2}
    assert all(len(f.source_line) <= MAX_LINE_CHARS for f in found)


@pytest.mark.parametrize("signature_id", sorted(KB.signatures))
def test_signature_patterns_have_no_nested_unbounded_repeats(signature_id: str) -> None:
    assert nested_repeats(KB.signatures[signature_id].pattern) == []


@pytest.mark.parametrize("name", ["_CONTAINER", "_QUOTE", "_STAMP", "_TAG", "_RFC5424", "_BRACKETED",
                                  "_MASKED_ADDRESS", "_ESCAPED_BREAK", "_MULTILINE_REPLY"])
def test_normaliser_patterns_have_no_nested_unbounded_repeats(name: str) -> None:
    from engine.evidence import normalize

    assert nested_repeats(getattr(normalize, name).pattern) == []


def test_lint_catches_catastrophic_shapes() -> None:
    for pattern in (r"(a+)+b", r"(?:\s*x)*y", r"(\w|\d+){2,}", r"(?:(?:ab)*c)+"):
        assert nested_repeats(pattern), pattern
    for pattern in (r"a+b+", r"(?:ab){1,3}c*", r"[^\n]{0,300}?x", r"(a|b)+"):
        assert nested_repeats(pattern) == [], pattern
