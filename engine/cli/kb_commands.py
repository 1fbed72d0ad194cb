"""``kb list``, ``kb show``, ``validate`` and ``rank``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from engine.cli.app import (
    ArtifactOption,
    EvidenceFileOption,
    EvidenceOption,
    Format,
    FormatOption,
    KbOption,
    Lang,
    LangOption,
    RoleOption,
    TriedOption,
    app,
    check_policy_options,
    emit_json,
    handled,
    kb_app,
    read_evidence_file,
)
from engine.errors import KbError
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import bundled_pack_names


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


@kb_app.command("show")
def kb_show(pack: str, fmt: FormatOption = Format.table, lang: LangOption = Lang.en) -> None:
    """Show every cause, question (with its answers) and fix of a pack."""
    with handled(fmt):
        from engine.service import describe

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


def gather_evidence(
    kb: KnowledgeBase,
    pairs: list[str] | None,
    evidence_file: Path | None,
    tried: list[str] | None = None,
    artifacts: list[Path] | None = None,
) -> Any:
    """Typed answers override what artifacts say, including a typed 'unknown'."""
    from engine.reason.evidence import build_evidence, parse_pairs

    typed = read_evidence_file(evidence_file)
    typed.update(parse_pairs(pairs or []))
    attempts = list(parse_pairs(tried or []).items())
    extracted: dict[str, str] = {}
    soft: list[Any] = []
    if artifacts:
        from engine.cli.extract_commands import read_artifact
        from engine.evidence import extract, to_evidence

        found = [answer for path in artifacts for answer in extract(read_artifact(path), kb)]
        extracted, soft = to_evidence(found, kb)
        soft = [s for s in soft if s.question not in typed]
    return build_evidence(kb, {**extracted, **typed}, soft=soft, tried=attempts)


@app.command()
def rank(
    kb_name: KbOption,
    evidence: EvidenceOption = None,
    evidence_file: EvidenceFileOption = None,
    tried: TriedOption = None,
    artifact: ArtifactOption = None,
    fmt: FormatOption = Format.table,
    lang: LangOption = Lang.en,
) -> None:
    """Rank the root causes given what was observed (and fixes already tried)."""
    from engine.contracts import rank_out
    from engine.reason.ranking import rank as rank_causes
    from engine.reason.uncertainty import assess_uncertainty
    from engine.service import actions_for

    with handled(fmt):
        kb = load(kb_name)
        observed = gather_evidence(kb, evidence, evidence_file, tried, artifact)
        ranking = rank_causes(kb, observed)
        result = rank_out(kb, ranking, lang.value, actions_for(kb, observed, lang.value),
                          uncertainty=assess_uncertainty(kb, observed))
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
        print_uncertainty(console, result.enough_evidence, result.unmodelled_probability)
        if kb.fixes:
            print_actions(console, result.recommended_actions)


def print_uncertainty(console: Any, enough_evidence: bool, unmodelled_probability: float | None) -> None:
    """One plain-words line for staff: whether the answers have moved the usual causes yet, and how
    likely it is that the problem lies outside what the pack knows."""
    from rich.markup import escape

    from engine.contracts import uncertainty_text

    console.print(escape(uncertainty_text(enough_evidence, unmodelled_probability)), highlight=False)


def print_actions(console: Any, actions: list[Any]) -> None:
    from rich.table import Table

    if not actions:
        console.print("No action is likely enough (P(resolves) ≥ 0.2) to recommend yet: keep asking.")
        return
    table = Table("action", "P(resolves)", "minutes", "risk minutes", title="Recommended actions, in order")
    for action in actions:
        table.add_row(f"{action.title} [dim]({action.id})[/]", f"{action.p_resolves:.2f}",
                      f"{action.cost_minutes:g}", f"{action.risk_minutes:g}")
    console.print(table)


@app.command("next")
def next_question(
    kb_name: KbOption,
    evidence: EvidenceOption = None,
    evidence_file: EvidenceFileOption = None,
    tried: TriedOption = None,
    artifact: ArtifactOption = None,
    role: RoleOption = None,
    stop_probability: Annotated[float, typer.Option(help="stop when the leader (or combination) is this likely")]
    = 0.9,
    exchange_rate: Annotated[float | None, typer.Option(
        help="stop when the best question gives fewer bits per minute (default: 0.001 for the decision, "
             "which also weighs the risk of acting on a wrong cause; 0.005 for all or leading causes)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="how many questions to list")] = 5,
    skip: Annotated[list[str] | None, typer.Option(
        "--skip", help="a question put aside for now (repeatable): not suggested, not handed off")] = None,
    objective: Annotated[str, typer.Option(
        help="what the gain is about: the 'decision' (leading hypotheses and actions), 'all' causes (sum of "
             "mutual informations) or the 'leading' causes")] = "decision",
    fmt: FormatOption = Format.table,
    lang: LangOption = Lang.en,
) -> None:
    """The questions worth most per minute now, why, and whether to stop asking and act."""
    from engine.cli.app import CliError
    from engine.contracts import next_out
    from engine.reason.questions import OBJECTIVES, Objective, StopPolicy, next_questions
    from engine.reason.uncertainty import assess_uncertainty
    from engine.service import actions_for

    with handled(fmt):
        if role is not None and role not in ("helpdesk", "admin", "network"):
            raise CliError("invalid_role", f"unknown role '{role}'", {"valid_roles": ["helpdesk", "admin", "network"]})
        if objective not in OBJECTIVES:
            raise CliError("invalid_option", f"unknown --objective '{objective}'",
                           {"valid_objectives": list(OBJECTIVES)})
        check_policy_options(stop_probability, exchange_rate)
        kb = load(kb_name)
        observed = gather_evidence(kb, evidence, evidence_file, tried, artifact)
        result = next_questions(kb, observed, role=role, policy=StopPolicy(stop_probability, exchange_rate),
                                limit=limit, lang=lang.value, skip=skip or (), objective=cast(Objective, objective))
        out = next_out(kb, result, actions_for(kb, observed, lang.value), uncertainty=assess_uncertainty(kb, observed))
        if fmt is Format.json:
            emit_json(out)
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        table = Table("question", "bits", "minutes", "bits/min", "answers", "why", title="Ask next")
        for q in [*out.questions, *out.handoff]:
            handoff = "" if q in out.questions else f" [yellow](hand off to {', '.join(q.asked_by)})[/]"
            answers = ", ".join(f"{a} {p:.0%}" for a, p in q.answers.items())
            table.add_row(f"{q.text} [dim]({q.id})[/]{handoff}", f"{q.expected_gain_bits:.3f}",
                          f"{q.cost_minutes:g}", f"{q.gain_per_minute:.4f}", answers, q.why)
        console.print(table)
        if out.stop:
            console.print(f"[bold]Stop asking[/]. {out.stop_reason}.")
        print_uncertainty(console, out.enough_evidence, out.unmodelled_probability)
        if kb.fixes:
            print_actions(console, out.recommended_actions)


@app.command("assess-fix")
def assess_fix_command(
    kb_name: KbOption,
    fix: Annotated[str | None, typer.Option("--fix", help="a fix id (see `rootward kb show`)")] = None,
    text: Annotated[str | None, typer.Option("--text", help="an anecdote, e.g. 'restarting postfix fixed it'")]
    = None,
    evidence: EvidenceOption = None,
    evidence_file: EvidenceFileOption = None,
    tried: TriedOption = None,
    artifact: ArtifactOption = None,
    fmt: FormatOption = Format.table,
    lang: LangOption = Lang.en,
) -> None:
    """How likely a proposed fix is to help here, why, what to check first, and its risk."""
    from engine.cli.app import CliError
    from engine.service import assess_proposal

    with handled(fmt):
        if (fix is None) == (text is None):
            raise CliError("usage", "give exactly one of --fix ID or --text \"...\"", {})
        kb = load(kb_name)
        observed = gather_evidence(kb, evidence, evidence_file, tried, artifact)
        out = assess_proposal(kb, observed, fix=fix, text=text, lang=lang.value)
        if fmt is Format.json:
            emit_json(out)
            return
        from rich.console import Console

        console = Console()
        if out.fix is not None:
            console.print(f"[bold]{out.fix.title}[/] [dim]({out.fix.id})[/]: P(resolves) = {out.p_resolves:.2f}")
        console.print(out.verdict)
        for reason in out.reasons:
            console.print(f" • {reason.text}", highlight=False)
        if out.check_first:
            console.print("[bold]Check first[/]:")
            for item in out.check_first:
                console.print(f" • {item}", highlight=False)
        if out.risk is not None:
            console.print(f"[bold]Risk[/]: {out.risk.text}", highlight=False)
        print_actions(console, out.alternatives)
