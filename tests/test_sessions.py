"""Session logic on the store: replay, undo and withdraw, idempotency, and pinned KB versions."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.errors import ConflictError, EvidenceError, NotFoundError, UnknownPackError
from engine.kb.loader import BUNDLED_KB_DIR, content_hash, pack_files
from engine.service import Service
from engine.sessions import SessionService
from engine.store import KbVersionRepository, SessionRepository, open_store

PACK = "mail_delivery"


@pytest.fixture
def sessions(db_url: str, tmp_path: Path) -> SessionService:
    return SessionService(open_store(db_url), Service(), kb_root=tmp_path / "kb-versions")


def test_undo_and_withdraw_replay_from_the_log(sessions: SessionService) -> None:
    session = sessions.start(PACK)
    sessions.answer(session.id, "attachment_mail_fails", "yes")
    sessions.answer(session.id, "single_sender_affected", "yes")
    sessions.answer(session.id, "attachment_mail_fails", "no")
    assert {a.question: a.answer for a in sessions.view(session.id).answers} == {
        "attachment_mail_fails": "no", "single_sender_affected": "yes"}
    sessions.undo(session.id)
    assert {a.question: a.answer for a in sessions.view(session.id).answers} == {
        "attachment_mail_fails": "yes", "single_sender_affected": "yes"}
    withdrawn = sessions.retract(session.id, "attachment_mail_fails")
    assert [a.question for a in withdrawn.answers] == ["single_sender_affected"]
    restored = sessions.undo(session.id)
    assert {a.question for a in restored.answers} == {"attachment_mail_fails", "single_sender_affected"}
    assert restored.events == 6


def test_idempotency_key_adds_one_event_and_rejects_a_different_request(sessions: SessionService) -> None:
    session = sessions.start(PACK)
    first = sessions.answer(session.id, "attachment_mail_fails", "yes", idempotency_key="k")
    again = sessions.answer(session.id, "attachment_mail_fails", "yes", idempotency_key="k")
    assert first.events == again.events == 1
    with pytest.raises(ConflictError):
        sessions.answer(session.id, "attachment_mail_fails", "no", idempotency_key="k")
    other = sessions.start(PACK)
    assert sessions.answer(other.id, "attachment_mail_fails", "yes", idempotency_key="k").events == 1


def test_invalid_input_names_what_is_valid(sessions: SessionService) -> None:
    session = sessions.start(PACK)
    with pytest.raises(EvidenceError) as unknown:
        sessions.answer(session.id, "nope", "yes")
    assert "attachment_mail_fails" in unknown.value.details["valid_questions"]  # type: ignore[operator]
    with pytest.raises(EvidenceError):
        sessions.attempt(session.id, "restart_postfix", "maybe")
    with pytest.raises(UnknownPackError) as pack:
        sessions.start(str(BUNDLED_KB_DIR / PACK))
    assert PACK in pack.value.valid
    with pytest.raises(NotFoundError):
        sessions.view("missing")


def test_a_session_finishes_on_the_kb_version_it_started_with(db_url: str, tmp_path: Path) -> None:
    """The pack is edited after the session started: the session keeps its own stored version."""
    edited = tmp_path / "edited"
    shutil.copytree(BUNDLED_KB_DIR / PACK, edited)
    pack_yaml = edited / "pack.yaml"
    older, count = re.subn(r"(?m)^version: .*$", "version: 0.9.0", pack_yaml.read_text(encoding="utf-8"))
    assert count == 1
    pack_yaml.write_text(older, encoding="utf-8")
    old_hash = content_hash(edited)
    assert old_hash != content_hash(BUNDLED_KB_DIR / PACK)
    store = open_store(db_url)
    with store.transaction() as session:
        KbVersionRepository(session).ensure(PACK, "0.9.0", old_hash,
                                            {p.name: p.read_bytes().decode() for p in pack_files(edited)})
        started = SessionRepository(session).create(PACK, old_hash)
    shutil.rmtree(edited)

    for worker in range(2):  # a second worker (or a restarted server) materialises it again from the DB
        service = SessionService(store, Service(), kb_root=tmp_path / f"worker{worker}")
        view = service.answer(started.id, "attachment_mail_fails", "yes", idempotency_key="a")
        assert (view.kb.version, view.kb.hash) == ("0.9.0", old_hash)
        directory = Path(service.pack_ref(PACK, old_hash))
        assert directory.parent == tmp_path / f"worker{worker}" and content_hash(directory) == old_hash
    assert sessions_view_hash(store, PACK) != old_hash


def sessions_view_hash(store: object, pack: str) -> str:
    """The hash a new session gets: the bundled pack's current one."""
    from engine.store import Store

    assert isinstance(store, Store)
    return SessionService(store).start(pack).kb.hash


def test_concurrent_first_sessions_store_the_kb_version_once(db_url: str, tmp_path: Path) -> None:
    """Many first sessions at once race to store the same KB version; every one of them succeeds."""
    from concurrent.futures import ThreadPoolExecutor

    store = open_store(db_url)
    services = [SessionService(store, Service(), kb_root=tmp_path) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(pool.map(lambda service: service.start(PACK), services))
    assert len({s.id for s in started}) == 8 and len({s.kb.hash for s in started}) == 1
    with store.transaction() as session:
        assert len(KbVersionRepository(session).list(PACK)) == 1


def test_set_aside_questions_are_kept_in_the_log(sessions: SessionService) -> None:
    """A skip survives a reload: it is an event, and the session's next questions leave it out."""
    session = sessions.start(PACK)
    first = sessions.next(session.id).questions[0].id
    kept = sessions.skip(session.id, first)
    assert kept.skipped == [first]
    assert first not in [q.id for q in sessions.next(session.id).questions]
    sessions.skip(session.id, "path_mtu_reduced")
    assert sessions.view(session.id).skipped == [first, "path_mtu_reduced"]
    assert sessions.state(session.id).answers == {}  # a skip is not an answer, and undo ignores it
    back = sessions.unskip(session.id, first)
    assert back.skipped == ["path_mtu_reduced"]
    with pytest.raises(EvidenceError) as not_skipped:
        sessions.unskip(session.id, first)
    assert not_skipped.value.details["skipped"] == ["path_mtu_reduced"]
    with pytest.raises(EvidenceError):
        sessions.skip(session.id, "no_such_question")
    assert sessions.unskip(session.id).skipped == []
    assert sessions.view(session.id).events == 4
