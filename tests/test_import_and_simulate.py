"""Standard networks as packs (import-bif, the bundled win95pts), and simulated sessions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.bundled import networks_dir
from engine.compiled.cache import inference_network
from engine.kb.validate import load_kb
from engine.learn.simulate import POLICIES, fano_lower_bound, simulate
from engine.model.compile import compile_network
from engine.model.importer import read_network
from engine.model.pgmpy_bridge import to_pgmpy
from engine.reason.evidence import build_evidence
from engine.reason.ranking import rank

NETWORKS = networks_dir()
MINIMAL = Path(__file__).parent / "packs" / "minimal"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, timeout=600)


def test_imported_asia_ranks_like_pgmpy(tmp_path: Path) -> None:
    from pgmpy.inference import VariableElimination

    result = cli("import-bif", str(NETWORKS / "asia.bif.gz"), "--out", str(tmp_path / "asia"), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["causes"] == 2
    kb = load_kb(tmp_path / "asia")
    answers = {"xray": "yes", "dysp": "yes"}
    ranking = {c.id: c.probability for c in rank(kb, build_evidence(kb, answers)).causes}
    reference = VariableElimination(to_pgmpy(compile_network(kb)))
    for cause in kb.causes:
        normal = kb.causes[cause].states[0]
        expected = reference.query([cause], evidence=answers, show_progress=False).get_value(**{cause: normal})
        assert ranking[cause] == pytest.approx(1.0 - float(expected), abs=1e-9)


@pytest.mark.parametrize("suffix", [".xml", ".xmlbif.gz"])
def test_xmlbif_import_equals_the_bif_import(tmp_path: Path, suffix: str) -> None:
    import gzip

    from pgmpy.readwrite import XMLBIFWriter

    xml_text = str(XMLBIFWriter(to_pgmpy(read_network(NETWORKS / "asia.bif.gz"))))
    source = tmp_path / f"asia{suffix}"
    source.write_bytes(gzip.compress(xml_text.encode()) if suffix.endswith(".gz") else xml_text.encode())
    for name, path in (("from_xml", source), ("from_bif", NETWORKS / "asia.bif.gz")):
        result = cli("import-bif", str(path), "--out", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
    from_xml, from_bif = load_kb(tmp_path / "from_xml"), load_kb(tmp_path / "from_bif")
    assert set(from_xml.causes) == set(from_bif.causes) and set(from_xml.questions) == set(from_bif.questions)
    answers = {"xray": "yes", "dysp": "yes"}
    by_xml = {c.id: c.probability for c in rank(from_xml, build_evidence(from_xml, answers)).causes}
    by_bif = {c.id: c.probability for c in rank(from_bif, build_evidence(from_bif, answers)).causes}
    assert by_xml == pytest.approx(by_bif, abs=1e-12)


def test_import_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = cli("import-bif", str(tmp_path / "none.bif"), "--out", str(tmp_path / "x"))
    assert result.returncode == 1
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_bundled_win95pts_runs_rank_and_next_through_the_cli() -> None:
    ranked = cli("rank", "--kb", "win95pts", "--evidence", "problem1=No_Output", "--format", "json")
    assert ranked.returncode == 0, ranked.stderr
    assert len(json.loads(ranked.stdout)["causes"]) == 34
    asked = cli("next", "--kb", "win95pts", "--evidence", "problem1=No_Output", "--format", "json")
    assert asked.returncode == 0, asked.stderr
    document = json.loads(asked.stdout)
    assert document["questions"] and document["questions"][0]["gain_per_minute"] > 0
    assert "problem1" not in {q["id"] for q in document["questions"]}


def test_simulation_compares_policies_on_the_same_worlds() -> None:
    kb = load_kb(MINIMAL)
    calls: list[None] = []
    report = simulate(kb, 300, seed=3, progress=lambda: calls.append(None))
    assert len(calls) == 300  # once per session, whatever the number of policies
    policies = report["policies"]
    assert isinstance(policies, dict) and set(policies) == set(POLICIES)
    assert policies["rootward"]["mean_minutes"] <= policies["random"]["mean_minutes"]
    assert policies["rootward"]["mean_questions"] <= policies["fixed"]["mean_questions"]
    assert report["lower_bound_questions"] > 0
    # the oracle that knows each world bounds every policy's success
    oracle = report["hindsight"]
    assert isinstance(oracle, dict)
    assert all(oracle["success_rate"] >= row["success_rate"] for row in policies.values())
    assert 0.0 < oracle["confident_reachable"] <= 1.0 and oracle["mean_questions"] >= 1.0


def test_batched_simulation_follows_the_single_session_policy() -> None:
    """The batched policy asks, world by world, what ``next_questions`` asks one session at a time."""
    from engine.learn.simulate import _Batch, _run_policy, sample_worlds
    from engine.reason.evidence import Evidence
    from engine.reason.questions import StopPolicy, next_questions

    kb = load_kb(MINIMAL)
    rng = np.random.default_rng(5)
    causes, questions = list(kb.causes), list(kb.questions)
    truths = [(str(rng.choice(causes)),) for _ in range(12)]
    worlds = sample_worlds(inference_network(kb), truths, causes, kb.pack.complaint, rng)
    answers = np.stack([worlds[q] for q in questions], axis=1)
    batch = _Batch(kb, questions, [len(kb.questions[q].answers) for q in questions], answers,
                   np.array([kb.questions[q].cost_minutes for q in questions]))
    policy = StopPolicy()
    report = _run_policy("rootward", batch, truths, policy, rng, None)
    asked_one_by_one = []
    for r in range(len(truths)):
        evidence = Evidence()
        while True:
            out = next_questions(kb, evidence, policy=policy, limit=1)
            if out.stop or not out.questions:
                break
            question = out.questions[0].id
            answer = kb.questions[question].answers[answers[r, questions.index(question)]]
            evidence = Evidence({**evidence.answers, question: answer})
        asked_one_by_one.append(len(evidence.answers))
    assert report["mean_questions"] == pytest.approx(float(np.mean(asked_one_by_one)))


def test_fano_bound_is_the_entropy_when_there_are_no_errors() -> None:
    assert fano_lower_bound(np.array([0.25, 0.25, 0.25, 0.25]), 0.0, 1.0) == pytest.approx(2.0)
    assert fano_lower_bound(np.array([0.5, 0.5]), 0.5, 1.0) == pytest.approx(0.0)


def test_simulate_cli_runs_the_policies_in_worker_processes_with_the_same_figures() -> None:
    alone = cli("simulate", "--kb", str(MINIMAL), "--runs", "60", "--seed", "2", "--format", "json")
    forked = cli("simulate", "--kb", str(MINIMAL), "--runs", "60", "--seed", "2", "--workers", "2", "--format", "json")
    assert alone.returncode == 0 and forked.returncode == 0, alone.stderr + forked.stderr
    assert json.loads(alone.stdout)["policies"] == json.loads(forked.stdout)["policies"]
