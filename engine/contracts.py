"""The JSON shapes integrators rely on (CLI ``--format json``, and later the HTTP API).

These are documented in the README and only ever extended, never renamed: chatbots parse them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, model_validator

from engine.inputs import unencodable_message
from engine.kb.knowledge import KnowledgeBase
from engine.reason.fixes import ActionScore, Assessment
from engine.reason.questions import NextQuestions, Suggestion
from engine.reason.ranking import Ranking
from engine.reason.uncertainty import ENOUGH_EVIDENCE_BITS, Uncertainty

UNMODELLED_DESCRIPTION = ("P(no modelled cause is present | complaint, evidence): the share of the explanation "
                          "left to causes the pack does not model (its leaks); null for a pack without a complaint")
ENOUGH_EVIDENCE_DESCRIPTION = (f"true once the evidence has told at least {ENOUGH_EVIDENCE_BITS:g} bit about the "
                               "causes (the sum over causes of KL(posterior || ranking with nothing answered)); "
                               "false while the ranking is mostly the priors")


class UnicodeCheckedIn(BaseModel):
    """A request body whose text must be valid Unicode.

    A JSON string may carry a lone surrogate (``"\\ud800"``) that no UTF-8 encoder accepts; caught
    here it is a 422 naming the field, instead of a failure deep in storage or in the response.
    """

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        message = unencodable_message(data)
        if message is not None:
            raise ValueError(message)
        return data


class KbRef(BaseModel):
    id: str
    version: str
    hash: str


class CauseOut(BaseModel):
    id: str
    title: str
    probability: float = Field(description="P(the cause is present | answers)")
    at_work: float = Field(
        description="P(present and able to produce the complaint | answers), the order of the list: below "
                    "probability only for causes that act only together with another condition",
    )
    refines: str | None = Field(
        default=None, description="the broader cause this one refines, so that a case confirmed as it counts this one"
    )


class CombinationOut(BaseModel):
    causes: list[str]
    probability: float
    states: dict[str, str] = Field(default_factory=dict)


class WeightOut(BaseModel):
    question: str
    answer: str
    woe_bits: float


class ActionOut(BaseModel):
    id: str
    title: str
    p_resolves: float
    cost_minutes: float
    risk_minutes: float = 0.0


class RankOut(BaseModel):
    kb: KbRef
    causes: list[CauseOut]
    combinations: list[CombinationOut]
    explanations: dict[str, list[WeightOut]]
    recommended_actions: list[ActionOut] = Field(default_factory=list)
    unmodelled_probability: float | None = Field(default=None, description=UNMODELLED_DESCRIPTION)
    enough_evidence: bool = Field(default=False, description=ENOUGH_EVIDENCE_DESCRIPTION)


class FindingOut(BaseModel):
    """One answer read from a pasted artifact, with the line that says so."""

    question: str
    answer: str
    strength: float = Field(description="1 - P(line | other answers) / P(line | this answer)")
    source_line: str = Field(description="the matching line; e-mail addresses redacted unless configured")
    line_number: int
    extractor: str
    signature: str | None = Field(default=None, description="the signature that matched; null for checks by "
                                  "logic and for reply-code findings")
    reply_code: str | None = Field(default=None, description="the reply_codes.yaml entry behind a soft "
                                   "finding read from an SMTP reply code alone")


class UnmatchedOut(BaseModel):
    """A line that looks like an error but that no signature or reply code understood."""

    line_number: int
    text: str = Field(description="the line; e-mail addresses redacted unless configured")


class SoftOut(BaseModel):
    question: str
    likelihood: dict[str, float]


class ExtractOut(BaseModel):
    """Findings, and what they become: hard answers and soft likelihoods (the text itself is not kept)."""

    kb: KbRef
    findings: list[FindingOut]
    answers: dict[str, str]
    soft: list[SoftOut]
    unmatched: list[UnmatchedOut] = Field(default_factory=list,
                                          description="error-like lines nothing understood (at most 1000)")
    recorded: list[str] = Field(default_factory=list,
                                description="questions answered in the session by this extraction")


class ArtifactsOut(BaseModel):
    """Several artifacts read together (``rootward extract``): each text's reading, and their joint evidence."""

    kb: KbRef
    texts: list[ExtractOut]
    answers: dict[str, str]
    soft: list[SoftOut]


class KeyOut(BaseModel):
    id: str
    role: str
    label: str
    created: dt.datetime
    revoked: dt.datetime | None = None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="the secret; shown once, only its hash is stored")


