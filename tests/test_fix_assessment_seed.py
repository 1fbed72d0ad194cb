"""Folklore pushback on the seed incident: evidence-based, not blanket (issue: fix assessment)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.kb.validate import load_kb
from engine.reason.evidence import build_evidence
from engine.reason.fixes import assess_fix, match_fix_text, recommended_actions
from engine.reason.ranking import rank
from tests.test_seed_incident import FIRST_ANSWERS, WITH_PATH_MTU


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return load_kb("mail_delivery")


@pytest.mark.parametrize("fix", ["rebuild_mail_server", "restart_postfix", "raise_message_size_limit", "disable_tls"])
def test_folklore_fixes_get_little_credit_with_the_first_answers(kb, fix: str) -> None:  # type: ignore[no-untyped-def]
    assessment = assess_fix(kb, build_evidence(kb, FIRST_ANSWERS), fix)
    assert assessment.p_resolves < 0.15
    cited = {c.question for reason in assessment.reasons for c in reason.cites}
    assert cited & set(FIRST_ANSWERS), [r.text for r in assessment.reasons]
    assert assessment.verdict and assessment.risk["text"]


def test_lowering_the_mtu_is_credited_once_the_path_mtu_is_known(kb) -> None:  # type: ignore[no-untyped-def]
    evidence = build_evidence(kb, WITH_PATH_MTU)
    assert assess_fix(kb, evidence, "lower_mtu_or_clamp_mss").p_resolves > 0.5
    actions = [a.id for a in recommended_actions(kb, evidence)]
    assert "lower_mtu_or_clamp_mss" in actions[:2]


def test_raising_the_size_limit_is_credited_when_size_rejections_are_seen(kb) -> None:  # type: ignore[no-untyped-def]
    evidence = build_evidence(kb, {"size_rejection_bounce": "yes", "attachment_mail_fails": "yes"})
    assert assess_fix(kb, evidence, "raise_message_size_limit").p_resolves > 0.6


def test_a_restart_that_changed_nothing_lowers_the_postfix_causes(kb) -> None:  # type: ignore[no-untyped-def]
    """What a restart reliably removes drops; a cause it rarely removes (a config error that a reload
    would not cure) may rise instead, because the failed restart rules out its rivals."""
    answers = {"all_mail_fails": "yes"}
    before = {c.id: c.probability for c in rank(kb, build_evidence(kb, answers)).causes}
    after = {c.id: c.probability
             for c in rank(kb, build_evidence(kb, answers, tried=[("restart_postfix", "persisted")])).causes}
    removes = kb.fixes["restart_postfix"].removes
    reliable = [c for c, effect in removes.items() if effect >= 0.5 and before[c] > 0.01]
    assert reliable == ["mail_service_stopped"]
    for cause in reliable:
        assert after[cause] < 0.5 * before[cause], cause
    assert after["postfix_misconfig"] > before["postfix_misconfig"]


def test_a_recovery_counts_less_when_the_problem_comes_and_goes(kb) -> None:  # type: ignore[no-untyped-def]
    def posterior(intermittent: str) -> dict[str, float]:
        answers = {"all_mail_fails": "yes", "problem_intermittent": intermittent}
        base = {c.id: c.probability for c in rank(kb, build_evidence(kb, answers)).causes}
        stopped = {c.id: c.probability
                   for c in rank(kb, build_evidence(kb, answers, tried=[("restart_postfix", "stopped")])).causes}
        reliable = [c for c, effect in kb.fixes["restart_postfix"].removes.items() if effect >= 0.5]
        return {c: stopped[c] / base[c] for c in reliable if base[c] > 0.01}

    steady, intermittent = posterior("no"), posterior("yes")
    assert steady
    for cause, lift in steady.items():
        assert lift > 1.0, cause
        assert intermittent[cause] < lift, cause


def test_an_anecdote_maps_to_the_fix_it_describes(kb) -> None:  # type: ignore[no-untyped-def]
    assert match_fix_text(kb, "I rebuilt the whole server and it worked")[0][0] == "rebuild_mail_server"
    assert match_fix_text(kb, "someone says restarting postfix fixed it")[0][0] == "restart_postfix"


def test_assess_fix_cli_json_and_the_honest_unknown() -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "engine.cli", "assess-fix", "--kb", "mail_delivery",
                               "--format", "json", *args], capture_output=True, text=True, timeout=600)

    evidence = [arg for q, a in FIRST_ANSWERS.items() for arg in ("-e", f"{q}={a}")]
    known = cli("--text", "I rebuilt the whole server and it worked", *evidence)
    assert known.returncode == 0, known.stderr
    document = json.loads(known.stdout)
    assert document["fix"]["id"] == "rebuild_mail_server"
    assert document["p_resolves"] < 0.15
    assert set(document) >= {"fix", "p_resolves", "verdict", "reasons", "check_first", "risk", "alternatives"}
    unknown = cli("--text", "I sacrificed a rubber duck to the router", *evidence)
    assert unknown.returncode == 0, unknown.stderr
    document = json.loads(unknown.stdout)
    assert document["fix"] is None and document["in_knowledge_base"] is False
    bad = cli("--fix", "no_such_fix")
    assert bad.returncode == 1
    assert "restart_postfix" in json.loads(bad.stdout)["error"]["details"]["valid_fixes"]
