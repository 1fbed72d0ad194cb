"""What a question does for the decision: which leading hypothesis to act on.

A helpdesk session ends in an action taken on one hypothesis, a leading cause or the leading
combination. Asking pays when an answer may change that choice or make it safe enough to act on,
not when it nudges a long tail of improbable causes (the bias of summing mutual informations over
every cause). This module looks one answer ahead for every candidate question at once:

* the hypotheses of an evidence set are its ``LEADING_CAUSES`` most probable causes (each "present"),
  the leading combination (the two leading causes present together), and its ``LEADING_ACTIONS``
  most probable repair actions aimed at several causes ("one of the causes it removes is present"),
  taken from the pack's fixes, so they follow the pack as it grows;
* one batched junction-tree propagation clamps each hypothesis in turn (rows ``1 + J`` per evidence
  set, so many sessions' evidence goes through the tree together), which yields ``P(h | e)`` from
  the log-evidence ratio and ``P(Q = a | h, e)`` for every candidate ``Q``, hence ``P(h | e, Q = a)``.

A question's score is the information its answer gives about which hypotheses are true,
Σ_h I(Q; [h is true] | e) in bits. The myopic drop in the risk of acting on a wrong hypothesis
(Heckerman, Breese and Rommelse's one-step look-ahead with a 0-1 loss) was tried first: it is
piecewise linear, zero whenever no single answer changes the leader, and so blind to the cheap
symptom question that moves a whole family of causes (or one repair) before any leader stands out;
from a cold start on the seed incident it never got to the path-MTU diagnosis within 15 questions.
Information about the hypotheses keeps that question's worth, and it is zero only when no answer
moves any hypothesis. The repair hypotheses carry the actions' side of the decision without their
costs, which the pack gives per fix but not per outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.infer.junction_tree import JunctionTree, Result
from engine.kb.knowledge import KnowledgeBase

LEADING_CAUSES = 5
"""Hypotheses about single causes per evidence set; the leading combination is one more.

Five, not four: on the 66-cause mail pack the true cause is often fifth or sixth while evidence is
thin, and a question that would lift it is worth nothing to hypotheses that leave it out. In 200
simulated sessions (seed 7, pack 1.2.3, bench/README.md) four gave a success of 0.60 with one fault
and 0.81 with two; five, with the lower exchange rate, 0.635 and 0.835; six no more. Six also put
the common bounce causes among the hypotheses from a cold start, so the seed incident's path-MTU
diagnosis no longer came within ten questions. Each hypothesis is one more clamped row of the
look-ahead."""

ACTION_EFFECTIVENESS = 0.5
"""A repair action is aimed at the causes it removes with at least this effectiveness."""
LEADING_ACTIONS = 2
"""Hypotheses about repair actions per evidence set: "one of the causes this action removes is present"."""


@dataclass(frozen=True)
class Hypothesis:
    """What acting assumes: ``all`` the causes present (a cause, a combination), or ``any`` of them
    (the causes one repair action removes), with the action's id."""

    causes: tuple[str, ...]
    mode: str = "all"
    action: str | None = None


@dataclass(frozen=True)
class Lookahead:
    """One-answer look-ahead on the hypotheses of each evidence set (leading axis = evidence set).

    * ``hypotheses[e]``: the ``J`` hypotheses of evidence set ``e``, leading cause first.
    * ``prior``: ``(E, J)`` — ``P(h | e)``.
    * ``answer_probs[Q]``: ``(E, k)`` — ``P(Q = a | e)``.
    * ``posterior[Q]``: ``(E, J, k)`` — ``P(h | e, Q = a)``.
    * ``cause_probabilities``: ``(E, n_causes)`` — P(cause not in its normal state | e), in
      ``kb.causes`` order.
    * ``impossible``: ``(E,)`` — evidence of probability zero (all figures zero there).
    """

    hypotheses: list[list[Hypothesis]]
    prior: np.ndarray
    answer_probs: Mapping[str, np.ndarray]
    posterior: Mapping[str, np.ndarray]
    cause_probabilities: np.ndarray
    impossible: np.ndarray


