"""FastAPI dependencies: the store, the session service, the caller's API key, and its rate limit.

The store and the services live on ``app.state`` and are opened on first use, so ``/healthz``
answers even when the database is down, and every worker opens (and migrates) it by itself.
Keys are checked against the database on every request: a revoked key stops working in every
worker at once, with no cache to invalidate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.api.problems import ProblemError
from engine.api.settings import ApiSettings
from engine.service import Service
from engine.sessions import SessionService
from engine.store import KeyRepository, RateCounterRepository, Store, open_store

ROLES = ("agent", "author", "admin")
"""Each role can do everything the roles before it can."""

bearer = HTTPBearer(auto_error=False, description="an API key from `rootward keys create --role ROLE`")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id (for the audit log and rate limit) and its role."""

    key_id: str
    role: str

    @property
    def who(self) -> str:
        return f"key:{self.key_id}"

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class RateLimiter:
    """A one-minute sliding window per bucket, counted in the shared database.

    Every worker increments the same row, so N workers admit the limit, not N times it. The window
    is the usual two-counter estimate: this minute's count plus the previous minute's, weighted by
    the part of it that still lies within the last 60 seconds. Rejected requests count too, so a
    client that keeps hammering stays limited instead of getting every other request through.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.clock = clock

    def _window(self) -> tuple[int, float]:
        now = self.clock()
        return int(now // 60), (now % 60) / 60.0

    def _estimate(self, counters: RateCounterRepository, bucket: str, minute: int, current: int,
                  elapsed: float) -> float:
        return current + counters.count(bucket, minute - 1) * (1.0 - elapsed)

    def hit(self, store: Store, bucket: str) -> float | None:
        """Count a request; None when it is within the limit, else the seconds to wait."""
        if self.per_minute <= 0:
            return None
        minute, elapsed = self._window()
        with store.transaction() as session:
            counters = RateCounterRepository(session)
            estimate = self._estimate(counters, bucket, minute, counters.hit(bucket, minute), elapsed)
        return None if estimate <= self.per_minute else 60.0 * (1.0 - elapsed)

    def exceeded(self, store: Store, bucket: str) -> float | None:
        """Whether the bucket is over its limit already (nothing counted): the seconds to wait, or None."""
        if self.per_minute <= 0:
            return None
        minute, elapsed = self._window()
        with store.transaction() as session:
            counters = RateCounterRepository(session)
            estimate = self._estimate(counters, bucket, minute, counters.count(bucket, minute), elapsed)
        return None if estimate < self.per_minute else 60.0 * (1.0 - elapsed)


@dataclass
class AppState:
    """Per-process services; the database behind them is the only authoritative state."""

    settings: ApiSettings
    database_url: str | None
    service: Service
    limiter: RateLimiter
    failed_logins: RateLimiter
    _store: Store | None = None
    _sessions: SessionService | None = None

    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.database_url)
        return self._store

    def sessions(self) -> SessionService:
        if self._sessions is None:
            self._sessions = SessionService(self.store(), self.service)
        return self._sessions


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.rootward
    return state


def get_store(state: Annotated[AppState, Depends(app_state)]) -> Store:
    return state.store()


def get_sessions(state: Annotated[AppState, Depends(app_state)]) -> SessionService:
    return state.sessions()


def get_settings(state: Annotated[AppState, Depends(app_state)]) -> ApiSettings:
    return state.settings


def get_service(state: Annotated[AppState, Depends(app_state)]) -> Service:
    return state.service


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def too_many(wait: float, what: str) -> ProblemError:
    seconds = max(1, math.ceil(wait))
    return ProblemError(429, "rate-limited", "Too many requests", f"{what}; retry in {seconds} s",
                        {"retry_after_seconds": seconds}, headers={"Retry-After": str(seconds)})


def authenticated(state: AppState, request: Request, credentials: HTTPAuthorizationCredentials) -> Principal:
    """The key behind ``credentials``, with failed attempts limited per client address.

    Guessing keys costs a database look-up each; after ``auth_failures_per_minute`` failures from
    one address, further attempts from it get 429 before any key is looked at.
    """
    address = request.client.host if request.client is not None else "unknown"
    bucket = f"login-failures:{address}"
    store = state.store()
    wait = state.failed_logins.exceeded(store, bucket)
    if wait is not None:
        raise too_many(wait, f"more than {state.failed_logins.per_minute} failed key checks in a minute from "
                       f"{address}")
    record = None
    if credentials.scheme.lower() == "bearer":
        with store.transaction() as session:
            record = KeyRepository(session).authenticate(credentials.credentials)
    if record is None:
        state.failed_logins.hit(store, bucket)
        if credentials.scheme.lower() != "bearer":
            raise unauthorized("use the Bearer scheme: `Authorization: Bearer KEY`")
        raise unauthorized("unknown or revoked API key")
    wait = state.limiter.hit(store, f"key:{record.id}")
    if wait is not None:
        raise too_many(wait, f"more than {state.limiter.per_minute} requests in a minute with this key")
    return Principal(key_id=record.id, role=record.role)


def principal(
    state: Annotated[AppState, Depends(app_state)],
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's key, authenticated and rate-limited."""
    if credentials is None:
        if state.settings.api_open:
            return Principal(key_id="open-dev", role="admin")
        raise unauthorized("no API key: send `Authorization: Bearer KEY` (create one with `rootward keys create`)")
    return authenticated(state, request, credentials)


def optional_principal(
    state: Annotated[AppState, Depends(app_state)],
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal | None:
    """The caller's key when one is sent (wrong keys still get 401), else None: for public endpoints
    that show more to a known caller."""
    if credentials is None:
        return Principal(key_id="open-dev", role="admin") if state.settings.api_open else None
    return authenticated(state, request, credentials)


def require(role: str) -> Callable[[Principal], Principal]:
    """A dependency admitting keys of ``role`` or a higher one; others get 403 naming the roles."""

    def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if not caller.can(role):
            allowed = ", ".join(ROLES[ROLES.index(role):])
            raise ProblemError(403, "forbidden", "Forbidden",
                               f"a key with role '{caller.role}' may not do this; needs one of: {allowed}",
                               {"role": caller.role, "allowed_roles": list(ROLES[ROLES.index(role):])})
        return caller

    return check


Agent = Annotated[Principal, Depends(require("agent"))]
Author = Annotated[Principal, Depends(require("author"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Sessions = Annotated[SessionService, Depends(get_sessions)]
SessionId = Annotated[str, Path(max_length=64, description="the id returned by POST /v1/sessions")]


def own_session(session_id: SessionId, caller: Agent, sessions: Sessions) -> str:
    """The session id, once the caller may use it: a session started over the API belongs to its key.

    Admin keys reach every session (support and audit); sessions started in the UI or the CLI have
    no owner and stay reachable by any key that holds their id.
    """
    sessions.check_access(session_id, caller.who, sees_all=caller.can("admin"))
    return session_id


OwnSession = Annotated[str, Depends(own_session)]
StateDep = Annotated[AppState, Depends(app_state)]
MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]
ServiceDep = Annotated[Service, Depends(get_service)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
