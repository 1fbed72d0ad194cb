"""Which question to ask next: expected information per minute of cost, about what we must decide.

The default score (objective ``decision``) is the information a question gives about the decision
hypotheses (``engine.reason.decision``): the leading causes, the leading combination, and the
leading repair actions aimed at several causes. Σ_h I(Q; h | e) in bits, per minute. Staff act on
one of those hypotheses, so a question earns its minutes by telling them apart or by making one safe
enough to act on; its stop rule knows that decision: stop when the leader (or the leading
combination) is likely enough to act on, or when no question is worth its minutes for it.

Objective ``all`` is the sum over every cause of I(Q; C_i | e). It counts each cause separately, so a
question that nudges many improbable causes a little can outscore one that settles the leading pair
(the known bias towards long-tail causes). Objective ``leading`` sums over the ``LEADING_CAUSES``
most probable causes only. Both are kept as options, with the exchange rate in bits per minute.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from engine.errors import ContradictionError
from engine.infer.junction_tree import JunctionTree
from engine.infer.voi import VoiResult, gains_from, mutual_information_gains, plan_gains
from engine.kb.knowledge import KnowledgeBase
from engine.reason import decision
from engine.reason.evidence import Evidence, check_question
from engine.reason.ranking import CausePosterior, cause_posterior, combinations, find_contradiction

DEFAULT_STOP_PROBABILITY = 0.9
"""Stop asking once the leading cause (or combination) is this likely: acting is then cheaper."""
DEFAULT_EXCHANGE_RATE = 0.005
"""Bits about the causes per minute below which a question is not worth its time (objectives ``all``
and ``leading``: about 1 bit per 3 hours)."""
DECISION_EXCHANGE_RATE = 0.0003
"""Objective ``decision``: a question is worth its minutes when it gives at least this many bits per
minute about the decision's hypotheses, or lowers the chance of acting on a wrong cause by at least
this much per minute (one point per hour). Lower than the causes' rate because the decision's
hypotheses are a handful, not every cause; the second test keeps a question that may still change
the leader (``bench/README.md``: fewer questions and more sessions ending on a true cause). It was
0.001 until pack 1.2.3: on that pack's 131 questions the higher rate stopped most unconfident
sessions early, short of what fixed order learns (with six leading causes, 200 simulated sessions
with one fault: success 0.635 at 0.001, 0.65 at 0.0003, for two and a half more questions;
bench/README.md)."""
LEADING_CAUSES = 4
SEPARATION_FLOOR = 0.05
Objective = Literal["decision", "all", "leading"]
OBJECTIVES: tuple[Objective, ...] = ("decision", "all", "leading")
DEFAULT_OBJECTIVE: Objective = "decision"


@dataclass(frozen=True)
class StopPolicy:
    """When to stop asking; ``exchange_rate`` None means the objective's own default."""

    probability: float = DEFAULT_STOP_PROBABILITY
    exchange_rate: float | None = None

    def rate(self, objective: Objective) -> float:
        """Bits per minute a question must give, for this objective."""
        if self.exchange_rate is not None:
            return self.exchange_rate
        return DECISION_EXCHANGE_RATE if objective == "decision" else DEFAULT_EXCHANGE_RATE


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
    why_details: str = ""
    """The technical side of ``why``: which answer moves which cause, with the figures."""


@dataclass
class NextQuestions:
    questions: list[Suggestion]
    handoff: list[Suggestion]
    stop: bool
    stop_reason: str
    leader: str
    leader_probability: float
    cause_probabilities: dict[str, float] = field(default_factory=dict)
    stop_details: str = ""
    """The technical side of ``stop_reason``: the figures and the threshold that stopped it."""
    objective: Objective = DEFAULT_OBJECTIVE


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
    action: str | None = None,
) -> tuple[list[str], str, str]:
    """Which leading causes the answers pull apart, a plain sentence for staff, and the figures.

    The plain sentence names causes, never numbers: "this tells apart the two leading causes, A and
    B", "a 'yes' would point to A", "this tells whether R is the repair to make" (``action``: the
    repair action whose hypothesis the answers move most), "it checks A". The details keep the old
    figures.
    """
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
    raised: dict[str, str] = {}
    for k, answer in enumerate(answers):
        if not moves:
            break
        best = max(moves, key=lambda c: moves[c][k] - probabilities[c])
        if moves[best][k] - probabilities[best] >= SEPARATION_FLOOR:
            raised.setdefault(answer, best)
            phrases.append(
                f"'{answer}' ({answer_probs[k]:.0%} likely) would raise {kb.causes[best].title.get(lang)} "
                f"from {probabilities[best]:.0%} to {moves[best][k]:.0%}"
            )
    details = "; ".join(phrases) if phrases else "its answers would barely move the leading causes"

    def title(cause: str) -> str:
        return kb.causes[cause].title.get(lang)

    front = [c for c in leaders[:2] if c in moves]
    if len(front) == 2 and set(front) <= set(separates) and any(
            (moves[front[0]][k] - probabilities[front[0]]) * (moves[front[1]][k] - probabilities[front[1]]) < 0
            for k in range(len(answers))):
        why = f"this tells apart the two leading causes, {title(front[0])} and {title(front[1])}"
    elif len(set(raised.values())) >= 2:
        pointers = [f"'{a}' would point to {title(c)}" for a, c in raised.items()]
        why = "; ".join(pointers)
    elif raised:
        answer, cause = next(iter(raised.items()))
        why = f"a '{answer}' would point to {title(cause)}; otherwise it rules it down"
    elif action is not None:
        why = f"this tells whether '{kb.fixes[action].title.get(lang)}' is the repair to make"
    elif separates:
        why = f"it checks {title(separates[0])}, one of the leading causes"
    else:
        why = "it checks causes outside the current front-runners"
    return separates, why, details


