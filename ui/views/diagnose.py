"""Diagnose: one question at a time on the left, the live ranking on the right.

The page is built for a helpdesk agent on the phone with a user: the next question comes with how
to check it and what it costs, answers are single clicks, and everything the agent needs to judge
the reasoning (probabilities as a chart and a table, why the question was chosen, what each answer
contributed) sits beside it. Secondary tools (pasting logs, recording fixes tried, resolving,
copying the ticket text) live in tabs below so they never push the question off screen.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.contracts import QuestionOut
from engine.kb.knowledge import KnowledgeBase
from engine.reason.evidence import ContradictionError
from engine.service import DiagnoseOut
from ui import state
from ui.charts import ranking_figure
from ui.text import t
from ui.views.diagnose_tools import render_fix_tried, render_known_answer, render_paste, render_resolve, render_ticket
from ui.views.intake import render_intake

CHART_CAUSES = 8
TABLE_CAUSES = 12
WEIGHT_CAUSES = 3


def render() -> None:
    lang = state.lang()
    diagnosis = state.current()
    kb = state.service().kb(diagnosis.ref)

    st.title(t("diagnose", lang))
    top = st.columns([3, 2, 1], vertical_alignment="bottom")
    top[0].caption(f"{kb.pack.title.get(lang)} · `{kb.id}` {kb.pack.version} · KB `{kb.version_hash}`"
                   + (f" · session `{diagnosis.session_id}`" if diagnosis.session_id else ""))
    role = top[1].segmented_control(t("role", lang), state.ROLES, default="helpdesk", key="role",
                                    format_func=lambda r: t(f"role_{r}", lang), required=True)
    if top[2].button(t("new_diagnosis", lang), icon=":material/restart_alt:", width="stretch"):
        state.reset()
        st.rerun()
    access = state.store_access()
    if access.problem:
        st.caption(f"Sessions are not being saved (database not available: {access.problem}).")

    try:
        with st.spinner(t("thinking", lang)):
            out = state.diagnose(diagnosis, str(role or "helpdesk"))
    except ContradictionError as exc:
        st.error(str(exc))
        if st.button(t("undo", lang), icon=":material/undo:", key="undo_contradiction"):
            state.undo(diagnosis)
            st.rerun()
        return

    render_intake(kb, diagnosis, lang)
    left, right = st.columns([5, 4], gap="large")
    with left:
        _actions(out, lang)
        _question_card(kb, diagnosis, out, lang)
        _handoff(kb, diagnosis, out, lang)
        _answers_so_far(kb, diagnosis, lang)
    with right:
        _ranking(kb, out, lang)
    _tools(kb, diagnosis, out, lang)


def _answer(diagnosis: state.Diagnosis, question: str, answer: str, source: str | None = None) -> None:
    try:
        state.record_answer(diagnosis, question, answer, source)
    except state.ACTION_ERRORS as exc:
        st.error(str(exc))
        return
    st.rerun()


def _answer_buttons(kb: KnowledgeBase, diagnosis: state.Diagnosis, question: str, lang: str, prefix: str,
                    skip: bool) -> None:
    """One button per answer, then "don't know" (and "skip" for the main question)."""
    options = [*kb.questions[question].answers, "unknown"]
    columns = st.columns(len(options) + int(skip))
    for column, answer in zip(columns, options, strict=False):
        label = t(answer, lang) if answer in ("yes", "no", "unknown") else answer
        primary = answer in ("yes", "no")
        if column.button(label, key=f"{prefix}_{question}_{answer}", type="primary" if primary else "secondary",
                         width="stretch"):
            _answer(diagnosis, question, answer)
    if skip and columns[-1].button(t("skip", lang), key=f"{prefix}_{question}_skip", width="stretch"):
        diagnosis.skipped.append(question)
        st.rerun()


def _meta(kb: KnowledgeBase, suggestion: QuestionOut, lang: str) -> str:
    who = ", ".join(t(f"role_{r}", lang) for r in suggestion.asked_by)
    return f"`{suggestion.id}` · ~{suggestion.cost_minutes:g} {t('minutes', lang)} · {t('asked_by', lang)}: {who}"


def _question_card(kb: KnowledgeBase, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    pending = out.questions  # the engine already left out what is answered or skipped
    if not pending:
        st.info(t("no_questions", lang))
        if diagnosis.skipped and st.button(t("unskip", lang)):
            diagnosis.skipped.clear()
            st.rerun()
        return
    current = pending[0]
    spec = kb.questions[current.id]
    with st.container(border=True):
        st.caption(t("next_question", lang))
        st.markdown(f"#### {spec.text.get(lang)}")
        st.caption(_meta(kb, current, lang))
        st.markdown(f"**{t('how_to_check', lang)}.** {spec.how_to_check.get(lang)}")
        _answer_buttons(kb, diagnosis, current.id, lang, "ask", skip=True)
        separates = ", ".join(kb.causes[c].title.get(lang) for c in current.separates if c in kb.causes)
        st.markdown(f"**{t('why', lang)}:** {current.why}"
                    + (f"  \n**{t('separates', lang)}:** {separates}" if separates else ""))


def _handoff(kb: KnowledgeBase, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    waiting = [q for q in out.handoff if q.id not in diagnosis.answers]
    if not waiting:
        return
    with st.expander(f"{t('handoff', lang)} ({len(waiting)})", icon=":material/forward:"):
        st.caption(t("handoff_help", lang))
        for suggestion in waiting:
            spec = kb.questions[suggestion.id]
            st.markdown(f"**{spec.text.get(lang)}**  \n{_meta(kb, suggestion, lang)}")
            st.markdown(f"{t('how_to_check', lang)}: {spec.how_to_check.get(lang)}")
            st.caption(f"{t('why', lang)}: {suggestion.why}")
            st.caption(t("record_reply", lang))
            _answer_buttons(kb, diagnosis, suggestion.id, lang, "handoff", skip=False)


def _answers_so_far(kb: KnowledgeBase, diagnosis: state.Diagnosis, lang: str) -> None:
    head = st.columns([3, 2], vertical_alignment="bottom")
    head[0].markdown(f"**{t('answers_given', lang)}**")
    if diagnosis.history and head[1].button(t("undo", lang), icon=":material/undo:", width="stretch",
                                                      key="answers_undo"):
        state.undo(diagnosis)
        st.rerun()
    if not diagnosis.answers:
        st.caption(t("no_answers", lang))
        return
    st.caption(f"{len(diagnosis.answers)} {t('answered', lang)}")
    rows = [{t("question", lang): kb.questions[q].short.get(lang) if q in kb.questions else q,
             t("answer", lang): t(a, lang) if a in ("yes", "no", "unknown") else a, "id": q,
             "source": diagnosis.sources.get(q, "")} for q, a in diagnosis.answers.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="answers_table")


def _actions(out: DiagnoseOut, lang: str) -> None:
    if not out.stop:
        return
    st.success(f"**{t('stop', lang)}.** {out.stop_reason}", icon=":material/task_alt:")
    if not out.recommended_actions:
        st.caption(t("no_actions", lang))
        return
    st.markdown(f"**{t('actions', lang)}**")
    st.dataframe(pd.DataFrame([{"#": i, "action": a.title, "id": a.id, "P(resolves)": a.p_resolves,
                                "minutes": a.cost_minutes, "risk (min)": a.risk_minutes}
                               for i, a in enumerate(out.recommended_actions, start=1)]),
                 hide_index=True, width="stretch", key="actions_table",
                 column_config={"P(resolves)": st.column_config.NumberColumn(format="percent")})


def _ranking(kb: KnowledgeBase, out: DiagnoseOut, lang: str) -> None:
    st.subheader(t("ranking", lang))
    leader = out.causes[0]
    st.markdown(f"{t('leading', lang)}: **{leader.title}** — {100 * leader.probability:.0f}%")
    shown = out.causes[:CHART_CAUSES]
    figure = ranking_figure([c.title for c in shown], [c.probability for c in shown])
    st.pyplot(figure, clear_figure=True)
    st.dataframe(
        pd.DataFrame([{"#": i, "cause": c.title, "probability": c.probability, "id": c.id}
                      for i, c in enumerate(out.causes[:TABLE_CAUSES], start=1)]),
        hide_index=True, width="stretch", key="ranking_table",
        column_config={"#": st.column_config.NumberColumn(width=30),
                       "cause": st.column_config.TextColumn(width="medium"),
                       "probability": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0,
                                                                      width="small"),
                       "id": st.column_config.TextColumn(width="small")},
    )
    st.markdown(f"**{t('combinations', lang)}**")
    st.dataframe(
        pd.DataFrame([{"causes present together": " + ".join(kb.causes[c].title.get(lang) for c in combo.causes)
                       or t("none_of_leading", lang), "probability": combo.probability}
                      for combo in out.combinations[:5]]),
        hide_index=True, width="stretch", key="combinations_table",
        column_config={"probability": st.column_config.NumberColumn(format="percent")},
    )
    leaders = [c.id for c in out.causes[:WEIGHT_CAUSES]]
    weights: dict[str, dict[str, float]] = {}
    for cause in leaders:
        for w in out.explanations.get(cause, []):
            weights.setdefault(f"{w.question} = {w.answer}", {})[cause] = w.woe_bits
    if weights:
        st.markdown(f"**{t('evidence_weights', lang)}**")
        st.caption("Weight of evidence in bits for each leading cause: + speaks for it, − against it; "
                   "each bit doubles the odds.")
        frame = pd.DataFrame([{"answer": answer, **{c: row.get(c) for c in leaders}}
                              for answer, row in weights.items()])
        st.dataframe(frame, hide_index=True, width="stretch", key="weights_table",
                     column_config={c: st.column_config.NumberColumn(format="%+.2f", help=kb.causes[c].title.get(lang))
                                    for c in leaders if c in kb.causes})


def _tools(kb: KnowledgeBase, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    st.divider()
    paste, known, fix, resolve, ticket = st.tabs([t("tab_paste", lang), t("tab_known", lang), t("tab_fix", lang),
                                                  t("tab_resolve", lang), t("tab_ticket", lang)])
    with paste:
        render_paste(kb, diagnosis, lang)
    with known:
        render_known_answer(kb, diagnosis, lang)
    with fix:
        render_fix_tried(kb, diagnosis, lang)
    with resolve:
        render_resolve(kb, diagnosis, out, lang)
    with ticket:
        render_ticket(kb, diagnosis, out, lang)
