"""Sessions remember the API key that started them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Sessions from before this revision, and those started in the UI or on the command line, have no
owner: any key that knows their (unguessable) id may continue them, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True,
                                   comment="who started it (key:ID) when started over the API"))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("owner")
