"""Rate-limit counters shared by every worker.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

One row per bucket and minute; the API increments it in place, so a limit holds across workers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("bucket", sa.String(200), primary_key=True),
        sa.Column("minute", sa.Integer, primary_key=True, comment="Unix time // 60"),
        sa.Column("hits", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_counters")
