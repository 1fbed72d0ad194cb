"""HTTP API benchmark: `/v1/diagnose` and session turns per second, 1 and 2 workers, SQLite and PostgreSQL.

    python bench/api.py [--workers 1,2] [--modes stateless,session] [--databases sqlite,postgresql]
                        [--requests 80] [--concurrency 4] [--no-peer] [--format json|markdown|both]

Each configuration starts ``rootward serve`` on a free loopback port with its own database (a SQLite
file, or a fresh PostgreSQL database on 127.0.0.1:5432 when one answers) and an agent key, warms
every worker up (the first diagnose of a KB version compiles its models), then sends ``--requests``
turns from ``--concurrency`` client threads, each on its own connection.

- ``stateless``: one ``POST /v1/diagnose`` per turn, over at least 40 different evidence sets around
  the seed incident's answers (its prefixes, and its six first answers plus one more answer), so no
  turn can be served from a response computed for another body.
- ``session``: one turn is ``POST /v1/sessions/{id}/answers`` then ``GET /v1/sessions/{id}/next``,
  walking the seed's answers in sessions of their own.

Reported: turns per second over the timed phase, p50 / p95 latency per turn, and, beside them, the
peer step measured in the same run: pyAgrum's bare naive next-question step on WIN95PTS
(LazyPropagation, the 34 root faults as targets, one ``makeInference`` per candidate and answer, three
observed leaves; ``bench/inference.py``), with the ratio p50 / peer step. Servers are SIGKILLed
afterwards and their databases dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
PACK = "mail_delivery"
_SEED_ANSWERS = json.loads((REPO / "data/samples/seed/answers.json").read_text(encoding="utf-8"))
SEED = [*_SEED_ANSWERS["first"].items(), *_SEED_ANSWERS["then"].items()]
POSTGRES_ADMIN_URL = os.environ.get("ROOTWARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def evidence_sets() -> list[dict[str, str]]:
    """The seed's prefixes (0..7 answers), then its first six answers plus one answer of another question."""
    from engine.kb.validate import load_kb

    kb = load_kb(PACK)
    first = dict(_SEED_ANSWERS["first"])
    sets = [dict(SEED[:k]) for k in range(len(SEED) + 1)]
    others = [q for q in kb.questions if q not in first and q not in _SEED_ANSWERS["then"]]
    for question in others[:40]:
        sets.append({**first, question: kb.questions[question].answers[-1]})
    return sets


def _postgres_url() -> str | None:
    """A fresh database on the local PostgreSQL, or None when none answers."""
    try:
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"rootward_bench_{os.getpid()}_{int(time.time())}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    except Exception:
        return None


def _drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def run(workers: int, mode: str, database: str, requests: int, concurrency: int,
        sets: list[dict[str, str]]) -> dict[str, Any]:
    """Start a server with ``workers`` workers, warm it up, time ``requests`` turns, kill it."""
    with tempfile.TemporaryDirectory(prefix="rootward-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db" if database == "sqlite" else _postgres_url()
        if url is None:
            return {"workers": workers, "mode": mode, "database": database, "error": "no PostgreSQL on 127.0.0.1"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOTWARD_") or k == "ROOTWARD_CACHE_DIR"}
        env.update({"ROOTWARD_DATABASE_URL": url, "ROOTWARD_RATE_LIMIT_PER_MINUTE": "0", "XDG_DATA_HOME": tmp})
        created = subprocess.run([sys.executable, "-m", "engine.cli", "keys", "create", "--role", "agent"],
                                 cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120)
        headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--host", "127.0.0.1", "--port",
                                   str(port), "--workers", str(workers)], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=60).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not become ready")
                time.sleep(0.3)
            with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                for i in range(4 * workers):  # reach every worker; the kernel spreads connections
                    client.post("/v1/diagnose", json={"kb": PACK, "evidence": sets[i % len(sets)]},
                                headers={"Connection": "close"}).raise_for_status()

            def stateless(i: int) -> float:
                with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                    started = time.perf_counter()
                    client.post("/v1/diagnose", json={"kb": PACK, "evidence": sets[i % len(sets)]}).raise_for_status()
                    return time.perf_counter() - started

            def session(i: int) -> float:
                with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                    if i % len(SEED) == 0 or not hasattr(local, "session"):
                        local.session = client.post("/v1/sessions", json={"kb": PACK}).json()["id"]
                    question, answer = SEED[i % len(SEED)]
                    started = time.perf_counter()
                    client.post(f"/v1/sessions/{local.session}/answers",
                                json={"question": question, "answer": answer}).raise_for_status()
                    client.get(f"/v1/sessions/{local.session}/next").raise_for_status()
                    return time.perf_counter() - started

            local = threading.local()
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                latencies = list(pool.map(stateless if mode == "stateless" else session, range(requests)))
            elapsed = time.perf_counter() - started
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
            if database == "postgresql":
                _drop_postgres(url)
    return {"workers": workers, "mode": mode, "database": database, "requests": requests, "concurrency": concurrency,
            "turns_per_second": round(requests / elapsed, 2), "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p95_ms": round(1000 * percentile(latencies, 0.95), 1), "elapsed_s": round(elapsed, 2)}


def peer_step() -> dict[str, Any]:
    """pyAgrum's naive next-question step on WIN95PTS, in a fresh process (``bench/inference.py``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import inference

    result: dict[str, Any] = inference.spawn("pyagrum", "win95pts", 5)
    return result


def markdown(report: dict[str, Any]) -> str:
    peer = report.get("peer") or {}
    peer_ms = peer.get("step_ms")
    lines = [f"API turns on `{PACK}` ({report['machine']}, {report['cpus']} CPUs); peer step: pyAgrum naive "
             f"next-question step on WIN95PTS = {peer_ms:.1f} ms" if isinstance(peer_ms, float)
             else f"API turns on `{PACK}` ({report['machine']}, {report['cpus']} CPUs); peer step not measured", "",
             "| mode | database | workers | turns/s | p50 ms | p95 ms | p50 / peer step |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in report["results"]:
        if "error" in r:
            lines.append(f"| {r['mode']} | {r['database']} | {r['workers']} | {r['error']} | | | |")
            continue
        ratio = f"{r['p50_ms'] / peer_ms:.2f}" if isinstance(peer_ms, float) and peer_ms > 0 else "—"
        lines.append(f"| {r['mode']} | {r['database']} | {r['workers']} | {r['turns_per_second']} | {r['p50_ms']} "
                     f"| {r['p95_ms']} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--modes", default="stateless,session", help="stateless and/or session turns")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--no-peer", action="store_true", help="skip the pyAgrum step on WIN95PTS")
    parser.add_argument("--requests", type=int, default=80, help="timed turns per configuration")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--format", choices=["json", "markdown", "both"], default="both")
    args = parser.parse_args(argv)
    sets = evidence_sets()
    results = [run(int(w), mode, database, args.requests, args.concurrency, sets)
               for database in args.databases.split(",") for mode in args.modes.split(",")
               for w in args.workers.split(",")]
    peer = None if args.no_peer else peer_step()
    report: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count(),
                              "python": platform.python_version(), "evidence_sets": len(sets), "results": results,
                              "peer": peer}
    for row in results:
        peer_ms = (peer or {}).get("step_ms")
        if "p50_ms" in row and isinstance(peer_ms, float) and peer_ms > 0:
            row["p50_over_peer_step"] = round(row["p50_ms"] / peer_ms, 3)
    if args.format in ("json", "both"):
        print(json.dumps(report, indent=2))
    if args.format in ("markdown", "both"):
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
