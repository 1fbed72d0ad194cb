"""A diagnose turn computes shared figures once; every shortcut must give what the long way gives.

``Service.diagnose`` propagates the evidence once for the causes and hands that posterior to the
ranking, the next questions, the recommended actions and the uncertainty figures; the look-ahead and
the value of information share one propagation; fix twins reuse the plain network's P(e). Each test
here computes the same figures the long way (each part on its own, separate propagations, two-row
twins) and asks for agreement to 1e-9.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.compiled.cache import compiled_model
from engine.infer import mutual_information_gains
from engine.reason import decision
from engine.reason.evidence import Evidence, build_evidence
from engine.reason.fixes import DEFAULT_FLOOR, _resolves, recommended_actions, resolve_probabilities
from engine.reason.inference import evidence_likelihoods, propagate
from engine.reason.questions import LEADING_CAUSES, next_questions
from engine.reason.ranking import rank
from engine.reason.uncertainty import assess_uncertainty
from engine.service import Service
from tests.test_seed_incident import FIRST_ANSWERS, WITH_PATH_MTU

PACK = "mail_delivery"
TOLERANCE = 1e-9
TURNS: list[tuple[dict[str, str], dict[str, str]]] = [
    ({}, {}),
    (dict(FIRST_ANSWERS), {}),
    (dict(WITH_PATH_MTU), {}),
    ({**FIRST_ANSWERS, "quota_exceeded_logged": "no"}, {}),
    (dict(FIRST_ANSWERS), {"restart_postfix": "persisted"}),
    (dict(FIRST_ANSWERS), {"restart_postfix": "persisted", "lower_mtu_or_clamp_mss": "unclear"}),
]


@pytest.fixture(scope="module")
def service() -> Service:
    return Service()


def assert_same(fast: Any, slow: Any, path: str = "") -> None:
    """Equal structures, floats within TOLERANCE."""
    if isinstance(fast, float) or isinstance(slow, float):
        assert math.isclose(fast, slow, rel_tol=0.0, abs_tol=TOLERANCE), (path, fast, slow)
    elif isinstance(fast, dict):
        assert set(fast) == set(slow), path
        for key in fast:
            assert_same(fast[key], slow[key], f"{path}.{key}")
    elif isinstance(fast, list):
        assert len(fast) == len(slow), path
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert fast == slow, (path, fast, slow)


@pytest.mark.parametrize(("answers", "tried"), TURNS)
def test_a_turn_equals_its_parts_computed_alone(service: Service, answers: dict[str, str],
                                                tried: dict[str, str]) -> None:
    """The shared posterior changes nothing: each part computed on its own gives the same figures."""
    from engine.contracts import next_out, rank_out

    kb = service.kb(PACK)
    evidence = service.evidence(kb, answers, tried)
    turn = service.diagnose(PACK, answers, tried).model_dump(mode="json")
    actions = recommended_actions(kb, evidence)
    uncertainty = assess_uncertainty(kb, evidence)
    ranked = rank_out(kb, rank(kb, evidence), "en", actions, uncertainty=uncertainty).model_dump(mode="json")
    asked = next_out(kb, next_questions(kb, evidence), actions, uncertainty=uncertainty).model_dump(mode="json")
    for key in ("causes", "combinations", "explanations", "recommended_actions", "unmodelled_probability",
                "enough_evidence"):
        assert_same(turn[key], ranked[key], key)
    for key in ("questions", "handoff", "stop", "stop_reason", "stop_details"):
        assert_same(turn[key], asked[key], key)


@pytest.mark.parametrize("answers", [dict(FIRST_ANSWERS), dict(WITH_PATH_MTU), {}])
def test_one_propagation_for_look_ahead_and_value_of_information(service: Service, answers: dict[str, str]) -> None:
    """The next questions' gains, risk drops and answer probabilities equal those of a look-ahead
    that propagates its own leaders and of a separate value-of-information call."""
    kb = service.kb(PACK)
    evidence = build_evidence(kb, answers)
    result = next_questions(kb, evidence, limit=len(kb.questions))
    tree, _, likelihoods = evidence_likelihoods(kb, [evidence])
    candidates = [q for q in kb.questions if q not in evidence.observed()]
    look = decision.look_ahead(kb, tree, likelihoods, 1, candidates)
    scored = sorted(kb.causes, key=lambda c: -result.cause_probabilities[c])[:LEADING_CAUSES]
    voi = mutual_information_gains(tree, likelihoods, causes=scored, candidates=candidates)
    assert len(result.questions) == len(candidates)
    for suggestion in result.questions:
        assert suggestion.expected_gain_bits == pytest.approx(
            max(0.0, float(decision.information(look, suggestion.id)[0])), abs=TOLERANCE)
        for k, answer in enumerate(kb.questions[suggestion.id].answers):
            assert suggestion.answers[answer] == pytest.approx(float(voi.answer_probs[suggestion.id][0][k]),
                                                               abs=TOLERANCE)


def test_fix_twins_with_the_plain_networks_evidence_equal_two_row_twins(service: Service) -> None:
    """Without fixes tried, P(resolves) from one twin row over the plain network's P(e) equals the
    ratio of the twin's own two rows."""
    kb = service.kb(PACK)
    evidence = build_evidence(kb, WITH_PATH_MTU)
    factual = float(propagate(kb, [evidence], targets=list(kb.causes)).log_evidence[0])
    fixes = list(resolve_probabilities(kb, evidence, floor=DEFAULT_FLOOR)[0])
    assert len(fixes) >= 2
    for fix in fixes:
        assert _resolves(kb, evidence, fix, factual) == pytest.approx(_resolves(kb, evidence, fix), abs=TOLERANCE)


