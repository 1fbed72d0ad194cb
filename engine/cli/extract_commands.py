"""``extract``: answers to KB questions read from artifact files (logs, bounces, zones, tool output)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import Format, FormatOption, KbOption, app, emit_json, handled, service

FilesArgument = Annotated[list[Path], typer.Argument(help="artifact files; kinds are detected line by line")]
RedactOption = Annotated[bool, typer.Option("--redact", help="replace e-mail addresses in source lines")]
UnmatchedOption = Annotated[bool, typer.Option(
    "--unmatched", help="list only the error-like lines no signature or reply code understood (for KB authors)")]


def extraction(kb_name: str, files: list[Path], redacted: bool) -> dict[str, Any]:
    """The JSON document of ``rootward extract``: findings per file, the combined evidence, and the
    error-like lines nothing understood."""
    from engine.service import read_artifact

    reading = service().read_artifacts(kb_name, [read_artifact(path) for path in files], keep_emails=not redacted)
    rows: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    for path, text in zip(files, reading.texts, strict=True):
        rows += [{"question": f.question, "answer": f.answer, "strength": f.strength, "source_line": f.source_line,
                  "line": f.line_number, "extractor": f.extractor, "signature": f.signature,
                  "reply_code": f.reply_code, "file": str(path)} for f in text.findings]
        unmatched += [{"file": str(path), "line": line.line_number, "text": line.text} for line in text.unmatched]
    return {
        "kb": {"id": reading.kb.id, "version": reading.kb.version, "hash": reading.kb.hash},
        "answers": rows,
        "evidence": {"answers": reading.answers, "soft": [s.model_dump() for s in reading.soft]},
        "unmatched": unmatched,
    }


def _print_unmatched(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("file:line", "text", title="Lines that look like errors and were not understood")
    for row in rows:
        text = row["text"] if len(row["text"]) <= 160 else row["text"][:159] + "…"
        table.add_row(f"{row['file']}:{row['line']}", escape(text))
    Console().print(table)


@app.command()
def extract(
    kb_name: KbOption,
    files: FilesArgument,
    fmt: FormatOption = Format.table,
    redacted: RedactOption = False,
    only_unmatched: UnmatchedOption = False,
) -> None:
    """Read logs, bounces, zone files, tool output and postconf; list the answers they give."""
    with handled(fmt):
        result = extraction(kb_name, files, redacted)
        if only_unmatched:
            if fmt is Format.json:
                emit_json({"kb": result["kb"], "unmatched": result["unmatched"]})
            else:
                _print_unmatched(result["unmatched"])
            return
        if fmt is Format.json:
            emit_json(result)
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table("file:line", "question", "answer", "strength", "signature", "source", title="Extracted answers")
        for row in result["answers"]:
            source = row["source_line"] if len(row["source_line"]) <= 100 else row["source_line"][:99] + "…"
            basis = row["signature"] or (f"code {row['reply_code']}" if row["reply_code"] else f"({row['extractor']})")
            table.add_row(f"{row['file']}:{row['line']}", row["question"], row["answer"], f"{row['strength']:.2f}",
                          basis, escape(source))
        console = Console()
        console.print(table)
        hard = ", ".join(f"{q}={a}" for q, a in result["evidence"]["answers"].items()) or "(none)"
        console.print(f"[bold]hard answers[/]: {hard}", highlight=False)
        for item in result["evidence"]["soft"]:
            vector = ", ".join(f"{a}: {v:.2f}" for a, v in item["likelihood"].items())
            console.print(f"[bold]soft[/] {item['question']}: {vector}", highlight=False)
        if result["unmatched"]:
            console.print(f"[bold]not understood[/]: {len(result['unmatched'])} error-like line(s); "
                          "list them with --unmatched", highlight=False)
