"""Check a fix: the folklore answer. Someone says "rebuild the server"; what does the evidence say?

The suggestion is weighed against the diagnosis in progress on the Diagnose page (its answers and
fixes tried), so the verdict changes as the evidence does. The first assessment on a cold machine
compiles a model per fix, hence the spinner that says so.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.contracts import AssessOut
from engine.kb.knowledge import KnowledgeBase
from engine.reason.evidence import ContradictionError
from ui import state
from ui.text import t

ASSESSMENT_KEY = "assessment"
UNLIKELY = 0.2
LIKELY = 0.5


def render() -> None:
    lang = state.lang()
    diagnosis = state.current()
    kb = state.service().kb(diagnosis.ref)
    st.title(t("check_fix", lang))
    given = diagnosis.given
    summary = ", ".join(f"`{q}={a}`" for q, a in given.items()) or "no answers yet (priors only)"
    tried = ", ".join(f"`{f}: {o}`" for f, o in diagnosis.tried)
    st.caption(f"{t('against', lang)}: {summary}" + (f"; fixes tried {tried}" if tried else ""))

    mode = st.radio(" ", ("known", "text"), horizontal=True, key="fix_mode", label_visibility="collapsed",
                    format_func=lambda m: t("known_fix" if m == "known" else "suggestion_text", lang))
    fix: str | None = None
    text: str | None = None
    if mode == "known":
        fix = st.selectbox(t("fix", lang), list(kb.fixes), key="fix_choice",
                           format_func=lambda f: _fix_label(kb, f, lang))
    else:
        text = st.text_area(t("suggestion_label", lang), key="fix_text", height=110,
                            placeholder="Your postfix config must be broken: rebuild the mail server from scratch.")
    if st.button(t("assess", lang), type="primary", icon=":material/balance:", key="assess"):
        if mode == "text" and not (text or "").strip():
            st.error("Paste the suggestion first.")
            return
        try:
            with st.spinner(t("compiling", lang)):
                result = state.service().assess(diagnosis.ref, given, dict(diagnosis.tried), fix=fix,
                                                text=text if mode == "text" else None, lang=lang)
        except ContradictionError as exc:
            st.error(f"{exc}. Fix the answers on the Diagnose page first.")
            return
        st.session_state[ASSESSMENT_KEY] = (diagnosis.key(), result)
    stored = st.session_state.get(ASSESSMENT_KEY)
    if stored is None:
        return
    key, result = stored
    if key != diagnosis.key():
        st.caption("The evidence changed since this assessment; assess again to update it.")
    _show(result, lang)


def _fix_label(kb: KnowledgeBase, fix: str, lang: str) -> str:
    spec = kb.fixes[fix]
    return spec.title.get(lang) + (" (often suggested)" if spec.folklore else "")


def _show(result: AssessOut, lang: str) -> None:
    st.subheader(t("verdict", lang))
    if result.matched_text is not None and result.fix is not None:
        st.caption(f"Read as: **{result.fix.title}** (`{result.fix.id}`)")
    p = result.p_resolves
    box = st.info if p is None else st.error if p < UNLIKELY else st.warning if p < LIKELY else st.success
    box(result.verdict)
    columns = st.columns(3)
    columns[0].metric(t("p_resolves", lang), "n/a" if p is None else f"{100 * p:.1f}%")
    if result.risk is not None:
        columns[1].metric("downtime", f"{result.risk.downtime_minutes:g} min")
        columns[2].metric("expected collateral repair", f"{result.risk.collateral_minutes:g} min")
    if result.reasons:
        st.markdown(f"**{t('reasons', lang)}**")
        st.markdown("\n".join(f"- {r.text}" for r in result.reasons))
    if result.check_first:
        st.markdown(f"**{t('check_first', lang)}**")
        st.markdown("\n".join(f"{i}. {c}" for i, c in enumerate(result.check_first, start=1)))
    if result.risk is not None:
        st.markdown(f"**{t('risk', lang)}** — {'reversible' if result.risk.reversible else 'not reversible'}")
        st.markdown(result.risk.text)
        if result.risk.may_break:
            st.markdown("May break: " + ", ".join(result.risk.may_break))
    st.markdown(f"**{t('alternatives', lang)}**")
    if not result.alternatives:
        st.caption("No alternative is likely enough yet: keep diagnosing.")
        return
    st.dataframe(pd.DataFrame([{"action": a.title, "id": a.id, "P(resolves)": a.p_resolves,
                                "minutes": a.cost_minutes, "risk (min)": a.risk_minutes}
                               for a in result.alternatives]),
                 hide_index=True, width="stretch", key="alternatives_table",
                 column_config={"P(resolves)": st.column_config.NumberColumn(format="percent")})
