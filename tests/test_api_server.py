"""The API as deployed: a real uvicorn server on loopback, a SQLite file, and a SIGKILL mid-session.

What this proves: every acknowledged answer is in the database before the reply is sent (the server
is killed without any chance to flush), a restarted server continues the session, a retried request
with the same Idempotency-Key adds nothing, and the seed incident's answers lead to its diagnosis.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_ANSWERS = [
    ("attachment_mail_fails", "yes"), ("single_sender_affected", "yes"), ("other_senders_large_mail_ok", "yes"),
    ("dos_flag_on_receiver", "yes"), ("config_stable_long", "yes"), ("data_phase_timeout_logged", "yes"),
    ("path_mtu_reduced", "yes"),
]
SEED_CAUSES = {"mtu_mru_mismatch", "pmtud_blackhole"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, data_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOTWARD_") or k == "ROOTWARD_CACHE_DIR"}
    env.update({"ROOTWARD_DATABASE_URL": database_url, "ROOTWARD_RATE_LIMIT_PER_MINUTE": "0",
                "XDG_DATA_HOME": str(data_home), "PYTHONUNBUFFERED": "1"})
    return env


def create_key(env: dict[str, str], role: str) -> str:
    """A key from the CLI, which prints the secret on its last line."""
    done = subprocess.run([sys.executable, "-m", "engine.cli", "keys", "create", "--role", role], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1]


class ServerProcess:
    """``rootward serve`` in its own process group on a free loopback port; ``kill()`` is SIGKILL."""

    def __init__(self, env: dict[str, str], workers: int = 1, log: Path | None = None) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180.0) -> ServerProcess:
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - kept for the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            cwd=ROOT, env=self.env, stdout=output, stderr=output, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; log: {self.log}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=60).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"server not ready within {timeout} s; log: {self.log}")

    def kill(self) -> None:
        """SIGKILL the whole process group (uvicorn's supervisor and its workers), then reap."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def server_env_sqlite(tmp_path: Path) -> dict[str, str]:
    return server_env(f"sqlite:///{tmp_path / 'rootward.db'}", tmp_path / "data")


@pytest.mark.slow
def test_session_survives_sigkill_and_reaches_the_seed_diagnosis(server_env_sqlite: dict[str, str],
                                                                  tmp_path: Path) -> None:
    key = create_key(server_env_sqlite, "agent")
    headers = {"Authorization": f"Bearer {key}"}
    server = ServerProcess(server_env_sqlite, log=tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            session = client.post("/v1/sessions", json={"kb": "mail_delivery"})
            assert session.status_code == 201, session.text
            session_id = session.json()["id"]
            for question, answer in SEED_ANSWERS[:4]:
                reply = client.post(f"/v1/sessions/{session_id}/answers", json={"question": question, "answer": answer})
                assert reply.status_code == 200, reply.text
        server.kill()

        server = ServerProcess(server_env_sqlite, log=tmp_path / "server.log").start()
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            restored = client.get(f"/v1/sessions/{session_id}").json()
            assert [(a["question"], a["answer"]) for a in restored["answers"]] == SEED_ANSWERS[:4]

            question, answer = SEED_ANSWERS[4]
            retry = {"Idempotency-Key": "answer-5"}
            first = client.post(f"/v1/sessions/{session_id}/answers", json={"question": question, "answer": answer},
                                headers=retry)
            again = client.post(f"/v1/sessions/{session_id}/answers", json={"question": question, "answer": answer},
                                headers=retry)
            assert first.status_code == again.status_code == 200
            assert first.json()["events"] == again.json()["events"] == restored["events"] + 1

            for question, answer in SEED_ANSWERS[5:]:
                assert client.post(f"/v1/sessions/{session_id}/answers",
                                   json={"question": question, "answer": answer}).status_code == 200
            ranking = client.get(f"/v1/sessions/{session_id}/ranking")
            assert ranking.status_code == 200, ranking.text
            assert ranking.json()["causes"][0]["id"] in SEED_CAUSES
            report = client.get(f"/v1/sessions/{session_id}/report", params={"format": "markdown"})
            assert report.status_code == 200
            assert report.headers["content-type"].startswith("text/markdown")
            assert "path_mtu_reduced" in report.text
    finally:
        server.kill()


@pytest.mark.slow
def test_rate_limit_holds_across_two_workers_and_bad_text_keeps_the_connection(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'rootward.db'}", tmp_path / "data")
    env["ROOTWARD_RATE_LIMIT_PER_MINUTE"] = "5"
    key, other = create_key(env, "agent"), create_key(env, "agent")
    headers = {"Authorization": f"Bearer {key}"}
    server = ServerProcess(env, workers=2, log=tmp_path / "server.log").start()
    try:
        # a new connection per request, so the kernel spreads them over both workers
        statuses = [httpx.get(f"{server.base_url}/v1/kbs", headers=headers, timeout=120).status_code
                    for _ in range(12)]
        assert statuses.count(200) == 5 and statuses.count(429) == 7, statuses
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            bad = client.post("/v1/diagnose", content='{"kb": "mail_delivery", "evidence": {"x": "\\ud800"}}',
                              headers={"Authorization": f"Bearer {other}", "Content-Type": "application/json"})
            assert bad.status_code == 422, bad.text
            assert client.get("/healthz").status_code == 200  # same connection, still open
    finally:
        server.kill()
