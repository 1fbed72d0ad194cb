"""Cross-validation: fold hygiene, metrics, the sensitivity shortcut, and the CLI's JSON shape."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.case_schema import Case, CaseAnswer
from engine.errors import LearnError
from engine.infer.junction_tree import JunctionTree
from engine.kb.knowledge import KnowledgeBase
from engine.kb.validate import load_kb
from engine.learn import evaluate as evaluation_module
from engine.learn.em import learn, learned_parameters, write_learned
from engine.learn.evaluate import (
    ScoredCase,
    calibration_table,
    cause_posteriors,
    confusion_table,
    cross_validate,
    sensitivity_table,
)
from engine.learn.split import SPLIT_RULE, in_test_split, split_cases
from engine.model.compile import compile_network
from engine.model.network import DiscreteNetwork
from tests.test_learn_em import make_case

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "tests" / "packs" / "minimal"


def minimal_cases(n: int = 24) -> list[Any]:
    rng = np.random.default_rng(3)
    profiles = {
        "mtu_mismatch": {"big_mail_fails": "yes", "pmtu_low": "yes"},
        "icmp_blocked": {"icmp_seen": "no"},
        "size_limit": {"bounce_552": "yes", "big_mail_fails": "yes"},
    }
    cases = []
    for i in range(n):
        cause = list(profiles)[i % 3]
        answers = {q: a for q, a in profiles[cause].items() if rng.random() < 0.8}
        cases.append(make_case(f"m{i:02d}", answers, [cause], complete=bool(i % 2)))
    return cases


def test_no_case_is_scored_by_a_model_that_learned_from_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record what each fitted model learned from, and which models scored each case.

    Every case is scored once by a fitted model that did not learn from it; frozen-split cases are
    scored once more by the pack as shipped (here the plain expert network: the pack has no
    ``learned.yaml``), which learned from no case at all.
    """
    trained_on: dict[int, set[str]] = {}
    kept: list[DiscreteNetwork] = []  # keeps fitted networks alive, so that no id is reused
    scored_by: dict[str, list[int]] = {}
    real_fit = evaluation_module.fit
    real_score = evaluation_module.score_cases

    def recording_fit(network: DiscreteNetwork, cases: Any, **kwargs: Any) -> Any:
        result = real_fit(network, cases, **kwargs)
        trained_on[id(result.network)] = {c.id for c in cases}
        kept.append(result.network)
        return result

    def recording_score(network: DiscreteNetwork, cases: Any, causes: Any, fold: int,
                        **kwargs: Any) -> list[ScoredCase]:
        kept.append(network)
        for case in cases:
            scored_by.setdefault(case.id, []).append(id(network))
        return real_score(network, cases, causes, fold, **kwargs)

    monkeypatch.setattr(evaluation_module, "fit", recording_fit)
    monkeypatch.setattr(evaluation_module, "score_cases", recording_score)
    cases = minimal_cases()
    learning, test = split_cases(cases)
    assert learning and test
    result = cross_validate(load_kb(MINIMAL), cases, folds=4, sensitivity=False)
    assert len(trained_on) == 5  # four folds, and the frozen split's model
    assert set(scored_by) == {c.id for c in cases}
    assert {s.id for s in result.scored} == {c.id for c in learning}
    test_ids = {c.id for c in test}
    for case_id, models in scored_by.items():
        fitted = [m for m in models if m in trained_on]
        assert len(fitted) == 1 and case_id not in trained_on[fitted[0]]
        assert len(models) - len(fitted) == (1 if case_id in test_ids else 0)
    for training in trained_on.values():
        assert not training & test_ids, "a frozen test case was learned from"
    for fold, training in result.fold_training.items():
        assert not set(training) & {s.id for s in result.scored if s.fold == fold}
    assert set(result.test_training) == {c.id for c in learning}


def test_the_frozen_split_is_also_scored_as_the_pack_ships(tmp_path: Path) -> None:
    """``shipped`` scores the frozen split with what ``rank`` runs on: expert CPDs, then learned.yaml."""
    cases = minimal_cases()
    _, test = split_cases(cases)
    kb = load_kb(MINIMAL)
    expert = cross_validate(kb, cases, folds=3, sensitivity=False).as_dict()["test_split"]["shipped"]
    direct = evaluation_module.score_cases(compile_network(kb), test, list(kb.causes), -1, kb=kb)
    assert expert == {"learned": False, **evaluation_module.figures(direct, {c.id: c for c in test})}
    pack = tmp_path / "minimal"
    shutil.copytree(MINIMAL, pack)
    copy = load_kb(pack)
    fitted, _ = learn(copy, cases, ess=1)
    write_learned(pack, learned_parameters(copy, fitted, 1))
    shipped = cross_validate(load_kb(pack), cases, folds=3, sensitivity=False).as_dict()["test_split"]["shipped"]
    assert shipped["learned"] is True and shipped["n_cases"] == len(test)
    assert shipped["brier"] != expert["brier"]  # learned CPTs, not the expert ones, scored the split


