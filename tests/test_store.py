"""The store on SQLite and PostgreSQL: migrations, repositories, transactions, crash safety."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from engine.case_schema import Case
from engine.errors import ConflictError, NotFoundError
from engine.store import (
    AuditRepository,
    CaseRepository,
    KbVersionRepository,
    KeyRepository,
    SessionRepository,
    effective_answers,
    import_cases,
    open_store,
)
from engine.store.models import Base, CaseRow

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "tests" / "packs" / "minimal"
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def make_case(case_id: str, **changes: object) -> Case:
    document: dict[str, object] = {
        "id": case_id, "pack": "minimal", "kb_hash": "0123456789abcdef", "status": "draft",
        "source": {"kind": "ticket", "reference": "TICKET-1"}, "author": "tests",
        "created": NOW, "updated": NOW,
        "evidence": {"big_mail_fails": "yes", "pmtu_low": {"answer": "yes", "provenance": "extracted",
                                                           "source_line": "pmtu 1400"}},
        "confirmed_causes": ["mtu_mismatch"], "causes_complete": True,
        "fixes_tried": [{"fix": "clamp_mss", "outcome": "stopped"}], "resolution": "clamped the MSS",
    }
    document.update(changes)
    return Case.model_validate(document)


def test_schema_matches_the_models(db_url: str) -> None:
    """The migration and the ORM models describe the same schema (autogenerate finds no diff)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = open_store(db_url)
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrading_a_database_keeps_its_sessions(db_url: str) -> None:
    """A database made by the first release migrates to head with its sessions intact and unowned."""
    from alembic import command

    from engine.store.db import _alembic_config

    engine = create_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
        connection.execute(text("INSERT INTO sessions (id, pack, kb_hash, created) "
                                "VALUES ('old', 'minimal', '0123456789abcdef', :now)"), {"now": NOW})
    engine.dispose()
    with open_store(db_url).transaction() as session:
        record = SessionRepository(session).get("old")
    assert (record.pack, record.kb_hash, record.owner) == ("minimal", "0123456789abcdef", None)


def test_cases_add_get_list_review_upsert(db_url: str) -> None:
    store = open_store(db_url)
    with store.transaction() as session:
        repository = CaseRepository(session)
        repository.add(make_case("c-1"))
        repository.add(make_case("c-2", source={"kind": "public_report", "reference": "https://example.org/x"}))
    with store.transaction() as session, pytest.raises(ConflictError, match="c-1"):
        CaseRepository(session).add(make_case("c-1"))
    with store.transaction() as session:
        repository = CaseRepository(session)
        assert repository.get("c-1") == make_case("c-1")
        assert [c.id for c in repository.list("minimal")] == ["c-1", "c-2"]
        reviewed = repository.review("c-2")
        assert reviewed.status == "reviewed"
        assert [c.id for c in repository.list("minimal", "reviewed")] == ["c-2"]
        # unchanged content keeps the review; a change of substance takes the incoming status
        assert repository.upsert(make_case("c-2", source={"kind": "public_report",
                                                          "reference": "https://example.org/x"})) == "unchanged"
        assert repository.get("c-2").status == "reviewed"
        assert repository.upsert(make_case("c-2", resolution="different")) == "updated"
        assert repository.get("c-2").status == "draft"
        assert repository.upsert(make_case("c-3")) == "inserted"
        with pytest.raises(NotFoundError):
            repository.get("nope")
        got = repository.get("c-1")
        assert got.created == NOW and got.created.tzinfo is not None


def test_a_failed_transaction_writes_nothing(db_url: str) -> None:
    store = open_store(db_url)
    with pytest.raises(RuntimeError), store.transaction() as session:
        CaseRepository(session).add(make_case("c-1"))
        raise RuntimeError("crash after the first write")
    with store.transaction() as session:
        assert CaseRepository(session).count() == 0


def test_sessions_events_are_append_only_and_idempotent(db_url: str) -> None:
    store = open_store(db_url)
    with store.transaction() as session:
        repository = SessionRepository(session)
        record = repository.create("minimal", "0123456789abcdef")
        first = repository.append(record.id, "answer", question="big_mail_fails", answer="yes", idempotency_key="k1")
        again = repository.append(record.id, "answer", question="big_mail_fails", answer="yes", idempotency_key="k1")
        assert again == first
        repository.append(record.id, "answer", question="pmtu_low", answer="no")
        repository.append(record.id, "undo")
        repository.append(record.id, "fix_attempt", fix="clamp_mss", outcome="persisted")
        with pytest.raises(ValueError, match="needs a question"):
            repository.append(record.id, "answer", question="pmtu_low")
        with pytest.raises(NotFoundError):
            repository.append("missing", "undo")
    with store.transaction() as session:
        events = SessionRepository(session).events(record.id)
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert [e.kind for e in events] == ["answer", "answer", "undo", "fix_attempt"]
        assert effective_answers(events) == {"big_mail_fails": "yes"}
        assert SessionRepository(session).get(record.id).kb_hash == "0123456789abcdef"


def test_api_keys_store_only_a_hash(db_url: str) -> None:
    store = open_store(db_url)
    with store.transaction() as session:
        key_id, plaintext = KeyRepository(session).create("agent", label="chatbot")
    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert plaintext not in stored and all(len(h) == 64 for h in stored)
    with store.transaction() as session:
        keys = KeyRepository(session)
        found = keys.authenticate(plaintext)
        assert found is not None and found.id == key_id and found.role == "agent"
        assert keys.authenticate(plaintext + "x") is None
        assert not keys.revoke(key_id).active
        assert keys.authenticate(plaintext) is None
        with pytest.raises(ValueError, match="unknown role"):
            keys.create("root")  # type: ignore[arg-type]


