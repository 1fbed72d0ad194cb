"""The case schema: one resolved diagnosis as it is stored, imported, exported and learned from.

It lives apart from ``engine.learn`` (which reads case files and learns from cases) and from
``engine.store`` (which keeps them), so that both depend on it and neither on the other. Only
pydantic and the pack's ``unknown`` answer are needed here, so the store can import it without
loading the learning code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.kb.schema import UNKNOWN_ANSWER

CaseStatus = Literal["draft", "reviewed"]
AnswerProvenance = Literal["typed", "extracted", "imported"]
FixOutcome = Literal["persisted", "stopped", "unclear"]
SourceKind = Literal["ticket", "public_report"]
EvidenceMapping = Literal["blind", "authored"] | None
CaseId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=128)]
KbHash = Annotated[str, Field(pattern=r"^[0-9a-f]{8,64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CaseAnswer(_Strict):
    """One answer with where it came from: typed by staff, extracted from a log line, or imported."""

    answer: str = Field(min_length=1)
    provenance: AnswerProvenance = "typed"
    source_line: str | None = None


class FixAttempt(_Strict):
    """A fix that was applied, and whether the problem persisted, stopped, or it is unclear."""

    fix: str = Field(min_length=1)
    outcome: FixOutcome


class CaseSource(_Strict):
    """Where the case comes from. Public reports are hand-picked, so they never set base rates."""

    kind: SourceKind
    reference: str = Field(min_length=3)

    @model_validator(mode="after")
    def _public_reports_link(self) -> CaseSource:
        if self.kind == "public_report" and not self.reference.startswith(("https://", "http://")):
            raise ValueError("a public report's reference must be its http(s) URL")
        return self


class Case(_Strict):
    """A resolved case: the evidence that was seen, the causes that were confirmed, what was tried."""

    id: CaseId
    pack: str = Field(min_length=1)
    kb_hash: KbHash
    title: str | None = None
    status: CaseStatus = "draft"
    source: CaseSource
    author: str = Field(min_length=1)
    created: dt.datetime
    updated: dt.datetime
    evidence: dict[str, CaseAnswer] = Field(default_factory=dict)
    confirmed_causes: list[str] = Field(default_factory=list)
    unmodelled_cause: str | None = Field(
        default=None, min_length=3,
        description="the confirmed root cause in words, when the pack has no node for it (coverage)")
    causes_complete: bool = False
    fixes_tried: list[FixAttempt] = Field(default_factory=list)
    resolution: str = ""
    mapped: EvidenceMapping = Field(
        default=None, description="how the evidence was written: 'blind' (from the report and the question list "
                                  "only, never a ranking) or 'authored' (by someone who also saw rankings)")
    mapped_on: dt.date | None = Field(default=None, description="when the evidence was mapped")

    @field_validator("evidence", mode="before")
    @classmethod
    def _short_answers(cls, value: Any) -> Any:
        """``question: yes`` is accepted as shorthand for ``{answer: yes, provenance: typed}``."""
        if isinstance(value, dict):
            return {k: ({"answer": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("created", "updated")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        """Timestamps are stored in UTC; a naive time is taken to be UTC rather than local time."""
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _distinct_causes(self) -> Case:
        if len(set(self.confirmed_causes)) != len(self.confirmed_causes):
            raise ValueError("a cause is listed twice in confirmed_causes")
        if not self.confirmed_causes and self.unmodelled_cause is None:
            raise ValueError("a resolved case needs confirmed_causes, or unmodelled_cause when the pack has no "
                             "node for the root cause")
        return self

    @property
    def covered(self) -> bool:
        """Whether the pack has a node for a confirmed cause (else only ``unmodelled_cause`` names it)."""
        return bool(self.confirmed_causes)

    def answers(self) -> dict[str, str]:
        """The hard answers, with ``unknown`` (no evidence) dropped."""
        return {q: a.answer for q, a in self.evidence.items() if a.answer != UNKNOWN_ANSWER}

    def absent_causes(self, all_causes: Iterable[str]) -> set[str]:
        """Causes known to be absent: every unlisted cause when the list is complete, else none."""
        if not self.causes_complete:
            return set()
        return {c for c in all_causes if c not in self.confirmed_causes}

    def content_digest(self) -> str:
        """A hash of what the case says, ignoring its review status and 'updated' stamp.

        Re-importing an unchanged file is then a no-op even after the case was reviewed in the
        database; any change of substance makes the digest differ.
        """
        payload = self.model_dump(mode="json", exclude={"status", "updated"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def to_document(self) -> dict[str, Any]:
        """The YAML/JSON document of the case, with ``None`` fields left out."""
        return self.model_dump(mode="json", exclude_none=True)
