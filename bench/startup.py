"""Process wall time of `rootward rank` on the mail pack, against pgmpy doing the same job.

A helpdesk tool and a chatbot API start processes often, so what counts is the whole process:
interpreter start, imports, loading the pack and the compiled model, inference and output. The peer
is a script that imports pgmpy and ranks the same causes with ``VariableElimination``; "pgmpy import"
is a script that only imports pgmpy. Run: ``python bench/startup.py [--repeat N] [--format json|markdown]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
ANSWERS: dict[str, str] = json.loads((ROOT / "data/samples/seed/answers.json").read_text(encoding="utf-8"))["first"]
PGMPY_RANK = f"""
from engine.kb.validate import load_kb
from engine.model.compile import compile_network
from engine.model.pgmpy_bridge import to_pgmpy
from pgmpy.inference import VariableElimination
kb = load_kb("mail_delivery")
ve = VariableElimination(to_pgmpy(compile_network(kb)))
answers = {ANSWERS!r}
evidence = {{**answers, "mail_problem": "present"}}
# one query per cause: joint=False over all causes builds their joint first and runs out of memory
ranking = [(ve.query([c], evidence=evidence, show_progress=False, elimination_order="MinNeighbors")
            .get_value(**{{c: "present"}}), c) for c in kb.causes]
print(sorted(ranking, reverse=True)[:3])
"""


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--format", choices=("json", "markdown"), default="markdown")
    args = parser.parse_args()
    env = {**os.environ, "ROOTWARD_CACHE_DIR": tempfile.mkdtemp(prefix="rootward-bench-")}
    evidence = [arg for q, a in ANSWERS.items() for arg in ("-e", f"{q}={a}")]
    commands = {
        "rootward rank (mail pack, all fixes assessed)": [sys.executable, "-m", "engine.cli", "rank", "--kb",
                                                          "mail_delivery", "--format", "json", *evidence],
        "pgmpy: import only": [sys.executable, "-c", "import pgmpy.inference"],
        "pgmpy: same ranking with VariableElimination": [sys.executable, "-c", PGMPY_RANK],
    }
    figures: dict[str, dict[str, float]] = {}
    with Progress(transient=True) as progress:
        task = progress.add_task("timing processes", total=len(commands) * (args.repeat + 1))
        for name, command in commands.items():
            timed(command, env)  # warm-up: fills the compiled-model cache and the OS file cache
            progress.advance(task)
            samples = []
            for _ in range(args.repeat):
                samples.append(timed(command, env))
                progress.advance(task)
            figures[name] = {"median_s": statistics.median(samples), "min_s": min(samples)}
    ours = figures["rootward rank (mail pack, all fixes assessed)"]["median_s"]
    ratios = {
        "pgmpy_import_vs_rank": figures["pgmpy: import only"]["median_s"] / ours,
        "pgmpy_rank_vs_rank": figures["pgmpy: same ranking with VariableElimination"]["median_s"] / ours,
    }
    report = {"processes": figures, "ratios": ratios, "cores": os.cpu_count()}
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return
    print("| process | median s | min s |\n| --- | --- | --- |")
    for name, row in figures.items():
        print(f"| {name} | {row['median_s']:.2f} | {row['min_s']:.2f} |")
    print(f"\npgmpy import / rootward rank: {ratios['pgmpy_import_vs_rank']:.1f}x; "
          f"pgmpy ranking / rootward rank: {ratios['pgmpy_rank_vs_rank']:.1f}x")


if __name__ == "__main__":
    main()