def test_audit_and_kb_versions(db_url: str) -> None:
    store = open_store(db_url)
    with store.transaction() as session:
        AuditRepository(session).record("cli:tester", "case.review", "c-1", {"status": "reviewed"})
        versions = KbVersionRepository(session)
        versions.ensure("minimal", "0.1.0", "abc", {"pack.yaml": "id: minimal\n"})
        versions.ensure("minimal", "0.1.0", "abc", {"pack.yaml": "ignored: same hash\n"})
    with store.transaction() as session:
        (entry,) = AuditRepository(session).recent()
        assert (entry.who, entry.action, entry.target, entry.details) == (
            "cli:tester", "case.review", "c-1", {"status": "reviewed"})
        assert KbVersionRepository(session).get("abc").files == {"pack.yaml": "id: minimal\n"}
        assert [v.hash for v in KbVersionRepository(session).list("minimal")] == ["abc"]


def test_two_workers_storing_the_same_new_kb_version_both_succeed(db_url: str) -> None:
    """The second writer waits for the first and then finds the row, instead of failing on the key."""
    import threading

    store = open_store(db_url)
    first_wrote = threading.Event()
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            first_wrote.wait(10)
            with store.transaction() as session:
                KbVersionRepository(session).ensure("minimal", "0.1.0", "race", {"pack.yaml": "id: second\n"})
        except BaseException as exc:  # surfaced below, in the test's own thread
            errors.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    with store.transaction() as session:
        KbVersionRepository(session).ensure("minimal", "0.1.0", "race", {"pack.yaml": "id: first\n"})
        first_wrote.set()
        time.sleep(0.3)  # the second writer now runs into our uncommitted row
    thread.join(30)
    assert not thread.is_alive() and errors == []
    with store.transaction() as session:
        assert KbVersionRepository(session).get("race").files == {"pack.yaml": "id: first\n"}


def test_import_in_batches_is_idempotent(db_url: str) -> None:
    store = open_store(db_url)
    cases = [make_case(f"c-{i:03d}") for i in range(30)]
    seen: list[int] = []
    first = import_cases(store.transaction, cases, batch_size=7, on_batch=seen.append)
    assert (first.inserted, first.updated, first.unchanged) == (30, 0, 0)
    assert seen == [7, 7, 7, 7, 2]
    second = import_cases(store.transaction, cases, batch_size=7)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 30)


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["ROOTWARD_DATABASE_URL"] = url
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_concurrent_first_use_migrates_once(db_url: str) -> None:
    """Two processes opening a brand-new database at once both succeed."""
    code = "from engine.store import open_store; open_store()"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=_env(db_url), stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    engine = create_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_sigkill_during_import_leaves_whole_cases_and_rerun_completes(db_url: str, tmp_path: Path) -> None:
    """Kill ``cases import`` with SIGKILL half-way: every stored case is whole; a rerun adds the rest."""
    total = 400
    source = tmp_path / "cases"
    source.mkdir()
    for i in range(total):
        # JSON is YAML too, and much faster to write than a round-trip YAML dump
        (source / f"c-{i:05d}.yaml").write_text(make_case(f"c-{i:05d}").model_dump_json(), encoding="utf-8")
    open_store(db_url)  # migrate first, so the poll below can count rows from the start
    command = [sys.executable, "-m", "engine", "cases", "import", str(source), "--kb", str(MINIMAL)]
    proc = subprocess.Popen(command, env=_env(db_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    engine = create_engine(db_url)
    stored = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(CaseRow)).scalar_one()
        if stored > 0:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    with engine.connect() as connection:
        rows = connection.execute(select(CaseRow.id, CaseRow.digest, CaseRow.document)).all()
    assert 0 < len(rows) < total
    for case_id, digest, document in rows:
        case = Case.model_validate(document)  # a whole, valid case ...
        assert case == make_case(case_id)  # ... equal to its file ...
        assert digest == case.content_digest()  # ... with a digest that matches
    rerun = subprocess.run([*command, "--format", "json"], env=_env(db_url), capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["inserted"] + summary["unchanged"] == total and summary["updated"] == 0
    assert summary["unchanged"] >= len(rows)
    with engine.connect() as connection:
        ids = connection.execute(select(CaseRow.id)).scalars().all()
    engine.dispose()
    assert len(ids) == len(set(ids)) == total


def test_default_database_is_a_sqlite_file_in_the_xdg_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from engine.settings import Settings, get_settings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().database_url == f"sqlite:///{tmp_path / 'xdg' / 'rootward' / 'rootward.db'}"
    monkeypatch.setenv("ROOTWARD_DATABASE_URL", "postgresql+psycopg://u@h/db")
    get_settings.cache_clear()
    assert get_settings().database_url == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("ROOTWARD_DATABASE_URL")
    get_settings.cache_clear()
    store = open_store()
    assert (tmp_path / "xdg" / "rootward" / "rootward.db").is_file() and store.url.startswith("sqlite:///")


def test_a_bad_url_is_one_clear_error() -> None:
    from engine.errors import StoreError

    with pytest.raises(StoreError, match="invalid database URL"):
        open_store("not a url")
    with pytest.raises(StoreError, match=r"cannot prepare the database at postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/x"):
        open_store("postgresql+psycopg://u:secret@127.0.0.1:1/x?connect_timeout=2")
