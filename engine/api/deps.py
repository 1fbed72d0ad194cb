"""FastAPI dependencies: the store, the session service, the caller's API key, and its rate limit.

The store and the services live on ``app.state`` and are opened on first use, so ``/healthz``
answers even when the database is down, and every worker opens (and migrates) it by itself.
Keys are checked against the database on every request: a revoked key stops working in every
worker at once, with no cache to invalidate.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.api.problems import ProblemError
from engine.api.settings import ApiSettings
from engine.service import Service
from engine.sessions import SessionService
from engine.store import KeyRepository, Store, open_store

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
    """A sliding one-minute window per key, in this worker's memory.

    Why not in the database: a counter row written on every request would serialise all workers on
    it. The limit is therefore per worker (N workers admit up to N times the rate); the counters are
    protection against a runaway client, not state anyone relies on.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float | None:
        """None when admitted (and counted), else the seconds until a request would be admitted."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return 60.0 - (now - hits[0])
            hits.append(now)
            return None


@dataclass
class AppState:
    """Per-process services; the database behind them is the only authoritative state."""

    settings: ApiSettings
    database_url: str | None
    service: Service
    limiter: RateLimiter
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


def principal(
    state: Annotated[AppState, Depends(app_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller's key, authenticated and rate-limited."""
    if credentials is None:
        if state.settings.api_open:
            return Principal(key_id="open-dev", role="admin")
        raise unauthorized("no API key: send `Authorization: Bearer KEY` (create one with `rootward keys create`)")
    if credentials.scheme.lower() != "bearer":
        raise unauthorized("use the Bearer scheme: `Authorization: Bearer KEY`")
    with state.store().transaction() as session:
        record = KeyRepository(session).authenticate(credentials.credentials)
    if record is None:
        raise unauthorized("unknown or revoked API key")
    wait = state.limiter.check(record.id)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ProblemError(429, "rate-limited", "Too many requests",
                           f"more than {state.limiter.per_minute} requests in a minute with this key; "
                           f"retry in {seconds} s", {"retry_after_seconds": seconds},
                           headers={"Retry-After": str(seconds)})
    return Principal(key_id=record.id, role=record.role)


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
ServiceDep = Annotated[Service, Depends(get_service)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
