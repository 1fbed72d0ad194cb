"""Shared fixtures: database URLs for SQLite and PostgreSQL, and isolation from the user's data.

PostgreSQL tests run when ``ROOTWARD_TEST_POSTGRES_URL`` points at a reachable server (CI exports
it). Each test run creates its own database there and drops it at the end; each test gets its own
schema inside it (through ``search_path``), so tests neither see each other's rows nor leave any.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "ROOTWARD_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may touch the developer's real database: the default data dir is a temporary one."""
    from engine.settings import get_settings
    from engine.store.db import close_stores

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg_data")))
    monkeypatch.delenv("ROOTWARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    close_stores()
    get_settings.cache_clear()


@pytest.fixture
def database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The default database of the UI (and any face that reads the settings) on a fresh SQLite file."""
    from engine.settings import get_settings

    monkeypatch.setenv("ROOTWARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("ROOTWARD_AUTHOR_TOKEN", raising=False)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'rootward.db'}"


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    """A database of its own for this test run, dropped (with its connections) at the end."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set; set it to a PostgreSQL URL to run the PostgreSQL tests")
    try:
        admin = _admin_engine(base)
        with admin.connect() as connection:
            name = f"rootward_test_{os.getpid()}_{secrets.token_hex(4)}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is unreachable or refuses CREATE DATABASE: "
                    f"{str(exc).splitlines()[0]}")
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        from engine.store.db import close_stores

        close_stores()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(_postgres_database: str) -> Iterator[str]:
    """A fresh schema in the run's database; the URL sets ``search_path`` to it."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    schema = f"t_{secrets.token_hex(6)}"
    admin = _admin_engine(_postgres_database)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(_postgres_database).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        from engine.store.db import close_stores

        close_stores()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every store test runs on SQLite and, when available, on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))
