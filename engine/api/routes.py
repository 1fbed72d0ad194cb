"""Thin routes: check the caller's role, call the service or the session service, return its model.

Everything that can fail raises the core's or the store's own exceptions; ``engine.api.problems``
turns them into problem+json, so no route formats an error itself.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from engine.api.deps import (
    Admin,
    Agent,
    Author,
    MaybeCaller,
    OwnSession,
    RecordsDep,
    ServiceDep,
    Sessions,
    SettingsDep,
    StateDep,
)
from engine.api.models import (
    AnswerIn,
    AnswerRole,
    AssessIn,
    CaseListOut,
    CaseSummaryOut,
    DiagnoseIn,
    ExtractIn,
    FixAttemptIn,
    GainObjective,
    HealthOut,
    IntakeIn,
    KbListOut,
    KbProblemOut,
    KbQualityOut,
    KbSummary,
    KeyIn,
    Lang,
    ReadyOut,
    ReviewIn,
    SessionAssessIn,
    SessionExtractIn,
    SessionIn,
    SkipIn,
)
from engine.api.problems import CONFLICT_RESPONSE, PROBLEM_RESPONSES, Problem, ProblemError, problem_response
from engine.case_schema import Case
from engine.contracts import AssessOut, ExtractOut, KeyCreatedOut, KeyOut, NextOut, RankOut
from engine.service import DiagnoseOut, IntakeOut, Service
from engine.sessions import ResolveIn, SessionOut, known_pack

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=128,
           description="optional; a retried request with the same key in this session adds nothing"),
]
LangQuery = Annotated[Lang, Query()]

logger = logging.getLogger("rootward.api")
health = APIRouter(tags=["health"])
v1 = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------------------------------------- health


@health.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """The process answers (no database, no key needed)."""
    return HealthOut(status="ok")


@health.get("/readyz", response_model=ReadyOut, response_model_exclude_none=True,
            responses={503: {"description": "database unreachable or a bundled pack does not load",
                             "model": Problem}})
def readyz(request: Request, state: StateDep, caller: MaybeCaller) -> ReadyOut | JSONResponse:
    """Ready to serve: the database answers and every bundled pack loads.

    Without a key the answer is only ready or not ready: which database and which packs a server
    uses is for its callers, not for anyone who can reach the port. The reason for "not ready"
    goes to the server log.
    """
    try:
        database, database_kind = state.records().database()
        names = Service.pack_names()
        for name in names:
            state.service.summary(name)
    except Exception:
        logger.exception("not ready")
        return problem_response(request, 503, "not-ready", "Not ready",
                                "not ready to serve yet; the server log says why")
    if caller is None:
        return ReadyOut(status="ready")
    return ReadyOut(status="ready", database=database, database_kind=database_kind, kbs=names)


# ------------------------------------------------------------------------------------------- stateless


@v1.post("/diagnose", response_model=DiagnoseOut, tags=["diagnose"])
def diagnose(body: DiagnoseIn, _: Agent, service: ServiceDep) -> DiagnoseOut:
    """One stateless chatbot turn: ranking, combinations, next questions, stop rule and actions."""
    return service.diagnose(known_pack(body.kb), body.evidence, body.tried, role=body.role, lang=body.lang,
                             skip=body.skip, objective=body.objective)


@v1.post("/fixes/assess", response_model=AssessOut, tags=["diagnose"])
def assess_fix(body: AssessIn, _: Agent, service: ServiceDep) -> AssessOut:
    """Would this fix resolve the problem, given the evidence? A known fix id or an anecdote."""
    return service.assess(known_pack(body.kb), body.evidence, body.tried, fix=body.fix, text=body.text,
                          lang=body.lang)


@v1.post("/intake", response_model=IntakeOut, tags=["diagnose"])
def intake(body: IntakeIn, _: Agent, service: ServiceDep) -> IntakeOut:
    """Answers proposed from a complaint in the person's own words, each with the words it came from,
    and the clauses that gave none; nothing is stored (the person confirms answers before they count)."""
    return service.intake(known_pack(body.kb), body.text, body.lang)


@v1.post("/evidence/extract", response_model=ExtractOut, tags=["diagnose"])
def extract(body: ExtractIn, _: Agent, service: ServiceDep, settings: SettingsDep) -> ExtractOut:
    """Answers read from a pasted artifact, each with its matching line; nothing is stored."""
    return service.extract(known_pack(body.kb), body.text, settings.keep_emails)


@v1.get("/kbs", response_model=KbListOut, tags=["knowledge"])
def list_kbs(_: Agent, service: ServiceDep) -> KbListOut:
    """The bundled knowledge packs with their version hashes."""
    return KbListOut(packs=[KbSummary.model_validate(row) for row in service.list_kbs()])


@v1.get("/kbs/{pack}", response_model=dict[str, Any], tags=["knowledge"])
def describe_kb(pack: Annotated[str, Path(max_length=64)], _: Agent, service: ServiceDep,
                lang: LangQuery = "en") -> dict[str, Any]:
    """Every question (staff text, chatbot phrasing `short`, allowed answers), cause and fix of a pack."""
    return service.describe(known_pack(pack), lang)


@v1.get("/kbs/{pack}/quality", response_model=KbQualityOut, tags=["knowledge"])
def kb_quality(pack: Annotated[str, Path(max_length=64)], _: Author, service: ServiceDep) -> KbQualityOut:
    """Validator findings for authors, including causes no question can tell apart."""
    check = service.validate(known_pack(pack), identifiability=True)
    return KbQualityOut(kb=pack, hash=check.hash or "",
                        problems=[KbProblemOut.model_validate(p.as_dict()) for p in check.problems])


# -------------------------------------------------------------------------------------------- sessions


@v1.post("/sessions", response_model=SessionOut, status_code=201, tags=["sessions"])
def start_session(body: SessionIn, caller: Agent, sessions: Sessions) -> SessionOut:
    """Start a diagnosis on the pack's current version; the session keeps that version to the end.

    The session belongs to the calling key: other non-admin keys get 404 for it.
    """
    return sessions.start(body.kb, owner=caller.who)


@v1.get("/sessions/{session_id}", response_model=SessionOut, tags=["sessions"])
def get_session(session_id: OwnSession, sessions: Sessions) -> SessionOut:
    """The answers in effect and the fixes tried."""
    return sessions.view(session_id)


@v1.post("/sessions/{session_id}/answers", response_model=SessionOut, tags=["sessions"],
         responses=CONFLICT_RESPONSE)
def add_answer(session_id: OwnSession, body: AnswerIn,  sessions: Sessions,
               idempotency_key: IdempotencyKey = None) -> SessionOut:
    """Record an answer (a later answer to the same question replaces it)."""
    return sessions.answer(session_id, body.question, body.answer, idempotency_key)


@v1.delete("/sessions/{session_id}/answers/{question}", response_model=SessionOut, tags=["sessions"],
           responses=CONFLICT_RESPONSE)
def withdraw_answer(session_id: OwnSession, question: Annotated[str, Path(max_length=64)],
                    sessions: Sessions, idempotency_key: IdempotencyKey = None) -> SessionOut:
    """Withdraw one answer (logged as 'unknown'; the log keeps the history)."""
    return sessions.retract(session_id, question, idempotency_key)


@v1.post("/sessions/{session_id}/skipped", response_model=SessionOut, tags=["sessions"],
         responses=CONFLICT_RESPONSE)
def skip_question(session_id: OwnSession, body: SkipIn, sessions: Sessions,
                  idempotency_key: IdempotencyKey = None) -> SessionOut:
    """Set a question aside ("can't check that now"): the session's next questions leave it out."""
    return sessions.skip(session_id, body.question, idempotency_key)


