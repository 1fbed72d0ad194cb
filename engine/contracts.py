"""The JSON shapes integrators rely on (CLI ``--format json``, and later the HTTP API).

These are documented in the README and only ever extended, never renamed: chatbots parse them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from engine.kb.knowledge import KnowledgeBase
from engine.reason.ranking import Ranking


class KbRef(BaseModel):
    id: str
    version: str
    hash: str


class CauseOut(BaseModel):
    id: str
    title: str
    probability: float


class CombinationOut(BaseModel):
    causes: list[str]
    probability: float
    states: dict[str, str] = Field(default_factory=dict)


class WeightOut(BaseModel):
    question: str
    answer: str
    woe_bits: float


class RankOut(BaseModel):
    kb: KbRef
    causes: list[CauseOut]
    combinations: list[CombinationOut]
    explanations: dict[str, list[WeightOut]]


class ErrorBody(BaseModel):
    type: str
    message: str
    details: dict[str, object] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody


def kb_ref(kb: KnowledgeBase) -> KbRef:
    return KbRef(id=kb.id, version=kb.pack.version, hash=kb.version_hash)


def rank_out(kb: KnowledgeBase, ranking: Ranking, lang: str = "en") -> RankOut:
    return RankOut(
        kb=kb_ref(kb),
        causes=[
            CauseOut(id=c.id, title=kb.causes[c.id].title.get(lang), probability=round(c.probability, 12))
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
