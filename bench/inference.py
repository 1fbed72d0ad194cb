"""Inference benchmark: our batched junction tree against naive pgmpy VE and naive pyAgrum.

    python bench/inference.py [--networks a,b,c] [--format json|markdown] [--repeat N]

Two workloads per network, identical for every engine:

* ``posterior``: ``P(C | e)`` for every cause ``C`` given three observed leaves;
* ``step``: one next-question step, the mutual-information gain ``Σ_C I(Q; C | e)`` of every
  unobserved candidate leaf ``Q``. Ours is one ``mutual_information_gains`` call; the naive engines run
  one inference per candidate and answer and combine the cause posteriors into the same numbers.

Every (network, engine) pair runs in its own subprocess so that imports, caches and peak RSS are
separate. Each timing is a warm-up then the median (and min) over ``--repeat`` repetitions. A naive
step projected to take more than ``NAIVE_BUDGET_S`` is measured on a prefix of the candidates and
extrapolated linearly (flagged ``"extrapolated": true``). The gains of every engine are checked against
ours (``details.*.max_gain_diff``).

New networks (e.g. a knowledge-base pack) plug in through ``NETWORK_LOADERS``: a name mapped to a
function returning ``(network, causes, candidates)``; BIF files in data/networks are the fallback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from engine.bundled import networks_dir  # noqa: E402
from engine.model.bif import leaves, roots  # noqa: E402
from engine.model.importer import read_network  # noqa: E402
from engine.model.network import DiscreteNetwork  # noqa: E402

NETWORKS_DIR = networks_dir()
DEFAULT_NETWORKS = ("mail", "win95pts", "alarm", "hepar2", "pathfinder", "andes", "munin")
ENGINES = ("rootward", "pgmpy_ve", "pyagrum")
N_OBSERVED = 3
SEED = 20261128
NAIVE_BUDGET_S = 60.0
WORKER_TIMEOUT_S = 1800.0
WORKER_MEMORY_BYTES = 8 * 1024**3
# MUNIN (1041 nodes, 259 root causes, 27.8M-entry junction tree) is capped for every engine alike.
CAUSE_CAP: dict[str, int] = {"munin": 12}
CANDIDATE_CAP: dict[str, int] = {"munin": 12}

NetworkLoader = Callable[[], tuple[DiscreteNetwork, list[str], list[str]]]


def _mail_pack() -> tuple[DiscreteNetwork, list[str], list[str]]:
    """The bundled mail pack: its causes, and its questions as candidates."""
    from engine.kb.validate import load_kb
    from engine.model.compile import compile_network

    kb = load_kb("mail_delivery")
    return compile_network(kb), list(kb.causes), list(kb.questions)


NETWORK_LOADERS: dict[str, NetworkLoader] = {"mail": _mail_pack}


def load_network(name: str) -> tuple[DiscreteNetwork, list[str], list[str]]:
    """``(network, causes, candidates)``; for BIF networks causes = roots and candidates = leaves."""
    if name in NETWORK_LOADERS:
        return NETWORK_LOADERS[name]()
    network = read_network(NETWORKS_DIR / f"{name}.bif.gz")
    return network, roots(network), leaves(network)


@dataclass
class Workload:
    network: DiscreteNetwork
    causes: list[str]
    candidates: list[str]
    evidence: dict[str, int]  # observed leaves -> state index, from a forward sample (so P(e) > 0)


def make_workload(name: str) -> Workload:
    network, causes, candidates = load_network(name)
    rng = np.random.default_rng(SEED)
    sample: dict[str, int] = {}
    for var in network.variables.values():
        row = var.cpt[tuple(sample[p] for p in var.parents)]
        sample[var.name] = int(rng.choice(var.cardinality, p=row / row.sum()))
    observed = sorted(rng.permutation(candidates)[:N_OBSERVED].tolist())
    evidence = {n: sample[n] for n in observed}
    free = [c for c in candidates if c not in evidence]
    return Workload(
        network=network,
        causes=[c for c in causes if c not in evidence][: CAUSE_CAP.get(name)],
        candidates=free[: CANDIDATE_CAP.get(name)],
        evidence=evidence,
    )


def entropy_bits(p: np.ndarray) -> float:
    q = p[p > 0]
    return float(-(q * np.log2(q)).sum())


def naive_gains(
    answer_probs: dict[str, np.ndarray],
    cause_probs: dict[str, np.ndarray],
    answered: dict[tuple[str, int], dict[str, np.ndarray]],
) -> dict[str, float]:
    """``Σ_C H(C | e) - Σ_q P(q | e) H(C | e, q)`` from one posterior per candidate answer."""
    gains = {}
    for q, pq in answer_probs.items():
        total = 0.0
        for c, pc in cause_probs.items():
            # a cause that is the question itself (an isolated node) is known after the answer: entropy 0
            after = sum(
                pq[a] * entropy_bits(answered[(q, a)][c])
                for a in range(pq.size)
                if (q, a) in answered and c in answered[(q, a)]
            )
            total += entropy_bits(pc) - after
        gains[q] = total
    return gains


class NaiveStep:
    """Runs the per-answer loop of a naive engine under a time budget, extrapolating when over it."""

    def __init__(self, posterior: Callable[[dict[str, int], list[str]], dict[str, np.ndarray]]) -> None:
        self.posterior = posterior

    def __call__(self, work: Workload, budget_s: float | None) -> tuple[dict[str, float], bool, float]:
        start = time.perf_counter()
        base = self.posterior(work.evidence, work.causes + work.candidates)
        cause_probs = {c: base[c] for c in work.causes}
        answer_probs = {q: base[q] for q in work.candidates}
        pairs = [(q, a) for q in work.candidates for a in range(answer_probs[q].size) if answer_probs[q][a] > 0]
        answered: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        loop_start = time.perf_counter()
        base_s = loop_start - start
        for done, (q, a) in enumerate(pairs, start=1):
            answered[(q, a)] = self.posterior({**work.evidence, q: a}, work.causes)
            looped = time.perf_counter() - loop_start
            projected = base_s + looped / done * len(pairs)
            # extrapolate the per-answer part only (the base posteriors are paid once), from >= 3 answers
            if budget_s is not None and done < len(pairs) and projected > budget_s and (done >= 3 or looped > budget_s):
                # only candidates with every possible answer measured have a complete gain
                complete = [q2 for q2 in work.candidates if all((q2, a2) in answered for q2b, a2 in pairs if q2b == q2)]
                gains = naive_gains({q2: answer_probs[q2] for q2 in complete}, cause_probs, answered)
                return gains, True, projected * 1000.0
        return naive_gains(answer_probs, cause_probs, answered), False, (time.perf_counter() - start) * 1000.0


def time_calls(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Warm-up, then (median, min) milliseconds over ``repeat`` calls (fewer if a call takes > 10 s)."""
    fn()
    times: list[float] = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
        if times[-1] > 10_000:
            break
    return statistics.median(times), min(times)