@v1.delete("/sessions/{session_id}/skipped/{question}", response_model=SessionOut, tags=["sessions"],
           responses=CONFLICT_RESPONSE)
def bring_back_question(session_id: OwnSession, question: Annotated[str, Path(max_length=64)],
                        sessions: Sessions, idempotency_key: IdempotencyKey = None) -> SessionOut:
    """Bring one set-aside question back."""
    return sessions.unskip(session_id, question, idempotency_key)


@v1.delete("/sessions/{session_id}/skipped", response_model=SessionOut, tags=["sessions"],
           responses=CONFLICT_RESPONSE)
def bring_back_all(session_id: OwnSession, sessions: Sessions, idempotency_key: IdempotencyKey = None
                   ) -> SessionOut:
    """Bring every set-aside question back."""
    return sessions.unskip(session_id, None, idempotency_key)


@v1.post("/sessions/{session_id}/undo", response_model=SessionOut, tags=["sessions"], responses=CONFLICT_RESPONSE)
def undo(session_id: OwnSession, sessions: Sessions, idempotency_key: IdempotencyKey = None
         ) -> SessionOut:
    """Take back the latest answer still in effect."""
    return sessions.undo(session_id, idempotency_key)


@v1.get("/sessions/{session_id}/next", response_model=NextOut, tags=["sessions"])
def next_questions(session_id: OwnSession, sessions: Sessions,
                   role: Annotated[AnswerRole | None, Query()] = None, lang: LangQuery = "en",
                   skip: Annotated[list[str] | None, Query(
                       max_length=500, description="question ids put aside (repeat the parameter)")] = None,
                   objective: Annotated[GainObjective, Query(
                       description="what the gain is about: the decision (default), all causes or the leading ones")]
                   = "decision",
                   ) -> NextOut:
    """The questions worth asking next, why, and whether to stop asking and act."""
    return sessions.next(session_id, role=role, lang=lang, skip=skip or (), objective=objective)


@v1.get("/sessions/{session_id}/ranking", response_model=RankOut, tags=["sessions"])
def ranking(session_id: OwnSession, sessions: Sessions, lang: LangQuery = "en") -> RankOut:
    """The same document as `rootward rank --format json`."""
    return sessions.ranking(session_id, lang=lang)