def test_metrics_on_a_separable_pack() -> None:
    cases = minimal_cases()
    learning, test = split_cases(cases)
    result = cross_validate(load_kb(MINIMAL), cases, folds=3, sensitivity=False)
    data = result.as_dict()
    assert data["n_cases"] == len(learning) == 18 and data["folds"] == 3
    assert 0.0 <= data["top1"] <= data["top3"] <= 1.0
    assert data["top3"] == 1.0  # only three causes
    assert 0.0 <= data["brier"] <= 1.0 and data["log_loss"] > 0
    assert sum(b["n"] for b in data["calibration"]) == sum(1 + (2 if c.causes_complete else 0) for c in learning)
    frozen = data["test_split"]
    assert frozen["n_cases"] == len(test) == 6 and frozen["learned_from"] == 18 and frozen["top3"] == 1.0
    assert 0.0 <= frozen["top1"] <= 1.0 and 0.0 <= frozen["brier"] <= 1.0 and frozen["log_loss"] > 0
    assert frozen["coverage"] == {"cases": 6, "covered": 6, "share": 1.0}
    assert sum(f["n_cases"] for f in frozen["per_family"]) == 6
    assert sum(f["n_cases"] for f in data["per_family"]) == 18
    assert "cases" not in frozen  # the frozen split is reported in total only


def test_the_frozen_split_is_a_fixed_rule_on_ids() -> None:
    ids = [f"case-{i:03d}" for i in range(12)]
    assert [i for i in ids if in_test_split(i)] == ["case-001", "case-002", "case-007"]
    assert SPLIT_RULE == "SHA-256(case id)[0] mod 3 == 0"
    many = [f"id-{i}" for i in range(3000)]
    share = sum(map(in_test_split, many)) / len(many)
    assert 0.30 < share < 0.37  # 86 of 256 byte values


def test_adding_cases_never_moves_another_across() -> None:
    base = minimal_cases(12)
    learning, test = split_cases(base)
    more = base + minimal_cases(24)[12:] + [make_case("added-later", {"icmp_seen": "no"}, ["icmp_blocked"])]
    grown_learning, grown_test = split_cases(list(reversed(more)))
    assert {c.id for c in learning} <= {c.id for c in grown_learning}
    assert {c.id for c in test} <= {c.id for c in grown_test}
    assert not {c.id for c in grown_learning} & {c.id for c in grown_test}


def absurd(case: Case, kb: KnowledgeBase) -> Case:
    """The same case id with every answer flipped and every other cause confirmed instead."""
    flipped = {q: next(x for x in kb.questions[q].answers if x != a) for q, a in case.answers().items()}
    others = [c for c in kb.causes if c not in case.confirmed_causes]
    return case.model_copy(update={"evidence": {q: CaseAnswer(answer=a) for q, a in flipped.items()},
                                   "confirmed_causes": others, "causes_complete": True})


def test_no_frozen_test_case_is_ever_learned_from() -> None:
    """Learning and cross-validation with the frozen cases' evidence made absurd learn exactly the same."""
    kb = load_kb(MINIMAL)
    cases = minimal_cases()
    learning, test = split_cases(cases)
    poisoned = learning + [absurd(c, kb) for c in test]
    sane, _ = learn(kb, cases, ess=5)
    crazy, _ = learn(kb, poisoned, ess=5)
    assert sane.cases == crazy.cases == len(learning) and sane.held_out == crazy.held_out == len(test)
    for name, variable in sane.network.variables.items():
        np.testing.assert_array_equal(variable.cpt, crazy.network.variables[name].cpt)
    plain = cross_validate(kb, cases, folds=3, sensitivity=False).as_dict()
    spoiled = cross_validate(kb, poisoned, folds=3, sensitivity=False).as_dict()
    for key in ("n_cases", "top1", "top3", "brier", "log_loss", "calibration", "cases", "per_family"):
        assert plain[key] == spoiled[key], key
    with pytest.raises(LearnError, match="frozen test split"):
        learn(kb, test)


def test_a_case_the_pack_cannot_express_counts_against_coverage_only() -> None:
    kb = load_kb(MINIMAL)
    cases = minimal_cases()
    learning, test = split_cases(cases)
    outside = [Case.model_validate({**make_case(f"outside-{i}", {"icmp_seen": "yes"}, ["icmp_blocked"]).model_dump(),
                                    "confirmed_causes": [], "causes_complete": False,
                                    "unmodelled_cause": "an MTA the pack does not model"}) for i in range(40)]
    data = cross_validate(kb, cases + outside, folds=3, sensitivity=False).as_dict()
    extra_learning, extra_test = split_cases(outside)
    assert data["n_cases"] == len(learning)
    assert data["coverage"] == {"cases": len(learning) + len(extra_learning), "covered": len(learning),
                                "share": round(len(learning) / (len(learning) + len(extra_learning)), 4)}
    assert data["test_split"]["n_cases"] == len(test)
    assert data["test_split"]["coverage"]["cases"] == len(test) + len(extra_test)
    with pytest.raises(ValueError, match="unmodelled_cause"):
        make_case("nothing-confirmed", {}, [])


