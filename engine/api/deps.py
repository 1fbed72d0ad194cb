"""FastAPI dependencies: the records, the session service, the caller's API key, and its rate limit.

The services live on ``app.state`` and the store behind them is opened on first use, so ``/healthz``
answers even when the database is down, and every worker opens (and migrates) it by itself.
Keys are checked against the database on every request: a revoked key stops working in every
worker at once, with no cache to invalidate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.api.problems import ProblemError
from engine.api.settings import ApiSettings
from engine.records import RateLimiter, Records
from engine.service import Service
from engine.sessions import SessionService

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


@dataclass
class AppState:
    """Per-process services; the database behind them is the only authoritative state."""

    settings: ApiSettings
    database_url: str | None
    service: Service
    limiter: RateLimiter
    failed_logins: RateLimiter
    _records: Records | None = None
    _sessions: SessionService | None = None

    def records(self) -> Records:
        if self._records is None:
            self._records = Records.open(self.database_url, self.service)
        return self._records

    def sessions(self) -> SessionService:
        if self._sessions is None:
            self._sessions = self.records().sessions()
        return self._sessions


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.rootward
    return state


def get_records(state: Annotated[AppState, Depends(app_state)]) -> Records:
    return state.records()


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
    records = state.records()
    wait = state.failed_logins.exceeded(records, bucket)
    if wait is not None:
        raise too_many(wait, f"more than {state.failed_logins.per_minute} failed key checks in a minute from "
                       f"{address}")
    record = records.authenticate(credentials.credentials) if credentials.scheme.lower() == "bearer" else None
    if record is None:
        state.failed_logins.hit(records, bucket)
        if credentials.scheme.lower() != "bearer":
            raise unauthorized("use the Bearer scheme: `Authorization: Bearer KEY`")
        raise unauthorized("unknown or revoked API key")
    wait = state.limiter.hit(records, f"key:{record.id}")
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
RecordsDep = Annotated[Records, Depends(get_records)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