def _leading_combination(kb: KnowledgeBase, evidence: Evidence, ordered: list[str]) -> tuple[tuple[str, ...], float]:
    top = combinations(kb, evidence, ordered, 1)[0]
    return top.causes, top.probability


def next_questions(
    kb: KnowledgeBase,
    evidence: Evidence,
    *,
    role: str | None = None,
    policy: StopPolicy | None = None,
    limit: int = 5,
    lang: str = "en",
    skip: Collection[str] = (),
    objective: Objective = DEFAULT_OBJECTIVE,
    posterior: CausePosterior | None = None,
) -> NextQuestions:
    """Rank unanswered questions by gain per minute, for one role, plus the best hand-off.

    ``skip`` holds questions the user put aside ("can't check that now"): they are neither suggested
    nor handed off, so the next best ones come up, and the stop rule judges what is left.
    ``objective`` says what the gain is about (see the module docstring). ``posterior`` is this
    evidence's :func:`~engine.reason.ranking.cause_posterior` when the caller already has it.
    """
    for question in skip:
        check_question(kb, question)
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")
    policy = policy or StopPolicy()
    posterior = posterior or cause_posterior(kb, evidence)
    tree, likelihoods, probabilities = posterior.tree, posterior.likelihoods, posterior.probabilities
    causes = list(kb.causes)
    candidates = [q for q in kb.questions if q not in evidence.observed() and q not in skip]
    gains: dict[str, float] = {}
    risk_drops: dict[str, float] = {}
    actions: dict[str, str] = {}
    scored = causes if objective == "all" else sorted(causes, key=lambda c: -probabilities[c])[:LEADING_CAUSES]
    plan = plan_gains(tree, likelihoods, causes=scored, candidates=candidates)
    if objective == "decision" and candidates:
        # the look-ahead clamps the leading causes as the value of information does: one propagation
        # serves both, each shared row propagated once
        known = np.array([[probabilities[c] for c in causes]])
        ahead = decision.plan_look_ahead(kb, tree, likelihoods, 1, candidates, probabilities=known)
        looked, valued = tree.propagate_together([(ahead.likelihoods, ahead.batch), (plan.likelihoods, plan.batch)],
                                                 plan.targets)
        look = decision.look_ahead_from(ahead, looked)
        gains = {q: float(g[0]) for q, g in decision.information_of(look, candidates).items()}
        actions = decision.moved_actions(look, SEPARATION_FLOOR)
        risk_drops = {q: float(d[0]) for q, d in decision.risk_drops_of(look, candidates).items()}
    else:
        valued = tree.propagate(plan.likelihoods, plan.batch, plan.targets)
    voi = gains_from(plan, valued)
    if voi.impossible[0]:
        raise ContradictionError(find_contradiction(kb, evidence))
    if objective != "decision":
        gains = {q: float(voi.gain[q][0]) for q in candidates}
    # the leader and the stop go by P(at work), as the ranking does; the question scores stay on the
    # causes most likely present, latent ones included, since asking about them is what separates
    working = posterior.at_work
    ordered = posterior.ordered
    leaders = [c for c in ordered[:LEADING_CAUSES] if probabilities[c] > 0.0 and c in voi.causes]

    def suggestion(question: str) -> Suggestion:
        spec = kb.questions[question]
        gain = max(0.0, gains[question])
        answer_probs = voi.answer_probs[question][0]
        separates, why, details = _explain(kb, question, answer_probs, voi, probabilities, leaders, lang,
                                           actions.get(question))
        return Suggestion(
            id=question,
            text=spec.text.get(lang),
            expected_gain_bits=gain,
            cost_minutes=spec.cost_minutes,
            gain_per_minute=gain / spec.cost_minutes,
            answers={a: float(p) for a, p in zip(spec.answers, answer_probs, strict=True)},
            separates=separates,
            why=why,
            asked_by=list(spec.asked_by),
            why_details=details,
        )

    def rate(question: str) -> float:
        return max(0.0, gains[question]) / kb.questions[question].cost_minutes

    # ordered by rate first; the explanations are written only for the suggestions returned
    ranked = sorted(candidates, key=lambda q: (-rate(q), q))
    mine_ids = [q for q in ranked if role is None or role in kb.questions[q].asked_by]
    best_risk_drop = max((risk_drops.get(q, 0.0) / kb.questions[q].cost_minutes for q in mine_ids), default=0.0)

    leader = ordered[0]
    combination, combination_probability = _leading_combination(kb, evidence, ordered)
    if (objective == "decision" and mine_ids and rate(mine_ids[0]) < policy.rate(objective)
            and best_risk_drop < policy.rate(objective)
            and max(working[leader], combination_probability) < policy.probability):
        # the hypotheses are settled as far as questions can take them, the leader is still unsafe:
        # widen to every cause, whose own stop rule then decides (see ``widened_gains``)
        wider = widened_gains(tree, likelihoods, causes, candidates)
        if max(wider[q] / kb.questions[q].cost_minutes for q in mine_ids) >= policy.rate("all"):
            gains = wider
            ranked = sorted(candidates, key=lambda q: (-rate(q), q))
            mine_ids = [q for q in ranked if role is None or role in kb.questions[q].asked_by]
    other_ids = [q for q in ranked if role is not None and role not in kb.questions[q].asked_by]
    mine = [suggestion(q) for q in mine_ids[:max(1, limit)]]
    handoff = [suggestion(q) for q in other_ids[:1] if not mine_ids or rate(q) > rate(mine_ids[0])]
    stop, reason, details = _stop(kb, policy, objective, working[leader], leader, combination,
                                  combination_probability, mine, bool(skip), lang, best_risk_drop)
    return NextQuestions(
        questions=mine[:limit],
        handoff=handoff,
        stop=stop,
        stop_reason=reason,
        leader=leader,
        leader_probability=working[leader],
        cause_probabilities=probabilities,
        stop_details=details,
        objective=objective,
    )


