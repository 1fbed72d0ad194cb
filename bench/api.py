"""HTTP API benchmark: stateless ``POST /v1/diagnose`` turns per second with 1 and 2 uvicorn workers.

    python bench/api.py [--workers 1,2] [--requests 60] [--concurrency 4] [--format json|markdown|both]

Each configuration starts ``rootward serve`` on a free loopback port with its own SQLite file and an
agent key, warms every worker up (the first diagnose of a KB version compiles its models), then sends
``--requests`` turns from ``--concurrency`` client threads. The turns walk through the seed incident's
answers (0 to 7 answers), so the cost of a growing conversation is averaged in. Reported: turns per
second over the timed phase, and p50 / p99 latency per request. The server is SIGKILLed afterwards.
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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
PACK = "mail_delivery"
_SEED_ANSWERS = json.loads((REPO / "data/samples/seed/answers.json").read_text(encoding="utf-8"))
SEED = [*_SEED_ANSWERS["first"].items(), *_SEED_ANSWERS["then"].items()]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def turn(i: int) -> dict[str, Any]:
    return {"kb": PACK, "evidence": dict(SEED[: i % (len(SEED) + 1)])}


def run(workers: int, requests: int, concurrency: int) -> dict[str, Any]:
    """Start a server with ``workers`` workers, warm it up, time ``requests`` turns, kill it."""
    with tempfile.TemporaryDirectory(prefix="rootward-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOTWARD_") or k == "ROOTWARD_CACHE_DIR"}
        env.update({"ROOTWARD_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "ROOTWARD_RATE_LIMIT_PER_MINUTE": "0",
                    "XDG_DATA_HOME": tmp})
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
                    client.post("/v1/diagnose", json=turn(i), headers={"Connection": "close"}).raise_for_status()

            def timed(i: int) -> float:
                with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
                    started = time.perf_counter()
                    client.post("/v1/diagnose", json=turn(i)).raise_for_status()
                    return time.perf_counter() - started

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                latencies = list(pool.map(timed, range(requests)))
            elapsed = time.perf_counter() - started
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
    return {"workers": workers, "requests": requests, "concurrency": concurrency,
            "turns_per_second": round(requests / elapsed, 3), "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 1), "elapsed_s": round(elapsed, 2)}


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Stateless `/v1/diagnose` on `{PACK}` ({report['machine']}, {report['cpus']} CPUs)", "",
             "| workers | requests | concurrency | turns/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['workers']} | {r['requests']} | {r['concurrency']} | {r['turns_per_second']} | {r['p50_ms']} "
              f"| {r['p99_ms']} |" for r in report["results"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per configuration")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--format", choices=["json", "markdown", "both"], default="both")
    args = parser.parse_args(argv)
    report = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
              "results": [run(int(w), args.requests, args.concurrency) for w in args.workers.split(",")]}
    if args.format in ("json", "both"):
        print(json.dumps(report, indent=2))
    if args.format in ("markdown", "both"):
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
