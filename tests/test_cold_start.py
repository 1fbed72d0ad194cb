"""The seed incident from a cold start (issue 15's must-show): no intake, no role, answers only
what the seed's admin knew, skips the rest. The path-MTU diagnosis must come within 10 questions.

Each step ranks; it stops once a path-MTU cause (or one that refines one) leads with probability
0.5 or more. Otherwise it asks for the next question with the skips so far, takes the first one (or
the first hand-off when no question is listed), answers it when the seed's admin knew the answer
and skips it when he did not. The same walk runs through the CLI, the HTTP API and the service.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.api import create_app
from engine.api.settings import ApiSettings
from engine.kb.knowledge import KnowledgeBase
from engine.service import Service
from engine.store import KeyRepository, open_store

PACK = "mail_delivery"
PATH_MTU_CAUSES = {"pmtud_blackhole", "mtu_mru_mismatch", "tunnel_without_mss_clamping", "remote_reduced_mtu_hop"}
KNOWN = {q: "yes" for q in ("attachment_mail_fails", "single_sender_affected", "other_senders_large_mail_ok",
                            "dos_flag_on_receiver", "config_stable_long", "data_phase_timeout_logged",
                            "path_mtu_reduced", "problem_intermittent")}
MAX_SHOWN = 10

Turn = Callable[[dict[str, str], list[str]], tuple[list[dict[str, Any]], dict[str, Any]]]
"""(answers, skips) -> (ranked causes, the `next` document)."""


def path_mtu_family(kb: KnowledgeBase) -> set[str]:
    """The path-MTU causes and any cause that refines one of them (packs grow by refinement)."""
    family = set(PATH_MTU_CAUSES)
    grew = True
    while grew:
        grew = False
        for cause in kb.causes.values():
            broader = getattr(cause, "refines", None)
            if broader in family and cause.id not in family:
                family.add(cause.id)
                grew = True
    return family


def cold_start(turn: Turn, family: set[str], rank_only: Callable[[dict[str, str]], list[dict[str, Any]]]
               ) -> tuple[list[str], dict[str, Any]]:
    """Walk the must-show procedure; returns the questions shown (with what was done) and the leader."""
    answers: dict[str, str] = {}
    skips: list[str] = []
    shown: list[str] = []
    while len(shown) <= MAX_SHOWN:
        causes = rank_only(answers)
        if causes[0]["id"] in family and causes[0]["probability"] >= 0.5:
            return shown, causes[0]
        if len(shown) == MAX_SHOWN:
            break
        _, asked = turn(answers, skips)
        offered = asked["questions"] or asked["handoff"]
        assert offered, f"nothing left to ask after {shown}: {asked['stop_reason']}"
        question = offered[0]["id"]
        if question in KNOWN:
            answers[question] = KNOWN[question]
            shown.append(f"{question}=yes")
        else:
            skips.append(question)
            shown.append(f"{question} (skipped)")
    raise AssertionError(f"no path-MTU leader at 0.5 within {MAX_SHOWN} questions shown: {shown}")


def test_cold_start_reaches_the_path_mtu_diagnosis_through_the_service() -> None:
    service = Service()
    kb = service.kb(PACK)

    def turn(answers: dict[str, str], skips: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        out = service.diagnose(PACK, answers, skip=skips)
        return [c.model_dump() for c in out.causes], out.model_dump()

    shown, leader = cold_start(turn, path_mtu_family(kb), lambda answers: turn(answers, [])[0])
    assert len(shown) <= MAX_SHOWN and leader["id"] in PATH_MTU_CAUSES, shown
    # the first questions the person is shown are what they can tell at once or check in minutes
    assert any(s.startswith("path_mtu_reduced") for s in shown)


def cli(*args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--format", "json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def evidence_args(answers: dict[str, str]) -> list[str]:
    return [arg for q, a in answers.items() for arg in ("--evidence", f"{q}={a}")]


def test_cold_start_reaches_the_path_mtu_diagnosis_through_the_cli() -> None:
    family = path_mtu_family(Service().kb(PACK))

    def rank_only(answers: dict[str, str]) -> list[dict[str, Any]]:
        causes: list[dict[str, Any]] = cli("rank", "--kb", PACK, *evidence_args(answers))["causes"]
        return causes

    def turn(answers: dict[str, str], skips: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        skipped = [arg for q in skips for arg in ("--skip", q)]
        return [], cli("next", "--kb", PACK, *evidence_args(answers), *skipped)

    shown, leader = cold_start(turn, family, rank_only)
    assert len(shown) <= MAX_SHOWN and leader["id"] in family, shown


@pytest.fixture
def client(sqlite_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with open_store(sqlite_url).transaction() as session:
        key = KeyRepository(session).create("agent", "cold start")[1]
    with TestClient(create_app(ApiSettings(rate_limit_per_minute=0), sqlite_url)) as test_client:
        yield test_client, {"Authorization": f"Bearer {key}"}


def test_cold_start_reaches_the_path_mtu_diagnosis_through_the_api(client: tuple[TestClient, dict[str, str]]
                                                                   ) -> None:
    http, headers = client
    family = path_mtu_family(Service().kb(PACK))

    def turn(answers: dict[str, str], skips: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        response = http.post("/v1/diagnose", json={"kb": PACK, "evidence": answers, "skip": skips}, headers=headers)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document["causes"], document

    shown, leader = cold_start(turn, family, lambda answers: turn(answers, [])[0])
    assert len(shown) <= MAX_SHOWN and leader["id"] in family, shown
