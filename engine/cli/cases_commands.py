"""``rootward cases add|import|export|list|review``: resolved cases between YAML files and the store.

Files are where cases are written and reviewed like code; the database is where the API, learning
and evaluation find them. Every command validates against the pack before writing anything.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.app import CliError, Format, FormatOption, app, emit_json, handled, service

if TYPE_CHECKING:  # the case model and the store stay off the import path of rank and next
    from engine.case_schema import Case, CaseStatus
    from engine.records import Records

cases_app = typer.Typer(help="Resolved cases: add, import, export, list, review.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")


class StatusFilter(StrEnum):
    draft = "draft"
    reviewed = "reviewed"


OptionalKbOption = Annotated[
    str | None, typer.Option("--kb", help="pack name or directory (default: the case's own 'pack')")
]
PackOption = Annotated[str, typer.Option("--kb", help="a bundled pack name or a pack directory path such as ./my_pack")]
StatusOption = Annotated[StatusFilter | None, typer.Option("--status", help="only cases with this status")]


def operator() -> str:
    """Who the audit log names for CLI actions: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def case_errors() -> Iterator[None]:
    """Store and case failures as the CLI's one-line errors (``handled`` prints them)."""
    from engine.errors import CaseError, ConflictError, NotFoundError, StoreError

    try:
        yield
    except CaseError as exc:
        raise CliError("invalid_case", str(exc), {"problems": [p.as_dict() for p in exc.problems]}) from exc
    except StoreError as exc:
        raise CliError("database", str(exc)) from exc
    except NotFoundError as exc:
        raise CliError("not_found", str(exc)) from exc
    except ConflictError as exc:
        raise CliError("conflict", str(exc)) from exc


def records() -> Records:
    """The configured store's records, checked against this process's packs."""
    from engine.records import Records

    return Records.open(service=service())


def pack_id(pack: str) -> str:
    """The id of a pack given by name or directory (cases are stored under pack ids)."""
    return str(service().summary(pack)["id"])


def case_summary(case: Case) -> dict[str, Any]:
    return {"id": case.id, "status": case.status, "source": case.source.kind,
            "confirmed_causes": case.confirmed_causes, "answers": len(case.answers()),
            "title": case.title or "", "updated": case.updated.isoformat()}


@cases_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="one case YAML file")],
    kb_name: OptionalKbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Validate one case file against its pack and add it; an existing id is an error."""
    with handled(fmt), case_errors():
        case_id, pack = records().add_file(file, kb_name, operator())
        if fmt is Format.json:
            emit_json({"added": case_id, "pack": pack})
        else:
            typer.echo(f"added case {case_id} ({pack})")


@cases_app.command("import")
def import_(
    kb_name: PackOption,
    directory: Annotated[Path | None, typer.Argument(help="directory of case files (default data/cases/<pack>/)")]
    = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Validate every case file of a directory, then upsert them all (re-running is a no-op)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with handled(fmt), case_errors():
        source = directory or service().case_directory(kb_name)
        if not source.is_dir():
            raise CliError("not_found", f"{source}: no such case directory", {"directory": str(source)})
        progress = Progress(TextColumn("importing cases"), BarColumn(), MofNCompleteColumn(),
                            console=Console(stderr=True), transient=True)
        task = progress.add_task("import", total=None)
        with progress:
            summary = records().import_directory(kb_name, source, operator(),
                                                 on_start=lambda n: progress.update(task, total=n),
                                                 on_batch=lambda n: progress.advance(task, n))
        summary = {key: summary[key] for key in ("pack", "directory", "cases", "inserted", "updated", "unchanged")}
        if fmt is Format.json:
            emit_json(summary)
        else:
            typer.echo(f"{summary['cases']} case(s) from {summary['directory']}: {summary['inserted']} inserted, "
                       f"{summary['updated']} updated, {summary['unchanged']} unchanged")


@cases_app.command("export")
def export(
    kb_name: PackOption,
    out: Annotated[Path, typer.Option("--out", help="directory to write <case id>.yaml files into")],
    status: StatusOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Write the pack's stored cases as YAML files, one per case."""
    from engine.records import case_yaml

    with handled(fmt), case_errors():
        pack = pack_id(kb_name)
        cases = records().cases([pack], _status(status))
        try:
            out.mkdir(parents=True, exist_ok=True)
            for case in cases:
                (out / f"{case.id}.yaml").write_text(case_yaml(case), encoding="utf-8")
        except OSError as exc:
            raise CliError("io", f"cannot write to {out}: {exc.strerror or exc}", {"directory": str(out)}) from exc
        if fmt is Format.json:
            emit_json({"pack": pack, "directory": str(out), "exported": [c.id for c in cases]})
        else:
            typer.echo(f"exported {len(cases)} case(s) to {out}")


@cases_app.command("list")
def list_(kb_name: PackOption, status: StatusOption = None, fmt: FormatOption = Format.table) -> None:
    """List the pack's stored cases."""
    with handled(fmt), case_errors():
        pack = pack_id(kb_name)
        rows = [case_summary(c) for c in records().cases([pack], _status(status))]
        if fmt is Format.json:
            emit_json({"pack": pack, "cases": rows})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "status", "source", "confirmed causes", "answers", "title",
                      title=f"Cases ({pack}): {len(rows)}")
        for row in rows:
            table.add_row(row["id"], row["status"], row["source"], ", ".join(row["confirmed_causes"]),
                          str(row["answers"]), row["title"])
        Console().print(table)


@cases_app.command("review")
def review(
    case_id: Annotated[str, typer.Argument(help="the case id")],
    accept: Annotated[bool, typer.Option("--accept", help="mark the case reviewed (admits it to learning)")]
    = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Show a case for review; with --accept, mark it reviewed."""
    from engine.records import case_yaml

    with handled(fmt), case_errors():
        case = records().set_status(case_id, "reviewed", operator()) if accept else records().case(case_id)
        if fmt is Format.json:
            emit_json({"case": case.to_document(), "accepted": accept})
            return
        typer.echo(case_yaml(case), nl=False)
        typer.echo(f"# {case.id}: {'marked reviewed' if accept else case.status + ' (use --accept to review)'}",
                   err=True)


def _status(status: StatusFilter | None) -> CaseStatus | None:
    if status is None:
        return None
    return "reviewed" if status is StatusFilter.reviewed else "draft"
