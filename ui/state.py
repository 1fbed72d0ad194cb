"""What every page shares: the cached service, the sidebar choices, and the diagnosis in progress.

The service compiles models (seconds on a cold machine), so it lives in ``st.cache_resource`` and is
shared by every browser tab. Each user's diagnosis lives in ``st.session_state``; when the store is
reachable it is also written, event by event, to a persistent session through
``engine.sessions.SessionService`` (opened with ``engine.records.Records``), so a reload (the ``?session=``
link) or another face can pick it up, and the diagnosis finishes on the knowledge-base version it
started with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from engine.contracts import PackView
from engine.errors import StoreError
from engine.records import Records
from engine.service import DiagnoseOut, Service
from engine.sessions import ResolveIn, SessionService, SessionState
from ui.settings import UiSettings

DIAGNOSIS_KEY = "diagnosis"
SESSION_PARAM = "session"
ROLE_PARAM = "role"
ROLE_KEY = "role"
ROLES = ("helpdesk", "admin", "network")
UNKNOWN_LINK_KEY = "unknown_session_link"
ACTION_ERRORS: tuple[type[Exception], ...] = (ValueError, StoreError)
"""What a click can run into: a rejected answer or case (ValueError, incl. validation and conflicts)
or an unreachable database; shown as a message, never as a traceback."""


@st.cache_resource(show_spinner="Loading the knowledge packs…")
def service() -> Service:
    """One service per process: it caches parsed packs and compiled models by content hash."""
    return Service()


@dataclass(frozen=True)
class StoreAccess:
    """The session service and the case records, or why there are none (diagnoses then stay in memory)."""

    sessions: SessionService | None
    records: Records | None
    problem: str = ""


@st.cache_resource(show_spinner="Opening the database…")
def _store_access(database_url: str) -> StoreAccess:
    try:
        records = Records.open(database_url, service())
    except StoreError as exc:
        return StoreAccess(None, None, str(exc))
    return StoreAccess(records.sessions(), records)


def store_access() -> StoreAccess:
    """Keyed by URL so that a changed ``ROOTWARD_DATABASE_URL`` (tests, operators) is honoured."""
    from engine.settings import get_settings

    return _store_access(get_settings().database_url)


def pack() -> str:
    """The pack chosen in the sidebar (the configured default until the user picks another)."""
    return str(st.session_state.get("pack") or UiSettings().ui_pack)


def lang() -> str:
    return str(st.session_state.get("lang") or "en")


def pack_view(ref: str | None = None) -> PackView:
    """The texts of the pack a page shows (``ref``: a diagnosis' own version), in the chosen language."""
    return service().pack_view(ref or pack(), lang())


@dataclass
class Diagnosis:
    """One diagnosis: the answer log (so undo restores an earlier answer), fixes tried, provenance.

    ``ref`` is what the service is given: the pack name while it is unchanged, or the directory of
    the stored version the session started on. ``sources`` keeps the log line behind each answer
    that was extracted from pasted text.
    """

    pack: str
    ref: str
    history: list[tuple[str, str]] = field(default_factory=list)
    tried: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    session_id: str | None = None
    case_id: str | None = None

    @property
    def answers(self) -> dict[str, str]:
        """The answers in effect, ``unknown`` included (it means "asked, nobody knows")."""
        return dict(self.history)

    @property
    def given(self) -> dict[str, str]:
        """The answers that carry evidence (what the service and the ticket count)."""
        return {q: a for q, a in self.history if a != "unknown"}

    def key(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        return tuple(self.answers.items()), tuple(self.tried)


def _new(pack_name: str) -> Diagnosis:
    return Diagnosis(pack=pack_name, ref=pack_name)


def restore_from_link() -> None:
    """Resume the diagnosis named by ``?session=`` (a reload, or a link pasted into a ticket).

    Runs before the sidebar draws its widgets, because the pack selector's value may have to follow
    the restored session and Streamlit forbids changing a widget's value once it is drawn. An id the
    store does not know is not dropped silently: the page says so (``UNKNOWN_LINK_KEY``) and a new
    session is started at once, so the link in the address bar is a valid one again.
    """
    wanted = st.query_params.get(SESSION_PARAM)
    diagnosis = st.session_state.get(DIAGNOSIS_KEY)
    if not wanted or (diagnosis is not None and diagnosis.session_id == wanted):
        return
    restored = _restore(wanted)
    if restored is not None:
        st.session_state["pack"] = restored.pack
        st.session_state[DIAGNOSIS_KEY] = restored
        return
    st.query_params.pop(SESSION_PARAM, None)
    st.session_state[UNKNOWN_LINK_KEY] = wanted
    fresh = _new(pack())
    st.session_state[DIAGNOSIS_KEY] = fresh
    _session(fresh)  # without a database there is nothing to start: the diagnosis stays in memory


def keep_place() -> None:
    """Keep ``?session=`` and ``?role=`` in the address bar on every page and after every rerun.

    Streamlit forgets a widget's value on a page that does not draw it and may drop query
    parameters on a page change, so the role lives under a plain session key (re-assigned here,
    which keeps it across pages) and both parameters are written back on each run: a reload, a
    page change or a copied link then lands on the same diagnosis, seen by the same role.
    """
    if ROLE_KEY not in st.session_state:
        linked = st.query_params.get(ROLE_PARAM)
        st.session_state[ROLE_KEY] = linked if linked in ROLES else ROLES[0]
    st.session_state[ROLE_KEY] = st.session_state[ROLE_KEY]
    st.query_params[ROLE_PARAM] = role()
    diagnosis = st.session_state.get(DIAGNOSIS_KEY)
    if diagnosis is not None and diagnosis.session_id:
        st.query_params[SESSION_PARAM] = diagnosis.session_id


def role() -> str:
    """The role chosen on the Diagnose page (it decides which questions are offered)."""
    chosen = st.session_state.get(ROLE_KEY)
    return chosen if chosen in ROLES else ROLES[0]


def current() -> Diagnosis:
    """The user's diagnosis for the selected pack; choosing another pack starts a new one."""
    diagnosis = st.session_state.get(DIAGNOSIS_KEY)
    if diagnosis is None or diagnosis.pack != pack():
        diagnosis = _new(pack())
        st.query_params.pop(SESSION_PARAM, None)
    st.session_state[DIAGNOSIS_KEY] = diagnosis
    return diagnosis


def _restore(session_id: str) -> Diagnosis | None:
    """Rebuild a diagnosis from the stored event log; ``None`` for an id the store does not know."""
    from engine.errors import NotFoundError

    access = store_access()
    if access.sessions is None:
        return None
    try:
        state = access.sessions.state(session_id)
    except (NotFoundError, ValueError):  # ValueError: not even shaped like a session id
        return None
    history: list[tuple[str, str]] = []
    for event in state.events:
        if event.kind == "answer" and event.question and event.answer:
            history.append((event.question, event.answer))
        elif event.kind == "undo" and history:
            history.pop()
    return Diagnosis(pack=state.pack, ref=access.sessions.pack_ref(state.pack, state.kb_hash), history=history,
                     tried=list(state.tried), skipped=list(state.skipped), session_id=state.id)


def reset() -> None:
    st.session_state.pop(DIAGNOSIS_KEY, None)
    st.query_params.pop(SESSION_PARAM, None)


def _session(diagnosis: Diagnosis) -> SessionService | None:
    """The session service with this diagnosis' session started (lazily, on its first event)."""
    access = store_access()
    if access.sessions is None:
        return None
    if diagnosis.session_id is None:
        started = access.sessions.start(diagnosis.pack)
        diagnosis.session_id = started.id
        diagnosis.ref = access.sessions.pack_ref(diagnosis.pack, started.kb.hash)
        st.query_params[SESSION_PARAM] = started.id
    return access.sessions


def record_answer(diagnosis: Diagnosis, question: str, answer: str, source: str | None = None) -> None:
    """Check, persist, then apply: a rejected answer never reaches the ranking."""
    sessions = _session(diagnosis)
    if sessions is not None and diagnosis.session_id is not None:
        sessions.answer(diagnosis.session_id, question, answer)
    else:
        service().check_answer(diagnosis.ref, question, answer)
    diagnosis.history.append((question, answer))
    if source is None:
        diagnosis.sources.pop(question, None)
    else:
        diagnosis.sources[question] = source
    if question in diagnosis.skipped:
        diagnosis.skipped.remove(question)


def skip_question(diagnosis: Diagnosis, question: str) -> None:
    """Set a question aside, in the stored session too, so that a reload or a shared link keeps it aside."""
    if question in diagnosis.skipped:
        return
    sessions = _session(diagnosis)
    if sessions is not None and diagnosis.session_id is not None:
        sessions.skip(diagnosis.session_id, question)
    diagnosis.skipped.append(question)


def bring_back_skipped(diagnosis: Diagnosis) -> None:
    """Bring every set-aside question back (stored too)."""
    sessions = _session(diagnosis)
    if sessions is not None and diagnosis.session_id is not None and diagnosis.skipped:
        sessions.unskip(diagnosis.session_id)
    diagnosis.skipped.clear()


def record_answers(diagnosis: Diagnosis, found: Iterable[tuple[str, str, str | None]]) -> None:
    for question, answer, source in found:
        record_answer(diagnosis, question, answer, source)


def confirm_answers(diagnosis: Diagnosis, chosen: Iterable[tuple[str, str, str | None]], pending_key: str) -> None:
    """Record the answers a person confirmed, forget the proposals they came from, and redraw.

    A rejected answer is shown as a message and the proposals stay, so nothing confirmed is lost.
    """
    try:
        record_answers(diagnosis, chosen)
    except ACTION_ERRORS as exc:
        st.error(str(exc))
        return
    st.session_state.pop(pending_key, None)
    st.rerun()


def undo(diagnosis: Diagnosis) -> None:
    if not diagnosis.history:
        return
    sessions = _session(diagnosis)
    if sessions is not None and diagnosis.session_id is not None:
        sessions.undo(diagnosis.session_id)
    question, _ = diagnosis.history.pop()
    if question not in diagnosis.answers:
        diagnosis.sources.pop(question, None)


def record_attempt(diagnosis: Diagnosis, fix: str, outcome: str) -> None:
    sessions = _session(diagnosis)
    if sessions is not None and diagnosis.session_id is not None:
        sessions.attempt(diagnosis.session_id, fix, outcome)
    else:
        service().check_tried(diagnosis.ref, fix, outcome)
    diagnosis.tried.append((fix, outcome))


def session_state(diagnosis: Diagnosis) -> SessionState:
    """The diagnosis in the session shape the shared Markdown report renders."""
    return SessionState(id=diagnosis.session_id or "not saved", pack=diagnosis.pack,
                        kb_hash=service().summary(diagnosis.ref)["hash"], created="", events=[],
                        answers=diagnosis.given, tried=list(diagnosis.tried))


@st.cache_data(max_entries=512, show_spinner=False)
def _diagnose(ref: str, kb_hash: str, answers: tuple[tuple[str, str], ...], tried: tuple[tuple[str, str], ...],
              skipped: tuple[str, ...], role: str, lang_code: str) -> dict[str, Any]:
    """Memoised per evidence state: reruns (every click) must not repeat the inference.

    ``kb_hash`` is part of the key so that an edited pack is never answered from a stale entry.
    """
    out = service().diagnose(ref, dict(answers), dict(tried), role=role, lang=lang_code, skip=skipped)
    return out.model_dump()


def diagnose(diagnosis: Diagnosis, role: str) -> DiagnoseOut:
    """Skipped questions, and those nobody could answer, go to the engine as ``skip``: the next best
    ones come up instead, and the stop rule judges what is left."""
    answers, tried = diagnosis.key()
    kb_hash = service().summary(diagnosis.ref)["hash"]
    skipped = tuple(sorted({*diagnosis.skipped, *(q for q, a in answers if a == "unknown")}))
    return DiagnoseOut.model_validate(_diagnose(diagnosis.ref, kb_hash, answers, tried, skipped, role, lang()))


def resolve(diagnosis: Diagnosis, request: ResolveIn, author: str) -> str:
    """Save the diagnosis as a draft case; answers read from pasted text keep their log line."""
    sessions = _session(diagnosis)
    if sessions is None or diagnosis.session_id is None:
        raise ValueError(f"saving cases needs the database: {store_access().problem}")
    case = sessions.resolve(diagnosis.session_id, request, author, sources=diagnosis.sources)
    diagnosis.case_id = case.id
    return case.id
