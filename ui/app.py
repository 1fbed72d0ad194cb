"""Rootward's Streamlit app: ``rootward ui`` (or ``streamlit run ui/app.py``).

Two helpdesk pages (Diagnose, Check a fix) and three author pages (Cases, Knowledge base,
Quality) behind the author token. The sidebar holds what every page shares: the pack and the
language. Pages are scripts under ui/screens/ (not pages/, which Streamlit would also auto-discover as
old-style pages and serve without this navigation), so each can be run and tested on its own.
"""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.auth import AUTHOR_KEY
from ui.text import LANGUAGES, t

st.set_page_config(page_title="Rootward", page_icon=":material/troubleshoot:", layout="wide")


def sidebar() -> None:
    """Pack and language; changing the pack starts a new diagnosis (answers belong to one pack)."""
    packs = {row["id"]: row["title"] for row in state.service().list_kbs()}
    current = state.pack()
    options = list(packs) if current in packs else [current, *packs]
    with st.sidebar:
        st.selectbox(t("pack", state.lang()), options, index=options.index(current), key="pack",
                     format_func=lambda p: f"{packs.get(p, p)} ({p})")
        st.radio(t("language", state.lang()), list(LANGUAGES), key="lang", horizontal=True,
                 format_func=LANGUAGES.__getitem__)
        if st.session_state.get(AUTHOR_KEY) and st.button(t("sign_out", state.lang())):
            st.session_state.pop(AUTHOR_KEY)
            st.rerun()


state.restore_from_link()
state.keep_place()
sidebar()
lang = state.lang()
navigation = st.navigation({
    t("helpdesk_pages", lang): [
        st.Page("screens/diagnose.py", title=t("diagnose", lang), icon=":material/troubleshoot:", default=True),
        st.Page("screens/check_fix.py", title=t("check_fix", lang), icon=":material/build:"),
    ],
    t("author_pages", lang): [
        st.Page("screens/cases.py", title=t("cases", lang), icon=":material/folder_open:"),
        st.Page("screens/knowledge.py", title=t("knowledge", lang), icon=":material/hub:"),
        st.Page("screens/quality.py", title=t("quality", lang), icon=":material/monitoring:"),
    ],
})
navigation.run()
