"""The FastAPI application: ``create_app()`` is the uvicorn factory (``rootward serve``).

Each uvicorn worker calls the factory once; state shared between workers lives in the database only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api import problems, routes
from engine.api.deps import AppState
from engine.api.problems import PROBLEM_MEDIA_TYPE, problem_response
from engine.api.settings import ApiSettings
from engine.records import RateLimiter
from engine.service import Service

logger = logging.getLogger("rootward.api")


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when a streamed body passes the limit."""


class TrackedSend:
    """An ASGI ``send`` that remembers whether the response has begun: after that, no other status fits."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class BodyLimit:
    """Reject bodies over ``limit`` bytes with 413, by ``Content-Length`` or while streaming.

    Counting while streaming matters: a chunked request has no length header, and reading it whole
    before checking would let one client fill the worker's memory.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, limited_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(str(scope.get("path", "")) or None, 413, "payload-too-large", "Payload too large",
                                    f"the request body exceeds {self.limit} bytes", {"limit_bytes": self.limit})
        await response(scope, receive, send)


class LastResort:
    """Answer any unexpected failure with a problem+json 500 and keep the connection usable.

    Starlette's own handler for ``Exception`` re-raises after responding, and the server then
    closes the connection, so a client on keep-alive sees its next request fail too. Here the
    failure is logged with its traceback and the response ends normally.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            logger.exception("unexpected failure on %s %s", scope.get("method"), scope.get("path"))
            if tracked.started:
                return  # the status is already on the wire; the log has the failure
            response = problem_response(str(scope.get("path", "")) or None, 500, "internal", "Internal error",
                                        f"unexpected {type(exc).__name__}; the server log has the details")
            await response(scope, receive, send)


def _problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Document error bodies as ``application/problem+json``, which is what the handlers send.

    FastAPI files additional responses under the route's own media type (JSON, or text for the
    Markdown report); the exception handlers answer every error with problem+json regardless.
    """
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in "45" and content:
                    response["content"] = {PROBLEM_MEDIA_TYPE: next(iter(content.values()))}
    return schema


def create_app(settings: ApiSettings | None = None, database_url: str | None = None) -> FastAPI:
    """The app; ``database_url`` defaults to ``ROOTWARD_DATABASE_URL`` (see ``engine.settings``)."""
    settings = settings or ApiSettings()
    app = FastAPI(
        title="Rootward",
        version="1",
        summary="Rank the root causes of IT problems from evidence: stateless turns and stateful sessions.",
        description="Authenticate with `Authorization: Bearer KEY` (create keys with `rootward keys create`). "
                    "Roles: agent (diagnose, sessions, assess), author (+ cases, KB quality), admin (+ keys). "
                    "Every error is `application/problem+json` (RFC 9457).",
    )
    app.state.rootward = AppState(settings=settings, database_url=database_url, service=Service(),
                                  limiter=RateLimiter(settings.rate_limit_per_minute),
                                  failed_logins=RateLimiter(settings.auth_failures_per_minute))
    problems.install(app)
    app.include_router(routes.health)
    app.include_router(routes.v1)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(LastResort)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            app.openapi_schema = _problem_media_types(get_openapi(
                title=app.title, version=app.version, summary=app.summary, description=app.description,
                routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
