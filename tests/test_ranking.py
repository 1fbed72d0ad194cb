"""Ranking: marginals against pgmpy, combinations against brute force, contradictions named.

The complaint node ('problem' in the test packs) is observed present in every diagnosis, so the
pgmpy references condition on it too.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ContradictionError, EvidenceError
from engine.kb.validate import load_kb
from engine.model.compile import compile_network
from engine.model.pgmpy_bridge import to_pgmpy
from engine.reason.evidence import build_evidence
from engine.reason.ranking import rank
from tests.packgen import write_random_pack

MINIMAL = Path(__file__).parent / "packs" / "minimal"


def test_minimal_pack_ranking_matches_pgmpy() -> None:
    from pgmpy.inference import VariableElimination

    kb = load_kb(MINIMAL)
    answers = {"big_mail_fails": "yes", "bounce_552": "no", "pmtu_low": "yes"}
    ranking = rank(kb, build_evidence(kb, answers))
    reference = VariableElimination(to_pgmpy(compile_network(kb)))
    for score in ranking.causes:
        expected = reference.query([score.id], evidence={**answers, "problem": "present"}, show_progress=False)
        assert score.probability == pytest.approx(float(expected.get_value(**{score.id: "present"})), abs=1e-9)
    assert ranking.causes[0].id == "mtu_mismatch"
    keys = [(c.at_work, c.probability) for c in ranking.causes]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_combinations_equal_brute_force_enumeration(tmp_path: Path, seed: int) -> None:
    """Packs of 12 causes: the top-10 joint, the rest summed out, equals full enumeration."""
    from pgmpy.inference import VariableElimination

    kb = load_kb(write_random_pack(tmp_path / "pack", n_causes=12, n_questions=14, seed=seed))
    rng = np.random.default_rng(seed)
    answers = {q: str(rng.choice(["yes", "no"])) for q in rng.choice(list(kb.questions), 5, replace=False)}
    ranking = rank(kb, build_evidence(kb, answers), top_combinations=5)
    leaders = [c.id for c in ranking.causes[:10]]
    joint = VariableElimination(to_pgmpy(compile_network(kb))).query(
        leaders, evidence={**answers, "problem": "present"}, joint=True, show_progress=False
    )
    enumerated = []
    for states in itertools.product(["absent", "present"], repeat=len(leaders)):
        assignment = dict(zip(leaders, states, strict=True))
        present = tuple(c for c in leaders if assignment[c] == "present")
        enumerated.append((float(joint.get_value(**assignment)), present))
    enumerated.sort(key=lambda item: -item[0])
    for combo, (probability, present) in zip(ranking.combinations, enumerated[:5], strict=True):
        assert combo.probability == pytest.approx(probability, abs=1e-9)
        if not np.isclose(probability, enumerated[5][0]):
            assert set(combo.causes) == set(present)


def test_weight_of_evidence_sign_follows_the_answer() -> None:
    kb = load_kb(MINIMAL)
    ranking = rank(kb, build_evidence(kb, {"bounce_552": "yes", "pmtu_low": "no"}))
    by_question = {w.question: w.woe_bits for w in ranking.explanations["size_limit"]}
    assert by_question["bounce_552"] > 1.0
    mtu = {w.question: w.woe_bits for w in ranking.explanations["mtu_mismatch"]}
    assert mtu["pmtu_low"] < -1.0


def test_unknown_answers_add_no_evidence() -> None:
    kb = load_kb(MINIMAL)
    plain = rank(kb, build_evidence(kb, {"big_mail_fails": "yes"}))
    with_unknown = rank(kb, build_evidence(kb, {"big_mail_fails": "yes", "pmtu_low": "unknown"}))
    assert [c.probability for c in plain.causes] == [c.probability for c in with_unknown.causes]


def test_unknown_question_lists_the_valid_ids() -> None:
    kb = load_kb(MINIMAL)
    with pytest.raises(EvidenceError) as info:
        build_evidence(kb, {"no_such_question": "yes"})
    assert "no_such_question" in str(info.value)
    assert "bounce_552" in info.value.details["valid_questions"]  # type: ignore[operator]
    with pytest.raises(EvidenceError, match="valid answers: yes, no, unknown"):
        build_evidence(kb, {"bounce_552": "maybe"})


def test_impossible_evidence_is_a_contradiction_naming_the_answers(tmp_path: Path) -> None:
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(MINIMAL, pack)
    questions = pack / "questions.yaml"
    text = questions.read_text(encoding="utf-8")
    # a definition-like question: 'icmp_seen' is exactly 'not icmp_blocked'
    text = text.replace("p: {yes: 0.1, no: 0.9}", "p: {yes: 0.0, no: 1.0}")
    text = text.replace("p: {yes: 0.8, no: 0.2}", "p: {yes: 1.0, no: 0.0}")
    text = text.replace("cpd: {type: noisy_or, parents: {mtu_mismatch: 0.9}, leak: 0.05}",
                        "cpd:\n      type: table\n      parents: [icmp_blocked]\n      rows:\n"
                        "        - {when: {icmp_blocked: present}, p: {yes: 1.0, no: 0.0}}\n"
                        "        - {when: {icmp_blocked: absent}, p: {yes: 0.0, no: 1.0}}")
    questions.write_text(text, encoding="utf-8")
    kb = load_kb(pack)
    evidence = build_evidence(kb, {"icmp_seen": "yes", "pmtu_low": "yes", "big_mail_fails": "yes"})
    with pytest.raises(ContradictionError) as info:
        rank(kb, evidence)
    assert info.value.answers == {"icmp_seen": "yes", "pmtu_low": "yes"}


def test_remembered_combinations_equal_a_fresh_search() -> None:
    """A turn's stop rule reuses the ranking's search; what it gets must be what a new search finds."""
    from engine.reason import ranking

    kb = load_kb("mail_delivery")
    evidence = build_evidence(kb, {"attachment_mail_fails": "yes", "single_sender_affected": "yes"})
    leaders = [c.id for c in rank(kb, evidence).causes]
    five = ranking.combinations(kb, evidence, leaders, 5)
    remembered = ranking.combinations(kb, evidence, leaders, 1)
    fresh = ranking._search_combinations(kb, evidence, leaders, 1)
    assert [c.causes for c in remembered] == [c.causes for c in fresh] == [five[0].causes]
    assert abs(remembered[0].probability - fresh[0].probability) < 1e-12
    other = build_evidence(kb, {"attachment_mail_fails": "yes", "single_sender_affected": "no"})
    assert ranking.combinations(kb, other, leaders, 1)[0].probability != five[0].probability


def test_pruned_passes_equal_the_full_tree_on_the_mail_pack() -> None:
    """rank runs on the barren-pruned sub-tree; every posterior equals the full tree's to 1e-9."""
    import json

    from engine.bundled import samples_dir
    from engine.compiled.cache import compiled_model
    from engine.reason.evidence import likelihood_batch

    kb = load_kb("mail_delivery")
    seed = json.loads((samples_dir() / "seed" / "answers.json").read_text("utf-8"))
    tree = compiled_model(kb).tree
    for answers in ({}, seed["first"], {**seed["first"], **seed["then"]},
                    {"policy_reject_logged": "yes", "queue_growing": "yes", "failures_are_temporary": "no"}):
        evidence = build_evidence(kb, answers)
        ranking = rank(kb, evidence, top_combinations=1, explain=0)
        full = tree.propagate(likelihood_batch(kb, [evidence]), 1, prune=False)
        for score in ranking.causes:
            assert score.probability == pytest.approx(1.0 - float(full.marginal(score.id)[0, 0]), abs=1e-9)
