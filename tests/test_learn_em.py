"""EM on our own junction tree: exact family posteriors, monotone ascent, recovery of known CPTs."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.case_schema import Case
from engine.errors import LearnError
from engine.infer.junction_tree import JunctionTree
from engine.kb.validate import load_kb
from engine.learn.em import (
    apply_learned,
    expert_hash,
    family_posteriors,
    learn,
    learned_parameters,
    load_learned,
    parameter_changes,
    write_learned,
)
from engine.learn.split import in_test_split
from engine.model.compile import compile_network
from engine.model.network import DiscreteNetwork
from tests.packgen import REFS, _node, write_random_pack

MINIMAL = Path(__file__).parent / "packs" / "minimal"
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)


def make_case(case_id: str, answers: dict[str, str], causes: list[str], *, complete: bool = True,
              kind: str = "ticket", pack: str = "minimal") -> Case:
    reference = "T-1" if kind == "ticket" else "https://example.org/r"
    return Case.model_validate({
        "id": case_id, "pack": pack, "kb_hash": "0123456789abcdef", "source": {"kind": kind, "reference": reference},
        "author": "tests", "created": NOW, "updated": NOW, "evidence": answers, "confirmed_causes": causes,
        "causes_complete": complete,
    })


def learning_ids(prefix: str, n: int) -> list[str]:
    """``n`` case ids outside the frozen test split, which learning never sees."""
    candidates = (f"{prefix}{i}" for i in itertools.count())
    return list(itertools.islice((c for c in candidates if not in_test_split(c)), n))


def full_joint(network: DiscreteNetwork) -> np.ndarray:
    """The full joint distribution as one array (axes in network order), by multiplying every CPT."""
    names = network.names
    joint = np.ones(tuple(network.cardinality(n) for n in names))
    for var in network.variables.values():
        axes = [names.index(p) for p in var.parents] + [names.index(var.name)]
        order = np.argsort(axes)
        shape = [1] * len(names)
        for axis in axes:
            shape[axis] = network.cardinality(names[axis])
        joint = joint * var.cpt.transpose(order).reshape(shape)
    return joint


def brute_force_family(network: DiscreteNetwork, joint: np.ndarray, name: str,
                       evidence: dict[str, str]) -> np.ndarray:
    """P(family | evidence) by summing the full joint distribution."""
    names = network.names
    table = joint.copy()
    for var, state in evidence.items():
        mask = np.zeros(network.cardinality(var))
        mask[network.variables[var].state_index(state)] = 1.0
        shape = [1] * len(names)
        shape[names.index(var)] = len(mask)
        table = table * mask.reshape(shape)
    family = [*network.variables[name].parents, name]
    keep = [names.index(v) for v in family]
    summed = table.sum(axis=tuple(i for i in range(len(names)) if i not in keep))
    summed = np.moveaxis(summed, np.argsort(np.argsort(keep)), range(len(keep)))
    return summed / summed.sum()


@pytest.mark.parametrize("seed", [4, 5])
def test_family_posteriors_equal_brute_force(tmp_path: Path, seed: int) -> None:
    kb = load_kb(write_random_pack(tmp_path / "pack", n_causes=5, n_questions=6, seed=seed))
    network = compile_network(kb)
    rng = np.random.default_rng(seed)
    evidences = [{q: str(rng.choice(["yes", "no"])) for q in rng.choice(list(kb.questions), 3, replace=False)}
                 for _ in range(3)]
    evidences.append({"c0": "present", "q1": "no"})
    evidences.append({})
    likelihoods: dict[str, np.ndarray] = {}
    for b, evidence in enumerate(evidences):
        for name, state in evidence.items():
            rows = likelihoods.setdefault(name, np.ones((len(evidences), network.cardinality(name))))
            rows[b] = 0.0
            rows[b, network.variables[name].state_index(state)] = 1.0
    posteriors = family_posteriors(JunctionTree.compile(network), network, likelihoods, len(evidences))
    joint = full_joint(network)
    for name in network.names:
        for b, evidence in enumerate(evidences):
            np.testing.assert_allclose(posteriors.tables[name][b], brute_force_family(network, joint, name, evidence),
                                       atol=1e-10, err_msg=f"{name} row {b}")
    assert posteriors.log_evidence[-1] == pytest.approx(0.0, abs=1e-12)


def test_em_ascends_the_log_posterior_and_keeps_rows_normalised() -> None:
    kb = load_kb(MINIMAL)
    rng = np.random.default_rng(0)
    cases = []
    for i in range(60):
        cause = ["mtu_mismatch", "icmp_blocked", "size_limit"][i % 3]
        answers = {q: str(rng.choice(["yes", "no"])) for q in rng.choice(list(kb.questions), 2, replace=False)}
        cases.append(make_case(f"c{i}", answers, [cause], complete=bool(i % 2)))
    result, _ = learn(kb, cases, ess=5)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(result.objective)), result.objective
    assert result.converged
    for variable in result.network.variables.values():
        np.testing.assert_allclose(variable.cpt.sum(axis=-1), 1.0)


def test_cause_priors_learn_from_tickets_only() -> None:
    kb = load_kb(MINIMAL)
    public = [make_case(f"p{i}", {"bounce_552": "yes"}, ["size_limit"], kind="public_report") for i in range(50)]
    result, expert = learn(kb, public, ess=10)
    np.testing.assert_allclose(result.network.variables["size_limit"].cpt, expert.variables["size_limit"].cpt)
    tickets = [make_case(case_id, {"bounce_552": "yes"}, ["size_limit"]) for case_id in learning_ids("t", 50)]
    result, expert = learn(kb, tickets, ess=10)
    # 50 tickets, all with size_limit present, against 10 pseudo-cases at the expert's 0.15
    assert result.network.variables["size_limit"].cpt[1] == pytest.approx((10 * 0.15 + 50) / 60)


def test_impossible_cases_are_named(tmp_path: Path) -> None:
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(MINIMAL, pack)
    text = (pack / "questions.yaml").read_text(encoding="utf-8")
    text = text.replace("p: {yes: 0.1, no: 0.9}", "p: {yes: 0.0, no: 1.0}")
    (pack / "questions.yaml").write_text(text, encoding="utf-8")
    kb = load_kb(pack)
    cases = [make_case("fine", {"icmp_seen": "no"}, ["icmp_blocked"]),
             make_case("broken", {"icmp_seen": "yes"}, ["icmp_blocked"])]
    with pytest.raises(LearnError, match="broken"):
        learn(kb, cases)


def test_learned_file_round_trip_and_staleness(tmp_path: Path) -> None:
    import shutil

    pack = tmp_path / "pack"
    shutil.copytree(MINIMAL, pack)
    kb = load_kb(pack)
    cases = [make_case(f"t{i}", {"bounce_552": "yes", "big_mail_fails": "yes"}, ["size_limit"]) for i in range(30)]
    result, expert = learn(kb, cases, ess=10)
    parameters = learned_parameters(kb, result, 10, today=dt.date(2026, 11, 28))
    assert parameters.kb_hash == kb.version_hash == expert_hash(pack)
    write_learned(pack, parameters)
    assert load_learned(pack) == parameters
    relearned_kb = load_kb(pack)
    assert relearned_kb.version_hash != kb.version_hash  # learned.yaml is part of the version
    applied = apply_learned(relearned_kb, compile_network(relearned_kb))
    for name, variable in applied.variables.items():
        np.testing.assert_allclose(variable.cpt, result.network.variables[name].cpt, atol=1e-5)
    changes = parameter_changes(expert, result, top=3)
    assert changes[0].node in {"size_limit", "bounce_552", "big_mail_fails"} and abs(changes[0].delta) > 0.1
    # an edited pack makes the learned file stale: the expert CPDs are used again
    (pack / "causes.yaml").write_text((pack / "causes.yaml").read_text().replace("prior: 0.2", "prior: 0.25"))
    edited = load_kb(pack)
    expert_again = compile_network(edited)
    assert apply_learned(edited, expert_again) is expert_again


# ------------------------------------------------------------------------------------------ recovery


TRUE_PRIORS = {"c0": 0.35, "c1": 0.3, "c2": 0.25, "c3": 0.3}
# question -> (parents, P(yes | parent configuration) in itertools.product order of absent/present)
TRUE_QUESTIONS: dict[str, tuple[list[str], list[float]]] = {
    "q0": (["c0"], [0.1, 0.85]),
    "q1": (["c0", "c1"], [0.05, 0.7, 0.6, 0.9]),
    "q2": (["c1"], [0.2, 0.75]),
    "q3": (["c2"], [0.15, 0.9]),
    "q4": (["c2", "c3"], [0.1, 0.5, 0.8, 0.95]),
    "q5": (["c3"], [0.25, 0.7]),
    "q6": (["c0", "c3"], [0.3, 0.6, 0.75, 0.4]),
    "q7": (["c1"], [0.6, 0.1]),
}


def _generating_pack(directory: Path, truth: bool) -> Path:
    """Questions hang directly off causes (identifiable); ``truth=False`` writes a flat expert guess."""
    meta = {"status": "experimental", "author": "tests", "date": "2026-11-28"}
    causes = [
        _node(c, title={"en": c, "ja": c}, description={"en": c}, category="test",
              prior=TRUE_PRIORS[c] if truth else 0.2, prior_basis="generated for tests", confirm={"en": "check"})
        for c in TRUE_PRIORS
    ]
    questions = []
    for q, (parents, p_yes) in TRUE_QUESTIONS.items():
        rows = []
        for config, p in zip(itertools.product(["absent", "present"], repeat=len(parents)), p_yes, strict=True):
            p = p if truth else 0.5
            rows.append({"when": dict(zip(parents, config, strict=True)), "p": {"yes": p, "no": round(1 - p, 10)}})
        questions.append(_node(q, text={"en": q, "ja": q}, short={"en": q}, how_to_check={"en": "look"},
                               cost_minutes=1, asked_by=["helpdesk"], basis="generated for tests",
                               cpd={"type": "table", "parents": parents, "rows": rows}))
    mechanism = _node("problem", title={"en": "problem"}, description={"en": "complaint"}, basis="generated for tests",
                      cpd={"type": "noisy_or", "parents": dict.fromkeys(TRUE_PRIORS, 0.8), "leak": 0.05})
    files: dict[str, Any] = {
        "pack.yaml": {"id": "recovery", "title": {"en": "r", "ja": "r"}, "version": "0.0.1",
                      "description": {"en": "generated"}, "complaint": "problem", "references": REFS,
                      "provenance": meta},
        "causes.yaml": {"causes": causes},
        "mechanisms.yaml": {"mechanisms": [mechanism]},
        "questions.yaml": {"questions": questions},
    }
    directory.mkdir(parents=True)
    for name, content in files.items():
        (directory / name).write_text(json.dumps(content), encoding="utf-8")
    return directory


def sample_cases(network: DiscreteNetwork, n: int, causes: list[str], missing: float, seed: int,
                 pack: str) -> list[Case]:
    """Forward-sample cases: every cause is recorded (complete), each answer is hidden w.p. ``missing``."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    ids = iter(learning_ids("s", n))
    while len(cases) < n:
        state: dict[str, int] = {}
        for var in network.variables.values():
            row = var.cpt[tuple(state[p] for p in var.parents)]
            state[var.name] = int(rng.choice(var.cardinality, p=row))
        present = [c for c in causes if state[c] == 1]
        if not present:
            continue  # a resolved case has a confirmed cause; selecting on causes leaves P(Q | C) intact
        answers = {q: network.variables[q].states[state[q]] for q in TRUE_QUESTIONS if rng.random() >= missing}
        cases.append(make_case(next(ids), answers, present, pack=pack))
    return cases


