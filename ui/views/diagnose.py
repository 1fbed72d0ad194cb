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

from engine.contracts import PackView, QuestionOut
from engine.errors import ContradictionError
from engine.service import DiagnoseOut
from ui import state
from ui.charts import ranking_figure
from ui.text import t
from ui.views.diagnose_tools import render_fix_tried, render_known_answer, render_paste, render_resolve, render_ticket
from ui.views.intake import render_intake

CHART_CAUSES = 8
TABLE_CAUSES = 12
WEIGHT_CAUSES = 3
REASON_CAUSES = 2
SIDE_BY_SIDE_MIN_PX = 420
"""Narrower than this, the ranking's table would scroll sideways: it goes below the question instead."""
"""Causes named in "why this question" (the others are counted): a reason longer than that is not read."""
SHOWN_KEY = "questions_shown"
"""The questions whose answer buttons the last finished run drew (the ones the person can have read)."""
ANSWER_ERROR_KEY = "answer_error"


def render() -> None:
    lang = state.lang()
    diagnosis = state.current()
    pack = state.pack_view(diagnosis.ref)

    st.title(t("diagnose", lang))
    st.caption(f"{pack.title} · `{pack.id}` {pack.version} · KB `{pack.hash}`"
               + (f" · {t('session', lang)} `{diagnosis.session_id}`" if diagnosis.session_id else ""))
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):  # wraps on narrow screens
        st.segmented_control(t("role", lang), state.ROLES, key=state.ROLE_KEY,
                             format_func=lambda r: t(f"role_{r}", lang), required=True)
        if st.button(t("new_diagnosis", lang), icon=":material/restart_alt:"):
            state.reset()
            st.rerun()
    access = state.store_access()
    if access.problem:
        st.caption(t("not_saved", lang).format(problem=access.problem))
    _unknown_link_notice(diagnosis, lang)
    error = st.session_state.pop(ANSWER_ERROR_KEY, None)
    if error:
        st.error(error)

    try:
        with st.spinner(t("thinking", lang)):
            out = state.diagnose(diagnosis, state.role())
    except ContradictionError as exc:
        st.error(str(exc))
        if st.button(t("undo", lang), icon=":material/undo:", key="undo_contradiction"):
            state.undo(diagnosis)
            st.rerun()
        return

    render_intake(pack, diagnosis, lang)
    shown: set[str] = set()
    layout = st.grid(2, min_column_width=SIDE_BY_SIDE_MIN_PX, gap="large")  # one column below ~900 px of page
    left, right = layout.cell(), layout.cell()
    with left:
        _status(pack, out, lang)
        _question_card(pack, diagnosis, out, lang, shown)
        _handoff(pack, diagnosis, out, lang, shown)
        _answers_so_far(pack, diagnosis, lang)
    with right:
        _ranking(pack, out, lang)
    _details(pack, diagnosis, out, lang)
    _tools(pack, diagnosis, out, lang)
    _settle(shown)


def _unknown_link_notice(diagnosis: state.Diagnosis, lang: str) -> None:
    """Say that the link was not found, until the new diagnosis gets its first answer."""
    unknown = st.session_state.get(state.UNKNOWN_LINK_KEY)
    if not unknown:
        return
    if diagnosis.history:
        st.session_state.pop(state.UNKNOWN_LINK_KEY)
        return
    st.warning(t("unknown_link", lang).format(session=unknown), icon=":material/link_off:")


def _on_answer(question: str, answer: str) -> None:
    """Button callback: record ``answer`` only for a question the person has actually seen.

    A click reaches the server with the id of the question its button belongs to. An answer for a
    question that is not among those shown by the last finished run (the page moved on, a double
    click, a stale browser tab) or that was answered meanwhile is dropped, so a second click can never
    answer the next, unread question.
    """
    diagnosis = state.current()
    if question not in st.session_state.get(SHOWN_KEY, ()) or question in diagnosis.answers:
        return
    try:
        state.record_answer(diagnosis, question, answer)
    except state.ACTION_ERRORS as exc:
        st.session_state[ANSWER_ERROR_KEY] = str(exc)


