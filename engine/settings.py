"""Process-wide settings, read from ``ROOTWARD_*`` environment variables (pydantic-settings).

Why a settings object instead of scattered ``os.environ`` reads: the CLI, the API and the tests all
need the same answer to "which database?", and a typed object fails early on a malformed value.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_DIR_NAME = "rootward"
DATABASE_FILE = "rootward.db"


def data_dir() -> Path:
    """The per-user data directory: ``$XDG_DATA_HOME/rootward``, else ``~/.local/share/rootward``.

    The XDG base-directory convention is what Linux users and packagers expect, and it keeps the
    database out of the source tree, where a ``git clean`` would delete a team's cases.
    """
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR_NAME


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / DATABASE_FILE}"


class Settings(BaseSettings):
    """Everything the store needs; every field can be set as ``ROOTWARD_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ROOTWARD_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL; a SQLite file by default, e.g. postgresql+psycopg://user@host/db",
    )
    sqlite_busy_timeout_seconds: float = Field(
        default=30.0, gt=0, description="how long a SQLite writer waits for another writer's lock"
    )
    echo_sql: bool = Field(default=False, description="log every SQL statement (debugging)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; tests call ``get_settings.cache_clear()``."""
    return Settings()
