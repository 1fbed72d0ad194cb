"""Which question to ask next: expected information about the causes per minute of cost.

The default score (objective ``all``) is the sum over causes of the mutual information
I(Q; C_i | e). It is exact and cheap (one batched propagation for all candidates), but it counts each
cause separately, so a question that nudges many improbable causes a little can outscore one that
settles the leading pair; that is the known bias towards long-tail causes. Objective ``leading`` sums
over the ``LEADING_CAUSES`` most probable causes only: the questions that tell the front-runners apart
win, and the batch shrinks to a few rows. The stopping rule and the "separates" explanation keep the
leading causes in view under either objective.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from engine.infer.voi import VoiResult, mutual_information_gains
from engine.kb.knowledge import KnowledgeBase
from engine.reason.evidence import ContradictionError, Evidence, check_question
from engine.reason.inference import evidence_likelihoods
from engine.reason.ranking import abnormal_probability, combinations, find_contradiction

DEFAULT_STOP_PROBABILITY = 0.9
"""Stop asking once the leading cause (or combination) is this likely: acting is then cheaper."""
DEFAULT_EXCHANGE_RATE = 0.005
"""Bits per minute below which a question is not worth its time (about 1 bit per 3 hours)."""
LEADING_CAUSES = 4
SEPARATION_FLOOR = 0.05
Objective = Literal["all", "leading"]
OBJECTIVES: tuple[Objective, ...] = ("all", "leading")


@dataclass(frozen=True)
class StopPolicy:
    probability: float = DEFAULT_STOP_PROBABILITY
    exchange_rate: float = DEFAULT_EXCHANGE_RATE


@dataclass(frozen=True)
class Suggestion:
    id: str
    text: str
    expected_gain_bits: float
    cost_minutes: float
    gain_per_minute: float
    answers: dict[str, float]
    separates: list[str]
    why: str
    asked_by: list[str]


@dataclass
class NextQuestions:
    questions: list[Suggestion]
    handoff: list[Suggestion]
    stop: bool
    stop_reason: str
    leader: str
    leader_probability: float
    cause_probabilities: dict[str, float] = field(default_factory=dict)


def _posterior_after(prior: float, p_answer_given_cause: float, p_answer: float) -> float:
    if p_answer <= 0.0:
        return prior
    return min(1.0, prior * p_answer_given_cause / p_answer)


def _explain(
    kb: KnowledgeBase,
    question: str,
    answer_probs: np.ndarray,
    voi: VoiResult,
    probabilities: dict[str, float],
    leaders: list[str],
    lang: str,
) -> tuple[list[str], str]:
    """Which leading causes the answers pull apart, and a sentence saying how."""
    answers = kb.questions[question].answers
    moves: dict[str, list[float]] = {}
    for cause in leaders:
        p_present = probabilities[cause]
        if p_present <= 0.0 or p_present >= 1.0:
            continue
        # P(answer | cause not in its normal state, e): its states mixed by their posterior weight
        table = voi.conditional[question][cause][0]
        weights = voi.cause_probs[cause][0][1:] / p_present
        p_answer_given_present = weights @ table[1:]
        moves[cause] = [
            _posterior_after(p_present, float(p_answer_given_present[k]), float(answer_probs[k]))
            for k in range(len(answers))
        ]
    separates = [c for c, after in moves.items() if max(after) - min(after) >= SEPARATION_FLOOR]
    phrases = []
    for k, answer in enumerate(answers):
        if not moves:
            break
        best = max(moves, key=lambda c: moves[c][k] - probabilities[c])
        if moves[best][k] - probabilities[best] >= SEPARATION_FLOOR:
            title = kb.causes[best].title.get(lang)
            phrases.append(
                f"'{answer}' ({answer_probs[k]:.0%} likely) would raise {title} "
                f"from {probabilities[best]:.0%} to {moves[best][k]:.0%}"
            )
    why = "; ".join(phrases) if phrases else "its answers would barely move the leading causes"
    return separates, why


def next_questions(
    kb: KnowledgeBase,
    evidence: Evidence,
    *,
    role: str | None = None,
    policy: StopPolicy | None = None,
    limit: int = 5,
    lang: str = "en",
    skip: Collection[str] = (),
    objective: Objective = "all",
) -> NextQuestions:
    """Rank unanswered questions by gain per minute, for one role, plus the best hand-off.

    ``skip`` holds questions the user put aside ("can't check that now"): they are neither suggested
    nor handed off, so the next best ones come up, and the stop rule judges what is left.
    ``objective`` says which causes the gain is about (see the module docstring).
    """
    for question in skip:
        check_question(kb, question)
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")
    policy = policy or StopPolicy()
    tree, _, likelihoods = evidence_likelihoods(kb, [evidence])
    causes = list(kb.causes)
    candidates = [q for q in kb.questions if q not in evidence.observed() and q not in skip]
    if objective == "leading":
        posterior = tree.propagate(likelihoods, 1, targets=causes)  # impossible evidence: raised below
        probabilities = {c: float(abnormal_probability(posterior.marginal(c))[0]) for c in causes}
        scored = sorted(causes, key=lambda c: -probabilities[c])[:LEADING_CAUSES]
    else:
        scored = causes
    voi = mutual_information_gains(tree, likelihoods, causes=scored, candidates=candidates)
    if voi.impossible[0]:
        raise ContradictionError(find_contradiction(kb, evidence))
    if objective == "all":
        probabilities = {c: float(abnormal_probability(voi.cause_probs[c][0])) for c in causes}
    ordered = sorted(causes, key=lambda c: -probabilities[c])
    leaders = [c for c in ordered[:LEADING_CAUSES] if probabilities[c] > 0.0]

    suggestions = []
    for question in candidates:
        spec = kb.questions[question]
        gain = max(0.0, float(voi.gain[question][0]))
        answer_probs = voi.answer_probs[question][0]
        separates, why = _explain(kb, question, answer_probs, voi, probabilities, leaders, lang)
        suggestions.append(
            Suggestion(
                id=question,
                text=spec.text.get(lang),
                expected_gain_bits=gain,
                cost_minutes=spec.cost_minutes,
                gain_per_minute=gain / spec.cost_minutes,
                answers={a: float(p) for a, p in zip(spec.answers, answer_probs, strict=True)},
                separates=separates,
                why=why,
                asked_by=list(spec.asked_by),
            )
        )
    suggestions.sort(key=lambda s: (-s.gain_per_minute, s.id))
    mine = [s for s in suggestions if role is None or role in s.asked_by]
    others = [s for s in suggestions if role is not None and role not in s.asked_by]

    leader = ordered[0]
    top = combinations(kb, evidence, ordered, 1)[0]
    stop, reason = False, ""
    if probabilities[leader] >= policy.probability:
        stop, reason = True, f"the leading cause is {probabilities[leader]:.0%} likely"
    elif top.causes and top.probability >= policy.probability:
        stop, reason = True, f"the leading combination ({' + '.join(top.causes)}) is {top.probability:.0%} likely"
    elif not mine:
        stop, reason = True, ("no unanswered question is left for this role"
                              + (" except those skipped" if skip else ""))
    elif mine[0].gain_per_minute < policy.exchange_rate:
        stop, reason = True, (f"the best question gives {mine[0].gain_per_minute:.4f} bits per minute, below the "
                              f"exchange rate of {policy.exchange_rate} bits per minute")
    return NextQuestions(
        questions=mine[:limit],
        handoff=[s for s in others if not mine or s.gain_per_minute > mine[0].gain_per_minute][:1],
        stop=stop,
        stop_reason=reason,
        leader=leader,
        leader_probability=probabilities[leader],
        cause_probabilities=probabilities,
    )