@pytest.mark.slow
def test_em_recovers_question_cpts_from_5000_half_answered_cases(tmp_path: Path) -> None:
    """5,000 sampled cases, half the answers missing, a flat expert guess as the prior (ESS 20).

    Stated tolerance: every P(answer | causes) entry whose row has at least 150 answered cases is
    within 0.06 of the generating value (sampling error alone is about 0.04 at 150 answers).
    """
    truth = load_kb(_generating_pack(tmp_path / "truth", truth=True))
    guess = load_kb(_generating_pack(tmp_path / "guess", truth=False))
    cases = sample_cases(compile_network(truth), 5000, list(TRUE_PRIORS), missing=0.5, seed=7, pack="recovery")
    result, _ = learn(guess, cases, ess=20)
    true_network = compile_network(truth)
    checked = 0
    for question, (parents, _) in TRUE_QUESTIONS.items():
        learned = result.network.variables[question].cpt
        expected = true_network.variables[question].cpt
        for config in itertools.product(range(2), repeat=len(parents)):
            states = {p: "present" if k else "absent" for p, k in zip(parents, config, strict=True)}
            answered = sum(1 for c in cases if question in c.evidence
                           and all((p in c.confirmed_causes) == (s == "present") for p, s in states.items()))
            if answered < 150:
                continue
            checked += 1
            assert abs(learned[config][0] - expected[config][0]) < 0.06, (question, config)
    assert checked >= 18
