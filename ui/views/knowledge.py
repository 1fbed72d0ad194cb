"""Knowledge base (authors): the network drawn, any node's details and sources, and what is wrong.

Authors review a pack like code; this page is the reviewer's view: where a node sits in the causal
graph, what its numbers rest on (basis, references, provenance), and the validator's findings,
including pairs of causes that no question can tell apart.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.contracts import NodeDetailsOut, PackFindingsOut, ReferenceOut
from ui import state
from ui.auth import require_author
from ui.charts import KIND_STYLE, network_figure


def render() -> None:
    st.title("Knowledge base")
    if not require_author():
        return
    lang = state.lang()
    ref = state.pack()
    pack = state.pack_view(ref)
    st.caption(f"{pack.title} · `{pack.id}` {pack.version} · KB `{pack.hash}` · "
               f"{len(pack.causes)} causes, {len(pack.mechanisms)} mechanisms, {len(pack.questions)} questions, "
               f"{len(pack.fixes)} fixes, {pack.signatures} signatures")
    kinds = {**dict.fromkeys(pack.causes, "cause"), **dict.fromkeys(pack.mechanisms, "mechanism"),
             **dict.fromkeys(pack.questions, "question")}
    node = st.selectbox("Node", list(kinds), key="kb_node",
                        format_func=lambda n: f"{kinds[n]}: {pack.title_of(n)} ({n})")
    legend = " · ".join(f"<span style='color:{colour}'>{'■◆●'[i]}</span> {kind}s"
                        for i, (kind, (colour, _)) in enumerate(KIND_STYLE.items()))
    st.markdown(f"Causes (top) feed mechanisms (middle) that produce observable questions (bottom). {legend}",
                unsafe_allow_html=True)
    with st.spinner("Drawing the network…"):
        st.pyplot(network_figure(pack, highlight=node), clear_figure=True)
    _details(state.service().node_details(ref, node, lang))
    _problems(ref, pack.hash)


def _references(references: list[ReferenceOut]) -> str:
    lines = []
    for ref in references:
        title = f"[{ref.title}]({ref.url})" if ref.url else ref.title
        lines.append(f"- {title}" + (f", section {ref.section}" if ref.section else ""))
    return "\n".join(lines)


def _details(node: NodeDetailsOut) -> None:
    st.subheader(node.title)
    st.caption(f"{node.kind} `{node.id}` · {node.status} · {node.author}, {node.date}")
    if node.description is not None:
        st.markdown(node.description)
    st.markdown("\n".join(f"- **{k}**: {v}" for k, v in node.facts.items()))
    if node.cpd is not None:
        with st.expander("CPD as written"):
            st.json(node.cpd)
    st.markdown("**References**")
    st.markdown(_references(node.references))


@st.cache_data(show_spinner="Validating the pack…", max_entries=16)
def _findings(ref: str, kb_hash: str) -> PackFindingsOut:
    """Validator problems and identifiability warnings for one pack version (``kb_hash`` is the key)."""
    return state.service().findings(ref)


def _problems(ref: str, kb_hash: str) -> None:
    st.subheader("Validation")
    findings = _findings(ref, kb_hash)
    problems = findings.problems
    errors = sum(1 for p in problems if p["severity"] == "error")
    if problems:
        st.warning(f"{errors} error(s), {len(problems) - errors} warning(s)")
        st.dataframe(pd.DataFrame(problems), hide_index=True, width="stretch", key="kb_problems")
    else:
        st.success("The pack validates without errors or warnings.")
    st.markdown("**Identifiability**")
    if findings.identifiability:
        rows = findings.identifiability
        unexplained = sum(1 for row in rows if not row[3])
        st.warning(f"{len(rows)} pair(s) of causes cannot be told apart by any question; "
                   f"{len(rows) - unexplained} of them explained in pack.yaml.")
        st.dataframe(pd.DataFrame(rows, columns=["cause", "indistinguishable from", "detail", "explanation"]),
                     hide_index=True, width="stretch", key="kb_identifiability")
    else:
        st.caption("Every pair of causes is separated by at least one question.")