def run_worker(engine: str, name: str, repeat: int) -> dict[str, Any]:
    """One engine on one network, in this (fresh) process."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    t0 = time.perf_counter()
    work = make_workload(name)
    out: dict[str, Any] = {
        "nodes": len(work.network.names),
        "causes": len(work.causes),
        "candidates": len(work.candidates),
    }
    if engine == "rootward":
        from engine.infer import JunctionTree, VoiResult, mutual_information_gains

        tree = JunctionTree.compile(work.network)
        out["compile_ms"] = (time.perf_counter() - t0) * 1000.0
        lams = {n: np.eye(tree.cardinality(n))[[k]] for n, k in work.evidence.items()}

        def posterior() -> None:
            tree.propagate(lams, 1, targets=work.causes, barren=True)

        def step() -> VoiResult:
            return mutual_information_gains(tree, lams, causes=work.causes, candidates=work.candidates, barren=True)

        # The first calls build (and cache) the schedules and any barren-pruned sub-tree for this query
        # shape; they are reported apart so the warm-up hides nothing.
        for label, fn in (("first_posterior_ms", posterior), ("first_step_ms", step)):
            t = time.perf_counter()
            fn()
            out[label] = (time.perf_counter() - t) * 1000.0
        out["posterior_ms"], out["posterior_min_ms"] = time_calls(posterior, repeat)
        out["step_ms"], out["step_min_ms"] = time_calls(step, repeat)
        result = step()
        out["clamped"] = result.clamped
        out["gains"] = {q: float(result.gain[q][0]) for q in work.candidates}
        out["junction_tree"] = {"cliques": len(tree.cliques), "entries": tree.total_size}
        cache = Path(os.environ.get("TMPDIR", "/tmp")) / f"rootward-bench-{name}-{os.getpid()}"
        tree.save(cache)
        t = time.perf_counter()
        JunctionTree.load(cache)
        out["cached_load_ms"] = (time.perf_counter() - t) * 1000.0
        for suffix in (".npz", ".json"):
            cache.with_name(cache.name + suffix).unlink()
    elif engine == "pgmpy_ve":
        from pgmpy.inference import VariableElimination

        from engine.model.pgmpy_bridge import to_pgmpy

        ve = VariableElimination(to_pgmpy(work.network))
        out["compile_ms"] = (time.perf_counter() - t0) * 1000.0
        states = {n: work.network.variables[n].states for n in work.network.names}

        def pgmpy_posterior(evidence: dict[str, int], targets: list[str]) -> dict[str, np.ndarray]:
            # One query per target: joint=False over many causes builds their joint first (greedy
            # contraction) or runs out of memory (MinFill) on WIN95PTS-sized cause sets.
            ev = {n: states[n][k] for n, k in evidence.items()}
            return {
                t: np.asarray(ve.query([t], evidence=ev, show_progress=False).values)
                for t in targets
                if t not in evidence
            }

        out.update(_naive(pgmpy_posterior, work, repeat))
    elif engine == "pyagrum":
        try:
            import pyagrum as gum
        except ImportError:
            return {"error": "pyagrum is not installed (pip install .[bench])"}
        bn = gum.BayesNet(name)
        for var in work.network.variables.values():
            bn.add(gum.LabelizedVariable(var.name, var.name, list(var.states)))
        for var in work.network.variables.values():
            for p in var.parents:
                bn.addArc(p, var.name)
        for var in work.network.variables.values():
            family = [*var.parents, var.name]
            order = [family.index(n) for n in reversed(bn.cpt(var.name).names)]
            bn.cpt(var.name).fillWith(var.cpt.transpose(order).ravel().tolist())
        ie = gum.LazyPropagation(bn)
        ie.setNumberOfThreads(1)
        out["compile_ms"] = (time.perf_counter() - t0) * 1000.0

        def agrum_posterior(evidence: dict[str, int], targets: list[str]) -> dict[str, np.ndarray]:
            wanted = [t for t in targets if t not in evidence]
            ie.eraseAllEvidence()
            ie.setEvidence(dict(evidence))
            ie.setTargets(set(wanted))
            ie.makeInference()
            return {t: ie.posterior(t).toarray() for t in wanted}

        out.update(_naive(agrum_posterior, work, repeat))
    else:
        raise ValueError(f"unknown engine {engine!r}")
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _naive(
    posterior: Callable[[dict[str, int], list[str]], dict[str, np.ndarray]], work: Workload, repeat: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["posterior_ms"], out["posterior_min_ms"] = time_calls(lambda: posterior(work.evidence, work.causes), repeat)
    step = NaiveStep(posterior)
    gains, extrapolated, first_ms = step(work, NAIVE_BUDGET_S)
    out["gains"] = gains
    if extrapolated or first_ms > 10_000:
        out["step_ms"] = out["step_min_ms"] = first_ms
        out["extrapolated"] = extrapolated
        return out
    out["step_ms"], out["step_min_ms"] = time_calls(lambda: step(work, None), repeat)
    return out


KEYS = ("posterior_ms", "step_ms", "compile_ms", "rss_mb")


def run_all(networks: list[str], repeat: int) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    report: dict[str, Any] = {"networks": {}, "details": {}, "meta": machine_meta()}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=Console(stderr=True)
    ) as progress:
        task = progress.add_task("benchmark", total=len(networks) * len(ENGINES))
        for name in networks:
            entry: dict[str, Any] = {}
            details: dict[str, Any] = {}
            for engine in ENGINES:
                progress.update(task, description=f"{name}: {engine}")
                raw = spawn(engine, name, repeat)
                if "error" in raw:
                    entry[engine] = None
                    details[engine] = {"note": raw["error"]}
                else:
                    entry[engine] = {k: raw[k] for k in KEYS}
                    if raw.get("extrapolated"):
                        entry[engine]["extrapolated"] = True
                    details[engine] = {k: v for k, v in raw.items() if k not in KEYS and k != "gains"}
                    details["_gains_" + engine] = raw["gains"]
                progress.advance(task)
            ours = details.pop("_gains_rootward", None)
            for engine in ENGINES[1:]:
                theirs = details.pop("_gains_" + engine, None)
                if ours is not None and theirs is not None:
                    # None when an extrapolated run completed no candidate
                    details[engine]["max_gain_diff"] = max((abs(ours[q] - g) for q, g in theirs.items()), default=None)
            ours_step = entry["rootward"]["step_ms"] if entry.get("rootward") else None
            entry["ratios"] = {
                f"step_vs_{'pgmpy' if e == 'pgmpy_ve' else e}": (
                    entry[e]["step_ms"] / ours_step if entry.get(e) and ours_step else None
                )
                for e in ENGINES[1:]
            }
            report["networks"][name] = entry
            report["details"][name] = details
    return report


def spawn(engine: str, name: str, repeat: int) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, "--networks", name]
    cmd += ["--repeat", str(repeat)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=WORKER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT_S:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker failed (exit {done.returncode}): {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def machine_meta() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for pkg in ("numpy", "pgmpy", "pyagrum"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "versions": versions,
        "cores": os.cpu_count(),
        "threads": "numpy/BLAS and pyAgrum limited to 1 thread",
        "naive_budget_s": NAIVE_BUDGET_S,
        "caps": {"causes": CAUSE_CAP, "candidates": CANDIDATE_CAP},
    }


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    v = meta["versions"]
    lines = [
        f"Run {meta['date']} on {meta['cores']} cores, Python {meta['python']}, numpy {v['numpy']}, "
        f"pgmpy {v['pgmpy']}, pyAgrum {v['pyagrum'] or 'not installed'}; {meta['threads']}.",
        "Times in ms (median and min of the repetitions), RSS in MB; speed-up = their step / our step "
        "(median; min in brackets); `~` = extrapolated from a measured prefix of the candidates.",
        "",
        "| network | nodes | causes | cand. | engine | compile | posterior | step | step min | RSS | speed-up |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in report["networks"].items():
        details = report["details"][name]
        ours_details = details.get("rootward", {})
        shape = f"{ours_details.get('nodes', '?')} | {ours_details.get('causes', '?')} | "
        shape += f"{ours_details.get('candidates', '?')}"
        ours = entry.get("rootward")
        for engine in ENGINES:
            row = entry.get(engine)
            if row is None:
                note = details.get(engine, {}).get("note", "n/a")
                lines.append(f"| {name} | {shape} | {engine} | {note} | | | | | |")
                continue
            mark = "~" if row.get("extrapolated") else ""
            step_min = details[engine].get("step_min_ms", row["step_ms"])
            speed = ""
            if engine != "rootward" and ours:
                speed = f"{mark}{row['step_ms'] / ours['step_ms']:.1f}x "
                speed += f"({step_min / details['rootward']['step_min_ms']:.1f}x)"
            lines.append(
                f"| {name} | {shape} | {engine} | {row['compile_ms']:.0f} | {row['posterior_ms']:.2f} | "
                f"{mark}{row['step_ms']:.2f} | {mark}{step_min:.2f} | {row['rss_mb']:.0f} | {speed} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", default=",".join(DEFAULT_NETWORKS))
    parser.add_argument("--format", choices=("json", "markdown"), default="json")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--from-json", type=Path, help="render a saved JSON report instead of running")
    args = parser.parse_args(argv)
    names = [n.strip().lower() for n in args.networks.split(",") if n.strip()]
    if args.worker:
        try:
            result = run_worker(args.worker, names[0], args.repeat)
        except MemoryError:
            result = {"error": f"out of memory (limit {WORKER_MEMORY_BYTES / 1024**3:.0f} GiB)"}
        print(json.dumps(result, default=float))
        return 0
    report = json.loads(args.from_json.read_text()) if args.from_json else run_all(names, args.repeat)
    print(json.dumps(report, indent=2) if args.format == "json" else markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
