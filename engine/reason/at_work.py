"""Rank causes by whether they are at work on the complaint, not only whether they are present.

Some causes are latent: they cannot produce the complaint alone, only through a conjunction
(an all-of or noisy-AND mechanism) together with other conditions. ICMP filtering is the pack's
example: a path-MTU black hole loses large packets only where a smaller hop also exists
(RFC 2923 §2.1). Its P(present | complaint) stays near its prevalence among sites (0.15) whatever
the answers, because its presence explains nothing on its own, so a ranking by P(present) puts it
in the top three of almost every thinly answered case, where it is not what anyone has to fix.

The ranking key is therefore P(at work | e): for a cause with some path to the complaint that
passes no conjunction, its P(present); for a latent cause, the probability that it is present
*together with everything one of its conjunctions needs* (every parent of that all-of node on),
the best such conjunction taken. That is at most P(present), equals it when the evidence says the
conjunction holds (the seed incident), and falls to P(cause and its partners) when nothing points
that way. Both numbers are reported: ``probability`` stays P(present), calibrated and learnable;
``at_work`` orders the list.

One batched propagation computes every requirement: a row clamps the cause and the parents of its
conjunction to "on", and P(requirement | e) = P(e, requirement) / P(e), the ratio of its evidence
probability to that of an unclamped row.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

from engine.infer.junction_tree import JunctionTree
from engine.kb.knowledge import KnowledgeBase, on_state
from engine.kb.schema import AllOfCpd, NoisyAndCpd

Requirement = tuple[tuple[str, tuple[float, ...]], ...]
"""Nodes that must hold together, each with its clamp row (1 on the states that count as "on")."""

_REQUIREMENTS: dict[str, dict[str, tuple[Requirement, ...]]] = {}
_LOCK = threading.Lock()


def _on_row(kb: KnowledgeBase, node: str) -> tuple[float, ...]:
    """The clamp row of "on": a canonical node's on state; any abnormal state of a multi-state cause."""
    states = kb.states(node)
    on = on_state(states)
    if on is not None:
        return tuple(1.0 if s == on else 0.0 for s in states)
    return (0.0, *(1.0 for _ in states[1:]))


def conjunction_requirements(kb: KnowledgeBase) -> dict[str, tuple[Requirement, ...]]:
    """For every latent cause, one requirement per conjunction that all its paths to the complaint pass.

    A cause absent from the result has a path to the complaint without any conjunction (or the pack
    names no complaint), and is ranked by P(present). Computed once per KB version.
    """
    with _LOCK:
        known = _REQUIREMENTS.get(kb.version_hash)
    if known is not None:
        return known
    complaint = kb.pack.complaint
    found: dict[str, tuple[Requirement, ...]] = {}
    if complaint is not None:
        children: dict[str, list[str]] = {}
        for node in [*kb.mechanisms, complaint]:
            for parent in kb.parents(node):
                children.setdefault(parent, []).append(node)
        for cause in kb.causes:
            gates: set[str] = set()
            free = False
            pending, seen = [cause], {cause}
            while pending and not free:
                for child in children.get(pending.pop(), []):
                    if child == complaint:
                        free = True
                    elif isinstance(kb.node(child).cpd, AllOfCpd | NoisyAndCpd):  # type: ignore[union-attr]
                        gates.add(child)
                    elif child not in seen:
                        seen.add(child)
                        pending.append(child)
            if not free and gates:
                found[cause] = tuple(
                    tuple((node, _on_row(kb, node)) for node in dict.fromkeys([cause, *kb.parents(gate)]))
                    for gate in sorted(gates))
    with _LOCK:
        _REQUIREMENTS[kb.version_hash] = found
    return found


def requirement_probabilities(
    tree: JunctionTree, likelihoods: Mapping[str, np.ndarray], batch: int, requirements: Sequence[Requirement],
) -> np.ndarray:
    """P(requirement | e_b), shape (batch, len(requirements)), from one batched propagation.

    ``likelihoods`` describe ``batch`` evidence sets as for :meth:`JunctionTree.propagate`. Rows are
    laid out evidence-major: row b·(R+1) is evidence set b itself, row b·(R+1) + 1 + r adds
    requirement r, and the ratio of their evidence probabilities is the answer.
    """
    count = len(requirements)
    if count == 0 or batch == 0:
        return np.zeros((batch, count))
    width = count + 1
    rows = batch * width
    expanded: dict[str, np.ndarray] = {}
    for node, lam in likelihoods.items():
        array = np.asarray(lam, dtype=np.float64)
        expanded[node] = array if array.shape[0] == 1 else np.repeat(array, width, axis=0)
    for r, requirement in enumerate(requirements):
        for node, on in requirement:
            known = expanded.get(node)
            clamp = np.ones((rows, len(on))) if known is None else np.broadcast_to(known, (rows, len(on))).copy()
            clamp[1 + r::width] *= np.asarray(on)
            expanded[node] = clamp
    logs = tree.propagate(expanded, rows, targets=[], barren=True).log_evidence.reshape(batch, width)
    base = logs[:, :1]
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isneginf(logs[:, 1:]) | np.isneginf(base), 0.0, np.exp(logs[:, 1:] - base))
    return np.asarray(np.clip(ratio, 0.0, 1.0), dtype=np.float64)


def at_work_scores(
    tree: JunctionTree, likelihoods: Mapping[str, np.ndarray], probabilities: np.ndarray, causes: Sequence[str],
    requirements: Mapping[str, tuple[Requirement, ...]],
) -> np.ndarray:
    """P(at work | e_b) for each evidence row and cause, shape (batch, causes); see the module docstring.

    ``probabilities`` holds P(present | e_b) in that shape. A latent cause takes its best
    conjunction, never more than its P(present).
    """
    batch = probabilities.shape[0]
    flat = [(causes.index(cause), requirement) for cause, options in requirements.items() if cause in causes
            for requirement in options]
    scores = np.array(probabilities, dtype=np.float64, copy=True)
    if not flat:
        return scores
    joint = requirement_probabilities(tree, likelihoods, batch, [r for _, r in flat])
    best: dict[int, np.ndarray] = {}
    for column, (index, _) in enumerate(flat):
        best[index] = np.maximum(best.get(index, np.zeros(batch)), joint[:, column])
    for index, value in best.items():
        scores[:, index] = np.minimum(probabilities[:, index], value)
    return scores


def at_work(kb: KnowledgeBase, tree: JunctionTree, likelihoods: Mapping[str, np.ndarray],
            probabilities: Mapping[str, float]) -> dict[str, float]:
    """P(at work | e) for every cause of ``kb``, for the one evidence set that ``tree`` and
    ``likelihoods`` describe (``engine.reason.inference.evidence_likelihoods``, which the caller has
    already built); ``probabilities`` are P(present | e)."""
    causes = list(probabilities)
    row = at_work_scores(tree, likelihoods, np.array([[probabilities[c] for c in causes]]), causes,
                         conjunction_requirements(kb))
    return {c: float(p) for c, p in zip(causes, row[0], strict=True)}


def order_by_at_work(scores: Mapping[str, float], probabilities: Mapping[str, float]) -> list[str]:
    """Causes by decreasing P(at work), then P(present), then id (a stable, documented order)."""
    return sorted(scores, key=lambda c: (-scores[c], -probabilities[c], c))
