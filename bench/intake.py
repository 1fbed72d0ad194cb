"""How well intake reads complaints written by someone who never saw its phrase lists.

    python bench/intake.py [--set data/intake_blind/phrasings.yaml] [--details] [--format table|json]

Each item of the set (``data/intake_blind/README.md``) holds a complaint, the answers it states
(``expect``) and answers a careless reader might invent from it (``forbid``: a question id, any
answer wrong, or ``question=answer``). Per language and kind (seed retellings, other complaints)
this reports:

* ``recall``: expected answers proposed with the right value, over all expected answers;
* ``complete``: items whose every expected answer was proposed;
* ``wrong``: items with at least one wrong proposal (a forbidden one, or an expected question
  proposed with the other answer); the goal is none;
* ``open``: proposals to questions the item neither expects nor forbids (not scored, counted so a
  reader that proposes everything shows up);
* for seed retellings, ``seed_five``: items giving at least five of the six first answers of the
  seed story that the item states (all of them when it states fewer than five) with no wrong one,
  the intake goal of the questionnaire issue.

Intake is pure text reading, so no timing is reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.evidence.intake import read_complaint  # noqa: E402
from engine.kb.validate import load_kb  # noqa: E402

DEFAULT_SET = ROOT / "data" / "intake_blind" / "phrasings.yaml"
SEED_FACTS = ("attachment_mail_fails", "single_sender_affected", "other_senders_large_mail_ok",
              "dos_flag_on_receiver", "config_stable_long", "data_phase_timeout_logged")


def _answer(value: Any) -> str:
    """YAML 1.1 reads bare yes/no as booleans; the set quotes them, but accept either."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def score_item(item: dict[str, Any], proposed: dict[str, str]) -> dict[str, Any]:
    """One item's reading: what was expected and given, what was missed, wrong or open."""
    expected = {q: _answer(a) for q, a in (item.get("expect") or {}).items()}
    forbidden: list[tuple[str, str | None]] = []
    for entry in item.get("forbid") or []:
        question, _, answer = str(entry).partition("=")
        forbidden.append((question, answer or None))
    missed = {q: a for q, a in expected.items() if proposed.get(q) != a}
    wrong = {q: a for q, a in proposed.items()
             if (q in expected and expected[q] != a)
             or any(q == fq and (fa is None or fa == a) for fq, fa in forbidden)}
    open_ = {q: a for q, a in proposed.items() if q not in expected and q not in wrong}
    result: dict[str, Any] = {"id": item["id"], "lang": item["lang"], "kind": item.get("kind", "other"),
                              "expected": expected, "proposed": proposed, "missed": missed, "wrong": wrong,
                              "open": open_}
    if result["kind"] == "seed":
        stated = [q for q in SEED_FACTS if q in expected]
        got = [q for q in stated if q not in missed]
        result["seed_five"] = not wrong and len(got) >= min(5, len(stated))
    return result


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall, complete and wrong shares, open proposals, over a group of scored items."""
    expected = sum(len(r["expected"]) for r in results)
    right = sum(len(r["expected"]) - len(r["missed"]) for r in results)
    seeds = [r for r in results if "seed_five" in r]
    return {
        "items": len(results),
        "expected": expected,
        "recall": right / expected if expected else None,
        "complete": sum(not r["missed"] for r in results) / len(results) if results else None,
        "wrong": sum(bool(r["wrong"]) for r in results) / len(results) if results else None,
        "open": sum(len(r["open"]) for r in results),
        "seed_five": sum(r["seed_five"] for r in seeds) / len(seeds) if seeds else None,
    }


def run(path: Path) -> dict[str, Any]:
    """Read every item of the set with the bundled pack and score it."""
    kb = load_kb("mail_delivery")
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    results = []
    for item in items:
        reading = read_complaint(kb, item["text"], item["lang"])
        results.append(score_item(item, {a.question: a.answer for a in reading.answers}))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        groups[f"{r['lang']}/{r['kind']}"].append(r)
        groups["all"].append(r)
    return {"set": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
            "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash},
            "groups": {name: totals(group) for name, group in sorted(groups.items())},
            "items": results}


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


def table(report: dict[str, Any], details: bool) -> str:
    lines = [f"intake on {report['set']} (pack {report['kb']['version']})", "",
             f"{'group':<10} {'items':>5} {'recall':>7} {'complete':>9} {'wrong':>6} {'open':>5} {'seed ≥5/6':>10}"]
    for name, g in report["groups"].items():
        lines.append(f"{name:<10} {g['items']:>5} {_share(g['recall']):>7} {_share(g['complete']):>9} "
                     f"{_share(g['wrong']):>6} {g['open']:>5} {_share(g['seed_five']):>10}")
    if details:
        for r in report["items"]:
            if r["missed"] or r["wrong"] or r["open"]:
                lines.append(f"\n{r['id']} missed={r['missed']} wrong={r['wrong']} open={r['open']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="a phrasing set (YAML)")
    parser.add_argument("--details", action="store_true",
                        help="list every item with a miss, a wrong or an open proposal")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    report = run(args.set.resolve())
    if args.format == "json":
        if not args.details:
            report.pop("items")
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(table(report, args.details))


if __name__ == "__main__":
    main()