def test_calibration_and_confusions() -> None:
    table = calibration_table(np.array([0.05, 0.15, 0.95, 1.0]), np.array([0.0, 1.0, 1.0, 1.0]), bins=10)
    assert [b["n"] for b in table] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table[9]["observed"] == 1.0 and table[2]["mean_predicted"] is None
    scored = [ScoredCase("a", 0, ["x"], [("y", 0.6), ("x", 0.3)]), ScoredCase("b", 0, ["x"], [("y", 0.5), ("x", 0.4)]),
              ScoredCase("c", 0, ["x"], [("x", 0.9), ("y", 0.1)])]
    assert confusion_table(scored) == [{"predicted": "y", "actual": "x", "count": 2, "cases": ["a", "b"]}]


def _scaled(network: DiscreteNetwork, node: str, index: tuple[int, ...], state: int, factor: float) -> DiscreteNetwork:
    cpt = np.array(network.variables[node].cpt, copy=True)
    row = cpt[index]
    row[state] *= factor
    cpt[index] = row / row.sum()
    result = DiscreteNetwork()
    for name, var in network.variables.items():
        result.add(replace(var, cpt=cpt) if name == node else var)
    return result


def test_sensitivity_shortcut_equals_recompiling_the_perturbed_network() -> None:
    kb = load_kb(MINIMAL)
    network = compile_network(kb)
    cases = minimal_cases(12)
    causes = list(kb.causes)
    rows = sensitivity_table(kb, network, cases, cpd_entries=50)
    base = cause_posteriors(network, JunctionTree.compile(network), cases, causes)
    base_leaders = [causes[int(np.argmax(r))] for r in base]
    expected = []
    candidates = [("prior", c, (), 1) for c in causes]
    for question in kb.questions:
        variable = network.variables[question]
        for index in np.ndindex(*variable.cpt.shape[:-1]):
            for state in range(variable.cardinality):
                candidates.append(("cpd", question, tuple(int(i) for i in index), state))
    for kind, node, index, state in candidates:
        for factor in (0.5, 2.0):
            perturbed = _scaled(network, node, index, state, factor)
            probabilities = cause_posteriors(perturbed, JunctionTree.compile(perturbed), cases, causes)
            leaders = [causes[int(np.argmax(r))] for r in probabilities]
            changed = [c.id for c, a, b in zip(cases, base_leaders, leaders, strict=True) if a != b]
            if changed:
                expected.append((kind, node, index, state, factor, changed))
    assert expected, "the test cases should be sensitive to something"
    got = [(r["kind"], r["node"], tuple(network.variables[p].states.index(v) for p, v in r["when"].items()),
            network.variables[r["node"]].states.index(r["state"]), r["factor"], [c["case"] for c in r["changed"]])
           for r in rows]
    assert all(g in expected for g in got)  # every reported change is real
    for kind, node, index, state, factor, changed in expected:
        # on a binary row, P(yes) x f and P(no) x 1/f are the same perturbation; either may be reported
        mirror = (kind, node, index, 1 - state, 1 / factor, changed)
        assert (kind, node, index, state, factor, changed) in got or mirror in got


def test_evaluate_cli_json(tmp_path: Path) -> None:
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    for case in minimal_cases(10):
        (cases_dir / f"{case.id}.yaml").write_text(case.model_dump_json(), encoding="utf-8")
    env = dict(os.environ, ROOTWARD_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}", PYTHONPATH=str(ROOT))
    plot = tmp_path / "calibration.png"
    run = subprocess.run([sys.executable, "-m", "engine", "evaluate", "--kb", str(MINIMAL), "--cases", str(cases_dir),
                          "--folds", "3", "--format", "json", "--plot", str(plot)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    for key in ("n_cases", "folds", "top1", "top3", "brier", "log_loss", "calibration", "confusions", "sensitivity"):
        assert key in data
    learning, test = split_cases(minimal_cases(10))
    assert data["n_cases"] == len(learning) and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["split_rule"] == SPLIT_RULE and data["test_split"]["coverage"]["cases"] == len(test)
    for key in ("top1", "top3", "brier", "log_loss", "per_family", "coverage"):
        assert key in data["test_split"]
    bad = subprocess.run([sys.executable, "-m", "engine", "evaluate", "--kb", str(MINIMAL), "--cases",
                          str(tmp_path / "missing"), "--format", "json"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["type"] == "not_found"
    assert "Traceback" not in bad.stderr