def _abnormal(kb: KnowledgeBase, cause: str) -> np.ndarray:
    """Likelihood of "the cause is not in its normal (first) state": present, for a binary cause."""
    clamp = np.ones(len(kb.states(cause)))
    clamp[0] = 0.0
    return clamp


def _expand(lam: np.ndarray, per_row: int) -> np.ndarray:
    """A base likelihood array repeated for each of an evidence set's look-ahead rows."""
    if lam.shape[0] == 1:
        return lam
    return np.repeat(lam, per_row, axis=0)


def action_targets(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    """The causes each proper (non-folklore) repair action is aimed at, by action id.

    Folklore fixes are left out: acting on "rebuild the server" is never the decision we want to
    make more likely, and its long list of weakly removed causes would blur the hypotheses.
    """
    targets = {}
    for fix in kb.fixes.values():
        aimed = tuple(c for c, effectiveness in fix.removes.items() if effectiveness >= ACTION_EFFECTIVENESS)
        if not fix.folklore and len(aimed) > 1:
            targets[fix.id] = aimed
    return targets


def hypotheses_of(kb: KnowledgeBase, probabilities: np.ndarray, leading: int = LEADING_CAUSES
                  ) -> list[list[Hypothesis]]:
    """Per evidence set: the leading causes (most probable first), the two leading ones together,
    and the leading repair actions aimed at several causes.

    Actions aimed at one cause add nothing to that cause's own hypothesis. They are ranked by
    1 - Π(1 - P(c)) over their causes (exact figures come from the look-ahead's own clamps).
    """
    causes = list(kb.causes)
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :leading]
    actions = action_targets(kb)
    index = {c: i for i, c in enumerate(causes)}
    action_ids = list(actions)
    if action_ids:
        members = np.zeros((len(causes), len(action_ids)))
        for j, a in enumerate(action_ids):
            for c in actions[a]:
                members[index[c], j] = 1.0
        none = np.exp(np.log(np.clip(1.0 - probabilities, 1e-300, 1.0)) @ members)
        action_order = np.argsort(none, axis=1, kind="stable")[:, :LEADING_ACTIONS]
    rows = []
    for e, ranked in enumerate(order):
        leaders = [causes[i] for i in ranked]
        row = [Hypothesis((c,)) for c in leaders]
        if len(leaders) >= 2:
            row.append(Hypothesis(tuple(leaders[:2])))
        if action_ids:
            row += [Hypothesis(actions[action_ids[j]], "any", action_ids[j]) for j in action_order[e]]
        rows.append(row)
    return rows


@dataclass(frozen=True)
class LookaheadPlan:
    """The batch behind :func:`look_ahead`, before it is propagated: ``batch`` rows of
    ``likelihoods`` (``n_ev × (1 + J)``, each hypothesis clamped) with ``targets`` the candidates."""

    hypotheses: list[list[Hypothesis]]
    probabilities: np.ndarray
    impossible: np.ndarray
    complement: np.ndarray
    per_row: int
    n_ev: int
    likelihoods: dict[str, np.ndarray]
    batch: int
    targets: list[str]


def look_ahead(
    kb: KnowledgeBase,
    tree: JunctionTree,
    likelihoods: Mapping[str, np.ndarray],
    n_ev: int,
    candidates: Sequence[str],
    leading: int = LEADING_CAUSES,
    *,
    probabilities: np.ndarray | None = None,
) -> Lookahead:
    """The hypotheses of each evidence set and what each answer of each candidate does to them.

    Two propagations whatever the number of candidates and evidence sets: one for the causes (to
    find the leaders), one batched over ``n_ev × (1 + J)`` rows with each hypothesis clamped: its
    causes present (``all``), or all of them absent (``any``: the complement). A caller that has
    already propagated the evidence passes ``probabilities`` (``(n_ev, n_causes)``, P(cause not
    normal | e) in ``kb.causes`` order, for evidence sets it knows to be possible) and saves the first.
    """
    plan = plan_look_ahead(kb, tree, likelihoods, n_ev, candidates, leading, probabilities=probabilities)
    return look_ahead_from(plan, tree.propagate(plan.likelihoods, plan.batch, targets=plan.targets))


