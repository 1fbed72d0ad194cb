"""Rank causes, their most probable combinations, and the answers that moved each one.

The seed incident's answer was a *combination* (an MTU/MRU mismatch with a PMTUD failure, plus DNS
and ACL faults), so the ranking reports joint explanations beside the marginals.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from engine.infer.junction_tree import Result
from engine.kb.knowledge import KnowledgeBase
from engine.model.cache import compiled_model
from engine.reason.evidence import ContradictionError, Evidence, likelihood_batch

COMBINATION_CAUSES = 10
"""Combinations are exact over this many leading causes; the others are summed out."""
MAX_COMBINATION_VARIANTS = 4096
PROBABILITY_FLOOR = 1e-12


@dataclass(frozen=True)
class CauseScore:
    id: str
    probability: float
    """P(cause is not in its normal first state | evidence); for binary causes P(present)."""


@dataclass(frozen=True)
class Combination:
    causes: tuple[str, ...]
    probability: float
    states: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerWeight:
    question: str
    answer: str
    woe_bits: float
    """log2 of how much this answer multiplied the cause's odds, given the other answers."""


@dataclass
class Ranking:
    causes: list[CauseScore]
    combinations: list[Combination]
    explanations: dict[str, list[AnswerWeight]]
    log_evidence: float


def propagate(kb: KnowledgeBase, variants: list[Evidence], extra: dict[str, np.ndarray] | None = None) -> Result:
    """One batched pass over evidence variants (plus optional clamps on causes)."""
    likelihoods = likelihood_batch(kb, variants)
    if extra:
        likelihoods.update(extra)
    return compiled_model(kb).tree.propagate(likelihoods, len(variants))


def abnormal_probability(marginal: np.ndarray) -> np.ndarray:
    """P(not the first state): a binary cause's P(present); an imported cause's P(not normal)."""
    return 1.0 - marginal[..., 0]


def find_contradiction(kb: KnowledgeBase, evidence: Evidence) -> dict[str, str]:
    """A minimal set of answers that is impossible together (greedy deletion)."""
    keep = dict(evidence.answers)
    for question in list(keep):
        trial = {q: a for q, a in keep.items() if q != question}
        if propagate(kb, [Evidence(trial, evidence.soft)]).impossible[0]:
            keep = trial
    return keep or dict(evidence.answers)


def combinations(kb: KnowledgeBase, evidence: Evidence, leaders: list[str], top: int) -> list[Combination]:
    """Exact P(leading causes in exactly these states | e), the other causes summed out."""
    chosen: list[str] = []
    size = 1
    for cause in leaders[:COMBINATION_CAUSES]:
        cardinality = len(kb.states(cause))
        if size * cardinality > MAX_COMBINATION_VARIANTS:
            break
        chosen.append(cause)
        size *= cardinality
    configurations = list(itertools.product(*(range(len(kb.states(c))) for c in chosen)))
    clamps = {}
    for j, cause in enumerate(chosen):
        rows = np.zeros((len(configurations), len(kb.states(cause))))
        rows[np.arange(len(configurations)), [config[j] for config in configurations]] = 1.0
        clamps[cause] = rows
    base = propagate(kb, [evidence]).log_evidence[0]
    result = propagate(kb, [evidence] * len(configurations), clamps)
    with np.errstate(under="ignore"):
        joint = np.where(result.impossible, 0.0, np.exp(result.log_evidence - base))
    order = np.argsort(-joint, kind="stable")[:top]
    combos = []
    for index in order:
        config = configurations[int(index)]
        present = tuple(c for c, s in zip(chosen, config, strict=True) if s != 0)
        states = {c: kb.states(c)[s] for c, s in zip(chosen, config, strict=True)
                  if s != 0 and len(kb.states(c)) > 2}
        combos.append(Combination(causes=present, probability=float(joint[index]), states=states))
    return combos


def _log_odds(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    return np.log2(clipped / (1.0 - clipped))


def weights_of_evidence(
    kb: KnowledgeBase, evidence: Evidence, causes: list[str], full: dict[str, float]
) -> dict[str, list[AnswerWeight]]:
    """For each cause, each answer's weight of evidence: log2 O(c | e) / O(c | e without it)."""
    observed = sorted(evidence.observed())
    if not observed:
        return {c: [] for c in causes}
    result = propagate(kb, [evidence.without(q) for q in observed])
    explanations: dict[str, list[AnswerWeight]] = {}
    for cause in causes:
        without = abnormal_probability(result.marginal(cause))
        woe = _log_odds(np.array(full[cause])) - _log_odds(without)
        weights = [
            AnswerWeight(q, evidence.answers.get(q, "soft"), float(w))
            for q, w in zip(observed, woe, strict=True)
        ]
        explanations[cause] = sorted(weights, key=lambda w: -abs(w.woe_bits))
    return explanations


def rank(kb: KnowledgeBase, evidence: Evidence, *, top_combinations: int = 5, explain: int = 5) -> Ranking:
    result = propagate(kb, [evidence])
    if result.impossible[0]:
        raise ContradictionError(find_contradiction(kb, evidence))
    probabilities = {c: float(abnormal_probability(result.marginal(c))[0]) for c in kb.causes}
    ordered = sorted(probabilities, key=lambda c: (-probabilities[c], c))
    return Ranking(
        causes=[CauseScore(c, probabilities[c]) for c in ordered],
        combinations=combinations(kb, evidence, ordered, top_combinations),
        explanations=weights_of_evidence(kb, evidence, ordered[:explain], probabilities),
        log_evidence=float(result.log_evidence[0]),
    )
