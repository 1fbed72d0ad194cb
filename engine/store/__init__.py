"""Persistence: SQLAlchemy models, packaged Alembic migrations and repositories.

``open_store()`` returns a migrated store for ``ROOTWARD_DATABASE_URL`` (a SQLite file in the user
data directory by default); ``with store.transaction() as s: CaseRepository(s).upsert(case)`` is the
whole usage pattern. The reasoning core never imports this package.
"""

from engine.errors import ConflictError, NotFoundError, StoreError
from engine.store.db import Store, close_stores, migrate, open_store
from engine.store.repositories import (
    ApiKeyRecord,
    AuditRecord,
    AuditRepository,
    CaseRepository,
    EventRecord,
    ImportReport,
    KbVersionRecord,
    KbVersionRepository,
    KeyRepository,
    RateCounterRepository,
    SessionRecord,
    SessionRepository,
    effective_answers,
    import_cases,
    skipped_questions,
)

__all__ = [
    "ApiKeyRecord",
    "AuditRecord",
    "AuditRepository",
    "CaseRepository",
    "ConflictError",
    "EventRecord",
    "ImportReport",
    "KbVersionRecord",
    "KbVersionRepository",
    "KeyRepository",
    "NotFoundError",
    "RateCounterRepository",
    "SessionRecord",
    "SessionRepository",
    "Store",
    "StoreError",
    "close_stores",
    "effective_answers",
    "import_cases",
    "migrate",
    "open_store",
    "skipped_questions",
]
