"""Extraction throughput on a synthetic Postfix maillog, and accuracy on the blind real-string corpus.

    python bench/extract.py [--mb 50] [--repeat 1] [--corpus [FILE]] [--questions FILE] [--details]
                            [--format table|json]

The log is generated in memory from a fixed seed: a receiving MX's everyday traffic (connect,
client=, cleanup, qmgr, local delivery, disconnect) with about 2 % of sessions ending in a line that
some signature matches (DATA timeouts, 552 5.3.4, DNSBL and greylisting rejections, SASL and TLS
failures). Timing covers the whole call, line splitting and classification included, after one
warm-up on a 1 MB prefix (signature compilation is cached per pack version). ``--mb 50`` is the
documented input limit, ``engine.evidence.MAX_INPUT_CHARS``. Wall and CPU (process) time are both
reported: on a shared machine the CPU figure is the stable one.

``--corpus`` alone scores ``data/extract_corpus/strings.jsonl``; ``--corpus FILE`` scores another file
of the same format, such as the held-out set ``data/extract_corpus/heldout.jsonl``. Each file is
scored against the question ids its mappers saw: ``questions-1.2.0.txt`` for rows marked
``"set": "heldout"``, ``questions-1.2.1.txt`` for ``heldout2`` and ``heldout3``, ``questions-1.1.0.txt``
otherwise (``--questions`` overrides).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.evidence import extract  # noqa: E402
from engine.kb.validate import load_kb  # noqa: E402

SEED = 20261128
HIT_RATE = 0.02

NORMAL = [
    "{ts} mx1 postfix/smtpd[{pid}]: connect from {host}[{ip}]",
    "{ts} mx1 postfix/smtpd[{pid}]: {qid}: client={host}[{ip}]",
    "{ts} mx1 postfix/cleanup[{pid}]: {qid}: message-id=<{n}.{pid}@{host}>",
    "{ts} mx1 postfix/qmgr[1187]: {qid}: from=<user{n}@{host}>, size={size}, nrcpt=1 (queue active)",
    "{ts} mx1 postfix/local[{pid}]: {qid}: to=<staff{n}@example.jp>, relay=local, delay=0.4, "
    "delays=0.3/0.01/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)",
    "{ts} mx1 postfix/qmgr[1187]: {qid}: removed",
    "{ts} mx1 postfix/smtpd[{pid}]: disconnect from {host}[{ip}] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 "
    "commands=7",
]
HITS = [
    "{ts} mx1 postfix/smtpd[{pid}]: timeout after DATA (14480 bytes) from {host}[{ip}]",
    "{ts} mx1 postfix/smtpd[{pid}]: lost connection after DATA (0 bytes) from {host}[{ip}]",
    "{ts} mx1 postfix/smtpd[{pid}]: NOQUEUE: reject: MAIL from {host}[{ip}]: 552 5.3.4 Message size exceeds fixed "
    "limit; proto=ESMTP helo=<{host}>",
    "{ts} mx1 postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {host}[{ip}]: 554 5.7.1 Service unavailable; Client "
    "host [{ip}] blocked using zen.spamhaus.org; from=<a{n}@{host}> to=<info@example.jp> proto=ESMTP helo=<{host}>",
    "{ts} mx1 postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {host}[{ip}]: 450 4.2.0 <ito@example.jp>: Recipient "
    "address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.jp.html; proto=ESMTP",
    "{ts} mx1 postfix/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
    "{ts} mx1 postfix/smtpd[{pid}]: SSL_accept error from {host}[{ip}]: -1",
]


def synthetic_log(megabytes: float, seed: int = SEED) -> str:
    """About ``megabytes`` MiB of maillog text, deterministic for a seed."""
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    parts: list[str] = []
    size = 0
    n = 0
    while size < target:
        n += 1
        fields = {
            "ts": f"Nov {rng.randint(10, 28)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                  f"{rng.randint(0, 59):02d}",
            "pid": rng.randint(1000, 60000), "n": n, "qid": f"{rng.getrandbits(40):010X}",
            "host": f"mail{rng.randint(1, 5000)}.sender{rng.randint(1, 900)}.example",
            "ip": f"198.51.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "size": rng.randint(800, 8_000_000),
        }
        templates = NORMAL if rng.random() > HIT_RATE else [*NORMAL[:2], rng.choice(HITS), NORMAL[-1]]
        for template in templates:
            line = template.format(**fields)
            parts.append(line)
            size += len(line) + 1
    return "\n".join(parts)[:target]


def run(megabytes: float, repeat: int) -> dict[str, Any]:
    kb = load_kb("mail_delivery")
    text = synthetic_log(megabytes)
    extract(text[: 1024 * 1024], kb)
    timings: list[tuple[float, float]] = []
    found = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        found = extract(text, kb)
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    best_wall = min(t[0] for t in timings)
    best_cpu = min(t[1] for t in timings)
    mebibytes = len(text.encode("utf-8")) / (1024 * 1024)
    return {
        "input_mib": round(mebibytes, 1),
        "lines": text.count("\n") + 1,
        "findings": len(found),
        "wall_seconds_best": round(best_wall, 2),
        "cpu_seconds_best": round(best_cpu, 2),
        "mib_per_s_wall": round(mebibytes / best_wall, 1),
        "mib_per_s_cpu": round(mebibytes / best_cpu, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


CORPUS = REPO / "data" / "extract_corpus"
BLIND_CORPUS = CORPUS / "strings.jsonl"


def load_corpus(path: Path) -> list[dict[str, Any]]:
    """The rows of a corpus file (one JSON object a line, the format of ``data/extract_corpus``)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


