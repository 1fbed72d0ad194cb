"""Honest uncertainty: ``enough_evidence`` and ``unmodelled_probability`` beside every ranking."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from engine.errors import ContradictionError
from engine.kb.validate import load_kb
from engine.model.compile import compile_network
from engine.model.pgmpy_bridge import to_pgmpy
from engine.reason.evidence import build_evidence
from engine.reason.ranking import rank
from engine.reason.uncertainty import ENOUGH_EVIDENCE_BITS, assess_uncertainty
from engine.service import Service

ROOT = Path(__file__).resolve().parents[1]
PACK = "mail_delivery"
SEED = json.loads((ROOT / "data/samples/seed/answers.json").read_text("utf-8"))
SEED_FIRST: dict[str, str] = SEED["first"]
SEED_ALL = {**SEED_FIRST, **SEED["then"]}
UNRELATED = {"config_stable_long": "yes"}  # barely moves any cause: a stable config is the usual case


@pytest.fixture(scope="module")
def service() -> Service:
    return Service()


def test_no_answers_or_one_unrelated_answer_is_not_enough(service: Service) -> None:
    for answers in ({}, UNRELATED):
        out = service.rank(PACK, answers)
        assert out.enough_evidence is False, answers
        assert all(not c.id.startswith(("unmodelled", "other")) for c in out.causes)
    kb = service.kb(PACK)
    assert assess_uncertainty(kb, build_evidence(kb, {})).evidence_bits == pytest.approx(0.0, abs=1e-9)


def test_the_seed_answers_are_enough(service: Service) -> None:
    kb = service.kb(PACK)
    for answers in (SEED_FIRST, SEED_ALL):
        assert service.rank(PACK, answers).enough_evidence is True
        assert service.next(PACK, answers).enough_evidence is True
        assert assess_uncertainty(kb, build_evidence(kb, answers)).evidence_bits >= ENOUGH_EVIDENCE_BITS


def answered_away(service: Service) -> dict[str, str]:
    """Greedily, for each question, the answer that most raises P(no modelled cause), if any does."""
    kb = service.kb(PACK)
    answers: dict[str, str] = {}
    current = assess_uncertainty(kb, build_evidence(kb, {})).unmodelled_probability
    assert current is not None
    for question, node in kb.questions.items():
        for answer in node.answers:
            try:
                trial = assess_uncertainty(kb, build_evidence(kb, {**answers, question: answer}))
            except ContradictionError:
                continue
            assert trial.unmodelled_probability is not None
            if trial.unmodelled_probability > current:
                current, best = trial.unmodelled_probability, answer
                answers[question] = best
    return answers


def test_unmodelled_probability_is_a_probability_and_rises_when_every_cause_is_answered_away(
        service: Service) -> None:
    values = {}
    for name, answers in {"none": {}, "unrelated": UNRELATED, "seed": SEED_ALL,
                          "away": answered_away(service)}.items():
        value = service.rank(PACK, answers).unmodelled_probability
        assert value is not None and 0.0 <= value <= 1.0, (name, value)
        values[name] = value
    assert values["seed"] < values["none"] < values["away"]
    assert values["away"] > 0.5, values


def test_unmodelled_probability_equals_pgmpy() -> None:
    """P(all causes absent | complaint, e) = Π P(c absent) · P(e, complaint | all absent) / P(e, complaint)."""
    from pgmpy.inference import VariableElimination

    kb = load_kb(PACK)
    network = compile_network(kb)
    reference = VariableElimination(to_pgmpy(network))
    complaint = kb.pack.complaint
    assert complaint is not None
    rng = np.random.default_rng(13)
    questions = list(kb.questions)
    checked = 0
    while checked < 5:
        asked = [str(q) for q in rng.choice(questions, size=int(rng.integers(1, 4)), replace=False)]
        answers = {q: str(rng.choice(kb.questions[q].answers)) for q in asked}
        try:
            ours = assess_uncertainty(kb, build_evidence(kb, answers)).unmodelled_probability
        except ContradictionError:
            continue
        observed = {**answers, complaint: "present"}
        absent = {c: kb.states(c)[0] for c in kb.causes}
        given_absent = reference.query(list(observed), evidence=absent, joint=True, show_progress=False)
        marginal = reference.query(list(observed), joint=True, show_progress=False)
        prior_absent = math.prod(float(network.variables[c].cpt[0]) for c in kb.causes)
        expected = prior_absent * given_absent.get_value(**observed) / marginal.get_value(**observed)
        assert ours == pytest.approx(expected, abs=1e-9)
        checked += 1


def test_a_pack_without_a_complaint_has_no_unmodelled_probability(service: Service) -> None:
    kb = service.kb("win95pts")
    assert kb.pack.complaint is None
    out = service.rank("win95pts", {})
    assert out.unmodelled_probability is None and out.enough_evidence is False


def test_fields_leave_the_ranking_unchanged(service: Service) -> None:
    kb = service.kb(PACK)
    evidence = build_evidence(kb, SEED_FIRST)
    direct = {c.id: c.probability for c in rank(kb, evidence).causes}
    served = {c.id: c.probability for c in service.rank(PACK, SEED_FIRST).causes}
    assert served == pytest.approx(direct, abs=1e-12)


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    from engine.api import create_app
    from engine.api.settings import ApiSettings

    with TestClient(create_app(ApiSettings(rate_limit_per_minute=0, api_open=True), sqlite_url)) as test_client:
        yield test_client


def test_identical_across_cli_api_sessions_and_service(service: Service, client: TestClient, tmp_path: Path) -> None:
    evidence_file = tmp_path / "first.json"
    evidence_file.write_text(json.dumps(SEED_FIRST), encoding="utf-8")
    expected = service.rank(PACK, SEED_FIRST)
    fields = ("unmodelled_probability", "enough_evidence")
    want = {f: getattr(expected, f) for f in fields}
    documents = []
    for command in ("rank", "next"):
        cli = subprocess.run([sys.executable, "-m", "engine.cli", command, "--kb", PACK, "--evidence-file",
                              str(evidence_file), "--format", "json"], capture_output=True, text=True, timeout=300)
        assert cli.returncode == 0, cli.stderr
        documents.append(json.loads(cli.stdout))
    diagnosed = client.post("/v1/diagnose", json={"kb": PACK, "evidence": SEED_FIRST})
    assert diagnosed.status_code == 200, diagnosed.text
    documents.append(diagnosed.json())
    session = client.post("/v1/sessions", json={"kb": PACK}).json()["id"]
    for question, answer in SEED_FIRST.items():
        posted = client.post(f"/v1/sessions/{session}/answers", json={"question": question, "answer": answer})
        assert posted.status_code == 200, posted.text
    documents += [client.get(f"/v1/sessions/{session}/ranking").json(),
                  client.get(f"/v1/sessions/{session}/next").json()]
    for document in documents:
        assert {f: document[f] for f in fields} == want
        assert all(set(c) == {"id", "title", "probability", "at_work", "refines"} for c in document.get("causes", []))
    report = client.get(f"/v1/sessions/{session}/report").text
    assert "moved the ranking away from the usual causes" in report


def test_cli_table_says_so_in_plain_words() -> None:
    cli = subprocess.run([sys.executable, "-m", "engine.cli", "rank", "--kb", PACK, "-e", "config_stable_long=yes"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "400"})
    assert cli.returncode == 0, cli.stderr
    assert "Not enough evidence yet: the answers so far barely move the usual causes" in cli.stdout

