"""``rootward learn`` (EM from reviewed cases into learned.yaml) and ``rootward evaluate`` (frozen test split
and k-fold CV)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.app import CliError, Format, FormatOption, KbOption, app, emit_json, handled, service

if TYPE_CHECKING:  # the case model stays off the import path of rank and next
    from engine.case_schema import Case


class ReportFormat(StrEnum):
    json = "json"
    markdown = "markdown"


CasesDirOption = Annotated[
    Path | None, typer.Option("--cases", help="a directory of case files (default: data/cases/<pack>/)")
]
EssOption = Annotated[
    float,
    typer.Option("--ess", min=0.001, max=1e6, help="prior strength: pseudo-cases per CPT row at the expert values"),
]


@contextmanager
def learning_errors() -> Iterator[None]:
    """Case, store and learning failures as one-line CLI errors."""
    from engine.cli.cases_commands import case_errors
    from engine.errors import LearnError

    with case_errors():
        try:
            yield
        except LearnError as exc:
            raise CliError("learning", str(exc), exc.details) from exc


def reviewed_db_cases(pack: str) -> list[Case]:
    """Reviewed cases of this pack from the store, checked against the current pack."""
    from engine.cli.cases_commands import records

    return records().reviewed_cases(pack)


@app.command()
def learn(
    kb_name: KbOption,
    ess: EssOption = 20.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show the largest changes; write nothing")] = False,
    cases_dir: Annotated[
        Path | None, typer.Option("--cases", help="also learn from the reviewed cases of this directory")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="how many parameter changes to list")] = 20,
    fmt: FormatOption = Format.table,
) -> None:
    """Fit CPTs to reviewed cases by EM (expert CPDs as the prior) and write kb/<pack>/learned.yaml."""
    with handled(fmt), learning_errors():
        pack = str(service().summary(kb_name)["id"])
        cases = {c.id: c for c in reviewed_db_cases(kb_name)}
        if cases_dir is not None:
            cases.update({c.id: c for c in service().case_files(kb_name, cases_dir) if c.status == "reviewed"})
        if not cases:
            raise CliError("learning", f"no reviewed cases for pack '{pack}'; import cases and accept them with "
                           "`rootward cases review ID --accept` first", {"pack": pack})
        result = service().learn(kb_name, list(cases.values()), ess, top=top)
        written = None if dry_run else str(service().write_learned(kb_name, result))
        summary: dict[str, Any] = {
            "pack": result.pack, "cases": result.cases, "ticket_cases": result.ticket_cases, "ess": ess,
            "held_out": result.held_out, "iterations": result.iterations, "converged": result.converged,
            "dry_run": dry_run, "written": written, "changes": result.changes,
        }
        if fmt is Format.json:
            emit_json(summary)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("node", "when", "state", "expert", "learned", "change", "cases",
                      title=f"Largest parameter changes ({result.cases} cases, {result.ticket_cases} tickets)")
        for change in result.changes:
            when = ", ".join(f"{k}={v}" for k, v in change["when"].items()) or "(prior)"
            table.add_row(change["node"], when, change["state"], f"{change['expert']:.3f}",
                          f"{change['learned']:.3f}", f"{change['delta']:+.3f}", f"{change['cases']:.1f}")
        console = Console()
        console.print(table)
        status = "converged" if result.converged else "stopped at the iteration limit"
        where = f"wrote {written}" if written else "dry run: learned.yaml not written"
        console.print(f"EM {status} after {result.iterations} iterations; {where}", highlight=False)
        if result.held_out:
            console.print(f"{result.held_out} case(s) of the frozen test split ({service().split_rule()}) were left "
                          "out: learning never uses them.", highlight=False)


@app.command()
def evaluate(
    kb_name: KbOption,
    cases_dir: CasesDirOption = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help="cross-validation folds (2 to 20)")] = 5,
    ess: EssOption = 20.0,
    out: Annotated[Path | None, typer.Option("--out", help="write the report to this file instead of stdout")]
    = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="calibration plot PNG (default: next to the report)")]
    = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="json or markdown")] = ReportFormat.markdown,
) -> None:
    """The frozen test split beside k-fold cross-validation: accuracy, Brier, log loss, per family, coverage."""
    error_format = Format.json if fmt is ReportFormat.json else Format.table
    with handled(error_format), learning_errors():
        pack = str(service().summary(kb_name)["id"])
        directory = cases_dir or service().case_directory(kb_name)
        if cases_dir is not None and not cases_dir.is_dir():
            raise CliError("not_found", f"{cases_dir}: no such case directory", {"directory": str(cases_dir)})
        cases = {c.id: c for c in service().case_files(kb_name, directory)}
        cases.update({c.id: c for c in reviewed_db_cases(kb_name)})
        if len(cases) < 2:
            raise CliError("evaluation", f"need at least 2 cases to cross-validate pack '{pack}', found {len(cases)}",
                           {"directory": str(directory)})
        learning = service().outside_test_split(list(cases.values()))
        if len(learning) < 2:
            rule = service().split_rule()
            raise CliError("evaluation", f"need at least 2 cases outside the frozen test split ({rule}) to "
                           f"cross-validate pack '{pack}', found {len(learning)} of {len(cases)}",
                           {"directory": str(directory), "split_rule": rule})
        suffix = "json" if fmt is ReportFormat.json else "md"
        report_path = out
        plot_path = plot or (report_path.with_suffix(".png") if report_path is not None
                             else Path(f"rootward-evaluate-{pack}.png"))
        try:
            evaluation = service().evaluate(kb_name, sorted(cases.values(), key=lambda c: c.id), folds, ess,
                                            plot=plot_path)
            if fmt is ReportFormat.json:
                import json

                text = json.dumps(evaluation.data, indent=2) + "\n"
            else:
                text = evaluation.markdown
            if report_path is None:
                typer.echo(text, nl=False)
            else:
                report_path.parent.mkdir(parents=True, exist_ok=True)
                report_path.write_text(text, encoding="utf-8")
                typer.echo(f"wrote {report_path} ({suffix}) and {plot_path}", err=True)
        except OSError as exc:
            raise CliError("io", f"cannot write the report: {exc}", {"plot": str(plot_path)}) from exc
