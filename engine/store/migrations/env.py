"""Alembic environment that runs inside the application: no alembic.ini, no URL of its own.

``engine.store.db.migrate`` hands over an open connection (already holding the migration lock) in
``config.attributes["connection"]``; the migrations run in that connection's transaction, so a
crash leaves the schema at the previous revision, never half-built.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from engine.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through engine.store.db.migrate(), which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
