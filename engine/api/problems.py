"""Every error as RFC 9457 ``application/problem+json``, with a message that says what would be valid.

Chatbot integrators branch on ``type`` and show ``detail``; ``details`` carries the machine-readable
part (valid question ids, the contradicting answers, the valid packs). One place maps the core's and
the store's exceptions to statuses, so every route reports the same failure the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import (
    ConflictError,
    ContradictionError,
    EvidenceError,
    KbError,
    NotFoundError,
    StoreError,
    UnknownPackError,
)
from engine.inputs import printable

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:rootward:problem:"


class Problem(BaseModel):
    """RFC 9457 problem details, plus ``details`` (machine-readable specifics)."""

    type: str = Field(description="a URN naming the kind of problem, e.g. urn:rootward:problem:unknown-question")
    title: str
    status: int
    detail: str
    instance: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ProblemError(Exception):
    """Raised by routes and dependencies for a specific HTTP problem."""

    def __init__(self, status: int, kind: str, title: str, detail: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.details = details or {}
        self.headers = headers or {}


def problem_response(request: Request | str | None, status: int, kind: str, title: str, detail: str,
                     details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response; ``request`` (or a path) becomes the ``instance`` member."""
    instance = request.url.path if isinstance(request, Request) else request
    body = Problem(type=TYPE_PREFIX + kind, title=title, status=status, detail=detail, instance=instance,
                   details=details or {})
    return JSONResponse(_encodable(jsonable_encoder(body)), status_code=status, media_type=PROBLEM_MEDIA_TYPE,
                        headers=headers)


def _encodable(value: Any) -> Any:
    """The body with every string made UTF-8-encodable, so that describing bad input cannot fail."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def _problem(status: int, description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem(400, "the request body cannot be parsed (not UTF-8 JSON)"),
    401: _problem(401, "missing, malformed, unknown or revoked API key (send `Authorization: Bearer KEY`)"),
    403: _problem(403, "the key's role may not use this endpoint"),
    404: _problem(404, "unknown knowledge pack, session, case or key; lists what is valid where it can"),
    413: _problem(413, "request body larger than the configured limit"),
    422: _problem(422, "invalid request: unknown question (lists the valid ids), invalid answer, "
                       "contradicting answers (names them) or a malformed body"),
    429: _problem(429, "rate limit of this key exceeded; retry after `Retry-After` seconds"),
}
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: _problem(409, "the request conflicts with stored state (a reused Idempotency-Key, an existing case)"),
}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem_error(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.kind, exc.title, exc.detail, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {400: "malformed-body", 404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint {request.method} {request.url.path}; see /docs for the endpoints"
        return problem_response(request, exc.status_code, kind, str(exc.detail), detail,
                                headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "message": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['message']}" if first["loc"] else str(first["message"])
        return problem_response(request, 422, "invalid-request", "Invalid request", detail, {"errors": errors})

    @app.exception_handler(EvidenceError)
    async def _evidence(request: Request, exc: EvidenceError) -> JSONResponse:
        kind = "unknown-question" if "valid_questions" in exc.details else "invalid-evidence"
        return problem_response(request, 422, kind, "Invalid evidence", str(exc), dict(exc.details))

    @app.exception_handler(ContradictionError)
    async def _contradiction(request: Request, exc: ContradictionError) -> JSONResponse:
        return problem_response(request, 422, "contradiction", "Contradicting answers", str(exc),
                                {"answers": exc.answers})

    @app.exception_handler(UnknownPackError)
    async def _unknown_pack(request: Request, exc: UnknownPackError) -> JSONResponse:
        return problem_response(request, 404, "unknown-kb", "Unknown knowledge pack", str(exc),
                                {"kb": exc.name, "valid_kbs": exc.valid})

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem_response(request, 404, "not-found", "Not found", str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return problem_response(request, 409, "conflict", "Conflict", str(exc))

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        return problem_response(request, 503, "database-unavailable", "Database unavailable", str(exc))

    @app.exception_handler(KbError)
    async def _kb(request: Request, exc: KbError) -> JSONResponse:
        problems = [p.as_dict() for p in exc.problems if p.severity == "error"]
        return problem_response(request, 500, "invalid-kb", "Knowledge pack cannot be loaded", str(exc),
                                {"problems": problems})
