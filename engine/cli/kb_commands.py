"""``kb list``, ``kb show``, ``validate`` and ``rank``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import (
    EvidenceFileOption,
    EvidenceOption,
    Format,
    FormatOption,
    KbOption,
    Lang,
    LangOption,
    app,
    emit_json,
    handled,
    kb_app,
    read_evidence_file,
)
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import bundled_pack_names, resolve_pack_dir
from engine.kb.problems import KbError


def load(name: str) -> KnowledgeBase:
    from engine.kb.validate import load_kb

    return load_kb(name)


@kb_app.command("list")
def kb_list(fmt: FormatOption = Format.table) -> None:
    """List the bundled knowledge packs."""
    with handled(fmt):
        packs = [load(name) for name in bundled_pack_names()]
        rows = [
            {"id": kb.id, "title": kb.pack.title.en, "version": kb.pack.version, "hash": kb.version_hash,
             "causes": len(kb.causes), "questions": len(kb.questions), "fixes": len(kb.fixes)}
            for kb in packs
        ]
        if fmt is Format.json:
            emit_json({"packs": rows})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "title", "version", "causes", "questions", "fixes")
        for row in rows:
            table.add_row(*(str(row[k]) for k in ("id", "title", "version", "causes", "questions", "fixes")))
        Console().print(table)


def describe(kb: KnowledgeBase, lang: str) -> dict[str, Any]:
    """Every id, text and answer of a pack, for chatbot integrators and `kb show`."""
    return {
        "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash, "title": kb.pack.title.get(lang)},
        "causes": [
            {"id": c.id, "title": c.title.get(lang), "category": c.category, "prior": c.prior,
             "description": c.description.get(lang), "confirm": c.confirm.get(lang)}
            for c in kb.causes.values()
        ],
        "questions": [
            {"id": q.id, "text": q.text.get(lang), "short": q.short.get(lang), "answers": [*q.answers, "unknown"],
             "cost_minutes": q.cost_minutes, "asked_by": q.asked_by, "how_to_check": q.how_to_check.get(lang)}
            for q in kb.questions.values()
        ],
        "fixes": [
            {"id": f.id, "title": f.title.get(lang), "removes": f.removes, "cost_minutes": f.cost_minutes,
             "folklore": f.folklore}
            for f in kb.fixes.values()
        ],
    }


@kb_app.command("show")
def kb_show(pack: str, fmt: FormatOption = Format.table, lang: LangOption = Lang.en) -> None:
    """Show every cause, question (with its answers) and fix of a pack."""
    with handled(fmt):
        kb = load(pack)
        description = describe(kb, lang.value)
        if fmt is Format.json:
            emit_json(description)
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(f"[bold]{description['kb']['title']}[/] ({kb.id} {kb.pack.version}, {kb.version_hash})")
        causes = Table("cause", "title", "prior", title="Causes")
        for c in description["causes"]:
            causes.add_row(c["id"], c["title"], f"{c['prior']}")
        questions = Table("question", "text", "answers", "minutes", "asked by", title="Questions")
        for q in description["questions"]:
            questions.add_row(q["id"], q["text"], " / ".join(q["answers"]), f"{q['cost_minutes']:g}",
                              ", ".join(q["asked_by"]))
        console.print(causes, questions)


@app.command()
def validate(
    path: Annotated[str, typer.Argument(help="a pack directory or bundled pack name")],
    fmt: FormatOption = Format.table,
) -> None:
    """Check a pack: schema, references, graph, CPD arithmetic, identifiability. Exit 1 on any error."""
    from engine.kb.validate import validate as run_validation

    with handled(fmt):
        try:
            kb, raw = run_validation(path)
            problems = raw.problems
        except KbError as exc:
            kb, problems = None, exc.problems
        errors = [p for p in problems if p.severity == "error"]
        if fmt is Format.json:
            emit_json({"valid": not errors, "problems": [p.as_dict() for p in problems]})
        else:
            from rich.console import Console
            from rich.markup import escape

            console = Console(stderr=True)
            for problem in problems:
                colour = "red" if problem.severity == "error" else "yellow"
                console.print(f"[{colour}]{escape(problem.render())}[/]", highlight=False, soft_wrap=True)
            summary = f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
            if kb is not None:
                summary += (f"; {len(kb.causes)} causes, {len(kb.mechanisms)} mechanisms, {len(kb.questions)} "
                            f"questions, {len(kb.fixes)} fixes, {len(kb.signatures)} signatures")
            console.print(summary)
        if errors:
            raise typer.Exit(1)


def gather_evidence(kb: KnowledgeBase, pairs: list[str] | None, evidence_file: Path | None) -> Any:
    from engine.reason.evidence import build_evidence, parse_pairs

    answers = read_evidence_file(evidence_file)
    answers.update(parse_pairs(pairs or []))
    return build_evidence(kb, answers)


@app.command()
def rank(
    kb_name: KbOption,
    evidence: EvidenceOption = None,
    evidence_file: EvidenceFileOption = None,
    fmt: FormatOption = Format.table,
    lang: LangOption = Lang.en,
) -> None:
    """Rank the root causes given what was observed."""
    from engine.contracts import rank_out
    from engine.reason.ranking import rank as rank_causes

    with handled(fmt):
        resolve_pack_dir(kb_name)
        kb = load(kb_name)
        observed = gather_evidence(kb, evidence, evidence_file)
        result = rank_out(kb, rank_causes(kb, observed), lang.value)
        if fmt is Format.json:
            emit_json(result)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("#", "cause", "probability", "", title=f"Causes ({kb.id} {kb.pack.version})")
        for i, cause in enumerate(result.causes[:15], start=1):
            bar = "█" * round(cause.probability * 30)
            table.add_row(str(i), f"{cause.title} [dim]({cause.id})[/]", f"{cause.probability:.3f}", bar)
        combos = Table("causes present together", "probability", title="Most probable combinations")
        for combo in result.combinations:
            combos.add_row(" + ".join(combo.causes) or "(none of the leading causes)", f"{combo.probability:.3f}")
        console = Console()
        console.print(table, combos)
        for cause_id, weights in list(result.explanations.items())[:3]:
            moved = ", ".join(f"{w.question}={w.answer} ({w.woe_bits:+.1f} bits)" for w in weights[:4])
            if moved:
                console.print(f"[bold]{cause_id}[/]: {moved}", highlight=False)
