"""Fix assessment on the twin network, checked against a brute-force structural model."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from engine.compiled.cache import compiled_model, twin_model
from engine.kb.validate import load_kb
from engine.reason.evidence import build_evidence, likelihood_batch
from engine.reason.fixes import assess_fix, match_fix_text, resolve_probabilities
from engine.reason.ranking import rank

MINIMAL = Path(__file__).parent / "packs" / "minimal"


def test_twin_before_world_is_the_plain_network() -> None:
    kb = load_kb(MINIMAL)
    evidence = build_evidence(kb, {"big_mail_fails": "yes", "icmp_seen": "no"})
    likelihoods = likelihood_batch(kb, [evidence])
    plain = compiled_model(kb).tree.propagate(likelihoods, 1)
    twin = twin_model(kb, [("clamp_mss",), ("clamp_mss",)]).tree.propagate(likelihoods, 1)
    for name in [*kb.causes, *kb.mechanisms, *kb.questions]:
        np.testing.assert_allclose(twin.marginal(name), plain.marginal(name), atol=1e-12)
    assert twin.log_evidence[0] == pytest.approx(plain.log_evidence[0], abs=1e-9)


def brute_force_resolves(answers: dict[str, str], removes: dict[str, float]) -> float:
    """The minimal pack's structural model enumerated by hand: causes, every noise bit, removals."""
    priors = {"mtu_mismatch": 0.1, "icmp_blocked": 0.2, "size_limit": 0.15}
    noise = {"s": 0.95, "l1": 0.01, "u_lpl": 0.95, "u_size": 0.9, "l2": 0.2}
    question = {  # P(yes | parents) of each question, from questions.yaml
        "big_mail_fails": lambda c, lpl: 1 - (1 - 0.05) * (1 - 0.9 * lpl) * (1 - 0.9 * c["size_limit"]),
        "bounce_552": lambda c, lpl: 1 - (1 - 0.02) * (1 - 0.9 * c["size_limit"]),
        "pmtu_low": lambda c, lpl: 1 - (1 - 0.05) * (1 - 0.9 * c["mtu_mismatch"]),
        "icmp_seen": lambda c, lpl: 0.1 if c["icmp_blocked"] else 0.8,
    }
    names = list(priors) + list(noise) + [f"r_{c}" for c in removes]
    weights = {**priors, **noise, **{f"r_{c}": r for c, r in removes.items()}}
    resolved = total = 0.0
    for bits in itertools.product([0, 1], repeat=len(names)):
        world = dict(zip(names, bits, strict=True))
        p = np.prod([weights[n] if world[n] else 1 - weights[n] for n in names])

        def problem(c: dict[str, int], w: dict[str, int] = world) -> tuple[int, int]:
            both = c["mtu_mismatch"] and c["icmp_blocked"]
            lpl = int((both and w["s"]) or (not both and w["l1"]))
            return int(w["l2"] or (lpl and w["u_lpl"]) or (c["size_limit"] and w["u_size"])), lpl

        before = {c: world[c] for c in priors}
        after = {c: int(before[c] and not world.get(f"r_{c}", 0)) for c in priors}
        complaint, lpl = problem(before)
        if not complaint:
            continue
        for q, a in answers.items():
            p_yes = question[q](before, lpl)
            p *= p_yes if a == "yes" else 1 - p_yes
        total += p
        if not problem(after)[0]:
            resolved += p
    return resolved / total


@pytest.mark.parametrize(
    "answers",
    [{}, {"big_mail_fails": "yes", "pmtu_low": "yes"}, {"bounce_552": "yes"}, {"icmp_seen": "no", "pmtu_low": "yes"}],
)
def test_resolve_probability_equals_structural_enumeration(answers: dict[str, str]) -> None:
    kb = load_kb(MINIMAL)
    p_resolves, _ = resolve_probabilities(kb, build_evidence(kb, answers))
    expected = brute_force_resolves(answers, kb.fixes["clamp_mss"].removes)
    assert p_resolves["clamp_mss"] == pytest.approx(expected, abs=1e-9)


def test_fix_that_removes_nothing_present_gets_no_credit_from_noise() -> None:
    kb = load_kb(MINIMAL)
    # with every cause the fix removes known to be absent, only the leak explains the problem
    evidence = build_evidence(kb, {"bounce_552": "yes", "pmtu_low": "no", "icmp_seen": "yes"})
    assessment = assess_fix(kb, evidence, "clamp_mss")
    assert assessment.p_resolves < 0.02
    assert any(r.cites for r in assessment.reasons)


def test_persisted_lowers_and_stopped_raises_the_causes_the_fix_removes() -> None:
    kb = load_kb(MINIMAL)
    answers = {"big_mail_fails": "yes"}
    base = {c.id: c.probability for c in rank(kb, build_evidence(kb, answers)).causes}
    persisted = {c.id: c.probability
                 for c in rank(kb, build_evidence(kb, answers, tried=[("clamp_mss", "persisted")])).causes}
    stopped = {c.id: c.probability
               for c in rank(kb, build_evidence(kb, answers, tried=[("clamp_mss", "stopped")])).causes}
    assert persisted["mtu_mismatch"] < base["mtu_mismatch"] < stopped["mtu_mismatch"]
    assert persisted["size_limit"] > base["size_limit"]


def test_free_text_maps_to_fixes_by_alias_and_keyword() -> None:
    kb = load_kb(MINIMAL)
    assert match_fix_text(kb, "someone says clamp mss fixed it")[0][0] == "clamp_mss"
    assert match_fix_text(kb, "I restarted the coffee machine") == []
