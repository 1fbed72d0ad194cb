"""What faces keep in the store besides sessions: resolved cases, API keys, rate counters, the audit log.

Part of the service layer with ``engine.service`` (stateless questions about packs) and
``engine.sessions`` (diagnoses in progress). It stays a module of its own because it needs the
store (SQLAlchemy), which ``rank`` and ``next`` must never load, and because its callers are the
author and admin paths (case review, key management), not the diagnosis turn. Every command here
is one short transaction and writes its audit record in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.case_schema import Case, CaseStatus
from engine.contracts import KeyCreatedOut, KeyOut
from engine.errors import CaseError
from engine.service import Service
from engine.sessions import SessionService, keep_kb_version
from engine.store import (
    ApiKeyRecord,
    AuditRepository,
    CaseRepository,
    KeyRepository,
    RateCounterRepository,
    Store,
    import_cases,
    open_store,
)
from engine.store.repositories import Role, UpsertOutcome


def key_out(record: ApiKeyRecord) -> KeyOut:
    return KeyOut(id=record.id, role=record.role, label=record.label, created=record.created, revoked=record.revoked)


def case_yaml(case: Case) -> str:
    """The case as a YAML document, in field order, as ``cases export`` writes it."""
    from engine.learn.cases import case_yaml as render

    return render(case)


class Records:
    """Cases, keys and the audit log over one ``Store``; ``service`` checks cases against their packs."""

    def __init__(self, store: Store, service: Service | None = None) -> None:
        self.store = store
        self.service = service or Service()

    @classmethod
    def open(cls, database_url: str | None = None, service: Service | None = None) -> Records:
        """The store at ``database_url`` (the configured one by default), migrated, or ``StoreError``."""
        return cls(open_store(database_url), service)

    def sessions(self, kb_root: Path | None = None) -> SessionService:
        """Diagnosis sessions on the same store and service."""
        return SessionService(self.store, self.service, kb_root)

    def database(self) -> tuple[str, str]:
        """The database URL with passwords hidden and its kind, once it has answered a query."""
        from sqlalchemy import text

        from engine.store.db import redact

        with self.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return redact(self.store.url), self.store.engine.dialect.name

    # -------------------------------------------------------------------------------------- cases

    def cases(self, pack_ids: Iterable[str], status: CaseStatus | None = None) -> list[Case]:
        """The stored cases of these packs (by pack id), optionally only drafts or reviewed ones."""
        with self.store.transaction() as session:
            repository = CaseRepository(session)
            return [case for pack in pack_ids for case in repository.list(pack, status)]

    def case(self, case_id: str) -> Case:
        with self.store.transaction() as session:
            return CaseRepository(session).get(case_id)

    def set_status(self, case_id: str, status: CaseStatus, who: str) -> Case:
        """Mark a case reviewed (admits it to learning) or back to draft; audited."""
        with self.store.transaction() as session:
            case = CaseRepository(session).review(case_id, status)
            AuditRepository(session).record(who, "case.review", case_id, {"status": status})
        return case

    def checked_case(self, pack: str, text: str, name: str) -> Case:
        """A case document parsed and checked against the pack; ``CaseError`` lists every problem."""
        from engine.learn.cases import check_case, parse_case

        loaded = parse_case(text, name)
        problems = check_case(self.service.kb(pack), loaded)
        if problems:
            raise CaseError(problems)
        return loaded.case

    def save(self, case: Case, who: str) -> UpsertOutcome:
        """Insert or update one case (an edit in the UI); audited with what happened."""
        with self.store.transaction() as session:
            outcome = CaseRepository(session).upsert(case)
            AuditRepository(session).record(who, "case.edit", case.id, {"outcome": outcome})
        return outcome

    def add_file(self, path: Path, pack: str | None, who: str) -> tuple[str, str]:
        """Check one case file against its pack (``pack`` or the case's own) and add it: ``(case id, pack id)``.

        An existing id is a ``ConflictError``; the pack's version is stored first, so the case's
        ``kb_hash`` can always be resolved.
        """
        from engine.learn.cases import check_case, read_case_file

        loaded = read_case_file(path)
        pack = pack or loaded.case.pack
        kb = self.service.kb(pack)
        problems = check_case(kb, loaded)
        if problems:
            raise CaseError(problems)
        keep_kb_version(self.store, self.service, pack)
        with self.store.transaction() as session:
            CaseRepository(session).add(loaded.case)
            AuditRepository(session).record(who, "case.add", loaded.case.id, {"file": str(path)})
        return loaded.case.id, kb.id

    def import_directory(self, pack: str, directory: Path, who: str,
                         on_batch: Callable[[int], None] | None = None,
                         on_start: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Check every case file of ``directory``, then upsert them all; a summary of what happened.

        Nothing is written unless every file is valid; re-running is a no-op. ``on_start(n)`` is told
        how many cases will be written, ``on_batch(n)`` after each committed batch (progress bars).
        """
        from engine.learn.cases import case_files, load_cases

        cases = [item.case for item in load_cases(self.service.kb(pack), case_files(directory))]
        if on_start is not None:
            on_start(len(cases))
        return self._import(pack, cases, who, str(directory), on_batch) | {"directory": str(directory)}

    def import_texts(self, pack: str, documents: Sequence[tuple[str, str]], who: str) -> dict[str, Any]:
        """Check uploaded case documents ``(file name, text)`` and upsert them all, or none on any problem."""
        from engine.learn.cases import check_case, parse_case

        kb = self.service.kb(pack)
        cases, problems = [], []
        for name, text in documents:
            try:
                loaded = parse_case(text, name)
            except CaseError as exc:
                problems.extend(exc.problems)
                continue
            problems.extend(check_case(kb, loaded))
            cases.append(loaded.case)
        if problems:
            raise CaseError(problems)
        return self._import(pack, cases, who, "upload", None, files=[name for name, _ in documents])

    def _import(self, pack: str, cases: Sequence[Case], who: str, target: str,
                on_batch: Callable[[int], None] | None, **audit: Any) -> dict[str, Any]:
        pack_id, _ = keep_kb_version(self.store, self.service, pack)
        report = import_cases(self.store.transaction, cases, on_batch=on_batch)
        counts = {"inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged}
        with self.store.transaction() as session:
            AuditRepository(session).record(who, "case.import", target, {**audit, "pack": pack_id, **counts})
        return {"pack": pack_id, "cases": report.total, **counts}

    def reviewed_cases(self, pack: str) -> list[Case]:
        """The pack's reviewed cases from the store, checked against the pack as it is now."""
        from engine.learn.cases import LoadedCase, check_case

        kb = self.service.kb(pack)
        cases = self.cases([kb.id], "reviewed")
        problems = [p for case in cases for p in check_case(kb, LoadedCase(case, f"database case {case.id}"))]
        if problems:
            raise CaseError(problems)
        return cases

    def audit(self, who: str, action: str, target: str, details: dict[str, Any]) -> None:
        """Record an action taken outside the store (e.g. writing ``learned.yaml``) in the audit log."""
        with self.store.transaction() as session:
            AuditRepository(session).record(who, action, target, details)

    # --------------------------------------------------------------------------------------- keys

    def api_keys(self) -> list[KeyOut]:
        """Every key's id, role and state (never the secret: only its hash is stored)."""
        with self.store.transaction() as session:
            return [key_out(r) for r in KeyRepository(session).list()]

    def create_key(self, role: Role, label: str, who: str) -> KeyCreatedOut:
        """A new key; the secret is in the answer only."""
        with self.store.transaction() as session:
            keys = KeyRepository(session)
            key_id, plaintext = keys.create(role, label)
            record = next(r for r in keys.list() if r.id == key_id)
            AuditRepository(session).record(who, "key.create", key_id, {"role": role, "label": label})
        return KeyCreatedOut(key=plaintext, **key_out(record).model_dump())

    def revoke_key(self, key_id: str, who: str) -> KeyOut:
        """Revoke a key; it stops working in every worker on its next request."""
        with self.store.transaction() as session:
            record = KeyRepository(session).revoke(key_id)
            AuditRepository(session).record(who, "key.revoke", key_id, {})
        return key_out(record)

    def authenticate(self, secret: str) -> KeyOut | None:
        """The active key with this secret, or None."""
        with self.store.transaction() as session:
            record = KeyRepository(session).authenticate(secret)
        return None if record is None else key_out(record)


class RateLimiter:
    """A one-minute sliding window per bucket, counted in the shared database.

    Every worker increments the same row, so N workers admit the limit, not N times it. The window
    is the usual two-counter estimate: this minute's count plus the previous minute's, weighted by
    the part of it that still lies within the last 60 seconds. Rejected requests count too, so a
    client that keeps hammering stays limited instead of getting every other request through.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.clock = clock

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        return int(now // 60), (now % 60) / 60.0

    def _estimate(self, counters: RateCounterRepository, bucket: str, minute: int, current: int,
                  elapsed: float) -> float:
        return current + counters.count(bucket, minute - 1) * (1.0 - elapsed)

    def hit(self, records: Records, bucket: str) -> float | None:
        """Count a request; None when it is within the limit, else the seconds to wait."""
        if self.per_minute <= 0:
            return None
        minute, elapsed = self._window()
        with records.store.transaction() as session:
            counters = RateCounterRepository(session)
            estimate = self._estimate(counters, bucket, minute, counters.hit(bucket, minute), elapsed)
        return None if estimate <= self.per_minute else 60.0 * (1.0 - elapsed)

    def exceeded(self, records: Records, bucket: str) -> float | None:
        """Whether the bucket is over its limit already (nothing counted): the seconds to wait, or None."""
        if self.per_minute <= 0:
            return None
        minute, elapsed = self._window()
        with records.store.transaction() as session:
            counters = RateCounterRepository(session)
            estimate = self._estimate(counters, bucket, minute, counters.count(bucket, minute), elapsed)
        return None if estimate < self.per_minute else 60.0 * (1.0 - elapsed)


