"""The HTTP API face: FastAPI routes over ``engine.service`` and ``engine.sessions``."""

from engine.api.app import create_app

__all__ = ["create_app"]
