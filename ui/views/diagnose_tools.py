"""The Diagnose page's secondary tools: pasted evidence, known answers, fixes tried, resolve, ticket text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.contracts import PackView
from engine.service import DiagnoseOut
from engine.sessions import ResolveIn
from ui import state
from ui.evidence_paste import Pasted, read_paste
from ui.text import t
from ui.ticket import ticket_markdown

FOUND_KEY = "paste_findings"
OUTCOMES = ("persisted", "stopped", "unclear")


def _answer_label(answer: str, lang: str) -> str:
    return t(answer, lang) if answer in ("yes", "no", "unknown") else answer


def render_paste(pack: PackView, diagnosis: state.Diagnosis, lang: str) -> None:
    """Paste → proposed answers with the line that matched → staff keep, change or drop each one."""
    text = st.text_area(t("paste_label", lang), height=160, key="paste_text",
                        placeholder="Nov 28 10:02:11 mx postfix/smtp[2211]: … timed out while sending message body")
    if st.button(t("extract", lang), icon=":material/manage_search:", key="paste_extract"):
        pasted = read_paste(text, diagnosis.ref, state.service())
        if pasted is None:
            st.warning(t("no_extraction", lang))
            return
        st.session_state[FOUND_KEY] = pasted
    pasted = st.session_state.get(FOUND_KEY)
    if not isinstance(pasted, Pasted):
        return
    findings = pasted.findings
    if pasted.unmatched:
        _render_unmatched(pasted.unmatched, lang, expanded=not findings)
    if not findings:
        if not pasted.unmatched:
            st.info(t("nothing_found", lang))
        return
    answers = sorted({a for q in pack.questions.values() for a in q.answers} | {"unknown"})
    st.caption(t("paste_help", lang))
    frame = pd.DataFrame([{"use": True, "question": f.question,
                           "text": pack.questions[f.question].short, "answer": f.answer,
                           "strength": f.strength, "weak": not f.strong, "line": f"{f.line_number}: {f.line}"}
                          for f in findings])
    edited = st.data_editor(
        frame, hide_index=True, width="stretch", key="paste_editor",
        disabled=["question", "text", "strength", "weak", "line"],
        column_order=["use", "text", "answer", "strength", "weak", "line"],
        column_config={
            "use": st.column_config.CheckboxColumn(t("use", lang), help=t("intake_use_help", lang), width="small"),
            "text": st.column_config.TextColumn(t("question", lang), width="medium"),
            "answer": st.column_config.SelectboxColumn(t("answer", lang), options=answers, required=True,
                                                       help=t("intake_answer_help", lang), width="small"),
            "strength": st.column_config.ProgressColumn(t("strength", lang), min_value=0.0, max_value=1.0,
                                                        format="percent", help=t("strength_help", lang),
                                                        width="small"),
            "weak": st.column_config.CheckboxColumn(t("weak", lang), width="small"),
            "line": st.column_config.TextColumn(t("line", lang), width="large"),
        },
    )
    if st.button(t("apply_found", lang), type="primary", key="paste_apply"):
        chosen = [(row["question"], row["answer"], findings[i].line)
                  for i, row in enumerate(edited.to_dict("records")) if row["use"]]
        state.confirm_answers(diagnosis, chosen, FOUND_KEY)


def _render_unmatched(lines: list[tuple[int, str]], lang: str, expanded: bool) -> None:
    """The error-like lines the pack does not understand: staff see them instead of a silent nothing."""
    with st.expander(f"{t('not_understood', lang)} ({len(lines)})", expanded=expanded, icon=":material/help:"):
        st.caption(t("not_understood_hint", lang))
        st.code("\n".join(f"{number}: {line}" for number, line in lines), language=None)


def render_known_answer(pack: PackView, diagnosis: state.Diagnosis, lang: str) -> None:
    """Staff often know facts before they are asked ("only attachments fail"): record them directly."""
    open_questions = [q for q in pack.questions if q not in diagnosis.answers] or list(pack.questions)
    question = st.selectbox(t("question", lang), open_questions, key="known_question",
                            format_func=lambda q: pack.questions[q].text)
    answer = st.radio(t("answer", lang), [*pack.questions[question].answers, "unknown"], key="known_answer",
                      horizontal=True, format_func=lambda a: _answer_label(a, lang))
    if st.button(t("record", lang), key="known_record", icon=":material/add:"):
        try:
            state.record_answer(diagnosis, question, str(answer))
        except state.ACTION_ERRORS as exc:
            st.error(str(exc))
            return
        st.rerun()


def render_fix_tried(pack: PackView, diagnosis: state.Diagnosis, lang: str) -> None:
    """A fix already applied is evidence: "persisted" lowers every cause it addresses."""
    if diagnosis.tried:
        st.markdown(f"**{t('fixes_tried', lang)}**")
        for fix, outcome in diagnosis.tried:
            title = pack.fixes[fix].title if fix in pack.fixes else fix
            st.markdown(f"- {title} (`{fix}`): {t(outcome, lang)}")
    with st.form("fix_tried", clear_on_submit=True):
        fix = st.selectbox(t("fix", lang), list(pack.fixes), format_func=lambda f: pack.fixes[f].title)
        outcome = st.radio(t("outcome", lang), OUTCOMES, horizontal=True, format_func=lambda o: t(o, lang))
        if st.form_submit_button(t("add_attempt", lang)):
            try:
                state.record_attempt(diagnosis, str(fix), str(outcome))
            except state.ACTION_ERRORS as exc:
                st.error(str(exc))
                return
            st.rerun()


def render_resolve(pack: PackView, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    """Resolve into a *draft* case: helpdesk staff never write reviewed cases."""
    access = state.store_access()
    if access.sessions is None:
        st.info(t("resolve_needs_db", lang).format(problem=access.problem))
        return
    if diagnosis.case_id:
        st.success(t("saved_draft", lang).format(case=diagnosis.case_id))
        return
    if not diagnosis.given:
        st.caption(t("resolve_first", lang))
        return
    with st.form("resolve"):
        confirmed = st.multiselect(t("confirmed", lang), list(pack.causes), default=[out.causes[0].id],
                                   format_func=lambda c: pack.causes[c])
        complete = st.checkbox(t("causes_complete", lang), value=False, help=t("causes_complete_help", lang))
        title = st.text_input(t("case_title", lang), max_chars=200)
        resolution = st.text_area(t("resolution", lang), max_chars=10_000)
        reference = st.text_input(t("reference", lang), max_chars=500)
        name = st.text_input(t("your_name", lang), value="helpdesk", max_chars=80)
        submitted = st.form_submit_button(t("save_draft", lang), type="primary")
    if not submitted:
        return
    if not confirmed:
        st.error(t("choose_cause", lang))
        return
    request = ResolveIn(confirmed_causes=list(confirmed), causes_complete=complete, title=title or None,
                        resolution=resolution, reference=reference if len(reference) >= 3 else None)
    try:
        state.resolve(diagnosis, request, f"ui:{name.strip() or 'helpdesk'}")
    except state.ACTION_ERRORS as exc:
        st.error(str(exc))
        return
    st.rerun()


def render_ticket(pack: PackView, diagnosis: state.Diagnosis, out: DiagnoseOut, lang: str) -> None:
    text = ticket_markdown(pack, state.session_state(diagnosis), out, diagnosis.sources)
    st.caption(t("ticket_help", lang))
    st.code(text, language="markdown")

