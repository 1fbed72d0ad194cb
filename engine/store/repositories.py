"""Repositories: small typed operations over one SQLAlchemy session, returning plain records.

They never commit: the caller's ``Store.transaction()`` is the unit of work, so "import these forty
cases" or "append this event and audit it" commits together or not at all. They return frozen
dataclasses (or ``Case`` models), not ORM rows, so callers cannot touch a detached row by accident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.case_schema import Case, CaseStatus
from engine.errors import ConflictError, NotFoundError, StoreError
from engine.store.models import (
    ApiKeyRow,
    AuditRow,
    Base,
    CaseRow,
    KbVersionRow,
    RateCounterRow,
    SessionEventRow,
    SessionRow,
    utc_now,
)

UpsertOutcome = Literal["inserted", "updated", "unchanged"]
EventKind = Literal["answer", "undo", "fix_attempt", "skip", "unskip"]
Role = Literal["agent", "author", "admin"]
KEY_PREFIX = "rw"


# ----------------------------------------------------------------------------------------- KB versions


@dataclass(frozen=True)
class KbVersionRecord:
    hash: str
    pack: str
    version: str
    files: dict[str, str]
    created: dt.datetime


def upsert_statement(session: Session, table: type[Base]) -> Any:
    """``INSERT`` with ``ON CONFLICT`` for this session's dialect (SQLite and PostgreSQL both have it).

    The two dialects' insert constructs share the ``on_conflict_*`` methods but no common base that
    declares them, hence ``Any``.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise StoreError(f"unsupported database dialect {dialect!r}; use SQLite or PostgreSQL")


class KbVersionRepository:
    """Stored pack contents by hash, so a session can finish on the version it started with."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure(self, pack: str, version: str, version_hash: str, files: dict[str, str]) -> KbVersionRecord:
        """Store this version unless it is already stored (the hash identifies the content).

        An ``INSERT … ON CONFLICT DO NOTHING``, not a look-up then an insert: two workers storing the
        same new version at once would otherwise race, and the loser's transaction would fail on the
        primary key. Both dialects we support have it; the row is then read back either way.
        """
        values = {"hash": version_hash, "pack": pack, "version": version, "files": dict(files), "created": utc_now()}
        self.session.execute(upsert_statement(self.session, KbVersionRow).values(**values).on_conflict_do_nothing())
        return self.get(version_hash)

    def get(self, version_hash: str) -> KbVersionRecord:
        row = self.session.get(KbVersionRow, version_hash)
        if row is None:
            raise NotFoundError(f"no stored knowledge-base version {version_hash!r}")
        return _kb_record(row)

    def list(self, pack: str) -> list[KbVersionRecord]:
        rows = self.session.scalars(select(KbVersionRow).where(KbVersionRow.pack == pack)
                                    .order_by(KbVersionRow.created))
        return [_kb_record(r) for r in rows]


def _kb_record(row: KbVersionRow) -> KbVersionRecord:
    return KbVersionRecord(row.hash, row.pack, row.version, {str(k): str(v) for k, v in row.files.items()},
                           row.created)


# ----------------------------------------------------------------------------------------------- cases


class CaseRepository:
    """Cases as validated ``Case`` models; the row keeps the JSON document and a content digest."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> Case:
        """Insert a new case; an existing id is a conflict (use ``upsert`` to replace)."""
        if self.session.get(CaseRow, case.id) is not None:
            raise ConflictError(f"case '{case.id}' already exists; import it to update it")
        self.session.add(_case_row(case))
        self.session.flush()
        return case

    def get(self, case_id: str) -> Case:
        row = self.session.get(CaseRow, case_id)
        if row is None:
            raise NotFoundError(f"no case '{case_id}'")
        return _case_from_row(row)

    def list(self, pack: str, status: CaseStatus | None = None) -> list[Case]:
        query = select(CaseRow).where(CaseRow.pack == pack)
        if status is not None:
            query = query.where(CaseRow.status == status)
        return [_case_from_row(r) for r in self.session.scalars(query.order_by(CaseRow.id))]

    def count(self, pack: str | None = None) -> int:
        query = select(func.count()).select_from(CaseRow)
        if pack is not None:
            query = query.where(CaseRow.pack == pack)
        return int(self.session.scalar(query) or 0)

    def upsert(self, case: Case) -> UpsertOutcome:
        """Insert, replace, or leave alone when the content is identical.

        A change of substance takes the status the incoming case carries (a changed case needs
        review again); an unchanged one keeps its stored status, so re-importing the same files
        never undoes a review.
        """
        row = self.session.get(CaseRow, case.id, with_for_update=True)
        if row is None:
            self.session.add(_case_row(case))
            self.session.flush()
            return "inserted"
        if row.digest == case.content_digest():
            return "unchanged"
        _fill_row(row, case)
        self.session.flush()
        return "updated"

    def review(self, case_id: str, status: CaseStatus = "reviewed") -> Case:
        """Set a case's review status (``reviewed`` admits it to learning)."""
        row = self.session.get(CaseRow, case_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"no case '{case_id}'")
        case = _case_from_row(row).model_copy(update={"status": status, "updated": utc_now()})
        _fill_row(row, case)
        self.session.flush()
        return case