def _on_skip(question: str) -> None:
    diagnosis = state.current()
    if question in st.session_state.get(SHOWN_KEY, ()):
        try:
            state.skip_question(diagnosis, question)
        except state.ACTION_ERRORS as exc:
            st.session_state[ANSWER_ERROR_KEY] = str(exc)


def _answer_buttons(pack: PackView, question: str, lang: str, prefix: str, skip: bool,
                    shown: set[str]) -> None:
    """One button per answer, then "don't know" (and "skip" for the main question).

    Buttons of a question that the previous run did not show are drawn disabled: the browser may
    still be painting the old page, and a click meant for the old question must not land here.
    ``_settle`` reruns at once to enable them, so they are usable as soon as the page is drawn.
    """
    shown.add(question)
    ready = question in st.session_state.get(SHOWN_KEY, ())
    with st.container(horizontal=True):  # buttons as wide as their words, wrapping on narrow screens
        for answer in [*pack.questions[question].answers, "unknown"]:
            primary = answer in ("yes", "no")
            st.button(_answer_label(answer, lang), key=f"{prefix}_{question}_{answer}",
                      type="primary" if primary else "secondary", disabled=not ready, on_click=_on_answer,
                      args=(question, answer))
        if skip:
            st.button(t("skip", lang), key=f"{prefix}_{question}_skip", disabled=not ready, on_click=_on_skip,
                      args=(question,))


def _settle(shown: set[str]) -> None:
    """Remember which questions this run showed; rerun once when that changed, to enable their buttons."""
    previous = st.session_state.get(SHOWN_KEY, frozenset())
    st.session_state[SHOWN_KEY] = frozenset(shown)
    if not shown <= previous:
        st.rerun()


def _meta(suggestion: QuestionOut, lang: str) -> str:
    who = ", ".join(t(f"role_{r}", lang) for r in suggestion.asked_by)
    return f"~{suggestion.cost_minutes:g} {t('minutes', lang)} · {t('asked_by', lang)}: {who}"


def _reason(pack: PackView, suggestion: QuestionOut, lang: str) -> str:
    """Why the question is asked, in words: which leading causes its answer tells apart."""
    titles = [pack.causes[c] for c in suggestion.separates if c in pack.causes]
    if len(titles) > REASON_CAUSES:
        return t("why_apart_more", lang).format(causes=t("and", lang).join(titles[:REASON_CAUSES]),
                                                more=len(titles) - REASON_CAUSES)
    if len(titles) >= 2:
        return t("why_apart", lang).format(causes=t("and", lang).join(titles))
    if titles:
        return t("why_one", lang).format(cause=titles[0])
    return t("why_little", lang)


def _question_card(pack: PackView, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str,
                   shown: set[str]) -> None:
    pending = out.questions  # the engine already left out what is answered or skipped
    if not pending:
        st.info(t("no_questions", lang))
        if diagnosis.skipped and st.button(t("unskip", lang)):
            state.bring_back_skipped(diagnosis)
            st.rerun()
        return
    current = pending[0]
    spec = pack.questions[current.id]
    with st.container(border=True, key="question_card"):
        st.caption(t("next_question", lang))
        st.markdown(f"#### {spec.text}")
        st.caption(_meta(current, lang))
        st.markdown(f"**{t('how_to_check', lang)}.** {spec.how_to_check}")
        _answer_buttons(pack, current.id, lang, "ask", skip=True, shown=shown)
        st.markdown(f"**{t('why', lang)}:** {_reason(pack, current, lang)}")


def _handoff(pack: PackView, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str, shown: set[str]) -> None:
    waiting = [q for q in out.handoff if q.id not in diagnosis.answers]
    if not waiting:
        return
    with st.expander(f"{t('handoff', lang)} ({len(waiting)})", icon=":material/forward:"):
        st.caption(t("handoff_help", lang))
        for suggestion in waiting:
            spec = pack.questions[suggestion.id]
            st.markdown(f"**{spec.text}**  \n{_meta(suggestion, lang)}")
            st.markdown(f"{t('how_to_check', lang)}: {spec.how_to_check}")
            st.caption(f"{t('why', lang)}: {_reason(pack, suggestion, lang)}")
            st.caption(t("record_reply", lang))
            _answer_buttons(pack, suggestion.id, lang, "handoff", skip=False, shown=shown)


