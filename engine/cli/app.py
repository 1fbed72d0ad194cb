"""Shared CLI plumbing: the Typer app, output formats and the one place errors become messages."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel

from engine.kb.problems import KbError
from engine.reason.evidence import ContradictionError, EvidenceError

app = typer.Typer(
    name="rootward",
    help="Rootward: rank the root causes of IT problems from evidence, not anecdotes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect knowledge packs.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


class Format(StrEnum):
    json = "json"
    table = "table"


class Lang(StrEnum):
    en = "en"
    ja = "ja"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="json (one document on stdout) or table")]
LangOption = Annotated[Lang, typer.Option("--lang", help="language of titles and texts")]
KbOption = Annotated[str, typer.Option(
    "--kb", help="a bundled pack name (see `rootward kb list`) or a directory path such as ./my_pack")]
EvidenceOption = Annotated[
    list[str] | None,
    typer.Option("--evidence", "-e", help="QUESTION=ANSWER; repeatable; 'unknown' means no evidence"),
]
TriedOption = Annotated[
    list[str] | None,
    typer.Option("--tried", help="FIX=persisted|stopped|unclear: a fix already applied; repeatable"),
]
ArtifactOption = Annotated[
    list[Path] | None,
    typer.Option("--artifact", "-a", help="a log, bounce, zone file or tool output to read answers from; repeatable"),
]
RoleOption = Annotated[
    str | None, typer.Option("--role", help="helpdesk, admin or network: only questions this role can answer")
]
EvidenceFileOption = Annotated[
    Path | None, typer.Option("--evidence-file", help='JSON object {"question": "answer", ...}')
]


class CliError(Exception):
    """An expected failure with a type name for JSON consumers."""

    def __init__(self, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details or {}


def emit_json(payload: BaseModel | dict[str, Any]) -> None:
    text = payload.model_dump_json(indent=2) if isinstance(payload, BaseModel) else json.dumps(payload, indent=2)
    sys.stdout.write(text + "\n")


def fail(fmt: Format, kind: str, message: str, details: dict[str, Any] | None = None) -> NoReturn:
    if fmt is Format.json:
        emit_json({"error": {"type": kind, "message": message, "details": details or {}}})
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(stderr=True)
        console.print(f"[bold red]error[/]: {escape(message)}", highlight=False)
        for key, value in (details or {}).items():
            if key != "problems":
                console.print(f"  {key}: {escape(str(value))}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def handled(fmt: Format) -> Iterator[None]:
    """Map every expected failure to a specific message and exit code 1."""
    try:
        yield
    except KbError as exc:
        problems = [p for p in exc.problems if p.severity == "error"]
        message = "; ".join(p.render() for p in problems[:5]) or str(exc)
        fail(fmt, "invalid_kb", message, {"problems": [p.as_dict() for p in problems]})
    except EvidenceError as exc:
        fail(fmt, "invalid_evidence", str(exc), exc.details)
    except ContradictionError as exc:
        fail(fmt, "contradiction", str(exc), {"answers": exc.answers})
    except CliError as exc:
        fail(fmt, exc.kind, str(exc), exc.details)


def read_evidence_file(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CliError("invalid_evidence", f"{path}: no such file", {"file": str(path)}) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError("invalid_evidence", f"{path}: not a JSON object of question → answer ({exc})",
                       {"file": str(path)}) from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise CliError("invalid_evidence", f"{path}: expected a JSON object mapping question ids to answer ids",
                       {"file": str(path), "example": {"attachment_mail_fails": "yes"}})
    return data