@v1.post("/sessions/{session_id}/fix-attempts", response_model=SessionOut, tags=["sessions"],
         responses=CONFLICT_RESPONSE)
def fix_attempt(session_id: OwnSession, body: FixAttemptIn,  sessions: Sessions,
                idempotency_key: IdempotencyKey = None) -> SessionOut:
    """Record a fix that was applied and whether the problem persisted, stopped, or it is unclear."""
    return sessions.attempt(session_id, body.fix, body.outcome, idempotency_key)


@v1.post("/sessions/{session_id}/evidence", response_model=ExtractOut, tags=["sessions"],
         responses=CONFLICT_RESPONSE)
def extract_into_session(session_id: OwnSession, body: SessionExtractIn, caller: Agent, sessions: Sessions,
                         settings: SettingsDep, idempotency_key: IdempotencyKey = None) -> ExtractOut:
    """Record the answers a pasted artifact gives (typed answers win); the text itself is not stored,
    only each answer and its matching line (e-mail addresses redacted unless configured)."""
    return sessions.extract(session_id, body.text, caller.who, settings.keep_emails, idempotency_key)


@v1.post("/sessions/{session_id}/assess", response_model=AssessOut, tags=["sessions"])
def assess_in_session(session_id: OwnSession, body: SessionAssessIn,  sessions: Sessions) -> AssessOut:
    """Assess a fix against this session's evidence."""
    return sessions.assess(session_id, fix=body.fix, text=body.text, lang=body.lang)


@v1.post("/sessions/{session_id}/resolve", response_model=Case, status_code=201, tags=["sessions"],
         responses=CONFLICT_RESPONSE)
def resolve(session_id: OwnSession, body: ResolveIn, caller: Agent, sessions: Sessions) -> Case:
    """Turn the session into a draft case (id `session-<id>`) for an author to review."""
    return sessions.resolve(session_id, body, caller.who)


@v1.get("/sessions/{session_id}/report", response_class=PlainTextResponse, tags=["sessions"],
        responses={200: {"description": "Markdown for a ticket", "content": {"text/markdown": {}}}})
def report(session_id: OwnSession, sessions: Sessions,
           format: Annotated[Literal["markdown"], Query()] = "markdown", lang: LangQuery = "en") -> Response:
    """Answers, ranking, reasoning, recommended actions and fixes tried, as text to paste into a ticket."""
    return Response(sessions.report(session_id, lang=lang), media_type="text/markdown; charset=utf-8")


# ----------------------------------------------------------------------------------------------- cases


def _summary(case: Case) -> CaseSummaryOut:
    return CaseSummaryOut(id=case.id, pack=case.pack, status=case.status, title=case.title or "",
                          confirmed_causes=case.confirmed_causes, answers=len(case.answers()), updated=case.updated)


@v1.get("/cases", response_model=CaseListOut, tags=["cases"])
def list_cases(_: Author, records: RecordsDep, kb: Annotated[str | None, Query(max_length=64)] = None,
               status: Annotated[Literal["draft", "reviewed"] | None, Query()] = None) -> CaseListOut:
    """Cases of one pack (or of every bundled pack), optionally only drafts or reviewed ones."""
    if kb is not None:
        known_pack(kb)
    cases = records.cases([kb] if kb is not None else Service.pack_names(), status)
    return CaseListOut(cases=[_summary(c) for c in cases])


@v1.get("/cases/{case_id}", response_model=Case, tags=["cases"])
def get_case(case_id: Annotated[str, Path(max_length=128)], _: Author, records: RecordsDep) -> Case:
    return records.case(case_id)


@v1.post("/cases/{case_id}/review", response_model=Case, tags=["cases"])
def review_case(case_id: Annotated[str, Path(max_length=128)], body: ReviewIn, caller: Author,
                records: RecordsDep) -> Case:
    """Mark a case reviewed (admits it to learning) or back to draft; audited."""
    return records.set_status(case_id, body.status, caller.who)


# ------------------------------------------------------------------------------------------------ keys


@v1.get("/keys", response_model=list[KeyOut], tags=["keys"])
def list_keys(_: Admin, records: RecordsDep) -> list[KeyOut]:
    """Every key's id, role and state (never the secret: only its hash is stored)."""
    return records.api_keys()


@v1.post("/keys", response_model=KeyCreatedOut, status_code=201, tags=["keys"])
def create_key(body: KeyIn, caller: Admin, records: RecordsDep) -> KeyCreatedOut:
    """A new key; the secret is in this response only."""
    return records.create_key(body.role, body.label, caller.who)


@v1.delete("/keys/{key_id}", response_model=KeyOut, tags=["keys"])
def revoke_key(key_id: Annotated[str, Path(max_length=32)], caller: Admin, records: RecordsDep) -> KeyOut:
    """Revoke a key; it stops working in every worker on its next request."""
    if key_id == caller.key_id:
        raise ProblemError(422, "self-revocation", "Cannot revoke own key",
                           "revoke this key with another admin key or `rootward keys revoke`")
    return records.revoke_key(key_id, caller.who)