def _answer_label(answer: str, lang: str) -> str:
    return t(answer, lang) if answer in ("yes", "no", "unknown") else answer


def _answers_so_far(pack: PackView, diagnosis: state.Diagnosis, lang: str) -> None:
    """Question texts and answers; the question ids stay in the data (and the details) but off screen."""
    head = st.columns([3, 2], vertical_alignment="bottom")
    head[0].markdown(f"**{t('answers_given', lang)}**")
    if diagnosis.history and head[1].button(t("undo", lang), icon=":material/undo:", width="stretch",
                                                      key="answers_undo"):
        state.undo(diagnosis)
        st.rerun()
    if not diagnosis.answers:
        st.caption(t("no_answers", lang))
        return
    st.caption(t("answered_count", lang).format(count=len(diagnosis.answers)))
    rows = [{"question": pack.questions[q].short if q in pack.questions else q,
             "answer": _answer_label(a, lang), "source": diagnosis.sources.get(q, ""), "id": q}
            for q, a in diagnosis.answers.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="answers_table",
                 column_order=["question", "answer", "source"],
                 column_config={"question": st.column_config.TextColumn(t("question", lang), width="medium"),
                                "answer": st.column_config.TextColumn(t("answer", lang), width="small"),
                                "source": st.column_config.TextColumn(t("source", lang), width="small")})


def _status(pack: PackView, out: DiagnoseOut, lang: str) -> None:
    """Where the diagnosis stands, in plain words; the numbers behind it are in the details.

    ``enough_evidence`` (the answers have moved the ranking away from the priors) and ``stop`` (the
    engine's stop rule) come from the service; this only words them, and never says "enough
    evidence" while the page still asks for more answers.
    """
    leader = out.causes[0].title
    if out.stop and out.enough_evidence:
        st.success(f"**{t('act_on', lang).format(cause=leader)}**", icon=":material/task_alt:")
        _actions(out, lang)
    elif out.stop:
        st.warning(t("barely_move_stopped", lang), icon=":material/help:")
    elif out.enough_evidence:
        st.info(t("leaning", lang).format(cause=leader), icon=":material/trending_up:")
    else:
        st.info(t("barely_move", lang), icon=":material/info:")


def _actions(out: DiagnoseOut, lang: str) -> None:
    if not out.recommended_actions:
        st.caption(t("no_actions", lang))
        return
    st.markdown(f"**{t('actions', lang)}**")
    st.dataframe(pd.DataFrame([{"#": i, "action": a.title, "P(resolves)": a.p_resolves, "minutes": a.cost_minutes,
                                "risk (min)": a.risk_minutes, "id": a.id}
                               for i, a in enumerate(out.recommended_actions, start=1)]),
                 hide_index=True, width="stretch", key="actions_table",
                 column_order=["#", "action", "P(resolves)", "minutes"],
                 column_config={"#": st.column_config.NumberColumn(width=30),
                                "action": st.column_config.TextColumn(t("action", lang), width="medium"),
                                "P(resolves)": st.column_config.NumberColumn(t("p_resolves", lang), format="percent",
                                                                             width="small"),
                                "minutes": st.column_config.NumberColumn(t("minutes_long", lang), width="small")})