class LearnPreviewOut(BaseModel):
    """What EM would learn from reviewed cases, before anything is written (``learn --dry-run``, the UI)."""

    pack: str
    hash: str = Field(description="the content hash of the pack the parameters were fitted to")
    ess: float
    cases: int
    ticket_cases: int
    held_out: int = Field(description="cases of the frozen test split left out, as always")
    iterations: int
    converged: bool
    changes: list[dict[str, Any]] = Field(description="the largest parameter changes, largest first")
    parameters: dict[str, Any] = Field(description="the learned.yaml document these changes would write")


class EvaluationOut(BaseModel):
    """``rootward evaluate`` and the Quality page: the report's data, its Markdown and its summary tables."""

    data: dict[str, Any]
    markdown: str
    comparison: list[dict[str, str]] = Field(description="cross-validation beside the frozen test split")
    families: list[dict[str, Any]] = Field(description="the same figures per family of the confirmed cause")


class QuestionView(BaseModel):
    text: str
    short: str
    answers: list[str] = Field(description="the pack's answers, without 'unknown' (always allowed)")
    how_to_check: str


class FixView(BaseModel):
    title: str
    folklore: bool = Field(description="a fix people often suggest that rarely helps")


class PackView(BaseModel):
    """One pack in one language, as the UI shows it: titles and texts by id, and the graph's edges."""

    id: str
    version: str
    hash: str
    title: str
    causes: dict[str, str] = Field(description="cause id -> title, in the pack's order")
    mechanisms: dict[str, str] = Field(description="mechanism id -> title, in the pack's order")
    questions: dict[str, QuestionView]
    fixes: dict[str, FixView]
    parents: dict[str, list[str]] = Field(description="mechanism or question id -> its parents in the graph")
    signatures: int

    def title_of(self, node: str) -> str:
        """A cause's or mechanism's title, or a question's text."""
        if node in self.questions:
            return self.questions[node].text
        return self.causes.get(node) or self.mechanisms[node]


class ReferenceOut(BaseModel):
    title: str
    url: str | None = None
    section: str | None = None


class NodeDetailsOut(BaseModel):
    """What an author reviewing one node needs: where its numbers come from, and its place in the graph."""

    id: str
    kind: str
    title: str
    status: str
    author: str
    date: str
    description: str | None = None
    facts: dict[str, Any]
    cpd: dict[str, Any] | None = Field(default=None, description="the CPD as written (mechanisms and questions)")
    references: list[ReferenceOut]


class PackFindingsOut(BaseModel):
    """The validator's problems and the pairs of causes no question separates, with pack.yaml's explanation."""

    problems: list[dict[str, Any]]
    identifiability: list[tuple[str, str, str, str]] = Field(
        description="(cause, indistinguishable cause, what comes closest to separating them, explanation or '')")


class ErrorBody(BaseModel):
    type: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody


def kb_ref(kb: KnowledgeBase) -> KbRef:
    return KbRef(id=kb.id, version=kb.pack.version, hash=kb.version_hash)


def rounded_unmodelled(uncertainty: Uncertainty) -> float | None:
    """``unmodelled_probability`` as the contracts carry it (rounded like every other probability)."""
    unmodelled = uncertainty.unmodelled_probability
    return None if unmodelled is None else round(unmodelled, 12)


def uncertainty_text(enough_evidence: bool, unmodelled_probability: float | None) -> str:
    """The two uncertainty fields in plain words for staff (CLI tables and the ticket report)."""
    if enough_evidence:
        text = "The answers so far have moved the ranking away from the usual causes."
    else:
        text = ("Not enough evidence yet: the answers so far barely move the usual causes, so this ranking is "
                "mostly how common each cause is.")
    if unmodelled_probability is not None:
        text += f" Chance the cause is one this knowledge base does not cover: {unmodelled_probability:.0%}."
    return text


def rank_out(kb: KnowledgeBase, ranking: Ranking, lang: str = "en", actions: list[ActionScore] | None = None,
             *, uncertainty: Uncertainty) -> RankOut:
    return RankOut(
        unmodelled_probability=rounded_unmodelled(uncertainty), enough_evidence=uncertainty.enough_evidence,
        recommended_actions=[action_out(a) for a in actions or []],
        kb=kb_ref(kb),
        causes=[
            CauseOut(id=c.id, title=kb.causes[c.id].title.get(lang), probability=round(c.probability, 12),
                     at_work=round(c.at_work, 12), refines=kb.causes[c.id].refines)
            for c in ranking.causes
        ],
        combinations=[
            CombinationOut(causes=list(c.causes), probability=round(c.probability, 12), states=c.states)
            for c in ranking.combinations
        ],
        explanations={
            cause: [WeightOut(question=w.question, answer=w.answer, woe_bits=round(w.woe_bits, 6)) for w in ws]
            for cause, ws in ranking.explanations.items()
        },
    )


