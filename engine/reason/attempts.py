"""Fix attempts as evidence: "I applied F and the problem persisted" (or "stopped"), at bounded cost.

Exactly, an attempt is an observation of the world after the fixes applied so far, coupled to the
world before through every bit of noise (``engine.model.twin``). Chaining one after-world per
attempt grows the model with every attempt (2^28-entry cliques after four), so the sequence is
first collapsed to a few after-worlds:

- With monotone mechanisms and fixes that only remove causes, the worlds after successive
  attempts are nested: what still fails after the k-th attempt failed after every earlier one
  (the same noise, fewer causes). So "persisted" after the *last* persisted attempt implies every
  earlier "persisted", and turns every earlier "stopped" into a quiet spell (remission); those
  attempts only add a remission factor on the intermittency question, exactly.
- The "stopped" reports after it are kept as after-worlds of their own, up to
  ``MAX_STOPPED_WORLDS``; later ones are left out (each says little once several stops are known).
- The fixes applied after the last kept attempt come before any candidate fix assessed.

That is exact when the mechanisms are monotone and no fix tried adds a cause on the way to the
reported failures; with fixes that add causes (a rebuilt server that breaks DNS) it is an
approximation. The after-worlds copy only what leads to the reported failures, and a twin that
would still pass the budget of ``engine.compiled.cache`` falls back to likelihood factors on the
causes the fixes remove (:func:`attempt_factors`, the repair model of Heckerman, Breese and
Rommelse 1995): a repair that removes a present cause with probability ``e`` ends the problem
unless it was quiet anyway. ``tests/test_attempts.py`` measures both against the exact chained twin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.kb.knowledge import KnowledgeBase
from engine.model.twin import REMISSION_IF_INTERMITTENT, REMISSION_IF_STEADY, REMISSION_WITHOUT_QUESTION
from engine.reason.evidence import Evidence, TriedFix

CAUSE_STATES = ("absent", "present")
MAX_STOPPED_WORLDS = 3
"""Stops after the last "persisted" kept exactly; a fourth repeated stop rarely changes a ranking."""


@dataclass(frozen=True)
class CollapsedAttempts:
    """A sequence of attempts as a few observed after-worlds (see the module docstring)."""

    steps: tuple[tuple[str, ...], ...]
    """The fixes applied before each kept attempt's check, since the previous one."""
    outcomes: tuple[str, ...]
    """What was seen after each step: persisted or stopped."""
    pending: tuple[str, ...]
    """Fixes applied after the last kept attempt: they act before any candidate fix."""
    quiet_spells: int
    """Attempts known to have met a quiet spell: earlier "stopped" reports, as remission factors."""
    earlier_persisted: int
    """Earlier "persisted" reports, implied by the last one but each also saying the problem was not quiet."""


def collapse(tried: tuple[TriedFix, ...]) -> CollapsedAttempts:
    """Keep the last "persisted" attempt and the "stopped" ones after it; fold the rest."""
    fixes = [t.fix for t in tried]
    persisted = [i for i, t in enumerate(tried) if t.outcome == "persisted"]
    last = persisted[-1] if persisted else -1
    stopped_after = [i for i, t in enumerate(tried) if t.outcome == "stopped" and i > last]
    kept = ([last] if last >= 0 else []) + stopped_after[:MAX_STOPPED_WORLDS]
    steps, start = [], 0
    for index in kept:
        steps.append(tuple(fixes[start:index + 1]))
        start = index + 1
    return CollapsedAttempts(
        steps=tuple(steps),
        outcomes=tuple(tried[i].outcome for i in kept),
        pending=tuple(fixes[start:]),
        quiet_spells=sum(1 for i, t in enumerate(tried) if t.outcome == "stopped" and i < last),
        earlier_persisted=sum(1 for i in persisted if i != last),
    )


def remission_rates(kb: KnowledgeBase) -> np.ndarray | None:
    """P(the problem is quiet when checked | each answer of the intermittency question), if the pack has one."""
    question = kb.pack.intermittency
    if question is None:
        return None
    answers = kb.questions[question].answers
    return np.array([REMISSION_IF_INTERMITTENT if a == "yes" else REMISSION_IF_STEADY for a in answers])


def _reference_remission(kb: KnowledgeBase, evidence: Evidence, rates: np.ndarray | None,
                         prior: np.ndarray | None) -> float:
    """The remission rate a "stopped" factor is evaluated at: the answered one, else the prior mean."""
    if rates is None:
        return REMISSION_WITHOUT_QUESTION
    question = kb.pack.intermittency
    assert question is not None
    answer = evidence.answers.get(question)
    if answer is not None:
        return float(rates[kb.questions[question].answers.index(answer)])
    weights = prior if prior is not None else np.full(len(rates), 1.0 / len(rates))
    return float(np.dot(weights, rates))


def attempt_factors(kb: KnowledgeBase, evidence: Evidence, intermittency_prior: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """One (1, states) likelihood factor per node that the fixes tried bear on (causes, intermittency).

    ``intermittency_prior`` is the prior marginal of the intermittency question, used for the
    "stopped" factor when that question is unanswered.
    """
    rates = remission_rates(kb)
    factors: dict[str, np.ndarray] = {}

    def times(node: str, factor: np.ndarray) -> None:
        factors[node] = factors.get(node, np.ones(len(factor))) * factor

    for attempt in evidence.tried:
        if attempt.outcome == "unclear":
            continue
        removes = {c: e for c, e in kb.fixes[attempt.fix].removes.items()
                   if c in kb.causes and tuple(kb.states(c)) == CAUSE_STATES}
        if attempt.outcome == "persisted":
            for cause, effect in removes.items():
                times(cause, np.array([1.0, 1.0 - effect]))
            if rates is not None:
                times(_intermittency(kb), 1.0 - rates)
            continue
        rho = _reference_remission(kb, evidence, rates, intermittency_prior)
        for cause, effect in removes.items():
            times(cause, np.array([1.0, 1.0 + effect * (1.0 - rho) / rho]))
        if rates is not None:
            times(_intermittency(kb), rates.copy())
    return {node: factor[None, :] for node, factor in factors.items()}


def _intermittency(kb: KnowledgeBase) -> str:
    question = kb.pack.intermittency
    assert question is not None
    return question