QUESTION_LISTS = {"heldout22": "1.2.14", "heldout21": "1.2.14", "heldout20": "1.2.7", "heldout19": "1.2.7",
                  "heldout18": "1.2.7", "heldout17": "1.2.7", "heldout16": "1.2.7", "heldout15": "1.2.7",
                  "heldout14": "1.2.7", "heldout13": "1.2.7", "heldout12": "1.2.2", "heldout11": "1.2.2",
                  "heldout10": "1.2.2", "heldout9": "1.2.2", "heldout8": "1.2.2", "heldout7": "1.2.2",
                  "heldout6": "1.2.2", "heldout5": "1.2.2", "heldout4": "1.2.2", "heldout3": "1.2.1",
                  "heldout2": "1.2.1", "heldout": "1.2.0"}
"""The pack version whose question list each held-out set was mapped against."""


def default_questions_file(rows: list[dict[str, Any]]) -> Path:
    """The question list the mappers of these rows saw, by the rows' ``set``.

    Scoring an answer to a question the mappers could not give would count it wrong for no fault of
    the extractor, so each file is scored against its own mapping's question list: 1.1.0 for the
    corpus, 1.2.0 for ``heldout``, 1.2.1 for ``heldout2`` and ``heldout3``, 1.2.2 for ``heldout4`` to
    ``heldout12`` (packs 1.2.3 to 1.2.6 have the same question ids), 1.2.7 (one more) for ``heldout13``
    to ``heldout20`` (packs 1.2.8 to 1.2.13 have the same ids; 1.2.14's ``bare_lf_rejection_logged`` came
    after ``heldout20`` was mapped), 1.2.14 for ``heldout21`` and ``heldout22``.
    """
    sets = {row.get("set") for row in rows}
    for name, version in QUESTION_LISTS.items():
        if name in sets:
            return CORPUS / f"questions-{version}.txt"
    return CORPUS / "questions-1.1.0.txt"


