"""Shared CLI plumbing: the Typer app, output formats and the one place errors become messages."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import BaseModel

from engine.errors import ContradictionError, EvidenceError, KbError
from engine.inputs import MAX_EVIDENCE_FILE_BYTES, InputFileError, decode_utf8, printable, read_regular_file

if TYPE_CHECKING:
    from engine.service import Service

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


@cache
def service() -> Service:
    """One service per process, so a command that asks twice (ranking, then the pack's size) loads once.

    Imported on first use: ``rootward --help`` must not pay for the reasoning core.
    """
    from engine.service import Service

    return Service()


class CliError(Exception):
    """An expected failure with a type name for JSON consumers."""

    def __init__(self, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details or {}


MAX_EXCHANGE_RATE = 100.0
"""Bits per minute; no question yields more than a few bits, so anything above this is a typo."""


def check_policy_options(stop_probability: float, exchange_rate: float | None) -> None:
    """The stop rule's knobs, checked once for every command that takes them (finite, in range)."""
    if not (math.isfinite(stop_probability) and 0.0 < stop_probability <= 1.0):
        raise CliError("invalid_option", f"--stop-probability must be in (0, 1], not {stop_probability}",
                       {"option": "--stop-probability", "value": stop_probability})
    if exchange_rate is not None and not (math.isfinite(exchange_rate) and 0.0 <= exchange_rate <= MAX_EXCHANGE_RATE):
        raise CliError("invalid_option", f"--exchange-rate must be between 0 and {MAX_EXCHANGE_RATE:g} bits per "
                       f"minute, not {exchange_rate}", {"option": "--exchange-rate", "value": exchange_rate})


def emit_json(payload: BaseModel | dict[str, Any]) -> None:
    text = payload.model_dump_json(indent=2) if isinstance(payload, BaseModel) else json.dumps(payload, indent=2)
    sys.stdout.write(text + "\n")


def report_error(fmt: Format, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
    """One error, as a JSON document on stdout or as lines on stderr.

    Lines are never wrapped to the terminal's width (``soft_wrap``): a message is one line, so a
    path or an id in it can be copied, searched and matched whatever the width or path length.
    """
    if fmt is Format.json:
        emit_json({"error": {"type": kind, "message": message, "details": details or {}}})
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(stderr=True, soft_wrap=True)
        console.print(f"[bold red]error[/]: {escape(printable(message))}", highlight=False)
        for key, value in (details or {}).items():
            if key != "problems":
                console.print(f"  {key}: {escape(printable(str(value)))}", highlight=False)


def fail(fmt: Format, kind: str, message: str, details: dict[str, Any] | None = None) -> NoReturn:
    report_error(fmt, kind, message, details)
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
    except InputFileError as exc:
        fail(fmt, exc.kind, str(exc), exc.details)


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``QUESTION=ANSWER`` strings from the command line."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        question, sep, answer = pair.partition("=")
        if not sep or not question.strip() or not answer.strip():
            raise EvidenceError(
                f"'{pair}' is not QUESTION=ANSWER", {"given": pair, "example": "attachment_mail_fails=yes"}
            )
        parsed[question.strip()] = answer.strip()
    return parsed


def read_evidence_file(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    text = decode_utf8(read_regular_file(path, MAX_EVIDENCE_FILE_BYTES, "evidence file"), path, "evidence file")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CliError("invalid_evidence", f"{path}: not a JSON object of question → answer ({exc})",
                       {"file": str(path)}) from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise CliError("invalid_evidence", f"{path}: expected a JSON object mapping question ids to answer ids",
                       {"file": str(path), "example": {"attachment_mail_fails": "yes"}})
    return data