def plan_look_ahead(
    kb: KnowledgeBase,
    tree: JunctionTree,
    likelihoods: Mapping[str, np.ndarray],
    n_ev: int,
    candidates: Sequence[str],
    leading: int = LEADING_CAUSES,
    *,
    probabilities: np.ndarray | None = None,
) -> LookaheadPlan:
    """The hypotheses and the clamped rows of :func:`look_ahead` (same arguments), not yet propagated."""
    causes = list(kb.causes)
    if probabilities is None:
        base = tree.propagate(likelihoods, n_ev, targets=causes)
        probabilities = np.stack([1.0 - base.marginal(c)[:, 0] for c in causes], axis=1)
        impossible = np.asarray(base.impossible, dtype=bool)
    else:
        impossible = np.zeros(n_ev, dtype=bool)
    hypotheses = hypotheses_of(kb, probabilities, leading)
    width = max(len(h) for h in hypotheses)
    per_row = 1 + width
    lams = {name: _expand(np.asarray(lam, dtype=float), per_row) for name, lam in likelihoods.items()}
    clamped: dict[str, np.ndarray] = {}
    complement = np.zeros((n_ev, width), dtype=bool)
    for e, row in enumerate(hypotheses):
        for j, hypothesis in enumerate(row):
            complement[e, j] = hypothesis.mode == "any"
            for cause in hypothesis.causes:
                if cause not in clamped:
                    own = lams.get(cause)
                    shape = (n_ev * per_row, len(kb.states(cause)))
                    clamped[cause] = np.array(np.broadcast_to(own, shape) if own is not None else np.ones(shape))
                abnormal = _abnormal(kb, cause)
                clamped[cause][e * per_row + 1 + j] *= (1.0 - abnormal) if complement[e, j] else abnormal
    lams.update(clamped)
    return LookaheadPlan(hypotheses=hypotheses, probabilities=probabilities, impossible=impossible,
                         complement=complement, per_row=per_row, n_ev=n_ev, likelihoods=lams,
                         batch=n_ev * per_row, targets=list(candidates))


def look_ahead_from(plan: LookaheadPlan, result: Result) -> Lookahead:
    """The look-ahead of a :class:`LookaheadPlan` from the propagation of its rows."""
    n_ev, per_row, impossible, complement = plan.n_ev, plan.per_row, plan.impossible, plan.complement
    log_evidence = result.log_evidence.reshape(n_ev, per_row)
    with np.errstate(invalid="ignore", over="ignore"):
        ratio = np.exp(log_evidence[:, 1:] - log_evidence[:, :1])
    clamp_mass = np.where(np.isfinite(ratio) & ~impossible[:, None], np.clip(ratio, 0.0, 1.0), 0.0)
    prior = np.where(complement, 1.0 - clamp_mass, clamp_mass) * ~impossible[:, None]
    answer_probs: dict[str, np.ndarray] = {}
    posterior: dict[str, np.ndarray] = {}
    for question in plan.targets:
        marginal = result.marginal(question).reshape(n_ev, per_row, -1)
        answers = marginal[:, 0]
        joint = marginal[:, 1:] * clamp_mass[:, :, None]
        joint = np.where(complement[:, :, None], np.maximum(answers[:, None, :] - joint, 0.0), joint)
        posterior[question] = np.clip(
            np.divide(joint, answers[:, None, :], out=np.zeros_like(joint), where=answers[:, None, :] > 0), 0.0, 1.0)
        answer_probs[question] = answers
    return Lookahead(hypotheses=plan.hypotheses, prior=prior, answer_probs=answer_probs, posterior=posterior,
                     cause_probabilities=plan.probabilities, impossible=impossible)


