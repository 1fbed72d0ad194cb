"""Request and response bodies at the edge; the reasoning outputs reuse ``engine.contracts`` as they are."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.contracts import UnicodeCheckedIn

Lang = Literal["en", "ja"]
AnswerRole = Literal["helpdesk", "admin", "network"]
GainObjective = Literal["decision", "all", "leading"]
Outcome = Literal["persisted", "stopped", "unclear"]
KeyRole = Literal["agent", "author", "admin"]

PackName = Annotated[str, Field(max_length=64, description="a bundled pack id (see GET /v1/kbs)",
                                 examples=["mail_delivery"])]
Answers = Annotated[dict[str, str], Field(max_length=500,
                                          description="question id -> answer id ('unknown' = no evidence)",
                                          examples=[{"attachment_mail_fails": "yes", "single_sender_affected": "yes"}])]
Tried = Annotated[dict[str, str], Field(max_length=100, description="fix id -> persisted | stopped | unclear")]
Skipped = Annotated[list[Annotated[str, Field(max_length=64)]],
                    Field(max_length=500, description="question ids put aside: neither suggested nor handed off")]


class _In(UnicodeCheckedIn):
    """Every request body: unknown fields and text that is not valid Unicode are refused (422)."""

    model_config = ConfigDict(extra="forbid")


class DiagnoseIn(_In):
    """A stateless chatbot turn: everything known so far in, ranking and next questions out."""

    kb: PackName
    evidence: Answers = Field(default_factory=dict)
    tried: Tried = Field(default_factory=dict)
    lang: Lang = "en"
    role: AnswerRole | None = Field(default=None, description="only suggest questions this role can answer")
    skip: Skipped = Field(default_factory=list)
    objective: GainObjective = Field(default="decision", description="what a question's gain is about: the decision "
                                     "(the leading hypotheses and actions; default), all causes (sum of mutual "
                                     "informations) or the leading causes only")


class AssessIn(_In):
    """Assess one fix: a known fix id, or an anecdote ("restarting the router fixed it")."""

    kb: PackName
    evidence: Answers = Field(default_factory=dict)
    tried: Tried = Field(default_factory=dict)
    fix: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=5000)
    lang: Lang = "en"


class SessionAssessIn(_In):
    fix: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=5000)
    lang: Lang = "en"


class ExtractIn(_In):
    """A pasted artifact: Postfix/Exim log lines, a bounce, a zone file, tracepath or ping output."""

    kb: PackName
    text: str = Field(max_length=1_000_000)


class IntakeIn(_In):
    """A complaint in the person's own words; answers are proposed, never recorded."""

    kb: PackName
    text: str = Field(max_length=20_000, description="at most 20,000 characters (longer texts get 422)",
                      examples=["Mail with attachments from one university does not arrive; plain mail does."])
    lang: Lang = "en"


class SessionExtractIn(_In):
    text: str = Field(max_length=1_000_000)


class SessionIn(_In):
    kb: PackName


class AnswerIn(_In):
    question: str = Field(max_length=64, examples=["attachment_mail_fails"])
    answer: str = Field(max_length=64, examples=["yes"])


class SkipIn(_In):
    question: str = Field(max_length=64, examples=["path_mtu_reduced"])


class FixAttemptIn(_In):
    fix: str = Field(max_length=64)
    outcome: Outcome


class ReviewIn(_In):
    status: Literal["draft", "reviewed"] = "reviewed"


class KeyIn(_In):
    role: KeyRole
    label: str = Field(default="", max_length=200)


class KbSummary(BaseModel):
    id: str
    title: str
    version: str
    hash: str
    causes: int
    questions: int
    fixes: int


class KbListOut(BaseModel):
    packs: list[KbSummary]


class KbProblemOut(BaseModel):
    severity: str
    file: str
    line: int | None
    field: str
    message: str
    hint: str


class KbQualityOut(BaseModel):
    kb: str
    hash: str
    problems: list[KbProblemOut]


class CaseSummaryOut(BaseModel):
    id: str
    pack: str
    status: str
    title: str
    confirmed_causes: list[str]
    answers: int
    updated: dt.datetime


class CaseListOut(BaseModel):
    cases: list[CaseSummaryOut]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    """Only ``status`` without a key; with one, which database (password hidden) and packs serve."""

    status: Literal["ready"]
    database: str | None = None
    database_kind: str | None = Field(default=None, examples=["sqlite", "postgresql"])
    kbs: list[str] | None = None
