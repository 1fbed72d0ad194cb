"""``intake``: the complaint in the person's own words, read into proposed answers."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from engine.cli.app import Format, KbOption, Lang, LangOption, app, emit_json, handled


class IntakeFormat(StrEnum):
    """``text`` is the human-readable listing (``table`` is accepted too, like every other command)."""

    json = "json"
    text = "text"
    table = "table"


TextOption = Annotated[str, typer.Option("--text", help='the complaint as the person wrote it; "-" reads stdin')]
IntakeFormatOption = Annotated[
    IntakeFormat, typer.Option("--format", "-f", help="json (one document on stdout) or text")
]


@app.command()
def intake(
    kb_name: KbOption,
    text: TextOption,
    lang: LangOption = Lang.en,
    fmt: IntakeFormatOption = IntakeFormat.text,
) -> None:
    """Read a complaint (English or Japanese) into proposed answers, each with the words it came from."""
    shape = Format.json if fmt is IntakeFormat.json else Format.table
    with handled(shape):
        from engine.service import Service

        service = Service()
        complaint = sys.stdin.read() if text == "-" else text
        result = service.intake(kb_name, complaint, lang.value)
        if shape is Format.json:
            emit_json(result)
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        questions = service.pack_view(kb_name, lang.value).questions
        table = Table("question", "answer", title="Proposed answers (confirm each before it counts)")
        table.add_column("from the words", overflow="fold")
        for answer in result.answers:
            table.add_row(escape(questions[answer.question].short) + f"\n[dim]{answer.question}[/]",
                          answer.answer, escape(answer.matched))
        console = Console()
        console.print(table)
        for clause in result.unmatched:
            console.print(f"[dim]nothing read from:[/] {escape(clause)}", highlight=False)
