"""Value of information for choosing the next question, from one batched junction-tree propagation.

The score of a question ``Q`` is ``gain[Q] = Σ_i I(Q; C_i | e)`` in bits: how much, on average,
answering ``Q`` would tell us about each candidate cause. Asking "what would each answer tell us" the
naive way costs one propagation per question and answer. Here the work is batched instead: each cause
``C_i`` is clamped to each of its states in turn, and one propagation over the batch
``{e} ∪ {e, C_i = k}`` yields ``P(Q | C_i = k, e)`` for *every* question at once; the joint
``P(Q, C_i | e)`` and so every mutual information follow.

One state per clamped variable (its reference state, the most probable one a priori) is never
clamped: its row follows from ``P(Q | e) = Σ_k P(C_i = k | e) P(Q | C_i = k, e)``, which saves a batch
row per cause. The joint ``P(Q, C_i = ref | e)`` obtained by subtraction is accurate to rounding in
absolute terms, which is all the mutual information needs; the *conditional* ``P(Q | C_i = ref, e)``
divides by ``P(C_i = ref | e)``, so when that is tiny the reference state is clamped too, in a small
second propagation, to keep explanations exact.

Mutual information is symmetric, so the batch may equally clamp the *questions* and read the causes.
``clamp="auto"`` picks the side with fewer batch rows (ANDES: 89 binary root causes but 22 leaf
questions). When questions are clamped, ``conditional`` is computed exactly on first access, one
small propagation per cause, since explanations only ever look at a few causes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from engine.infer.junction_tree import BoolArray, FloatArray, JunctionTree, Result

# Below this posterior probability of a cause's reference state, P(Q | C = ref, e) is recomputed by
# clamping instead of by subtraction (relative error of the subtraction is ~1e-16 / P(ref | e)).
REFERENCE_CLAMP_THRESHOLD = 1e-6

V = TypeVar("V")


@dataclass(frozen=True)
class VoiResult:
    """Mutual-information scores for a set of candidate questions; leading axis = evidence set.

    * ``gain[Q]``: ``(E,)`` — ``Σ_i I(Q; C_i | e)`` in bits (0 for an already observed ``Q``).
    * ``mutual_information[Q][C]``: ``(E,)`` — the per-cause terms of that sum.
    * ``answer_probs[Q]``: ``(E, card_Q)`` — ``P(Q | e)``.
    * ``cause_probs[C]``: ``(E, card_C)`` — ``P(C | e)``.
    * ``conditional[Q][C]``: ``(E, card_C, card_Q)`` — ``P(Q | C = k, e)``; rows with
      ``P(C = k | e) = 0`` are all zero.
    * ``log_evidence``/``impossible``: ``(E,)`` — as in :class:`~engine.infer.junction_tree.Result`;
      impossible evidence sets get zero gains and zero probabilities.
    * ``clamped``: which side the batch clamped, ``"causes"`` or ``"candidates"``.
    """

    causes: tuple[str, ...]
    candidates: tuple[str, ...]
    gain: Mapping[str, FloatArray]
    mutual_information: Mapping[str, Mapping[str, FloatArray]]
    answer_probs: Mapping[str, FloatArray]
    cause_probs: Mapping[str, FloatArray]
    conditional: Mapping[str, Mapping[str, FloatArray]]
    log_evidence: FloatArray
    impossible: BoolArray
    clamped: str

    def ranking(self, row: int = 0) -> list[tuple[str, float]]:
        """Candidates by decreasing gain for evidence set ``row`` (ties keep the candidate order)."""
        return sorted(((q, float(self.gain[q][row])) for q in self.candidates), key=lambda t: -t[1])


class _Lazy(Mapping[str, V]):
    """Read-only mapping whose values are built on access.

    A step scores every (question, cause) pair, but a caller explains only a few of them; building
    thousands of array views eagerly costs more than the propagation on small networks.
    """

    def __init__(self, keys: Mapping[str, int], make: Callable[[str], V]) -> None:
        self._keys = keys
        self._make = make

    def __getitem__(self, key: str) -> V:
        if key not in self._keys:
            raise KeyError(key)
        return self._make(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass
class _Evidence:
    """Validated base evidence: likelihood rows scaled to a maximum of one, keyed by variable index."""

    n_ev: int
    lams: dict[int, FloatArray]
    log_offset: FloatArray

    def observed(self, v: int) -> BoolArray:
        """Rows where ``v`` has hard evidence (exactly one non-zero likelihood entry)."""
        lam = self.lams.get(v)
        if lam is None:
            return np.zeros(self.n_ev, dtype=bool)
        return np.broadcast_to(np.count_nonzero(lam, axis=1) == 1, (self.n_ev,)).copy()


@dataclass
class _Clamped:
    """One batched propagation with some variables clamped state by state (reference state excluded).

    Row ``e * n_var`` is evidence set ``e`` itself; row ``e * n_var + r`` clamps ``(v, k)`` for
    ``layout[v] = [..., (k, r), ...]``.
    """

    result: Result
    n_var: int
    layout: dict[int, list[tuple[int, int]]]
    reference: dict[int, int]


@dataclass
class GainsPlan:
    """The batch behind :func:`mutual_information_gains`, before it is propagated.

    ``likelihoods`` (``batch`` rows, keyed by name) and ``targets`` are what to propagate; a caller
    with other rows to propagate on the same tree may run them together with these
    (:meth:`JunctionTree.propagate_together`) and hand this part's :class:`Result` to
    :func:`gains_from`.
    """

    tree: JunctionTree
    evidence: _Evidence
    cause_ids: list[int]
    candidate_ids: list[int]
    clamp: str
    side: list[int]
    other: list[int]
    n_var: int
    layout: dict[int, list[tuple[int, int]]]
    reference: dict[int, int]
    likelihoods: dict[str, FloatArray]
    batch: int
    targets: list[str]
    barren: bool


def mutual_information_gains(
    tree: JunctionTree,
    likelihoods: Mapping[str, ArrayLike],
    batch_evidence: int = 1,
    *,
    causes: Sequence[str],
    candidates: Sequence[str],
    clamp: Literal["auto", "causes", "candidates"] = "auto",
    barren: bool = False,
) -> VoiResult:
    """Score every candidate question against every cause with one batched propagation.

    ``likelihoods`` holds the current evidence as in :meth:`JunctionTree.propagate`, each array of
    shape ``(batch_evidence, card)`` or ``(1, card)``. With ``clamp="causes"`` the propagation runs
    ``batch_evidence * (1 + Σ_i (card_i - 1))`` rows (variables observed in every evidence set are left
    out); ``"candidates"`` clamps the questions instead, ``"auto"`` takes the smaller batch. A cause
    with hard evidence in a row contributes zero there, and so does an observed question.
    ``barren`` is passed on to :meth:`JunctionTree.propagate`.
    """
    plan = plan_gains(tree, likelihoods, batch_evidence, causes=causes, candidates=candidates, clamp=clamp,
                      barren=barren)
    return gains_from(plan, tree.propagate(plan.likelihoods, plan.batch, plan.targets, barren=barren))


def plan_gains(
    tree: JunctionTree,
    likelihoods: Mapping[str, ArrayLike],
    batch_evidence: int = 1,
    *,
    causes: Sequence[str],
    candidates: Sequence[str],
    clamp: Literal["auto", "causes", "candidates"] = "auto",
    barren: bool = False,
) -> GainsPlan:
    """The rows :func:`mutual_information_gains` propagates (same arguments), not yet propagated."""
    if batch_evidence < 1:
        raise ValueError("batch_evidence must be at least 1")
    cause_ids = [tree._variable(c) for c in dict.fromkeys(causes)]
    candidate_ids = [tree._variable(q) for q in dict.fromkeys(candidates)]
    evidence = _validate(tree, likelihoods, batch_evidence)
    cards = [tree.cardinality(n) for n in tree.names]

    def free(ids: list[int]) -> list[int]:
        return [v for v in ids if not evidence.observed(v).all()]

    if clamp == "auto":
        rows_causes = sum(cards[v] - 1 for v in free(cause_ids))
        rows_candidates = sum(cards[v] - 1 for v in free(candidate_ids))
        clamp = "candidates" if rows_candidates < rows_causes else "causes"
    targets = frozenset(candidate_ids) | frozenset(cause_ids)
    side, other = (cause_ids, candidate_ids) if clamp == "causes" else (candidate_ids, cause_ids)
    lams, batch, n_var, layout, reference = _clamped_rows(tree, evidence, free(side))
    return GainsPlan(tree=tree, evidence=evidence, cause_ids=cause_ids, candidate_ids=candidate_ids, clamp=clamp,
                     side=side, other=other, n_var=n_var, layout=layout, reference=reference,
                     likelihoods={tree.names[v]: lam for v, lam in lams.items()}, batch=batch,
                     targets=[tree.names[v] for v in sorted(targets)], barren=barren)


def gains_from(plan: GainsPlan, propagated: Result) -> VoiResult:
    """The scores of a :class:`GainsPlan` from the propagation of its rows."""
    tree, evidence, barren = plan.tree, plan.evidence, plan.barren
    cause_ids, candidate_ids, side, other, clamp = plan.cause_ids, plan.candidate_ids, plan.side, plan.other, plan.clamp
    cards = [tree.cardinality(n) for n in tree.names]
    run = _Clamped(result=propagated, n_var=plan.n_var, layout=plan.layout, reference=plan.reference)
    n_ev, n_var = evidence.n_ev, run.n_var

    impossible = run.result.impossible.reshape(n_ev, n_var)[:, 0] | np.isneginf(evidence.log_offset)
    log_evidence = np.where(
        impossible, -np.inf, run.result.log_evidence.reshape(n_ev, n_var)[:, 0] + evidence.log_offset
    )
    keep = ~impossible

    def posterior_rows(v: int) -> FloatArray:
        rows = run.result.marginals[tree.names[v]].reshape(n_ev, n_var, cards[v])
        return np.asarray(rows * keep[:, None, None], dtype=np.float64)

    # mutual[e, i, j] = I(side_i; other_j | e); tables[v] = (P(other | v = k, e) table, index in it)
    mutual, tables, refits = _pairwise(n_ev, run, side, other, cards, posterior_rows)
    if clamp == "candidates":
        mutual = mutual.transpose(0, 2, 1)
    for i, c in enumerate(cause_ids):
        mutual[evidence.observed(c), i] = 0.0
    for j, q in enumerate(candidate_ids):
        mutual[evidence.observed(q), :, j] = 0.0

    q_pos = {tree.names[q]: j for j, q in enumerate(candidate_ids)}
    c_pos = {tree.names[c]: i for i, c in enumerate(cause_ids)}
    if clamp == "causes":

        def conditional_of(q: str, c: str) -> FloatArray:
            table, g = tables[cause_ids[c_pos[c]]]
            j = q_pos[q]
            return table[:, g, :, j, : cards[candidate_ids[j]]]

        if refits:
            _clamp_references(tree, evidence, refits, run.reference, candidate_ids, conditional_of, barren)
        conditional: Mapping[str, Mapping[str, FloatArray]] = _Lazy(
            q_pos, lambda q: _Lazy(c_pos, lambda c: conditional_of(q, c))
        )
    else:
        conditional = _OnDemandConditionals(tree, evidence, candidate_ids, cause_ids, keep, barren)

    gains = mutual.sum(axis=1)
    answers = {tree.names[q]: posterior_rows(q)[:, 0] for q in candidate_ids}
    return VoiResult(
        causes=tuple(c_pos),
        candidates=tuple(q_pos),
        gain={q: gains[:, j] for q, j in q_pos.items()},
        mutual_information=_Lazy(q_pos, lambda q: _Lazy(c_pos, lambda c: mutual[:, c_pos[c], q_pos[q]])),
        answer_probs=answers,
        cause_probs={tree.names[c]: posterior_rows(c)[:, 0] for c in cause_ids},
        conditional=conditional,
        log_evidence=log_evidence,
        impossible=impossible,
        clamped=clamp,
    )


def _validate(tree: JunctionTree, likelihoods: Mapping[str, ArrayLike], n_ev: int) -> _Evidence:
    lams, log_offset = tree.scaled_likelihoods(likelihoods, n_ev)
    return _Evidence(n_ev=n_ev, lams=lams, log_offset=log_offset)


def _clamped_rows(
    tree: JunctionTree, evidence: _Evidence, clamped: list[int]
) -> tuple[dict[int, FloatArray], int, int, dict[int, list[tuple[int, int]]], dict[int, int]]:
    """The one batch: evidence sets × (base row + one row per clamped non-reference state).

    Returns the likelihood rows by variable index, the batch size, the rows per evidence set, which
    row clamps which state, and each clamped variable's reference state.
    """
    n_ev = evidence.n_ev
    reference = {v: int(np.argmax(tree.prior_marginals[v])) for v in clamped}
    layout: dict[int, list[tuple[int, int]]] = {}
    n_var = 1
    for v in clamped:
        layout[v] = []
        for k in range(tree.cardinality(tree.names[v])):
            if k != reference[v]:
                layout[v].append((k, n_var))
                n_var += 1
    batch = n_ev * n_var
    lams: dict[int, FloatArray] = {}
    for v, lam in evidence.lams.items():
        if v not in layout:
            # shared rows stay (1, card): the propagation then does their work once, not per row
            lams[v] = lam if lam.shape[0] == 1 else np.repeat(lam, n_var, axis=0)
    for v, states in layout.items():
        card = tree.cardinality(tree.names[v])
        rows = np.ones((n_var, card))
        for k, r in states:
            rows[r] = 0.0
            rows[r, k] = 1.0
        own = evidence.lams.get(v)
        full = rows[None] if own is None else rows[None] * own[:, None, :]
        lams[v] = np.broadcast_to(full, (n_ev, n_var, card)).reshape(batch, card)
    return lams, batch, n_var, layout, reference


def _pairwise(
    n_ev: int,
    run: _Clamped,
    side: list[int],
    other: list[int],
    cards: list[int],
    posterior_rows: Callable[[int], FloatArray],
) -> tuple[FloatArray, dict[int, tuple[FloatArray, int]], list[tuple[int, int]]]:
    """``I(X; Y | e)`` for every clamped-side ``X`` and read-side ``Y``, plus ``P(Y | X = k, e)`` tables.

    Variables are grouped by cardinality and the read side is padded to a common cardinality, so
    each group is a handful of numpy calls whatever the number of pairs. Returns the mutual
    information ``(E, n_side, n_other)``, the conditional table of each side variable, and the
    (evidence set, variable) pairs whose reference state is too improbable for the subtraction.
    """
    n_o = len(other)
    o_max = max((cards[y] for y in other), default=1)
    answers = np.zeros((n_ev, run.n_var, n_o, o_max))
    for j, y in enumerate(other):
        answers[:, :, j, : cards[y]] = posterior_rows(y)
    p_other = answers[:, 0]
    mutual = np.zeros((n_ev, len(side), n_o))
    tables: dict[int, tuple[FloatArray, int]] = {}
    refits: list[tuple[int, int]] = []
    by_card: dict[int, list[int]] = {}
    for i, x in enumerate(side):
        by_card.setdefault(cards[x], []).append(i)
    for kx, members in by_card.items():
        group = [side[i] for i in members]
        px = np.stack([posterior_rows(x)[:, 0] for x in group], axis=1)  # (E, n_g, kx)
        rows = np.zeros((len(group), kx), dtype=np.intp)
        is_ref = np.zeros((len(group), kx), dtype=bool)
        for g, x in enumerate(group):
            # a variable observed in every evidence set was not clamped: all its states read row 0,
            # and only the observed state has P(x = k | e) > 0, so P(Y | x = obs, e) = P(Y | e)
            if x in run.layout:
                is_ref[g, run.reference[x]] = True
                for k, r in run.layout[x]:
                    rows[g, k] = r
        ref5 = is_ref[None, :, :, None, None]
        cond = answers[:, rows]  # (E, n_g, kx, n_o, o_max); reference entries hold P(Y | e) for now
        joint = np.where(ref5, 0.0, px[..., None, None] * cond)
        p_ref = np.where(is_ref[None], px, 0.0)[..., None, None]
        rest = np.clip(p_other[:, None] - joint.sum(axis=2), 0.0, None)[:, :, None]
        ref_joint = np.where(ref5, np.minimum(rest, p_ref), 0.0)
        joint += ref_joint
        ref_cond = np.divide(ref_joint, p_ref, out=np.zeros_like(ref_joint), where=p_ref > 0)
        cond = np.where(ref5, ref_cond, cond)
        cond = np.where(px[..., None, None] > 0, cond, 0.0)
        mutual[:, members] = _mutual_information(joint, px, p_other)
        for g, x in enumerate(group):
            tables[x] = (cond, g)
            if x in run.layout:
                p = px[:, g, run.reference[x]]
                refits.extend((int(e), x) for e in np.flatnonzero((p > 0) & (p < REFERENCE_CLAMP_THRESHOLD)))
    return mutual, tables, refits


def _mutual_information(joint: FloatArray, px: FloatArray, py: FloatArray) -> FloatArray:
    """``I(X; Y)`` in bits, with ``0 log 0 = 0``.

    ``joint`` is ``(E, n_x, kx, n_y, ky)``, ``px`` ``(E, n_x, kx)``, ``py`` ``(E, n_y, ky)``; the
    result is ``(E, n_x, n_y)``, clipped at zero against rounding.
    """
    outer = px[:, :, :, None, None] * py[:, None, None]
    ratio = np.divide(joint, outer, out=np.ones_like(joint), where=(joint > 0) & (outer > 0))
    terms = joint * np.log2(ratio)
    return np.maximum(terms.sum(axis=(2, 4)), 0.0)


def _clamp_references(
    tree: JunctionTree,
    evidence: _Evidence,
    refits: list[tuple[int, int]],
    reference: Mapping[int, int],
    candidate_ids: list[int],
    conditional_of: Callable[[str, str], FloatArray],
    barren: bool,
) -> None:
    """Exact ``P(Q | C = ref, e)`` for the few (evidence set, cause) pairs where ``P(ref | e)`` is tiny."""
    n = len(refits)
    rows = [e for e, _ in refits]
    lams: dict[int, FloatArray] = {
        v: np.repeat(lam, n, axis=0) if lam.shape[0] == 1 else lam[rows] for v, lam in evidence.lams.items()
    }
    for row, (_, c) in enumerate(refits):
        if c not in lams:
            lams[c] = np.ones((n, tree.cardinality(tree.names[c])))
        clamp = np.zeros(lams[c].shape[1])
        clamp[reference[c]] = 1.0
        lams[c][row] *= clamp
    result = tree._propagate_indexed(lams, n, frozenset(candidate_ids), barren=barren)
    for row, (e, c) in enumerate(refits):
        for q in candidate_ids:
            qname = tree.names[q]
            conditional_of(qname, tree.names[c])[e, reference[c]] = result.marginals[qname][row]


class _OnDemandConditionals(Mapping[str, Mapping[str, FloatArray]]):
    """``P(Q | C = k, e)`` when the batch clamped the questions: one exact propagation per cause, on access.

    Clamping every state of the cause (no reference state) keeps it exact however improbable a state
    is; the result for one cause serves every question and is cached.
    """

    def __init__(
        self,
        tree: JunctionTree,
        evidence: _Evidence,
        candidate_ids: list[int],
        cause_ids: list[int],
        keep: BoolArray,
        barren: bool,
    ) -> None:
        self._tree = tree
        self._barren = barren
        self._evidence = evidence
        self._candidates = {tree.names[q]: q for q in candidate_ids}
        self._causes = {tree.names[c]: c for c in cause_ids}
        self._keep = keep
        self._cache: dict[str, dict[str, FloatArray]] = {}

    def _for_cause(self, cname: str) -> dict[str, FloatArray]:
        if cname not in self._cache:
            tree, ev = self._tree, self._evidence
            c = self._causes[cname]
            card, n_ev = tree.cardinality(cname), ev.n_ev
            lams = {v: lam if lam.shape[0] == 1 else np.repeat(lam, card, axis=0) for v, lam in ev.lams.items()}
            own = ev.lams.get(c, np.ones((1, card)))
            lams[c] = np.broadcast_to(np.eye(card)[None] * own[:, None, :], (n_ev, card, card)).reshape(-1, card)
            result = tree._propagate_indexed(
                lams, n_ev * card, frozenset(self._candidates.values()), barren=self._barren
            )
            self._cache[cname] = {
                q: result.marginals[q].reshape(n_ev, card, -1) * self._keep[:, None, None] for q in self._candidates
            }
        return self._cache[cname]

    def __getitem__(self, q: str) -> Mapping[str, FloatArray]:
        if q not in self._candidates:
            raise KeyError(q)
        return _Lazy({c: 0 for c in self._causes}, lambda c: self._for_cause(c)[q])

    def __iter__(self) -> Iterator[str]:
        return iter(self._candidates)

    def __len__(self) -> int:
        return len(self._candidates)
