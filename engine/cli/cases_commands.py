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

from engine.cli.app import CliError, Format, FormatOption, app, emit_json, handled
from engine.kb.knowledge import KnowledgeBase

if TYPE_CHECKING:  # the case model and the store stay off the import path of rank and next
    from engine.case_schema import Case, CaseStatus
    from engine.store import Store

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


def load_pack(name: str) -> KnowledgeBase:
    from engine.kb.validate import load_kb

    return load_kb(name)


def store_kb_version(store: Store, kb: KnowledgeBase) -> None:
    """Keep the pack's exact content under its hash, for sessions and reproducible results."""
    from engine.kb.loader import pack_files
    from engine.store import KbVersionRepository

    files = {p.name: p.read_text(encoding="utf-8") for p in pack_files(kb.directory)}
    with store.transaction() as session:
        KbVersionRepository(session).ensure(kb.id, kb.pack.version, kb.version_hash, files)


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
    from engine.errors import CaseError
    from engine.learn.cases import check_case, read_case_file
    from engine.store import AuditRepository, CaseRepository, open_store

    with handled(fmt), case_errors():
        loaded = read_case_file(file)
        kb = load_pack(kb_name or loaded.case.pack)
        problems = check_case(kb, loaded)
        if problems:
            raise CaseError(problems)
        store = open_store()
        store_kb_version(store, kb)
        with store.transaction() as session:
            CaseRepository(session).add(loaded.case)
            AuditRepository(session).record(operator(), "case.add", loaded.case.id, {"file": str(file)})
        if fmt is Format.json:
            emit_json({"added": loaded.case.id, "pack": kb.id})
        else:
            typer.echo(f"added case {loaded.case.id} ({kb.id})")


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

    from engine.learn.cases import case_files, default_case_dir, load_cases
    from engine.store import AuditRepository, import_cases, open_store

    with handled(fmt), case_errors():
        kb = load_pack(kb_name)
        source = directory or default_case_dir(kb.id)
        if not source.is_dir():
            raise CliError("not_found", f"{source}: no such case directory", {"directory": str(source)})
        cases = [item.case for item in load_cases(kb, case_files(source))]
        store = open_store()
        store_kb_version(store, kb)
        progress = Progress(TextColumn("importing cases"), BarColumn(), MofNCompleteColumn(),
                            console=Console(stderr=True), transient=True)
        with progress:
            task = progress.add_task("import", total=len(cases))
            report = import_cases(store.transaction, cases,
                                  on_batch=lambda n: progress.advance(task, n))
        with store.transaction() as session:
            AuditRepository(session).record(operator(), "case.import", str(source),
                                             {"pack": kb.id, "inserted": report.inserted,
                                              "updated": report.updated, "unchanged": report.unchanged})
        summary = {"pack": kb.id, "directory": str(source), "cases": report.total, "inserted": report.inserted,
                   "updated": report.updated, "unchanged": report.unchanged}
        if fmt is Format.json:
            emit_json(summary)
        else:
            typer.echo(f"{report.total} case(s) from {source}: {report.inserted} inserted, "
                       f"{report.updated} updated, {report.unchanged} unchanged")


@cases_app.command("export")
def export(
    kb_name: PackOption,
    out: Annotated[Path, typer.Option("--out", help="directory to write <case id>.yaml files into")],
    status: StatusOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Write the pack's stored cases as YAML files, one per case."""
    from engine.learn.cases import case_yaml
    from engine.store import CaseRepository, open_store

    with handled(fmt), case_errors():
        kb = load_pack(kb_name)
        store = open_store()
        with store.transaction() as session:
            cases = CaseRepository(session).list(kb.id, _status(status))
        try:
            out.mkdir(parents=True, exist_ok=True)
            for case in cases:
                (out / f"{case.id}.yaml").write_text(case_yaml(case), encoding="utf-8")
        except OSError as exc:
            raise CliError("io", f"cannot write to {out}: {exc.strerror or exc}", {"directory": str(out)}) from exc
        if fmt is Format.json:
            emit_json({"pack": kb.id, "directory": str(out), "exported": [c.id for c in cases]})
        else:
            typer.echo(f"exported {len(cases)} case(s) to {out}")


@cases_app.command("list")
def list_(kb_name: PackOption, status: StatusOption = None, fmt: FormatOption = Format.table) -> None:
    """List the pack's stored cases."""
    from engine.store import CaseRepository, open_store

    with handled(fmt), case_errors():
        kb = load_pack(kb_name)
        with open_store().transaction() as session:
            cases = CaseRepository(session).list(kb.id, _status(status))
        rows = [case_summary(c) for c in cases]
        if fmt is Format.json:
            emit_json({"pack": kb.id, "cases": rows})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "status", "source", "confirmed causes", "answers", "title",
                      title=f"Cases ({kb.id}): {len(rows)}")
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
    from engine.store import AuditRepository, CaseRepository, open_store

    with handled(fmt), case_errors():
        with open_store().transaction() as session:
            repository = CaseRepository(session)
            case = repository.review(case_id) if accept else repository.get(case_id)
            if accept:
                AuditRepository(session).record(operator(), "case.review", case_id, {"status": "reviewed"})
        if fmt is Format.json:
            emit_json({"case": case.to_document(), "accepted": accept})
            return
        from engine.learn.cases import case_yaml

        typer.echo(case_yaml(case), nl=False)
        typer.echo(f"# {case.id}: {'marked reviewed' if accept else case.status + ' (use --accept to review)'}",
                   err=True)


def _status(status: StatusFilter | None) -> CaseStatus | None:
    if status is None:
        return None
    return "reviewed" if status is StatusFilter.reviewed else "draft"
