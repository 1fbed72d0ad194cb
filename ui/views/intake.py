"""The start of a diagnosis: the complaint in the caller's own words and a short checklist.

A caller has said most of what matters before the first question ("attachments from one
university don't arrive, plain mail does"). The complaint box reads that into *proposed* answers,
each shown with the words it came from; nothing counts until the person confirms (or corrects) it,
because one wrong answer entered up front misleads every later question. The checklist holds the
pack's cheap symptom questions, in the pack's order, for what the caller can say at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.contracts import PackView
from engine.errors import EvidenceError
from engine.service import IntakeOut, Service
from ui import state
from ui.text import t

READING_KEY = "intake_reading"


def _label(answer: str, lang: str) -> str:
    return t(answer, lang) if answer in ("yes", "no", "unknown") else answer


def render_intake(pack: PackView, diagnosis: state.Diagnosis, lang: str) -> None:
    """Open while nothing is answered yet (the page starts here), folded away afterwards."""
    with st.expander(t("intake", lang), expanded=not diagnosis.history, icon=":material/record_voice_over:"):
        text = st.text_area(t("intake_label", lang), key="intake_text", height=110, max_chars=Service.intake_limit(),
                            placeholder=t("intake_placeholder", lang))
        if st.button(t("intake_read", lang), icon=":material/spellcheck:", key="intake_read"):
            try:
                st.session_state[READING_KEY] = state.service().intake(diagnosis.ref, text, lang)
            except EvidenceError as exc:
                st.error(str(exc))
        reading = st.session_state.get(READING_KEY)
        if isinstance(reading, IntakeOut):
            _proposals(pack, diagnosis, reading, lang)
        _checklist(pack, diagnosis, lang)


def _proposals(pack: PackView, diagnosis: state.Diagnosis, reading: IntakeOut, lang: str) -> None:
    if not reading.answers:
        st.info(t("intake_nothing", lang))
    else:
        st.caption(t("intake_confirm_help", lang))
        options = sorted({a for q in pack.questions.values() for a in q.answers} | {"unknown"})
        frame = pd.DataFrame([{"use": True, "question": a.question, "text": pack.questions[a.question].short,
                               "answer": a.answer, "words": a.matched} for a in reading.answers])
        edited = st.data_editor(
            frame, hide_index=True, width="stretch", key="intake_editor", disabled=["question", "text", "words"],
            column_order=["use", "text", "answer", "words"],
            column_config={
                "use": st.column_config.CheckboxColumn(t("use", lang), help=t("intake_use_help", lang), width="small"),
                "text": st.column_config.TextColumn(t("question", lang), width="medium"),
                "answer": st.column_config.SelectboxColumn(t("answer", lang), options=options, required=True,
                                                           help=t("intake_answer_help", lang), width="small"),
                "words": st.column_config.TextColumn(t("words", lang), width="medium",
                                                     help=t("intake_words_help", lang)),
            },
        )
        if st.button(t("intake_confirm", lang), type="primary", key="intake_confirm"):
            chosen = [(row["question"], row["answer"], f"“{row['words']}”")
                      for row in edited.to_dict("records") if row["use"]]
            state.confirm_answers(diagnosis, chosen, READING_KEY)
            return
    if reading.unmatched:
        st.caption(t("intake_unmatched", lang) + " " + " · ".join(f"“{clause}”" for clause in reading.unmatched))


def _checklist(pack: PackView, diagnosis: state.Diagnosis, lang: str) -> None:
    """The pack's cheap symptom questions not answered yet; only those given an answer are recorded."""
    items = [item for item in state.service().checklist(diagnosis.ref, lang) if item.id not in diagnosis.answers]
    if not items:
        return
    with st.form("intake_checklist", border=True):
        st.markdown(f"**{t('intake_checklist', lang)}**")
        for item in items:
            st.radio(item.text, item.answers, index=None, horizontal=True, key=f"checklist_{item.id}",
                     format_func=lambda a: _label(a, lang))
        if st.form_submit_button(t("intake_checklist_record", lang)):
            chosen = [(item.id, str(st.session_state[f"checklist_{item.id}"]), None) for item in items
                      if st.session_state.get(f"checklist_{item.id}") is not None]
            try:
                state.record_answers(diagnosis, chosen)
            except state.ACTION_ERRORS as exc:
                st.error(str(exc))
                return
            st.rerun()
