"""Knowledge base (authors): the network drawn, any node's details and sources, and what is wrong.

Authors review a pack like code; this page is the reviewer's view: where a node sits in the causal
graph, what its numbers rest on (basis, references, provenance), and the validator's findings,
including pairs of causes that no question can tell apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import Cause, Mechanism, Question, Reference
from ui import state
from ui.auth import require_author
from ui.charts import KIND_STYLE, network_figure


def render() -> None:
    st.title("Knowledge base")
    if not require_author():
        return
    lang = state.lang()
    kb = state.service().kb(state.pack())
    st.caption(f"{kb.pack.title.get(lang)} · `{kb.id}` {kb.pack.version} · KB `{kb.version_hash}` · "
               f"{len(kb.causes)} causes, {len(kb.mechanisms)} mechanisms, {len(kb.questions)} questions, "
               f"{len(kb.fixes)} fixes, {len(kb.signatures)} signatures")
    kinds = {**dict.fromkeys(kb.causes, "cause"), **dict.fromkeys(kb.mechanisms, "mechanism"),
             **dict.fromkeys(kb.questions, "question")}
    node = st.selectbox("Node", list(kinds), key="kb_node",
                        format_func=lambda n: f"{kinds[n]}: {_title(kb, n, lang)} ({n})")
    legend = " · ".join(f"<span style='color:{colour}'>{'■◆●'[i]}</span> {kind}s"
                        for i, (kind, (colour, _)) in enumerate(KIND_STYLE.items()))
    st.markdown(f"Causes (top) feed mechanisms (middle) that produce observable questions (bottom). {legend}",
                unsafe_allow_html=True)
    with st.spinner("Drawing the network…"):
        st.pyplot(network_figure(kb, highlight=node), clear_figure=True)
    _details(kb, node, kinds[node], lang)
    _problems(kb)


def _title(kb: KnowledgeBase, node: str, lang: str) -> str:
    spec = kb.node(node)
    return spec.text.get(lang) if isinstance(spec, Question) else spec.title.get(lang)


def _references(references: list[Reference]) -> str:
    lines = []
    for ref in references:
        title = f"[{ref.title}]({ref.url})" if ref.url else ref.title
        lines.append(f"- {title}" + (f", section {ref.section}" if ref.section else ""))
    return "\n".join(lines)


def _details(kb: KnowledgeBase, node: str, kind: str, lang: str) -> None:
    spec = kb.node(node)
    st.subheader(_title(kb, node, lang))
    provenance = spec.provenance
    st.caption(f"{kind} `{node}` · {provenance.status} · {provenance.author}, {provenance.date}")
    children = [n for n in [*kb.mechanisms, *kb.questions] if node in kb.parents(n)]
    facts: dict[str, Any] = {}
    if isinstance(spec, Cause):
        st.markdown(spec.description.get(lang))
        facts["prior"] = spec.prior if spec.prior is not None else spec.distribution
        facts["prior basis"] = spec.prior_basis
        facts["category"] = spec.category
        facts["how to confirm"] = spec.confirm.get(lang)
        facts["fixed by"] = ", ".join(f"{f} ({e:.0%})" for f, fix in kb.fixes.items()
                                      for c, e in fix.removes.items() if c == node) or "no fix in the pack"
    elif isinstance(spec, Mechanism | Question):
        if isinstance(spec, Mechanism):
            st.markdown(spec.description.get(lang))
        else:
            facts["how to check"] = spec.how_to_check.get(lang)
            facts["cost"] = f"{spec.cost_minutes:g} min, asked by {', '.join(spec.asked_by)}"
            facts["answers"] = ", ".join(spec.answers)
            facts["answered by signatures"] = ", ".join(s.id for s in kb.signatures.values()
                                                        if s.question == node) or "none"
        facts["CPD"] = spec.cpd.type
        facts["parents"] = ", ".join(kb.parents(node))
        facts["basis"] = spec.basis
    facts["children"] = ", ".join(children) or "none"
    st.markdown("\n".join(f"- **{k}**: {v}" for k, v in facts.items()))
    if isinstance(spec, Mechanism | Question):
        with st.expander("CPD as written"):
            st.json(spec.cpd.model_dump(mode="json"))
    st.markdown("**References**")
    st.markdown(_references(spec.references))


@st.cache_data(show_spinner="Validating the pack…", max_entries=16)
def _findings(directory: str, kb_hash: str) -> tuple[list[dict[str, object]], list[tuple[str, str, str]]]:
    """Validator problems and identifiability warnings for one pack version (``kb_hash`` is the key)."""
    from engine.kb.identifiability import identifiability_warnings
    from engine.kb.validate import validate

    kb, raw = validate(Path(directory), identifiability=False)
    pairs = identifiability_warnings(kb) if kb is not None else []
    return [p.as_dict() for p in raw.problems], pairs


def _problems(kb: KnowledgeBase) -> None:
    st.subheader("Validation")
    problems, pairs = _findings(str(kb.directory), kb.version_hash)
    errors = sum(1 for p in problems if p["severity"] == "error")
    if problems:
        st.warning(f"{errors} error(s), {len(problems) - errors} warning(s)")
        st.dataframe(pd.DataFrame(problems), hide_index=True, width="stretch", key="kb_problems")
    else:
        st.success("The pack validates without errors or warnings.")
    st.markdown("**Identifiability**")
    if pairs:
        notes = {frozenset(n.causes): n.note for n in kb.pack.identifiability_notes}
        rows = [(first, second, detail, notes.get(frozenset((first, second)), "")) for first, second, detail in pairs]
        unexplained = sum(1 for row in rows if not row[3])
        st.warning(f"{len(pairs)} pair(s) of causes cannot be told apart by any question; "
                   f"{len(pairs) - unexplained} of them explained in pack.yaml.")
        st.dataframe(pd.DataFrame(rows, columns=["cause", "indistinguishable from", "detail", "explanation"]),
                     hide_index=True, width="stretch", key="kb_identifiability")
    else:
        st.caption("Every pair of causes is separated by at least one question.")
