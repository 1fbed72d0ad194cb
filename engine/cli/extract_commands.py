"""``extract``: answers to KB questions read from artifact files (logs, bounces, zones, tool output)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import Format, FormatOption, KbOption, app, emit_json, handled

FilesArgument = Annotated[list[Path], typer.Argument(help="artifact files; kinds are detected line by line")]
RedactOption = Annotated[bool, typer.Option("--redact", help="replace e-mail addresses in source lines")]


def read_artifact(path: Path) -> str:
    """The file's text, bounded to the extractor's input limit; undecodable bytes become U+FFFD."""
    from engine.evidence import MAX_INPUT_CHARS
    from engine.inputs import read_prefix

    return read_prefix(path, MAX_INPUT_CHARS, "artifact").decode("utf-8", errors="replace")


def extraction(kb_name: str, files: list[Path], redacted: bool) -> dict[str, Any]:
    """The JSON document of ``rootward extract``: findings per file and the combined evidence."""
    from engine.cli.kb_commands import load
    from engine.evidence import extract as extract_answers
    from engine.evidence import redact, to_evidence

    kb = load(kb_name)
    texts = [(path, read_artifact(path)) for path in files]
    rows: list[dict[str, Any]] = []
    found = []
    for path, text in texts:
        for finding in extract_answers(text, kb):
            found.append(finding)
            rows.append({
                "question": finding.question, "answer": finding.answer, "strength": finding.strength,
                "source_line": redact(finding.source_line) if redacted else finding.source_line,
                "line": finding.line_number, "extractor": finding.extractor, "signature": finding.signature_id,
                "file": str(path),
            })
    hard, soft = to_evidence(found, kb)
    return {
        "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash},
        "answers": rows,
        "evidence": {"answers": hard, "soft": [{"question": s.question, "likelihood": s.likelihood} for s in soft]},
    }


@app.command()
def extract(
    kb_name: KbOption,
    files: FilesArgument,
    fmt: FormatOption = Format.table,
    redacted: RedactOption = False,
) -> None:
    """Read logs, bounces, zone files, tracepath/ping and postconf output; list the answers they give."""
    with handled(fmt):
        result = extraction(kb_name, files, redacted)
        if fmt is Format.json:
            emit_json(result)
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table("file:line", "question", "answer", "strength", "signature", "source", title="Extracted answers")
        for row in result["answers"]:
            source = row["source_line"] if len(row["source_line"]) <= 100 else row["source_line"][:99] + "…"
            table.add_row(f"{row['file']}:{row['line']}", row["question"], row["answer"], f"{row['strength']:.2f}",
                          row["signature"] or f"({row['extractor']})", escape(source))
        console = Console()
        console.print(table)
        hard = ", ".join(f"{q}={a}" for q, a in result["evidence"]["answers"].items()) or "(none)"
        console.print(f"[bold]hard answers[/]: {hard}", highlight=False)
        for item in result["evidence"]["soft"]:
            vector = ", ".join(f"{a}: {v:.2f}" for a, v in item["likelihood"].items())
            console.print(f"[bold]soft[/] {item['question']}: {vector}", highlight=False)