def _fill_row(row: CaseRow, case: Case) -> None:
    row.pack = case.pack
    row.kb_hash = case.kb_hash
    row.status = case.status
    row.source_kind = case.source.kind
    row.digest = case.content_digest()
    row.document = case.model_dump(mode="json")
    row.created = case.created
    row.updated = case.updated


def _case_row(case: Case) -> CaseRow:
    row = CaseRow(id=case.id)
    _fill_row(row, case)
    return row


def _case_from_row(row: CaseRow) -> Case:
    return Case.model_validate(row.document)


# -------------------------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionRecord:
    id: str
    pack: str
    kb_hash: str
    created: dt.datetime
    owner: str | None
    """The API caller (``key:ID``) that started it; ``None`` for sessions any holder of the id may use."""


@dataclass(frozen=True)
class EventRecord:
    session_id: str
    seq: int
    kind: EventKind
    question: str | None
    answer: str | None
    fix: str | None
    outcome: str | None
    idempotency_key: str | None
    created: dt.datetime


class SessionRepository:
    """Diagnosis sessions and their append-only event log (answers, undos, fix attempts)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, pack: str, kb_hash: str, session_id: str | None = None, owner: str | None = None
               ) -> SessionRecord:
        row = SessionRow(id=session_id or secrets.token_hex(16), pack=pack, kb_hash=kb_hash, owner=owner)
        if self.session.get(SessionRow, row.id) is not None:
            raise ConflictError(f"session '{row.id}' already exists")
        self.session.add(row)
        self.session.flush()
        return SessionRecord(row.id, row.pack, row.kb_hash, row.created, row.owner)

    def get(self, session_id: str) -> SessionRecord:
        row = self.session.get(SessionRow, session_id)
        if row is None:
            raise NotFoundError(f"no session '{session_id}'")
        return SessionRecord(row.id, row.pack, row.kb_hash, row.created, row.owner)

    def append(
        self,
        session_id: str,
        kind: EventKind,
        *,
        question: str | None = None,
        answer: str | None = None,
        fix: str | None = None,
        outcome: str | None = None,
        idempotency_key: str | None = None,
    ) -> EventRecord:
        """Append one event with the next sequence number.

        With an ``idempotency_key`` already used in this session, the original event is returned
        and nothing is written, so a client may safely retry a request whose reply it lost. The
        session row is locked (``FOR UPDATE`` on PostgreSQL; SQLite holds the write lock already),
        so concurrent appends get consecutive numbers instead of a unique-constraint failure.
        """
        if kind not in get_args(EventKind):
            raise ValueError(f"unknown event kind {kind!r}; valid: {', '.join(get_args(EventKind))}")
        if kind == "answer" and not (question and answer):
            raise ValueError("an 'answer' event needs a question and an answer")
        if kind == "fix_attempt" and not (fix and outcome):
            raise ValueError("a 'fix_attempt' event needs a fix and an outcome")
        if kind == "skip" and not question:
            raise ValueError("a 'skip' event needs a question")
        if self.session.get(SessionRow, session_id, with_for_update=True) is None:
            raise NotFoundError(f"no session '{session_id}'")
        if idempotency_key is not None:
            existing = self.session.scalar(
                select(SessionEventRow).where(SessionEventRow.session_id == session_id,
                                              SessionEventRow.idempotency_key == idempotency_key)
            )
            if existing is not None:
                return _event_record(existing)
        last = self.session.scalar(select(func.max(SessionEventRow.seq))
                                   .where(SessionEventRow.session_id == session_id))
        row = SessionEventRow(session_id=session_id, seq=(last or 0) + 1, kind=kind, question=question,
                              answer=answer, fix=fix, outcome=outcome, idempotency_key=idempotency_key)
        self.session.add(row)
        self.session.flush()
        return _event_record(row)

    def events(self, session_id: str, after_seq: int = 0) -> list[EventRecord]:
        rows = self.session.scalars(
            select(SessionEventRow)
            .where(SessionEventRow.session_id == session_id, SessionEventRow.seq > after_seq)
            .order_by(SessionEventRow.seq)
        )
        return [_event_record(r) for r in rows]


def _event_record(row: SessionEventRow) -> EventRecord:
    kind: Any = row.kind
    return EventRecord(row.session_id, row.seq, kind, row.question, row.answer, row.fix, row.outcome,
                       row.idempotency_key, row.created)


def effective_answers(events: Sequence[EventRecord]) -> dict[str, str]:
    """Replay a session's log: each ``undo`` removes the latest answer still in effect."""
    stack: list[tuple[str, str]] = []
    for event in events:
        if event.kind == "answer" and event.question is not None and event.answer is not None:
            stack.append((event.question, event.answer))
        elif event.kind == "undo" and stack:
            stack.pop()
    answers: dict[str, str] = {}
    for question, answer in stack:
        answers[question] = answer
    return answers