def widened_gains(tree: JunctionTree, likelihoods: Mapping[str, np.ndarray], causes: Sequence[str],
                  candidates: Sequence[str]) -> dict[str, float]:
    """Σ over every cause of I(Q; C | e): what the decision objective asks by once it is stuck.

    The decision's hypotheses are the few leading causes; when no question moves them enough to be
    worth its minutes and none is safe to act on, the truth is often a cause outside them (with two
    faults, the second one), which only the causes' information can reach. The decision objective
    then stops only when that, too, falls below its own exchange rate (``policy.rate("all")``). In
    2,000 simulated sessions with two faults (pack 1.2.5, ``bench/README.md``) it lifted success
    from 0.856 to 0.874 (fixed order: 0.886) for 4 more questions; it costs one more propagation,
    in those turns only.
    """
    voi = mutual_information_gains(tree, likelihoods, 1, causes=causes, candidates=candidates)
    return {q: max(0.0, float(voi.gain[q][0])) for q in candidates}


def _stop(kb: KnowledgeBase, policy: StopPolicy, objective: Objective, leader_probability: float, leader: str,
          combination: tuple[str, ...], combination_probability: float, mine: list[Suggestion], skipped: bool,
          lang: str, best_risk_drop: float = 0.0) -> tuple[bool, str, str]:
    """Whether to stop asking, the plain reason for staff, and the figures behind it.

    "Enough evidence" is said only when the leader (or the leading combination) is likely enough to
    act on; running out of questions worth their minutes says so and names what leads, because acting
    then is a judgement on thinner evidence, not a conclusion. Under the decision objective a
    question is also worth asking while it may lower the chance of acting on a wrong cause by the
    exchange rate per minute (``best_risk_drop``).
    """
    def title(cause: str) -> str:
        return kb.causes[cause].title.get(lang)

    about = "this decision" if objective == "decision" else "the causes"
    if leader_probability >= policy.probability:
        return True, f"Enough evidence: act on {title(leader)}", (
            f"the leading cause is {leader_probability:.0%} likely (stop at {policy.probability:.0%})")
    if combination and combination_probability >= policy.probability:
        return True, f"Enough evidence: act on {' together with '.join(title(c) for c in combination)}", (
            f"the leading combination ({' + '.join(combination)}) is {combination_probability:.0%} likely "
            f"(stop at {policy.probability:.0%})")
    if not mine:
        return True, ("No question is left to ask in this role" + (" except those set aside" if skipped else "")
                      + f"; the best lead so far is {title(leader)}, not yet certain"), (
            "no unanswered question is left for this role" + (" except those skipped" if skipped else ""))
    if mine[0].gain_per_minute < policy.rate(objective) and best_risk_drop < policy.rate(objective):
        return True, (f"No remaining question is worth its minutes for {about}; the best lead is "
                      f"{title(leader)}, not yet certain: act on it with care or hand the case on"), (
            f"the best question gives {mine[0].gain_per_minute:.4f} bits per minute, below the "
            f"exchange rate of {policy.rate(objective)} bits per minute"
            + (f", and lowers the risk of acting on a wrong cause by at most {best_risk_drop:.4f} per minute"
               if objective == "decision" else ""))
    return False, "", ""
