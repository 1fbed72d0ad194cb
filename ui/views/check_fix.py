"""Check a fix: the folklore answer. Someone says "rebuild the server"; what does the evidence say?

The suggestion is weighed against the diagnosis in progress on the Diagnose page (its answers and
fixes tried), so the verdict changes as the evidence does. The first assessment on a cold machine
compiles a model per fix, hence the spinner that says so.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.contracts import AssessOut, PackView
from engine.errors import ContradictionError
from ui import state
from ui.text import t

ASSESSMENT_KEY = "assessment"
UNLIKELY = 0.2
LIKELY = 0.5


def render() -> None:
    lang = state.lang()
    diagnosis = state.current()
    pack = state.pack_view(diagnosis.ref)
    st.title(t("check_fix", lang))
    given = diagnosis.given
    summary = "; ".join(f"{_question_label(pack, q)}: {_answer_label(a, lang)}" for q, a in given.items())
    tried = "; ".join(f"{pack.fixes[f].title if f in pack.fixes else f}: {t(o, lang)}"
                      for f, o in diagnosis.tried)
    st.caption(f"{t('against', lang)}: {summary or t('no_answers_priors', lang)}"
               + (f" · {t('fixes_tried', lang)}: {tried}" if tried else ""))

    mode = st.radio(" ", ("known", "text"), horizontal=True, key="fix_mode", label_visibility="collapsed",
                    format_func=lambda m: t("known_fix" if m == "known" else "suggestion_text", lang))
    fix: str | None = None
    text: str | None = None
    if mode == "known":
        fix = st.selectbox(t("fix", lang), list(pack.fixes), key="fix_choice",
                           format_func=lambda f: _fix_label(pack, f, lang))
    else:
        text = st.text_area(t("suggestion_label", lang), key="fix_text", height=110,
                            placeholder=t("suggestion_placeholder", lang))
    if st.button(t("assess", lang), type="primary", icon=":material/balance:", key="assess"):
        if mode == "text" and not (text or "").strip():
            st.error(t("paste_first", lang))
            return
        try:
            with st.spinner(t("compiling", lang)):
                result = state.service().assess(diagnosis.ref, given, dict(diagnosis.tried), fix=fix,
                                                text=text if mode == "text" else None, lang=lang)
        except ContradictionError as exc:
            st.error(f"{exc}. {t('fix_answers_first', lang)}")
            return
        st.session_state[ASSESSMENT_KEY] = (diagnosis.key(), result)
    stored = st.session_state.get(ASSESSMENT_KEY)
    if stored is None:
        return
    key, result = stored
    if key != diagnosis.key():
        st.caption(t("evidence_changed", lang))
    _show(result, lang)


def _question_label(pack: PackView, question: str) -> str:
    return pack.questions[question].short if question in pack.questions else question


def _answer_label(answer: str, lang: str) -> str:
    return t(answer, lang) if answer in ("yes", "no", "unknown") else answer


def _fix_label(pack: PackView, fix: str, lang: str) -> str:
    spec = pack.fixes[fix]
    return spec.title + (f" ({t('often_suggested', lang)})" if spec.folklore else "")


def _verdict(result: AssessOut, lang: str) -> str:
    """The verdict in the page's language: the engine's sentence in English; in Japanese the same
    judgement (the fix, its chance, the better first step) worded from the assessment's fields."""
    if lang == "en" or result.fix is None or result.p_resolves is None:
        return result.verdict
    p = result.p_resolves
    band = "verdict_likely" if p >= LIKELY else "verdict_maybe" if p >= UNLIKELY else "verdict_unlikely"
    text = t(band, lang).format(fix=result.fix.title, percent=f"{100 * p:.0f}")
    better = next((a for a in result.alternatives if a.id != result.fix.id), None)
    if better is not None and better.p_resolves > p:
        text += t("verdict_better", lang).format(fix=better.title, percent=f"{100 * better.p_resolves:.0f}",
                                                 minutes=f"{better.cost_minutes:g}")
    return text


def _show(result: AssessOut, lang: str) -> None:
    st.subheader(t("verdict", lang))
    if result.matched_text is not None and result.fix is not None:
        st.caption(f"{t('read_as', lang)}: **{result.fix.title}**")
    p = result.p_resolves
    box = st.info if p is None else st.error if p < UNLIKELY else st.warning if p < LIKELY else st.success
    box(_verdict(result, lang))
    columns = st.columns(3)
    columns[0].metric(t("p_resolves", lang), "n/a" if p is None else f"{100 * p:.1f}%")
    if result.risk is not None:
        columns[1].metric(t("downtime", lang), f"{result.risk.downtime_minutes:g} {t('minutes', lang)}")
        columns[2].metric(t("collateral", lang), f"{result.risk.collateral_minutes:g} {t('minutes', lang)}")
    if result.reasons:
        st.markdown(f"**{t('reasons', lang)}**")
        st.markdown("\n".join(f"- {r.text}" for r in result.reasons))
    if result.check_first:
        st.markdown(f"**{t('check_first', lang)}**")
        st.markdown("\n".join(f"{i}. {c}" for i, c in enumerate(result.check_first, start=1)))
    if result.risk is not None:
        reversible = t("reversible" if result.risk.reversible else "not_reversible", lang)
        st.markdown(f"**{t('risk', lang)}** — {reversible}")
        st.markdown(result.risk.text)
        if result.risk.may_break:
            st.markdown(f"{t('may_break', lang)}: " + ", ".join(result.risk.may_break))
    st.markdown(f"**{t('alternatives', lang)}**")
    if not result.alternatives:
        st.caption(t("no_alternative", lang))
        return
    st.dataframe(pd.DataFrame([{"action": a.title, "P(resolves)": a.p_resolves, "minutes": a.cost_minutes,
                                "risk (min)": a.risk_minutes, "id": a.id}
                               for a in result.alternatives]),
                 hide_index=True, width="stretch", key="alternatives_table",
                 column_order=["action", "P(resolves)", "minutes", "risk (min)"],
                 column_config={"action": st.column_config.TextColumn(t("action", lang), width="medium"),
                                "P(resolves)": st.column_config.NumberColumn(t("p_resolves", lang), format="percent"),
                                "minutes": st.column_config.NumberColumn(t("minutes_long", lang)),
                                "risk (min)": st.column_config.NumberColumn(t("risk_minutes", lang))})
    with st.expander(t("details", lang), icon=":material/data_object:"):
        if result.fix is not None:
            st.markdown(f"`{result.fix.id}`")
        if lang != "en":
            st.caption(result.verdict)
        st.dataframe(pd.DataFrame([{"action": a.title, "id": a.id} for a in result.alternatives]),
                     hide_index=True, width="stretch", key="alternative_ids_table")
