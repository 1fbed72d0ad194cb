"""Engines, transactions, and the schema migration every command runs on first use.

Why the SQLite engine is configured by hand: Python's sqlite3 driver starts transactions lazily and
runs DDL outside them, so a migration or import killed half-way could leave a half-built schema or a
half-written batch. Here the driver's own transaction handling is switched off and every SQLAlchemy
transaction begins with ``BEGIN IMMEDIATE``: DDL becomes transactional, and the write lock is taken
up front, so two writers queue on the busy timeout instead of one failing with "database is locked"
when it tries to upgrade a read lock. WAL journalling lets readers proceed while one process writes.

Concurrent first use is safe on both databases: SQLite serialises the migration through that
``BEGIN IMMEDIATE``; PostgreSQL through a transaction-scoped advisory lock. The process that waits
finds the schema at head once it gets the lock, and does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import StoreError
from engine.settings import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x526F6F74  # "Root": the PostgreSQL advisory lock id for schema migrations


SECRET_QUERY_KEYS = re.compile(r"(?i)^(password|passwd|pass|pwd|secret|token|api_?key|sslpassword|auth)$")
"""Query parameters that carry secrets: libpq and drivers accept ``?password=`` as well as userinfo."""
_USERINFO = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")
_SECRET_PAIR = re.compile(r"(?i)\b(password|passwd|pass|pwd|secret|token|api_?key|sslpassword|auth)=[^&;#\s]*")


def redact(url: str) -> str:
    """The URL with every password hidden, in the user-info part and in query parameters alike."""
    try:
        parsed = make_url(url)
        query = {k: ("redacted" if SECRET_QUERY_KEYS.match(k) else v) for k, v in parsed.query.items()}
        return parsed.set(query=query).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: hide whatever looks like a secret
        return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}=redacted", _USERINFO.sub(r"\1:***@", url))


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch a database to WAL once (the mode is stored in the file), waiting out other writers.

    Changing the journal mode needs the database to itself and SQLite does not apply the busy
    timeout to it: a second process opening a brand-new database while the first migrates it would
    fail with "database is locked". So it is retried here, for as long as the busy timeout allows.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _use_wal(cursor, busy_timeout)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, settings: Settings | None = None) -> Engine:
    """An engine for ``url``; creates the parent directory of a SQLite file."""
    settings = settings or get_settings()
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StoreError(f"invalid database URL {redact(url)!r}: {exc}") from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {"timeout": settings.sqlite_busy_timeout_seconds} if is_sqlite else {}
    try:
        engine = create_engine(parsed, echo=settings.echo_sql, connect_args=connect_args,
                               pool_pre_ping=not is_sqlite)
    except Exception as exc:
        raise StoreError(f"cannot use database URL {redact(url)!r}: {exc}") from exc
    if is_sqlite:
        _sqlite_setup(engine, settings.sqlite_busy_timeout_seconds)
    return engine


def _alembic_config(connection: Connection | None = None) -> Any:
    """An in-memory Alembic config: the migrations ship inside the package, no alembic.ini needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise StoreError("the packaged migrations have no head revision")
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the schema to the packaged head revision (``alembic upgrade head``), under a lock."""
    from alembic import command

    head = head_revision()
    with engine.connect() as probe:
        if current_revision(probe) == head:
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        if current_revision(connection) != head:
            command.upgrade(_alembic_config(connection), "head")


@dataclass
class Store:
    """An engine with its session factory; ``transaction()`` is the unit of work."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any error: repositories never commit themselves."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


_stores: dict[str, Store] = {}


def open_store(url: str | None = None) -> Store:
    """The store for ``url`` (default: ``ROOTWARD_DATABASE_URL``), migrated to head on first use."""
    url = url or get_settings().database_url
    if url in _stores:
        return _stores[url]
    engine = create_db_engine(url)
    try:
        migrate(engine)
    except StoreError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise StoreError(f"cannot prepare the database at {redact(url)}: {_first_line(exc)}") from exc
    store = Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    _stores[url] = store
    return store


def close_stores() -> None:
    """Dispose every cached engine (tests, and processes that switch databases)."""
    for store in _stores.values():
        store.dispose()
    _stores.clear()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
