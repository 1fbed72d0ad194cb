"""``kb list``, ``kb show``, ``validate`` and ``rank``."""

from __future__ import annotations

from dataclasses import dataclass
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
    parse_pairs,
    read_evidence_file,
    service,
)


@kb_app.command("list")
def kb_list(fmt: FormatOption = Format.table) -> None:
    """List the bundled knowledge packs."""
    with handled(fmt):
        rows = service().list_kbs()
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
        description = service().describe(pack, lang.value)
        if fmt is Format.json:
            emit_json(description)
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        ref = description["kb"]
        console.print(f"[bold]{ref['title']}[/] ({ref['id']} {ref['version']}, {ref['hash']})")
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
    with handled(fmt):
        check = service().validate(path)
        problems, errors = check.problems, check.errors
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
            if check.size is not None:
                summary += "; " + ", ".join(f"{count} {kind}" for kind, count in check.size.items())
            console.print(summary)
        if errors:
            raise typer.Exit(1)


@dataclass(frozen=True)
class GivenEvidence:
    """What the command line gave: typed answers (the evidence file, then ``-e``), fixes tried, artifacts."""

    answers: dict[str, str]
    tried: dict[str, str]
    artifacts: list[str]


def gather_evidence(
    pairs: list[str] | None,
    evidence_file: Path | None,
    tried: list[str] | None = None,
    artifacts: list[Path] | None = None,
) -> GivenEvidence:
    """Typed answers override what artifacts say, including a typed 'unknown' (the service sees to that)."""
    from engine.service import read_artifact

    typed = read_evidence_file(evidence_file)
    typed.update(parse_pairs(pairs or []))
    return GivenEvidence(typed, parse_pairs(tried or []), [read_artifact(path) for path in artifacts or []])


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
    with handled(fmt):
        given = gather_evidence(evidence, evidence_file, tried, artifact)
        result = service().rank(kb_name, given.answers, given.tried, lang.value, artifacts=given.artifacts)
        if fmt is Format.json:
            emit_json(result)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("#", "cause", "probability", "", title=f"Causes ({result.kb.id} {result.kb.version})")
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
        if service().summary(kb_name)["fixes"]:
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
        help="stop when the best question gives fewer bits per minute (default: 0.0003 for the decision, "
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
    from engine.service import Objective, Service

    with handled(fmt):
        if role is not None and role not in ("helpdesk", "admin", "network"):
            raise CliError("invalid_role", f"unknown role '{role}'", {"valid_roles": ["helpdesk", "admin", "network"]})
        if objective not in Service.objectives:
            raise CliError("invalid_option", f"unknown --objective '{objective}'",
                           {"valid_objectives": list(Service.objectives)})
        check_policy_options(stop_probability, exchange_rate)
        given = gather_evidence(evidence, evidence_file, tried, artifact)
        out = service().next(kb_name, given.answers, given.tried, role=role, lang=lang.value, skip=skip or (),
                             objective=cast(Objective, objective), stop_probability=stop_probability,
                             exchange_rate=exchange_rate, limit=limit, artifacts=given.artifacts)
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
        if service().summary(kb_name)["fixes"]:
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

    with handled(fmt):
        if (fix is None) == (text is None):
            raise CliError("usage", "give exactly one of --fix ID or --text \"...\"", {})
        given = gather_evidence(evidence, evidence_file, tried, artifact)
        out = service().assess(kb_name, given.answers, given.tried, fix=fix, text=text, lang=lang.value,
                               artifacts=given.artifacts)
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