def _ranking(pack: PackView, out: DiagnoseOut, lang: str) -> None:
    """The list as the engine orders it: by the chance that each cause is at work on this problem
    (``at_work``; P(present) is in the details, and differs only for causes that act together)."""
    st.subheader(t("ranking", lang))
    leader = out.causes[0]
    st.markdown(f"{t('leading', lang)}: **{leader.title}** — {100 * leader.at_work:.0f}%")
    shown = out.causes[:CHART_CAUSES]
    figure = ranking_figure([c.title for c in shown], [c.at_work for c in shown])
    st.pyplot(figure, clear_figure=True)
    st.dataframe(
        pd.DataFrame([{"#": i, "cause": c.title, "probability": c.at_work, "id": c.id}
                      for i, c in enumerate(out.causes[:TABLE_CAUSES], start=1)]),
        hide_index=True, width="stretch", key="ranking_table", column_order=["#", "cause", "probability"],
        column_config={"#": st.column_config.NumberColumn(width=30),
                       "cause": st.column_config.TextColumn(t("cause", lang), width="medium"),
                       "probability": st.column_config.ProgressColumn(t("probability", lang), format="percent",
                                                                      min_value=0.0, max_value=1.0, width="small")},
    )
    st.markdown(f"**{t('combinations', lang)}**")
    st.dataframe(
        pd.DataFrame([{"causes present together": " + ".join(pack.causes[c] for c in combo.causes)
                       or t("none_of_leading", lang), "probability": combo.probability}
                      for combo in out.combinations[:5]]),
        hide_index=True, width="stretch", key="combinations_table",
        column_config={"causes present together": st.column_config.TextColumn(t("together", lang), width="medium"),
                       "probability": st.column_config.NumberColumn(t("probability", lang), format="percent",
                                                                    width="small")},
    )


def _details(pack: PackView, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    """The numbers and ids behind the plain words: for staff who check the reasoning, and for tickets."""
    with st.expander(t("details", lang), icon=":material/data_object:"):
        if out.unmodelled_probability is not None:
            st.markdown(t("unmodelled", lang).format(percent=f"{100 * out.unmodelled_probability:.0f}"))
        if out.stop_reason:
            st.markdown(f"{t('stop_rule', lang)}: {out.stop_reason}")
        for suggestion in out.questions[:1] + out.handoff[:1]:
            st.markdown(f"`{suggestion.id}` · {suggestion.expected_gain_bits:.3f} bit · "
                        f"{suggestion.gain_per_minute:.4f} bit/min: {suggestion.why}")
        st.dataframe(
            pd.DataFrame([{"cause": c.title, "id": c.id, "at_work": c.at_work, "probability": c.probability}
                          for c in out.causes[:TABLE_CAUSES]]),
            hide_index=True, width="stretch", key="cause_ids_table",
            column_config={"at_work": st.column_config.NumberColumn("P(at work)", format="%.4f"),
                           "probability": st.column_config.NumberColumn("P(present)", format="%.4f")},
        )
        if diagnosis.answers:
            st.dataframe(pd.DataFrame([{"id": q, "answer": a, "source": diagnosis.sources.get(q, "")}
                                       for q, a in diagnosis.answers.items()]),
                         hide_index=True, width="stretch", key="answer_ids_table")
        _weights(pack, out, lang)


def _weights(pack: PackView, out: DiagnoseOut, lang: str) -> None:
    leaders = [c.id for c in out.causes[:WEIGHT_CAUSES]]
    weights: dict[str, dict[str, float]] = {}
    for cause in leaders:
        for w in out.explanations.get(cause, []):
            weights.setdefault(f"{w.question} = {w.answer}", {})[cause] = w.woe_bits
    if not weights:
        return
    st.markdown(f"**{t('evidence_weights', lang)}**")
    st.caption(t("weights_help", lang))
    frame = pd.DataFrame([{"answer": answer, **{c: row.get(c) for c in leaders}} for answer, row in weights.items()])
    st.dataframe(frame, hide_index=True, width="stretch", key="weights_table",
                 column_config={c: st.column_config.NumberColumn(pack.causes[c], format="%+.2f",
                                                                 help=c)
                                for c in leaders if c in pack.causes})


def _tools(pack: PackView, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    st.divider()
    paste, known, fix, resolve, ticket = st.tabs([t("tab_paste", lang), t("tab_known", lang), t("tab_fix", lang),
                                                  t("tab_resolve", lang), t("tab_ticket", lang)])
    with paste:
        render_paste(pack, diagnosis, lang)
    with known:
        render_known_answer(pack, diagnosis, lang)
    with fix:
        render_fix_tried(pack, diagnosis, lang)
    with resolve:
        render_resolve(pack, diagnosis, out, lang)
    with ticket:
        render_ticket(pack, diagnosis, out, lang)
