"""Settings of the Streamlit face, read from ``ROOTWARD_*`` environment variables.

Kept beside the UI rather than in ``engine.settings`` because only this face has authors signing in
through a browser; the database URL still comes from the store's own settings, so the UI, CLI and
API always open the same database.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class UiSettings(BaseSettings):
    """Every field can be set as ``ROOTWARD_<FIELD>``; ``rootward ui`` sets ``ROOTWARD_UI_PACK``."""

    model_config = SettingsConfigDict(env_prefix="ROOTWARD_", extra="ignore")

    author_token: SecretStr | None = Field(
        default=None,
        description="shared secret that unlocks the author pages (cases, knowledge base, quality); "
        "unset keeps them locked",
    )
    ui_pack: str = Field(default="mail_delivery", description="the pack selected when the UI opens")
