"""HTTP API settings, read from ``ROOTWARD_*`` environment variables like the store's settings.

Kept apart from ``engine.settings`` (the store's) so that the API's knobs are documented in one
place; every worker process reads the same environment, so all workers agree without coordination.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Every field can be set as ``ROOTWARD_<FIELD>`` (e.g. ``ROOTWARD_API_OPEN=1``)."""

    model_config = SettingsConfigDict(env_prefix="ROOTWARD_", extra="ignore")

    api_open: bool = Field(
        default=False,
        description="local development only: requests without a key act as admin (a given key is still checked)",
    )
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="larger request bodies get 413")
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="requests per key per minute, across all workers; 0 disables the limit"
    )
    auth_failures_per_minute: int = Field(
        default=30, ge=0,
        description="failed key checks per client address per minute before 429, across all workers; 0 disables",
    )
    keep_emails: bool = Field(
        default=False, description="keep e-mail addresses in the lines quoted from pasted artifacts"
    )
