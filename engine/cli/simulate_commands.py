"""``rootward simulate``: questions and minutes per policy on sampled sessions."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.app import CliError, Format, FormatOption, KbOption, app, emit_json, handled


@app.command()
def simulate(
    kb_name: KbOption,
    runs: Annotated[int, typer.Option(help="how many sampled sessions")] = 100,
    seed: Annotated[int, typer.Option(help="random seed, for reproducible figures")] = 0,
    faults: Annotated[int, typer.Option(help="causes present in each truth: 1 or 2")] = 1,
    stop_probability: Annotated[float, typer.Option(help="stop when the leader is this likely")] = 0.9,
    fmt: FormatOption = Format.table,
) -> None:
    """Compare our question policy with fixed and random order on simulated sessions."""
    from rich.progress import Progress

    from engine.cli.kb_commands import load
    from engine.learn.simulate import simulate as run_simulation
    from engine.reason.questions import StopPolicy

    with handled(fmt):
        if faults not in (1, 2) or runs < 1:
            raise CliError("invalid_option", "--faults must be 1 or 2 and --runs at least 1",
                           {"faults": faults, "runs": runs})
        kb = load(kb_name)
        with Progress(transient=True) as progress:
            task = progress.add_task("simulating sessions", total=runs)
            report = run_simulation(kb, runs, seed=seed, faults=faults, policy=StopPolicy(probability=stop_probability),
                                    progress=lambda: progress.advance(task))
        if fmt is Format.json:
            emit_json(report)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("policy", "success", "mean questions", "median questions", "mean minutes", "median minutes",
                      title=f"{runs} simulated sessions, {faults} fault(s), seed {seed}")
        policies = report["policies"]
        assert isinstance(policies, dict)
        for name, row in policies.items():
            table.add_row(name, f"{row['success_rate']:.2f}", f"{row['mean_questions']:.1f}",
                          f"{row['median_questions']:.1f}", f"{row['mean_minutes']:.0f}",
                          f"{row['median_minutes']:.0f}")
        console = Console()
        console.print(table)
        ratio = report["ratio_to_lower_bound"]
        console.print(f"Lower bound (Fano): {report['lower_bound_questions']:.2f} questions; ours is "
                      f"{ratio:.2f}x the bound." if isinstance(ratio, float) else "Lower bound: 0 questions.")
