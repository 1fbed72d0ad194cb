"""The database tables, as SQLAlchemy 2 typed declarative models.

Design choices, and why:

* A case's evidence, causes and fixes are JSON columns on the case row, not child tables. A case is
  always read and written whole (import upserts it, learning and evaluation load it whole), the
  pydantic ``Case`` model validates the contents at the edge, and one row per case makes "a whole
  case or nothing" hold by construction. ``digest`` (a hash of the content) makes a re-import of an
  unchanged file a no-op without comparing JSON in SQL.
* Timestamps are timezone-aware UTC everywhere, so SQLite and PostgreSQL return the same values.
* ``session_events`` is append-only: an undo is a new event, never a deleted row, so a session can
  be replayed and audited; ``(session_id, seq)`` and ``(session_id, idempotency_key)`` are unique so
  a retried request cannot append twice.
* API keys keep only a SHA-256 hash of the secret; the plaintext is shown once at creation.
* Rate-limit counters are one row per bucket (a key, or a client address with failed logins) and
  minute, incremented in place: every worker sees the same count, and rows older than the previous
  minute are deleted as new minutes begin, so the table stays as small as the set of active callers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime, dict[str, Any]: JSON}


class KbVersionRow(Base):
    """A pack's exact content at one version hash, so a session can finish on the version it began."""

    __tablename__ = "kb_versions"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    pack: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    files: Mapped[dict[str, Any]] = mapped_column(comment="file name -> UTF-8 text")
    created: Mapped[dt.datetime] = mapped_column(default=utc_now)


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    kb_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    source_kind: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(comment="the validated Case as JSON")
    created: Mapped[dt.datetime]
    updated: Mapped[dt.datetime]
    stored: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    __table_args__ = (Index("ix_cases_pack_status", "pack", "status"),)


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pack: Mapped[str] = mapped_column(String(64), index=True)
    kb_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(default=utc_now)
    owner: Mapped[str | None] = mapped_column(String(200), comment="who started it (key:ID) when started over the API")


class SessionEventRow(Base):
    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(64), ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    question: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(String(64))
    fix: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    created: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_session_events_seq"),
        UniqueConstraint("session_id", "idempotency_key", name="uq_session_events_idempotency"),
    )


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[dt.datetime] = mapped_column(default=utc_now)
    revoked: Mapped[dt.datetime | None]


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    who: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)


class RateCounterRow(Base):
    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Unix time // 60")
    hits: Mapped[int] = mapped_column(Integer, default=0)
