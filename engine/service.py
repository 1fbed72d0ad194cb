"""The one façade every face (CLI, HTTP API, MCP tools, Streamlit UI) calls.

Faces deal in plain ids and JSON-ready pydantic models; the service loads and caches knowledge
packs by content hash, validates evidence, and calls the reasoning core. It never imports a web
framework, so the core stays testable without one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from engine.contracts import (
    ENOUGH_EVIDENCE_DESCRIPTION,
    UNMODELLED_DESCRIPTION,
    ActionOut,
    AssessOut,
    CauseOut,
    CombinationOut,
    KbRef,
    NextOut,
    QuestionOut,
    RankOut,
    WeightOut,
    assess_out,
    kb_ref,
    next_out,
    not_in_kb_out,
    rank_out,
)
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import bundled_pack_names, content_hash, resolve_pack_dir
from engine.reason.evidence import Evidence, SoftAnswer, build_evidence
from engine.reason.fixes import ActionScore, recommended_actions
from engine.reason.questions import DEFAULT_OBJECTIVE, Objective, StopPolicy
from engine.reason.uncertainty import assess_uncertainty


def describe(kb: KnowledgeBase, lang: str) -> dict[str, Any]:
    """Every id, text and answer of a pack, for chatbot integrators and `kb show`."""
    return {
        "kb": {"id": kb.id, "version": kb.pack.version, "hash": kb.version_hash, "title": kb.pack.title.get(lang)},
        "causes": [
            {"id": c.id, "title": c.title.get(lang), "category": c.category, "prior": c.prior,
             "description": c.description.get(lang), "confirm": c.confirm.get(lang), "refines": c.refines}
            for c in kb.causes.values()
        ],
        "questions": [
            {"id": q.id, "text": q.text.get(lang), "short": q.short.get(lang), "answers": [*q.answers, "unknown"],
             "cost_minutes": q.cost_minutes, "asked_by": q.asked_by, "how_to_check": q.how_to_check.get(lang)}
            for q in kb.questions.values()
        ],
        "fixes": [
            {"id": f.id, "title": f.title.get(lang), "removes": f.removes, "cost_minutes": f.cost_minutes,
             "folklore": f.folklore}
            for f in kb.fixes.values()
        ],
    }


class DiagnoseOut(BaseModel):
    """A stateless turn for chatbots: the same names and shapes as ``rank`` and ``next`` JSON."""

    kb: dict[str, str]
    causes: list[CauseOut]
    combinations: list[CombinationOut]
    explanations: dict[str, list[WeightOut]] = Field(default_factory=dict)
    questions: list[QuestionOut]
    handoff: list[QuestionOut] = Field(default_factory=list)
    stop: bool
    stop_reason: str = ""
    recommended_actions: list[ActionOut]
    unmodelled_probability: float | None = Field(default=None, description=UNMODELLED_DESCRIPTION)
    enough_evidence: bool = Field(default=False, description=ENOUGH_EVIDENCE_DESCRIPTION)
    stop_details: str = ""
    objective: str = "decision"


class IntakeAnswerOut(BaseModel):
    """An answer proposed from the complaint; it counts only once the person confirms it."""

    question: str
    answer: str
    matched: str = Field(description="the exact words of the complaint the answer was read from")


class IntakeOut(BaseModel):
    """``rootward intake`` / ``POST /v1/intake``: proposed answers and the clauses that gave none."""

    kb: KbRef
    answers: list[IntakeAnswerOut]
    unmatched: list[str]


class ChecklistItemOut(BaseModel):
    id: str
    text: str
    answers: list[str]


@dataclass
class Service:
    """Caches each pack by directory and content hash; a changed pack is reloaded, never mixed."""

    packs: dict[Path, KnowledgeBase] = field(default_factory=dict)

    def kb(self, pack: str) -> KnowledgeBase:
        from engine.kb.validate import load_kb

        directory = resolve_pack_dir(pack).resolve()
        cached = self.packs.get(directory)
        if cached is not None and cached.version_hash == content_hash(directory):
            return cached
        kb = load_kb(directory)
        self.packs[directory] = kb
        return kb

    def list_kbs(self) -> list[dict[str, Any]]:
        rows = []
        for name in bundled_pack_names():
            kb = self.kb(name)
            rows.append({"id": kb.id, "title": kb.pack.title.en, "version": kb.pack.version,
                         "hash": kb.version_hash, "causes": len(kb.causes), "questions": len(kb.questions),
                         "fixes": len(kb.fixes)})
        return rows

    def describe(self, pack: str, lang: str = "en") -> dict[str, Any]:
        return describe(self.kb(pack), lang)

    def evidence(
        self,
        kb: KnowledgeBase,
        answers: Mapping[str, str],
        tried: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        soft: Iterable[SoftAnswer] = (),
    ) -> Evidence:
        attempts = list(tried.items()) if isinstance(tried, Mapping) else list(tried)
        return build_evidence(kb, answers, soft=soft, tried=attempts)

    def rank(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
             lang: str = "en") -> RankOut:
        from engine.reason.ranking import rank

        kb = self.kb(pack)
        evidence = self.evidence(kb, answers, tried or {})
        ranking = rank(kb, evidence)
        return rank_out(kb, ranking, lang, actions_for(kb, evidence, lang),
                        uncertainty=assess_uncertainty(kb, evidence))

    def next(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
             role: str | None = None, lang: str = "en", policy: StopPolicy | None = None,
             skip: Collection[str] = (), objective: Objective = DEFAULT_OBJECTIVE) -> NextOut:
        from engine.reason.questions import next_questions

        kb = self.kb(pack)
        evidence = self.evidence(kb, answers, tried or {})
        result = next_questions(kb, evidence, role=role, policy=policy, lang=lang, skip=skip, objective=objective)
        return next_out(kb, result, actions_for(kb, evidence, lang), uncertainty=assess_uncertainty(kb, evidence))

    def diagnose(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
                 role: str | None = None, lang: str = "en", skip: Collection[str] = (),
                 objective: Objective = DEFAULT_OBJECTIVE) -> DiagnoseOut:
        from engine.reason.questions import next_questions
        from engine.reason.ranking import rank

        kb = self.kb(pack)
        evidence = self.evidence(kb, answers, tried or {})
        actions = actions_for(kb, evidence, lang)
        uncertainty = assess_uncertainty(kb, evidence)
        ranked = rank_out(kb, rank(kb, evidence), lang, actions, uncertainty=uncertainty)
        asked = next_out(kb, next_questions(kb, evidence, role=role, lang=lang, skip=skip, objective=objective),
                         actions, uncertainty=uncertainty)
        return DiagnoseOut(
            kb={"id": ranked.kb.id, "version": ranked.kb.version, "hash": ranked.kb.hash},
            causes=ranked.causes, combinations=ranked.combinations, explanations=ranked.explanations,
            questions=asked.questions, handoff=asked.handoff, stop=asked.stop, stop_reason=asked.stop_reason,
            recommended_actions=ranked.recommended_actions, stop_details=asked.stop_details,
            objective=asked.objective,
            unmodelled_probability=ranked.unmodelled_probability, enough_evidence=ranked.enough_evidence,
        )

    def intake(self, pack: str, text: str, lang: str = "en") -> IntakeOut:
        """Proposed answers read from a complaint in the person's own words (see ``engine.evidence.intake``).

        ``lang`` is the complaint's language; phrases of both languages are always tried, since
        Japanese complaints quote English log lines. Texts over ``MAX_INTAKE_CHARS`` are refused.
        """
        from engine.errors import EvidenceError
        from engine.evidence.intake import MAX_INTAKE_CHARS, read_complaint

        if len(text) > MAX_INTAKE_CHARS:
            raise EvidenceError(f"the text has {len(text)} characters; intake reads at most {MAX_INTAKE_CHARS}",
                                {"max_chars": MAX_INTAKE_CHARS, "chars": len(text)})
        kb = self.kb(pack)
        reading = read_complaint(kb, text, lang)
        return IntakeOut(
            kb=kb_ref(kb),
            answers=[IntakeAnswerOut(question=a.question, answer=a.answer, matched=a.matched) for a in reading.answers],
            unmatched=reading.unmatched,
        )

    def checklist(self, pack: str, lang: str = "en") -> list[ChecklistItemOut]:
        """The pack's short intake checklist of cheap symptom questions, in its documented order."""
        from engine.evidence.intake import checklist

        kb = self.kb(pack)
        return [ChecklistItemOut(id=q, text=kb.questions[q].text.get(lang),
                                 answers=[*kb.questions[q].answers, "unknown"]) for q in checklist(kb)]

    def assess(self, pack: str, answers: Mapping[str, str], tried: Mapping[str, str] | None = None,
               fix: str | None = None, text: str | None = None, lang: str = "en") -> AssessOut:
        """Assess a known fix by id, or an anecdote by the fixes its words name."""
        from engine.errors import EvidenceError

        if (fix is None) == (text is None):
            raise EvidenceError("give exactly one of 'fix' (an id) or 'text' (an anecdote)", {})
        kb = self.kb(pack)
        return assess_proposal(kb, self.evidence(kb, answers, tried or {}), fix=fix, text=text, lang=lang)


def actions_for(kb: KnowledgeBase, evidence: Evidence, lang: str) -> list[ActionScore]:
    """Recommended actions, for packs that have fixes and a complaint to assess them against."""
    if not kb.fixes or kb.pack.complaint is None:
        return []
    return recommended_actions(kb, evidence, lang=lang)


def assess_proposal(
    kb: KnowledgeBase, evidence: Evidence, *, fix: str | None = None, text: str | None = None, lang: str = "en"
) -> AssessOut:
    """A fix by id, or an anecdote mapped to the fix its words name; "not in the knowledge base"
    with the recommended actions when it names none."""
    from engine.reason.fixes import assess_fix, match_fix_text

    if text is not None:
        matches = match_fix_text(kb, text)
        if not matches:
            return not_in_kb_out(kb, text, recommended_actions(kb, evidence, lang=lang))
        return assess_out(kb, assess_fix(kb, evidence, matches[0][0], lang=lang), text)
    return assess_out(kb, assess_fix(kb, evidence, fix or "", lang=lang))