@pytest.mark.parametrize("answers", [dict(FIRST_ANSWERS), {"all_mail_fails": "no"}])
def test_uncertainty_equals_the_two_row_batch_and_a_fresh_baseline(service: Service, answers: dict[str, str]) -> None:
    """The cached baseline and the single clamped row give the figures of the original batch: the
    evidence with and without every cause clamped normal, against P(causes | complaint) propagated anew."""
    kb = service.kb(PACK)
    evidence = build_evidence(kb, answers)
    causes = list(kb.causes)
    clamps = {}
    for cause in causes:
        rows = np.ones((2, len(kb.states(cause))))
        rows[1] = 0.0
        rows[1, 0] = 1.0
        clamps[cause] = rows
    both = propagate(kb, [evidence, evidence], clamps, targets=causes)
    baseline = propagate(kb, [Evidence()], targets=causes)
    bits = 0.0
    for cause in causes:
        posterior, prior = both.marginal(cause)[0], baseline.marginal(cause)[0]
        keep = posterior > 0
        bits += float(np.sum(posterior[keep] * np.log2(posterior[keep] / prior[keep])))
    figures = assess_uncertainty(kb, evidence)
    assert figures.evidence_bits == pytest.approx(max(0.0, bits), abs=TOLERANCE)
    assert figures.unmodelled_probability == pytest.approx(
        float(np.exp(both.log_evidence[1] - both.log_evidence[0])), abs=TOLERANCE)


def test_propagating_batches_together_equals_propagating_them_apart(service: Service) -> None:
    """Shared rows are merged and every part gets back exactly its own rows."""
    kb = service.kb(PACK)
    tree = compiled_model(kb).tree
    _, _, likelihoods = evidence_likelihoods(kb, [build_evidence(kb, FIRST_ANSWERS)])
    causes = list(kb.causes)[:3]
    first = dict(likelihoods)
    first[causes[0]] = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    second = dict(likelihoods)
    second[causes[0]] = np.array([[0.0, 1.0], [1.0, 1.0]])
    second[causes[1]] = np.array([[1.0, 1.0], [0.0, 1.0]])
    targets = [*causes, "path_mtu_reduced"]
    together = tree.propagate_together([(first, 3), (second, 2)], targets)
    for (lams, batch), merged in zip([(first, 3), (second, 2)], together, strict=True):
        apart = tree.propagate(lams, batch, targets)
        np.testing.assert_allclose(merged.log_evidence, apart.log_evidence, rtol=0, atol=1e-12)
        for name in targets:
            np.testing.assert_allclose(merged.marginal(name), apart.marginal(name), rtol=0, atol=1e-12)
