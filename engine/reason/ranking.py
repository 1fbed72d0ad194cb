"""Rank causes, their most probable combinations, and the answers that moved each one.

The seed incident's answer was a *combination* (an MTU/MRU mismatch with a PMTUD failure, plus DNS
and ACL faults), so the ranking reports joint explanations beside the marginals.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from engine.errors import ContradictionError
from engine.infer.junction_tree import JunctionTree, Result
from engine.kb.knowledge import KnowledgeBase
from engine.reason.at_work import at_work, order_by_at_work
from engine.reason.evidence import Evidence
from engine.reason.inference import evidence_likelihoods, propagate

COMBINATION_CAUSES = 10
"""Combinations are exact over this many leading causes; the others are summed out."""
BLOCK_STATES = 32
"""Joint states of the leaders assigned by one expansion (five binary causes): a row each."""
EXPANSION_ROWS = 192
"""Rows per propagation of the search: six partial assignments' blocks. A row of the barren-pruned
tree costs little next to the fixed cost of a pass over its cliques, so rows are cheaper than rounds:
on the mail pack's 48 bench evidence sets 192 rows take two rounds (32 rows: seven, 40% slower);
384 rows take two rounds as well, with more rows than are needed."""
PROBABILITY_FLOOR = 1e-12
TIE_DIGITS = 12
"""Combinations whose probabilities agree to this many decimals (the JSON's precision) are ties."""


@dataclass(frozen=True)
class CauseScore:
    id: str
    probability: float
    """P(cause is not in its normal first state | evidence); for binary causes P(present)."""
    at_work: float
    """P(present and able to produce the complaint | evidence), the ranking key (``engine.reason.at_work``)."""


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


def abnormal_probability(marginal: np.ndarray) -> np.ndarray:
    """P(not the first state): a binary cause's P(present); an imported cause's P(not normal)."""
    return 1.0 - marginal[..., 0]


@dataclass
class CausePosterior:
    """P(cause | e) for one evidence set, with the tree and likelihoods it came from.

    Every part of a turn starts here: the ranking, the next question, the recommended actions and
    the uncertainty figures. ``Service.diagnose`` computes it once and hands it to each part, which
    would otherwise propagate the same evidence again (four times per turn, plus P(at work) twice).
    Each part still computes it for itself when called alone. ``likelihoods`` is shared: callers
    that add clamps copy it first (``likelihoods_copy``).
    """

    kb: KnowledgeBase
    evidence: Evidence
    tree: JunctionTree
    likelihoods: dict[str, np.ndarray]
    result: Result
    probabilities: dict[str, float]
    _at_work: dict[str, float] | None = field(default=None, repr=False)

    @property
    def log_evidence(self) -> float:
        return float(self.result.log_evidence[0])

    @property
    def at_work(self) -> dict[str, float]:
        """P(at work | e) per cause (``engine.reason.at_work``), computed on first use."""
        if self._at_work is None:
            self._at_work = at_work(self.kb, self.tree, self.likelihoods, self.probabilities)
        return self._at_work

    @property
    def ordered(self) -> list[str]:
        """The causes in ranking order: P(at work), then P(present), then id."""
        return order_by_at_work(self.at_work, self.probabilities)

    def likelihoods_copy(self) -> dict[str, np.ndarray]:
        return dict(self.likelihoods)


def cause_posterior(kb: KnowledgeBase, evidence: Evidence) -> CausePosterior:
    """One propagation of the evidence with every cause a target; :class:`ContradictionError` naming
    a minimal impossible set of answers when the evidence has probability zero."""
    tree, _, likelihoods = evidence_likelihoods(kb, [evidence])
    result = tree.propagate(likelihoods, 1, list(kb.causes), barren=True)  # as ``propagate`` runs it
    if result.impossible[0]:
        raise ContradictionError(find_contradiction(kb, evidence))
    probabilities = {c: float(abnormal_probability(result.marginal(c))[0]) for c in kb.causes}
    return CausePosterior(kb, evidence, tree, likelihoods, result, probabilities)


def find_contradiction(kb: KnowledgeBase, evidence: Evidence) -> dict[str, str]:
    """A minimal set of answers that is impossible together (greedy deletion)."""
    keep = dict(evidence.answers)
    for question in list(keep):
        trial = {q: a for q, a in keep.items() if q != question}
        if propagate(kb, [Evidence(trial, evidence.soft, evidence.tried)], targets=[]).impossible[0]:
            keep = trial
    return keep or dict(evidence.answers)


_COMBINATIONS_MEMO: OrderedDict[tuple[object, ...], tuple[list[Combination], bool]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
COMBINATIONS_MEMO_SIZE = 64
"""Turns asked again with the same evidence (the ranking and the stop rule of one diagnose turn, a
UI rerun) reuse the search; a handful of recent evidence sets is all that recurs."""


def _evidence_key(kb: KnowledgeBase, evidence: Evidence, leaders: list[str]) -> tuple[object, ...]:
    soft = tuple(sorted((q, tuple(sorted(s.likelihood.items()))) for q, s in evidence.soft.items()))
    return kb.version_hash, tuple(sorted(evidence.answers.items())), soft, evidence.tried, tuple(leaders)


def combinations(kb: KnowledgeBase, evidence: Evidence, leaders: list[str], top: int) -> list[Combination]:
    """The ``top`` most probable joint states of the leading causes (the others summed out), exactly.

    Best-first search finds them in order, so a search for more combinations also answers a later
    call for fewer with the same evidence (and a search that ran out answers any call); the last
    few searches are kept for that.
    """
    key = _evidence_key(kb, evidence, leaders[:COMBINATION_CAUSES])
    with _MEMO_LOCK:
        known = _COMBINATIONS_MEMO.get(key)
        if known is not None and (len(known[0]) >= top or known[1]):
            _COMBINATIONS_MEMO.move_to_end(key)
            return known[0][:top]
    found = _search_combinations(kb, evidence, leaders, top)
    with _MEMO_LOCK:
        _COMBINATIONS_MEMO[key] = (found, len(found) < top)
        while len(_COMBINATIONS_MEMO) > COMBINATIONS_MEMO_SIZE:
            _COMBINATIONS_MEMO.popitem(last=False)
    return list(found)


def _search_combinations(kb: KnowledgeBase, evidence: Evidence, leaders: list[str], top: int
                         ) -> list[Combination]:
    """The best-first search behind :func:`combinations`.

    Best-first search over partial assignments in the leaders' order: a partial assignment's
    probability bounds every completion, so a complete assignment that reaches the front of the
    queue is the next best. The leaders are cut into blocks of at most ``BLOCK_STATES`` joint
    states (five binary causes), and expanding a partial assignment enumerates every joint state of
    its next block, one batch row each: the row clamps the partial assignment and the block's
    state, and P(assignment | e) = P(e, assignment) / P(e) is the ratio of its evidence probability
    to that of the evidence alone. Ten leaders are then two levels deep instead of ten, so the top
    five take about two propagations (of up to ``EXPANSION_ROWS`` rows) instead of about ten.
    Enumerating all 2^10 states at once would cost a thousand rows of the whole network.
    """
    chosen = leaders[:COMBINATION_CAUSES]
    cards = [len(kb.states(c)) for c in chosen]
    blocks: list[tuple[int, int]] = []  # [start, stop) of each block of leaders
    for j, card in enumerate(cards):
        if blocks and blocks[-1][1] == j and math.prod(cards[blocks[-1][0]:j]) * card <= BLOCK_STATES:
            blocks[-1] = (blocks[-1][0], j + 1)
        else:
            blocks.append((j, j + 1))
    depth_block = {start: (start, stop) for start, stop in blocks}
    tree, _, likelihoods = evidence_likelihoods(kb, [evidence])
    frontier: list[tuple[float, int, tuple[int, ...]]] = [(-1.0, 0, ())]
    counter = itertools.count(1)
    found: list[tuple[float, tuple[int, ...]]] = []
    base_log: float | None = None
    # a search for few combinations expands few partial assignments at once (one more than asked)
    budget = min(EXPANSION_ROWS, BLOCK_STATES * (top + 1))
    while frontier and len(found) < top:
        batch: list[tuple[tuple[int, ...], tuple[int, ...]]] = []  # (partial, one state of its next block)
        while frontier and len(batch) < budget:
            negative, _, partial = heapq.heappop(frontier)
            if len(partial) == len(chosen):
                if batch:  # a better partial assignment may still complete above it
                    heapq.heappush(frontier, (negative, next(counter), partial))
                    break
                found.append((-negative, partial))
                if len(found) == top:
                    break
                continue
            start, stop = depth_block[len(partial)]
            batch += [(partial, block) for block in itertools.product(*(range(k) for k in cards[start:stop]))]
        if not batch:
            continue
        rows = len(batch) + (base_log is None)
        assigned = np.full((rows, len(chosen)), -1)  # each row's state of each leader, -1 if free
        for row, (partial, block) in enumerate(batch):
            assignment = (*partial, *block)
            assigned[row, :len(assignment)] = assignment
        clamped = dict(likelihoods)
        for j, cause in enumerate(chosen):
            fixed = assigned[:, j] >= 0
            if not fixed.any():
                continue
            clamp = np.ones((rows, cards[j]))
            clamp[fixed] = 0.0
            clamp[np.flatnonzero(fixed), assigned[fixed, j]] = 1.0
            clamped[cause] = likelihoods[cause] * clamp if cause in likelihoods else clamp
        logs = tree.propagate(clamped, rows, targets=[], barren=True).log_evidence
        if base_log is None:
            base_log = float(logs[-1])
        for row, (partial, block) in enumerate(batch):
            if np.isfinite(logs[row]):
                probability = float(np.exp(logs[row] - base_log))
                if probability > 0.0:
                    heapq.heappush(frontier, (-probability, next(counter), (*partial, *block)))
    # combinations equally probable (to rounding: symmetric causes with the same prior and no answer
    # about either) come in the ranking's order, the one with a present cause ranked higher first
    found.sort(key=lambda item: (-round(item[0], TIE_DIGITS), [s == 0 for s in item[1]]))
    combos = []
    for probability, config in found:
        present = tuple(c for c, s in zip(chosen, config, strict=True) if s != 0)
        states = {c: kb.states(c)[s] for c, s in zip(chosen, config, strict=True)
                  if s != 0 and len(kb.states(c)) > 2}
        combos.append(Combination(causes=present, probability=probability, states=states))
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
    result = propagate(kb, [evidence.without(q) for q in observed], targets=causes)
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


def rank(kb: KnowledgeBase, evidence: Evidence, *, top_combinations: int = 5, explain: int = 5,
         posterior: CausePosterior | None = None) -> Ranking:
    """Causes by P(at work), their leading combinations and each answer's weight of evidence.

    ``posterior`` is this evidence's :func:`cause_posterior` when the caller already has it.
    """
    posterior = posterior or cause_posterior(kb, evidence)
    probabilities, working, ordered = posterior.probabilities, posterior.at_work, posterior.ordered
    return Ranking(
        causes=[CauseScore(c, probabilities[c], working[c]) for c in ordered],
        combinations=combinations(kb, evidence, ordered, top_combinations),
        explanations=weights_of_evidence(kb, evidence, ordered[:explain], probabilities),
        log_evidence=posterior.log_evidence,
    )