def corpus_scores(kb: Any, corpus: Path = BLIND_CORPUS, questions: Path | None = None,
                  details: bool = False) -> dict[str, Any]:
    """Recall and precision of extraction on a real-string corpus file (``data/extract_corpus``).

    Each string is read on its own, as ``rootward extract`` reads one pasted file. Only answers to
    the questions the mappers saw (``questions``, by default the list for the file) are scored. Per
    string: *right* when some answer given is an expected one; *wrong* when any answer given is not
    expected (a different answer, or a question the mappers did not answer: "an answer a competent
    admin would not give"). Recall is over the strings with expected answers; precision over the
    strings given any answer. Lines that look like errors but give no answer should come back as
    ``unmatched``: the share of such strings (no expected answer, not benign) that do, or that give
    any finding (to any question, scored or not: the user sees the line read), is reported as
    ``unmatched_listed``. ``details`` adds every string's expected and given answers, so misses and
    wrong readings can be inspected.
    """
    from engine.evidence import read

    rows = load_corpus(corpus)
    questions_file = questions or default_questions_file(rows)
    scored = set(questions_file.read_text(encoding="utf-8").split())
    groups: dict[str, dict[str, dict[str, int]]] = {"family": {}, "format": {}, "rendering": {}, "all": {}}
    strings: list[dict[str, Any]] = []
    for row in rows:
        result = read(row["text"], kb)
        given = {(f.question, f.answer) for f in result.found if f.question in scored}
        expected = {q: a for q, a in row["answers"].items() if q in scored}
        right = any(expected.get(q) == a for q, a in given)
        wrong = any(expected.get(q) != a for q, a in given)
        if details:
            strings.append({"id": row["id"], "family": row["family"], "format": row["format"],
                            "expected": expected, "given": dict(sorted(given)), "right": right, "wrong": wrong,
                            "unmatched": bool(result.unmatched)})
        for group, key in (("family", row["family"]), ("format", row["format"]), ("rendering", row["rendering"]),
                           ("all", "all")):
            tally = groups[group].setdefault(key, {"strings": 0, "expected": 0, "right": 0, "answered": 0,
                                                   "clean": 0, "uncovered_errors": 0, "listed": 0})
            tally["strings"] += 1
            if expected:
                tally["expected"] += 1
                tally["right"] += right
            if given:
                tally["answered"] += 1
                tally["clean"] += not wrong
            if not expected and row["family"] != "benign":
                tally["uncovered_errors"] += 1
                tally["listed"] += bool(result.unmatched) or bool(result.found)
    def ratios(t: dict[str, int]) -> dict[str, Any]:
        return {**t, "recall": t["right"] / t["expected"] if t["expected"] else None,
                "precision": t["clean"] / t["answered"] if t["answered"] else None,
                "unmatched_listed": t["listed"] / t["uncovered_errors"] if t["uncovered_errors"] else None}
    scores: dict[str, Any] = {"file": str(corpus.relative_to(REPO) if corpus.is_relative_to(REPO) else corpus),
                              "questions": questions_file.name}
    scores.update({group: {key: ratios(t) for key, t in sorted(table.items())} for group, table in groups.items()})
    if details:
        scores["strings"] = strings
    return scores


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def corpus_table(scores: dict[str, Any]) -> str:
    lines = ["", f"corpus {scores['file']}, scored on {scores['questions']}"]
    for group in ("all", "family", "format", "rendering"):
        lines += ["", f"| {group} | strings | expected | recall | answered | precision | errors listed |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for key, row in scores[group].items():
            lines.append(f"| {key} | {row['strings']} | {row['expected']} | {_percent(row['recall'])} | "
                         f"{row['answered']} | {_percent(row['precision'])} | {_percent(row['unmatched_listed'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="size of the synthetic log in MiB (default 50)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; the best is reported")
    parser.add_argument("--corpus", nargs="?", type=Path, const=BLIND_CORPUS, default=None, metavar="FILE",
                        help="also score recall and precision on a real-string corpus file (default: "
                             "data/extract_corpus/strings.jsonl; the held-out set is heldout.jsonl)")
    parser.add_argument("--questions", type=Path, default=None, metavar="FILE",
                        help="question ids to score (default: the list the file's mappers saw)")
    parser.add_argument("--details", action="store_true",
                        help="with --format json, list every string's expected and given answers")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    result = run(args.mb, max(1, args.repeat))
    scores = (corpus_scores(load_kb("mail_delivery"), args.corpus, args.questions, args.details)
              if args.corpus else None)
    if args.format == "json":
        print(json.dumps({**result, **({"corpus": scores} if scores else {})}, indent=2))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if scores:
        print(corpus_table(scores))


if __name__ == "__main__":
    main()
