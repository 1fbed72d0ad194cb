"""The author gate: helpdesk pages are open, author pages need the configured token.

Helpdesk staff only ever write sessions and draft cases; accepting cases, importing them and
writing learned parameters change what the model believes, so those pages stay locked until the
author token (``ROOTWARD_AUTHOR_TOKEN``) is entered. With no token configured they cannot be
unlocked at all, which is the safe default for a shared helpdesk machine.
"""

from __future__ import annotations

import hmac

import streamlit as st

from ui.settings import UiSettings

AUTHOR_KEY = "author_signed_in"


def token_matches(given: str, settings: UiSettings) -> bool:
    """Constant-time comparison, so response timing does not leak how much of a guess was right."""
    if settings.author_token is None or not given:
        return False
    return hmac.compare_digest(given.encode(), settings.author_token.get_secret_value().encode())


def require_author() -> bool:
    """Render the sign-in (or the how-to-configure note) and say whether the page may continue."""
    settings = UiSettings()
    if settings.author_token is None:
        st.warning("Author pages are locked: no author token is configured.")
        st.markdown(
            "Set one before starting the UI, for example\n\n"
            "```sh\nexport ROOTWARD_AUTHOR_TOKEN=\"$(python -c 'import secrets; print(secrets.token_urlsafe(24))')\"\n"
            "rootward ui\n```\n\nthen enter the same token here. Helpdesk pages (Diagnose, Check a fix) "
            "need no token."
        )
        return False
    if st.session_state.get(AUTHOR_KEY):
        return True
    with st.form("author_sign_in"):
        st.markdown("**Author sign-in.** This page changes what the model learns from; enter the author token.")
        given = st.text_input("Author token", type="password")
        if st.form_submit_button("Sign in"):
            if token_matches(given, settings):
                st.session_state[AUTHOR_KEY] = True
                st.rerun()
            st.error("That token is not the configured author token.")
    return False
