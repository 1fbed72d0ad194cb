"""Mutual-information gains against brute force (enumeration and pgmpy VE, one query per answer)."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.infer.junction_tree import JunctionTree
from engine.infer.voi import REFERENCE_CLAMP_THRESHOLD, mutual_information_gains
from engine.model.bif import leaves, roots
from engine.model.importer import read_network
from engine.model.network import DiscreteNetwork, Variable
from tests.infer_helpers import (
    NETWORKS,
    brute_force,
    entropy_bits,
    likelihoods,
    pgmpy_reference,
    random_evidence,
    random_network,
    seeds,
)

ATOL = 1e-9


def expected_voi(
    network: DiscreteNetwork,
    lams: dict[str, np.ndarray],
    causes: list[str],
    candidates: list[str],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """``I(Q; C | e) = H(C | e) - Σ_q P(q | e) H(C | e, q)`` and ``P(Q | C = k, e)`` by enumeration."""
    base, _ = brute_force(network, lams)
    mutual: dict[str, dict[str, float]] = {q: {} for q in candidates}
    conditional: dict[str, dict[str, np.ndarray]] = {q: {} for q in candidates}
    for q in candidates:
        card_q = network.cardinality(q)
        answered = []
        for a in range(card_q):
            clamp = {**lams, q: lams.get(q, np.ones(card_q)) * np.eye(card_q)[a]}
            answered.append(brute_force(network, clamp)[0] if base[q][a] > 0 else None)
        for c in causes:
            after = sum(base[q][a] * entropy_bits(m[c]) for a, m in enumerate(answered) if m is not None)
            mutual[q][c] = entropy_bits(base[c]) - after
            card_c = network.cardinality(c)
            table = np.zeros((card_c, card_q))
            for k in range(card_c):
                if base[c][k] > 0:
                    clamp = {**lams, c: lams.get(c, np.ones(card_c)) * np.eye(card_c)[k]}
                    table[k] = brute_force(network, clamp)[0][q]
            conditional[q][c] = table
    return mutual, conditional


def check(
    network: DiscreteNetwork,
    lams: dict[str, np.ndarray],
    causes: list[str],
    candidates: list[str],
    clamp: Literal["auto", "causes", "candidates"] = "auto",
    barren: bool = False,
) -> None:
    tree = JunctionTree.compile(network)
    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        result = mutual_information_gains(tree, lams, causes=causes, candidates=candidates, clamp=clamp, barren=barren)
        conditional = {q: {c: result.conditional[q][c] for c in causes} for q in candidates}
    if clamp != "auto":
        assert result.clamped == clamp
    flat = {n: lam[0] for n, lam in lams.items()}
    base, total = brute_force(network, flat)
    if total == 0:
        assert result.impossible[0]
        assert all(result.gain[q][0] == 0 for q in candidates)
        return
    mutual, expected_cond = expected_voi(network, flat, causes, candidates)
    for q in candidates:
        observed = q in flat and np.count_nonzero(flat[q]) == 1
        expected_gain = 0.0 if observed else sum(mutual[q].values())
        assert result.gain[q][0] == pytest.approx(expected_gain, abs=ATOL), q
        np.testing.assert_allclose(result.answer_probs[q][0], base[q], atol=ATOL)
        for c in causes:
            if not observed:
                assert result.mutual_information[q][c][0] == pytest.approx(mutual[q][c], abs=ATOL), (q, c)
            np.testing.assert_allclose(conditional[q][c][0], expected_cond[q][c], atol=ATOL, err_msg=f"{q}|{c}")
    for c in causes:
        np.testing.assert_allclose(result.cause_probs[c][0], base[c], atol=ATOL)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=seeds,
    n_nodes=st.integers(2, 8),
    n_hard=st.integers(0, 2),
    n_soft=st.integers(0, 2),
    clamp=st.sampled_from(["causes", "candidates"]),
    barren=st.booleans(),
)
def test_random_networks_match_enumeration(
    seed: int, n_nodes: int, n_hard: int, n_soft: int, clamp: Literal["causes", "candidates"], barren: bool
) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, n_nodes)
    hard, soft = random_evidence(rng, network, n_hard, n_soft)
    names = list(rng.permutation(network.names))
    causes = names[: int(rng.integers(1, len(names) + 1))]
    candidates = list(rng.permutation(network.names))[: int(rng.integers(1, len(names) + 1))]
    check(network, likelihoods(network, hard, soft), causes, candidates, clamp, barren)


def test_asia_matches_pgmpy_one_query_per_answer() -> None:
    network = read_network(NETWORKS / "asia.bif.gz")
    tree = JunctionTree.compile(network)
    causes, candidates = [*roots(network), "tub", "lung"], [*leaves(network), "smoke"]
    cases: list[tuple[dict[str, int], Literal["auto", "causes", "candidates"]]] = [
        ({}, "causes"),
        ({"xray": 0}, "candidates"),
        ({"dysp": 1, "asia": 0}, "auto"),
    ]
    for hard, clamp in cases:
        lams = likelihoods(network, hard, {})
        result = mutual_information_gains(tree, lams, causes=causes, candidates=candidates, clamp=clamp)
        base, _ = pgmpy_reference(network, hard, {})
        assert base is not None
        for q in candidates:
            if q in hard:
                assert result.gain[q][0] == 0.0
                continue
            total = 0.0
            for c in causes:
                after = 0.0
                for a in range(network.cardinality(q)):
                    posterior, _ = pgmpy_reference(network, {**hard, q: a}, {})
                    if posterior is not None:
                        after += base[q][a] * entropy_bits(posterior[c])
                mi = entropy_bits(base[c]) - after
                assert result.mutual_information[q][c][0] == pytest.approx(mi, abs=ATOL), (hard, q, c)
                total += mi
            assert result.gain[q][0] == pytest.approx(total, abs=ATOL)


@pytest.mark.parametrize("clamp", ["causes", "candidates"])
def test_batched_evidence_sets_equal_separate_calls(clamp: Literal["causes", "candidates"]) -> None:
    rng = np.random.default_rng(5)
    network = random_network(rng, 9)
    tree = JunctionTree.compile(network)
    causes, candidates = network.names[:3], network.names[-4:]
    rows = [likelihoods(network, *random_evidence(rng, network, 2, 1)) for _ in range(4)]
    names = sorted({n for row in rows for n in row})
    stacked = {n: np.concatenate([r.get(n, np.ones((1, network.cardinality(n)))) for r in rows]) for n in names}
    together = mutual_information_gains(tree, stacked, 4, causes=causes, candidates=candidates, clamp=clamp)
    for e, row in enumerate(rows):
        alone = mutual_information_gains(tree, row, causes=causes, candidates=candidates, clamp=clamp)
        assert together.impossible[e] == alone.impossible[0]
        for q in candidates:
            assert together.gain[q][e] == pytest.approx(alone.gain[q][0], abs=1e-12)
            for c in causes:
                np.testing.assert_allclose(together.conditional[q][c][e], alone.conditional[q][c][0], atol=1e-12)


def _fault_network() -> DiscreteNetwork:
    network = DiscreteNetwork()
    network.add(Variable("Fault", ("none", "disk", "net"), (), np.array([0.98, 0.015, 0.005])))
    network.add(Variable("Cable", ("ok", "bad"), (), np.array([0.9, 0.1])))
    alarm = np.array([[1 - 1e-9, 1e-9], [0.2, 0.8], [0.5, 0.5]])
    network.add(Variable("Alarm", ("off", "on"), ("Fault",), alarm))
    link = np.zeros((3, 2, 2))
    link[:, 0] = [[0.99, 0.01], [0.9, 0.1], [0.05, 0.95]]
    link[:, 1] = [[0.1, 0.9], [0.1, 0.9], [0.0, 1.0]]
    network.add(Variable("LinkDown", ("no", "yes"), ("Fault", "Cable"), link))
    network.add(Variable("Slow", ("no", "yes"), ("Fault",), np.array([[0.9, 0.1], [0.3, 0.7], [0.4, 0.6]])))
    return network


def test_tiny_reference_state_is_clamped_exactly() -> None:
    network = _fault_network()
    lams = likelihoods(network, {"Alarm": 1}, {})
    flat = {n: lam[0] for n, lam in lams.items()}
    p_none = brute_force(network, flat)[0]["Fault"][0]
    assert 0 < p_none < REFERENCE_CLAMP_THRESHOLD
    check(network, lams, ["Fault", "Cable"], ["LinkDown", "Slow", "Alarm"], "causes")
    check(network, lams, ["Fault", "Cable"], ["LinkDown", "Slow", "Alarm"], "candidates")


def test_observed_causes_and_impossible_evidence() -> None:
    network = _fault_network()
    observed = likelihoods(network, {"Fault": 1, "Cable": 0, "Slow": 1}, {})
    for clamp in ("causes", "candidates"):
        check(network, observed, ["Fault", "Cable"], ["LinkDown", "Slow"], clamp)
    tree = JunctionTree.compile(network)
    lams = {
        "Fault": np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]),
        "Cable": np.array([[0.0, 1.0], [1.0, 1.0]]),
        "LinkDown": np.array([[1.0, 0.0], [1.0, 1.0]]),
    }
    with warnings.catch_warnings(), np.errstate(divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        result = mutual_information_gains(tree, lams, 2, causes=["Fault", "Cable"], candidates=["Slow", "Alarm"])
        assert not np.isnan(result.conditional["Slow"]["Fault"]).any()
    assert result.impossible.tolist() == [True, False]
    for q in ("Slow", "Alarm"):
        assert result.gain[q][0] == 0.0 and not result.answer_probs[q][0].any()
        assert result.gain[q][1] > 0.0
        assert not np.isnan(result.conditional[q]["Fault"]).any()
    assert result.ranking(1)[0][1] >= result.ranking(1)[1][1]


@pytest.mark.parametrize("answers", [{}, {"attachment_mail_fails": "yes"},
                                     {"policy_reject_logged": "yes", "single_sender_affected": "yes"}])
def test_mail_pack_answer_probabilities_are_marginals(answers: dict[str, str]) -> None:
    """On the mail pack's wide cliques, batched answer probabilities equal plain marginals.

    A root clique of 65,536 entries once came out unnormalised in the batched pass (answers summing
    to 1.7), which no small random network showed.
    """
    from engine.kb.validate import load_kb
    from engine.reason.evidence import Evidence
    from engine.reason.inference import evidence_likelihoods

    kb = load_kb("mail_delivery")
    tree, _, lams = evidence_likelihoods(kb, [Evidence(answers, {}, ())])
    candidates = [q for q in kb.questions if q not in answers]
    voi = mutual_information_gains(tree, lams, causes=list(kb.causes), candidates=candidates)
    direct = tree.propagate(lams, 1, targets=candidates)
    for question in candidates:
        np.testing.assert_allclose(voi.answer_probs[question][0], direct.marginal(question)[0],
                                   atol=1e-9, rtol=0, err_msg=question)