def skipped_questions(events: Sequence[EventRecord]) -> list[str]:
    """Questions set aside and not brought back, in the order they were set aside.

    ``unskip`` with a question brings that one back; without one, all of them. An answer is not an
    unskip: a question answered after it was set aside is simply answered.
    """
    skipped: dict[str, None] = {}
    for event in events:
        if event.kind == "skip" and event.question is not None:
            skipped.pop(event.question, None)
            skipped[event.question] = None
        elif event.kind == "unskip":
            if event.question is None:
                skipped.clear()
            else:
                skipped.pop(event.question, None)
    return list(skipped)


# -------------------------------------------------------------------------------------------- API keys


class RateCounterRepository:
    """Requests per bucket and minute, counted in the database so that every worker shares them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def hit(self, bucket: str, minute: int) -> int:
        """Count one request in ``minute`` and return that minute's count so far (this one included)."""
        statement = upsert_statement(self.session, RateCounterRow).values(bucket=bucket, minute=minute, hits=1)
        statement = statement.on_conflict_do_update(
            index_elements=["bucket", "minute"], set_={"hits": RateCounterRow.hits + 1}
        ).returning(RateCounterRow.hits)
        hits = int(self.session.execute(statement).scalar_one())
        if hits == 1:  # the first request of a new minute for this bucket: forget minutes no window needs
            self.session.execute(delete(RateCounterRow).where(RateCounterRow.minute < minute - 1))
        return hits

    def count(self, bucket: str, minute: int) -> int:
        """That minute's count for the bucket, without counting anything."""
        row = self.session.get(RateCounterRow, (bucket, minute))
        return row.hits if row is not None else 0


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    role: Role
    label: str
    created: dt.datetime
    revoked: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked is None


def hash_key(plaintext: str) -> str:
    """SHA-256 of the whole key. Keys carry 256 random bits, so a slow password hash adds nothing."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class KeyRepository:
    """API keys: only the hash is stored; the plaintext exists once, in ``create``'s return value."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, role: Role, label: str = "") -> tuple[str, str]:
        """A new key as ``(id, plaintext)``; the plaintext reads ``rw_<id>_<secret>``."""
        if role not in get_args(Role):
            raise ValueError(f"unknown role {role!r}; valid: {', '.join(get_args(Role))}")
        key_id = secrets.token_hex(8)
        plaintext = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        self.session.add(ApiKeyRow(id=key_id, key_hash=hash_key(plaintext), role=role, label=label))
        self.session.flush()
        return key_id, plaintext

    def authenticate(self, plaintext: str) -> ApiKeyRecord | None:
        """The active key with this plaintext, or None (unknown, malformed or revoked)."""
        row = self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(plaintext)))
        if row is None or row.revoked is not None:
            return None
        return _key_record(row)

    def revoke(self, key_id: str) -> ApiKeyRecord:
        row = self.session.get(ApiKeyRow, key_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"no API key '{key_id}'")
        if row.revoked is None:
            row.revoked = utc_now()
            self.session.flush()
        return _key_record(row)

    def list(self) -> list[ApiKeyRecord]:
        return [_key_record(r) for r in self.session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created))]


def _key_record(row: ApiKeyRow) -> ApiKeyRecord:
    role: Any = row.role
    return ApiKeyRecord(row.id, role, row.label, row.created, row.revoked)


# ----------------------------------------------------------------------------------------------- audit


@dataclass(frozen=True)
class AuditRecord:
    who: str
    action: str
    target: str
    details: dict[str, Any]
    at: dt.datetime


class AuditRepository:
    """Who did what to which record, in the same transaction as the change itself."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, who: str, action: str, target: str, details: dict[str, Any] | None = None) -> AuditRecord:
        row = AuditRow(who=who, action=action, target=target, details=dict(details or {}))
        self.session.add(row)
        self.session.flush()
        return AuditRecord(row.who, row.action, row.target, dict(row.details), row.at)

    def recent(self, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if action is not None:
            query = query.where(AuditRow.action == action)
        return [AuditRecord(r.who, r.action, r.target, dict(r.details), r.at) for r in self.session.scalars(query)]


# ---------------------------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def count(self, outcome: UpsertOutcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def import_cases(
    store_transaction: Callable[[], AbstractContextManager[Session]],
    cases: Sequence[Case],
    *,
    batch_size: int = 25,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert cases in batches, one transaction per batch.

    Each case is one row, so a case is written whole or not at all; a process killed mid-import
    leaves the committed batches, and re-running the import finishes the rest (unchanged cases are
    no-ops, so nothing is duplicated). ``store_transaction`` is ``Store.transaction``;
    ``on_batch(n)`` is called after each committed batch of ``n`` cases (for progress bars).
    """
    report = ImportReport()
    for start in range(0, len(cases), batch_size):
        batch = cases[start : start + batch_size]
        outcomes: list[UpsertOutcome] = []
        with store_transaction() as session:
            repository = CaseRepository(session)
            outcomes = [repository.upsert(case) for case in batch]
        for outcome in outcomes:
            report.count(outcome)
        if on_batch is not None:
            on_batch(len(batch))
    return report
