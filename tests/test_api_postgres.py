"""Several workers share sessions through PostgreSQL: 50 concurrent sessions × 10 answers lose nothing.

Skipped with the reason when ``ROOTWARD_TEST_POSTGRES_URL`` is unset or unreachable (see conftest):
the run gets a database of its own and this test a schema of its own, both dropped afterwards.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.test_api_server import ServerProcess, create_key, server_env

SESSIONS = 50
ANSWERS = 10


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(420)
def test_fifty_concurrent_sessions_on_two_workers_lose_nothing(postgres_url: str, tmp_path: Path) -> None:
    env = server_env(postgres_url, tmp_path / "data")
    key = create_key(env, "agent")
    server = ServerProcess(env, workers=2, log=tmp_path / "server.log").start()
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            pack = client.get("/v1/kbs/mail_delivery").json()
        questions = [(q["id"], q["answers"][0]) for q in pack["questions"][:ANSWERS]]

        def run_session(index: int) -> tuple[str, list[int]]:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
                created = client.post("/v1/sessions", json={"kb": "mail_delivery"})
                assert created.status_code == 201, created.text
                session_id = created.json()["id"]
                statuses = []
                for n, (question, answer) in enumerate(questions):
                    reply = client.post(f"/v1/sessions/{session_id}/answers",
                                        json={"question": question, "answer": answer},
                                        headers={"Idempotency-Key": f"s{index}-a{n}"})
                    statuses.append(reply.status_code)
                return session_id, statuses

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=25) as pool:
            results = list(pool.map(run_session, range(SESSIONS)))
        elapsed = time.monotonic() - started
        assert all(status == 200 for _, statuses in results for status in statuses)

        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            for session_id, _ in results:
                state = client.get(f"/v1/sessions/{session_id}").json()
                assert [(a["question"], a["answer"]) for a in state["answers"]] == questions
                assert state["events"] == ANSWERS
        assert elapsed < 300, f"{SESSIONS}×{ANSWERS} answers took {elapsed:.0f} s"
    finally:
        server.kill()
