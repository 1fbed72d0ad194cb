"""Initial schema: kb_versions, cases, sessions, session_events, api_keys, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kb_versions",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False, comment="file name -> UTF-8 text"),
        sa.Column("created", _utc(), nullable=False),
    )
    op.create_index("ix_kb_versions_pack", "kb_versions", ["pack"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("kb_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False, comment="the validated Case as JSON"),
        sa.Column("created", _utc(), nullable=False),
        sa.Column("updated", _utc(), nullable=False),
        sa.Column("stored", _utc(), nullable=False),
    )
    op.create_index("ix_cases_pack_status", "cases", ["pack", "status"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("pack", sa.String(64), nullable=False),
        sa.Column("kb_hash", sa.String(64), nullable=False),
        sa.Column("created", _utc(), nullable=False),
    )
    op.create_index("ix_sessions_pack", "sessions", ["pack"])
    op.create_table(
        "session_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("question", sa.String(64), nullable=True),
        sa.Column("answer", sa.String(64), nullable=True),
        sa.Column("fix", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("created", _utc(), nullable=False),
        sa.UniqueConstraint("session_id", "seq", name="uq_session_events_seq"),
        sa.UniqueConstraint("session_id", "idempotency_key", name="uq_session_events_idempotency"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created", _utc(), nullable=False),
        sa.Column("revoked", _utc(), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("api_keys")
    op.drop_table("session_events")
    op.drop_index("ix_sessions_pack", "sessions")
    op.drop_table("sessions")
    op.drop_index("ix_cases_pack_status", "cases")
    op.drop_table("cases")
    op.drop_index("ix_kb_versions_pack", "kb_versions")
    op.drop_table("kb_versions")