def _entropy(p: np.ndarray) -> np.ndarray:
    """Binary entropy in bits, elementwise, with 0 log 0 = 0."""
    q = np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(np.where(q > 0, q * np.log2(q), 0.0) + np.where(q < 1, (1 - q) * np.log2(1 - q), 0.0))
    return np.nan_to_num(terms)


def information(look: Lookahead, question: str, first: int | None = None) -> np.ndarray:
    """Σ_h I(Q; h is true | e) in bits over the decision hypotheses (or the ``first`` of them, the
    leading causes), per evidence set."""
    return information_of(look, [question], first)[question]


def information_of(look: Lookahead, questions: Sequence[str], first: int | None = None) -> dict[str, np.ndarray]:
    """:func:`information` of every question in ``questions``, in one numpy pass per answer count."""
    gains: dict[str, np.ndarray] = {}
    for group in _by_answers(look, questions):
        post = np.stack([look.posterior[q][:, :first] for q in group], axis=1)  # (E, n, J, k)
        answers = np.stack([look.answer_probs[q] for q in group], axis=1)  # (E, n, k)
        after = (_entropy(post) * answers[:, :, None, :]).sum(axis=3)
        values = np.maximum(_entropy(look.prior[:, None, :first]) - after, 0.0).sum(axis=2)
        gains.update({q: values[:, i] for i, q in enumerate(group)})
    return gains


def _by_answers(look: Lookahead, questions: Sequence[str]) -> list[list[str]]:
    """The questions grouped by how many answers they have (their arrays stack only then)."""
    groups: dict[int, list[str]] = {}
    for question in questions:
        groups.setdefault(look.answer_probs[question].shape[1], []).append(question)
    return list(groups.values())


def moved_actions(look: Lookahead, floor: float, row: int = 0) -> dict[str, str]:
    """For each question, the repair action whose hypothesis some answer moves by ``floor`` or more
    (the one moved most), in evidence set ``row``: what the question tells about which repair to make."""
    moved = {}
    actions = [(j, h.action) for j, h in enumerate(look.hypotheses[row]) if h.action is not None]
    for question, post in look.posterior.items():
        best, shift = None, floor
        for j, action in actions:
            change = float(np.abs(post[row, j] - look.prior[row, j]).max())
            if change >= shift:
                best, shift = action, change
        if best is not None:
            moved[question] = best
    return moved


def risk_drop(look: Lookahead, question: str, first: int = LEADING_CAUSES) -> np.ndarray:
    """Expected drop in P(acting on a wrong cause) after asking, acting on the leading one of the
    ``first`` cause hypotheses (the myopic value of information under a 0-1 loss), per evidence set.

    Zero unless some answer changes which cause leads; the stop rule uses it so that a question that
    may still change what we act on is asked even when it tells few bits.
    """
    return risk_drops_of(look, [question], first)[question]


def risk_drops_of(look: Lookahead, questions: Sequence[str], first: int = LEADING_CAUSES) -> dict[str, np.ndarray]:
    """:func:`risk_drop` of every question in ``questions``, in one numpy pass per answer count."""
    drops: dict[str, np.ndarray] = {}
    acting = look.prior[:, :first].max(axis=1)[:, None]  # (E, 1)
    for group in _by_answers(look, questions):
        post = np.stack([look.posterior[q][:, :first] for q in group], axis=1)  # (E, n, J, k)
        answers = np.stack([look.answer_probs[q] for q in group], axis=1)  # (E, n, k)
        after = (post.max(axis=2) * answers).sum(axis=2)
        values = np.maximum(after - acting, 0.0)
        drops.update({q: values[:, i] for i, q in enumerate(group)})
    return drops
