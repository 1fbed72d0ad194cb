"""The incident Rootward exists for (shared/seed): the bundled mail pack must get it right, robustly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.bundled import samples_dir
from engine.errors import ContradictionError
from engine.kb.loader import BUNDLED_KB_DIR
from engine.kb.validate import load_kb
from engine.model.compile import compile_network
from engine.model.pgmpy_bridge import to_pgmpy
from engine.reason.evidence import build_evidence
from engine.reason.ranking import rank

# "first": what the admin in the seed story could tell at once; "then": what the path-MTU check showed.
SEED_ANSWERS = json.loads((samples_dir() / "seed" / "answers.json").read_text("utf-8"))
FIRST_ANSWERS: dict[str, str] = SEED_ANSWERS["first"]
WITH_PATH_MTU = {**FIRST_ANSWERS, **SEED_ANSWERS["then"]}
NETWORK_CAUSES = {"mtu_mru_mismatch", "pmtud_blackhole"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, timeout=300)


def evidence_args(answers: dict[str, str]) -> list[str]:
    return [arg for q, a in answers.items() for arg in ("--evidence", f"{q}={a}")]


def check_first_answers(causes: list[tuple[str, float]]) -> None:
    top3 = {c for c, _ in causes[:3]}
    assert top3 & NETWORK_CAUSES, causes[:5]
    assert dict(causes)["postfix_misconfig"] < 0.10


def check_with_path_mtu(causes: list[tuple[str, float]], top_combination: list[str]) -> None:
    assert causes[0][0] in NETWORK_CAUSES, causes[:5]
    assert set(top_combination) & NETWORK_CAUSES, top_combination


def test_seed_incident_through_the_cli_json_contract() -> None:
    first = cli("rank", "--kb", "mail_delivery", "--format", "json", *evidence_args(FIRST_ANSWERS))
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert set(document) >= {"kb", "causes", "combinations", "explanations", "recommended_actions"}
    assert document["kb"]["id"] == "mail_delivery"
    check_first_answers([(c["id"], c["probability"]) for c in document["causes"]])

    second = cli("rank", "--kb", "mail_delivery", "--format", "json", *evidence_args(WITH_PATH_MTU))
    assert second.returncode == 0, second.stderr
    document = json.loads(second.stdout)
    check_with_path_mtu([(c["id"], c["probability"]) for c in document["causes"]],
                        document["combinations"][0]["causes"])


@pytest.fixture(scope="module")
def pack_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("mail") / "mail_delivery"
    shutil.copytree(BUNDLED_KB_DIR / "mail_delivery", target)
    return target


def scaled_pack(pack: Path, cause: str, factor: float) -> Path:
    """A copy of the pack with one cause prior multiplied, edited as an author would edit it."""
    from engine.kb import yaml_lines

    causes_file = pack / "causes.yaml"
    original = causes_file.read_text(encoding="utf-8")
    document = yaml_lines.load(original)
    index = next(i for i, c in enumerate(document["causes"]) if c["id"] == cause)
    line = yaml_lines.line_of(document, ["causes", index, "prior"])
    assert line is not None
    lines = original.splitlines(keepends=True)
    old = float(document["causes"][index]["prior"])
    lines[line - 1] = lines[line - 1].replace(str(document["causes"][index]["prior"]), repr(min(0.95, old * factor)), 1)
    causes_file.write_text("".join(lines), encoding="utf-8")
    return pack


@pytest.mark.slow
def test_seed_conclusions_survive_halving_or_raising_any_single_prior(pack_copy: Path) -> None:
    causes = list(load_kb(pack_copy).causes)
    original = (pack_copy / "causes.yaml").read_text(encoding="utf-8")
    failures = []
    try:
        for cause in causes:
            for factor in (0.5, 1.5):
                kb = load_kb(scaled_pack(pack_copy, cause, factor))
                assert kb.causes[cause].prior is not None
                first = rank(kb, build_evidence(kb, FIRST_ANSWERS))
                second = rank(kb, build_evidence(kb, WITH_PATH_MTU))
                try:
                    check_first_answers([(c.id, c.probability) for c in first.causes])
                    check_with_path_mtu([(c.id, c.probability) for c in second.causes],
                                        list(second.combinations[0].causes))
                except AssertionError as exc:
                    failures.append(f"{cause} x{factor}: {exc}")
                (pack_copy / "causes.yaml").write_text(original, encoding="utf-8")
    finally:
        (pack_copy / "causes.yaml").write_text(original, encoding="utf-8")
    assert not failures, "\n".join(failures)


def test_mail_pack_posteriors_equal_pgmpy_for_50_random_evidence_sets() -> None:
    """Each set checks the five leading causes and two others (pgmpy takes ~0.15 s per cause query)."""
    from pgmpy.inference import VariableElimination

    kb = load_kb("mail_delivery")
    reference = VariableElimination(to_pgmpy(compile_network(kb)))
    rng = np.random.default_rng(2015)
    questions = list(kb.questions)
    checked = 0
    while checked < 50:
        asked = rng.choice(questions, size=int(rng.integers(1, 9)), replace=False)
        answers = {str(q): str(rng.choice(kb.questions[str(q)].answers)) for q in asked}
        evidence = build_evidence(kb, answers)
        try:
            ranking = {c.id: c.probability for c in rank(kb, evidence).causes}
        except ContradictionError:
            continue
        leading = list(ranking)[:5]
        others = [str(c) for c in rng.choice([c for c in kb.causes if c not in leading], 2, replace=False)]
        expected = reference.query([*leading, *others], evidence={**answers, "mail_problem": "present"},
                                   joint=False, show_progress=False, elimination_order="MinNeighbors")
        for cause, factor in expected.items():
            assert ranking[cause] == pytest.approx(float(factor.get_value(**{cause: "present"})), abs=1e-9)
        checked += 1


def test_seed_artifacts_alone_put_a_path_mtu_cause_first() -> None:
    samples = samples_dir() / "seed"
    artifacts = [arg for path in sorted(samples.iterdir()) for arg in ("--artifact", str(path))]
    result = cli("rank", "--kb", "mail_delivery", "--format", "json", *artifacts)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["causes"][0]["id"] in NETWORK_CAUSES


def test_typed_answers_override_artifacts() -> None:
    samples = samples_dir() / "seed"
    result = cli("rank", "--kb", "mail_delivery", "--format", "json", "--artifact", str(samples / "tracepath.txt"),
                 "--evidence", "path_mtu_reduced=no")
    assert result.returncode == 0, result.stderr
    ranking = {c["id"]: c["probability"] for c in json.loads(result.stdout)["causes"]}
    assert ranking["mtu_mru_mismatch"] < 0.1


def test_missing_artifact_is_a_clear_error() -> None:
    result = cli("rank", "--kb", "mail_delivery", "--format", "json", "--artifact", "/no/such/file.log")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["type"] == "file_not_found"
    assert "Traceback" not in result.stderr
