"""In-process cost of one diagnose turn: ``Service.diagnose`` CPU time per turn on the mail pack.

    python bench/turn.py [--passes 3] [--profile N] [--format json|markdown]

The turns cycle through the evidence sets of ``bench/api.py`` (the seed incident's prefixes and its
first six answers plus one more answer, 48 sets). The first pass meets every evidence set for the
first time in a fresh process (pruned sub-trees compiled, query plans built, fix twins loaded from
the disk cache); later passes are warm. The ranking's memo of combination searches is cleared
before every turn, so no turn reuses a search made for an earlier one. CPU time
(``time.process_time``), so other jobs on the machine slow the figures less than wall time.
``--profile N`` prints the N functions with the most cumulative time over one warm pass.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import PACK, evidence_sets

from engine.reason import ranking
from engine.service import Service


def one_pass(service: Service, sets: list[dict[str, str]]) -> float:
    """CPU milliseconds per turn over one pass through ``sets``."""
    started = time.process_time()
    for answers in sets:
        with ranking._MEMO_LOCK:
            ranking._COMBINATIONS_MEMO.clear()
        service.diagnose(PACK, answers)
    return 1000 * (time.process_time() - started) / len(sets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=3, help="passes over the evidence sets (the first is cold)")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions of a warm pass")
    parser.add_argument("--format", choices=["json", "markdown"], default="markdown")
    args = parser.parse_args(argv)
    sets = evidence_sets()
    service = Service()
    per_pass = [round(one_pass(service, sets), 1) for _ in range(max(1, args.passes))]
    report = {"pack": PACK, "evidence_sets": len(sets), "cold_ms_per_turn": per_pass[0],
              "warm_ms_per_turn": per_pass[1:]}
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(f"`Service.diagnose` on `{PACK}`, {len(sets)} evidence sets, CPU ms per turn: "
              f"first pass {per_pass[0]}, then {', '.join(map(str, per_pass[1:])) or '-'}")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        one_pass(service, sets)
        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
