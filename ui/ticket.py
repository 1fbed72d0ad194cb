"""The Markdown summary staff paste into the ticket, built from what the page already computed.

The layout is the shared session report (``engine.sessions.render_report``), so a ticket written
from the UI reads the same as one written by the API; this module only adds the log lines that
answered questions, which exist only where text was pasted.
"""

from __future__ import annotations

from engine.contracts import KbRef, PackView, RankOut
from engine.service import DiagnoseOut
from engine.sessions import SessionState, render_report


def ticket_markdown(pack: PackView, state: SessionState, out: DiagnoseOut, sources: dict[str, str]) -> str:
    """The report in ``pack``'s language (a ``PackView`` is in one), plus the log lines behind answers."""
    ranked = RankOut(kb=KbRef(**out.kb), causes=out.causes, combinations=out.combinations,
                     explanations=out.explanations, recommended_actions=out.recommended_actions,
                     unmodelled_probability=out.unmodelled_probability, enough_evidence=out.enough_evidence)
    text = render_report(
        state, pack.title, ranked,
        {q: pack.questions[q].short for q in state.answers if q in pack.questions},
        {f: pack.fixes[f].title for f, _ in state.tried if f in pack.fixes},
    )
    evidence = {q: line for q, line in sources.items() if q in state.answers}
    if evidence:
        text += "\n## Log lines that answered questions\n\n"
        text += "".join(f"- `{q}` = {state.answers[q]}: `{line.strip()}`\n" for q, line in evidence.items())
    return text
