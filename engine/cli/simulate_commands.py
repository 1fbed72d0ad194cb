"""``rootward simulate`` (questions and minutes per policy on sampled sessions) and ``import-bif``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import (
    CliError,
    Format,
    FormatOption,
    KbOption,
    app,
    check_policy_options,
    emit_json,
    handled,
    service,
)

MAX_RUNS = 20_000
"""Enough for figures with a standard error under 0.4 points; more is a typo that would run for hours."""


@app.command()
def simulate(
    kb_name: KbOption,
    runs: Annotated[int, typer.Option(min=1, max=MAX_RUNS, help="how many sampled sessions")] = 100,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="random seed, for reproducible figures")] = 0,
    faults: Annotated[int, typer.Option(help="causes present in each truth: 1 or 2")] = 1,
    stop_probability: Annotated[float, typer.Option(help="stop when the leader is this likely")] = 0.9,
    exchange_rate: Annotated[float | None, typer.Option(
        help="our policies also stop when the best question gives fewer bits per minute (0: never; default: "
             "each objective's own)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=8, help="processes to run the policies in")] = 1,
    fmt: FormatOption = Format.table,
) -> None:
    """Compare our question policies with fixed, cheapest-first and random order on simulated sessions."""
    from rich.progress import Progress

    with handled(fmt):
        if faults not in (1, 2):
            raise CliError("invalid_option", f"--faults must be 1 or 2, not {faults}", {"faults": faults})
        check_policy_options(stop_probability, exchange_rate)
        with Progress(transient=True) as progress:
            task = progress.add_task("simulating sessions", total=runs)
            report = service().simulate(kb_name, runs, seed=seed, faults=faults, stop_probability=stop_probability,
                                        exchange_rate=exchange_rate, progress=lambda: progress.advance(task),
                                        workers=workers)
        if fmt is Format.json:
            emit_json(report)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("policy", "success (± se)", "mean questions (± se)", "median questions",
                      "mean minutes (± se)", "median minutes",
                      title=f"{runs} simulated sessions, {faults} fault(s), seed {seed}")
        policies = report["policies"]
        assert isinstance(policies, dict)
        for name, row in policies.items():
            table.add_row(name, f"{row['success_rate']:.3f} ± {row['success_se']:.3f}",
                          f"{row['mean_questions']:.1f} ± {row['questions_se']:.1f}", f"{row['median_questions']:.1f}",
                          f"{row['mean_minutes']:.0f} ± {row['minutes_se']:.0f}", f"{row['median_minutes']:.0f}")
        console = Console()
        console.print(table)
        ratio = report["ratio_to_lower_bound"]
        console.print(f"Lower bound (Fano): {report['lower_bound_questions']:.2f} questions; ours is "
                      f"{ratio:.2f}x the bound." if isinstance(ratio, float) else "Lower bound: 0 questions.")
        oracle = report["hindsight"]
        if isinstance(oracle, dict):
            console.print(f"Hindsight oracle: success {oracle['success_rate']:.3f}; a confident true leader is "
                          f"reachable in {oracle['confident_reachable']:.0%} of the sessions, with at least "
                          f"{oracle['mean_questions']:.2f} questions and {oracle['mean_minutes']:.1f} minutes.")


@app.command("import-bif")
def import_bif(
    file: Annotated[Path, typer.Argument(help="a .bif, .bif.gz or XMLBIF file")],
    out: Annotated[Path, typer.Option("--out", help="the pack directory to write")],
    pack_id: Annotated[str | None, typer.Option("--id", help="pack id (default: from the file name)")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Turn a standard network into a knowledge pack (roots: causes, leaves: questions)."""
    from engine.inputs import InputFileError

    with handled(fmt):
        try:
            directory = service().import_network(file, out, pack_id)
        except InputFileError:
            raise
        except (ValueError, KeyError, OSError) as exc:
            raise CliError("unreadable_network", f"{file}: cannot be read as BIF/XMLBIF ({exc})",
                           {"file": str(file)}) from exc
        check = service().validate(str(directory), identifiability=False)
        if check.size is None:
            raise CliError("invalid_kb", "the imported pack does not validate",
                           {"problems": [p.render() for p in check.errors]})
        summary = {"pack": str(directory), "id": check.id, "causes": check.size["causes"],
                   "mechanisms": check.size["mechanisms"], "questions": check.size["questions"]}
        if fmt is Format.json:
            emit_json(summary)
        else:
            typer.echo(f"wrote {directory}: {summary['causes']} causes, {summary['mechanisms']} mechanisms, "
                       f"{summary['questions']} questions")