class QuestionOut(BaseModel):
    id: str
    text: str
    expected_gain_bits: float
    cost_minutes: float
    gain_per_minute: float
    answers: dict[str, float]
    separates: list[str]
    why: str
    asked_by: list[str] = Field(default_factory=list)
    why_details: str = Field(default="", description="the figures behind `why` (which answer moves which cause)")


class NextOut(BaseModel):
    kb: KbRef
    questions: list[QuestionOut]
    handoff: list[QuestionOut] = Field(default_factory=list)
    stop: bool
    stop_reason: str = ""
    recommended_actions: list[ActionOut] = Field(default_factory=list)
    unmodelled_probability: float | None = Field(default=None, description=UNMODELLED_DESCRIPTION)
    enough_evidence: bool = Field(default=False, description=ENOUGH_EVIDENCE_DESCRIPTION)
    stop_details: str = Field(default="", description="the figures behind `stop_reason` and the threshold met")
    objective: str = Field(default="decision", description="what the questions' gain is about")


class CitationOut(BaseModel):
    question: str
    answer: str


class ReasonOut(BaseModel):
    text: str
    cites: list[CitationOut]


class FixRef(BaseModel):
    id: str
    title: str


class RiskOut(BaseModel):
    reversible: bool
    downtime_minutes: float
    collateral_minutes: float
    may_break: list[str]
    text: str


class AssessOut(BaseModel):
    kb: KbRef
    fix: FixRef | None
    matched_text: str | None = None
    in_knowledge_base: bool = True
    p_resolves: float | None
    verdict: str
    reasons: list[ReasonOut]
    check_first: list[str]
    risk: RiskOut | None
    alternatives: list[ActionOut]


def action_out(action: ActionScore) -> ActionOut:
    return ActionOut(id=action.id, title=action.title, p_resolves=round(action.p_resolves, 12),
                     cost_minutes=action.cost_minutes, risk_minutes=action.risk_minutes)


def question_out(suggestion: Suggestion) -> QuestionOut:
    return QuestionOut(
        id=suggestion.id, text=suggestion.text, expected_gain_bits=round(suggestion.expected_gain_bits, 9),
        cost_minutes=suggestion.cost_minutes, gain_per_minute=round(suggestion.gain_per_minute, 9),
        answers={a: round(p, 12) for a, p in suggestion.answers.items()}, separates=suggestion.separates,
        why=suggestion.why, asked_by=suggestion.asked_by, why_details=suggestion.why_details,
    )


def next_out(kb: KnowledgeBase, result: NextQuestions, actions: list[ActionScore], *, uncertainty: Uncertainty
             ) -> NextOut:
    return NextOut(
        unmodelled_probability=rounded_unmodelled(uncertainty), enough_evidence=uncertainty.enough_evidence,
        kb=kb_ref(kb), questions=[question_out(s) for s in result.questions],
        handoff=[question_out(s) for s in result.handoff], stop=result.stop, stop_reason=result.stop_reason,
        recommended_actions=[action_out(a) for a in actions], stop_details=result.stop_details,
        objective=result.objective,
    )


def assess_out(kb: KnowledgeBase, assessment: Assessment, matched_text: str | None = None) -> AssessOut:
    risk = assessment.risk
    return AssessOut(
        kb=kb_ref(kb), fix=FixRef(id=assessment.fix_id, title=assessment.title), matched_text=matched_text,
        p_resolves=round(assessment.p_resolves, 12), verdict=assessment.verdict,
        reasons=[ReasonOut(text=r.text, cites=[CitationOut(question=c.question, answer=c.answer) for c in r.cites])
                 for r in assessment.reasons],
        check_first=assessment.check_first,
        risk=RiskOut.model_validate(risk),
        alternatives=[action_out(a) for a in assessment.alternatives],
    )


def not_in_kb_out(kb: KnowledgeBase, text: str, actions: list[ActionScore]) -> AssessOut:
    """An honest answer for an anecdote that matches no known fix."""
    return AssessOut(
        kb=kb_ref(kb), fix=None, matched_text=text, in_knowledge_base=False, p_resolves=None,
        verdict="This suggestion is not in the knowledge base, so there is no evidence to weigh it with. "
                "The actions below are what the evidence supports.",
        reasons=[], check_first=[], risk=None, alternatives=[action_out(a) for a in actions],
    )
