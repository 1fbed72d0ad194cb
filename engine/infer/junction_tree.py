"""Exact, batched junction-tree (Hugin) inference on plain numpy.

Why a junction tree of our own instead of pgmpy or pyAgrum at run time: the troubleshooting loop asks
the *same* network many closely related questions (the current evidence, and that evidence with one
cause clamped to each of its states, for value of information). A compiled tree lets all of those run
as one numpy propagation with a leading batch axis, so the Python overhead is paid once per clique
instead of once per query, and nothing heavier than numpy is imported on the serving path.

Design, and why:

* Variables keep the network's topological order as a *global order*; every clique, separator and
  potential lists its variables in that order. A separator is then a subsequence of both cliques, so a
  message is moved into a clique by ``reshape`` (a view) plus broadcasting, and summed out of a clique
  by adding slices; no transposes or einsum strings on the hot path. numpy's own ``sum(axis=...)``
  and broadcasting crawl over many short axes, so sums add slices (``_sum_out``) and broadcasts with a
  short innermost run gather through a cached index (``_expansion_index``): 42 ms to 18 ms for a
  next-question step on the mail pack with its complaint observed.
* Every directed message of the *evidence-free* network (the "prior" messages) is computed once at
  compile time. A query then only propagates over the smallest subtree connecting the cliques that
  hold evidence or targets, and everything hanging off that subtree is a cached constant. This is
  barren-node and irrelevant-subtree pruning for free: a subtree with no evidence contributes a known
  message (all ones when it only holds barren variables) and is never touched at query time.
* That pruning cannot shrink a big clique that merely *contains* barren variables, so
  ``propagate(..., barren=True)`` can also run the query on a tree compiled for the ancestral set of
  evidence and targets (cached per set): exact, because barren CPTs sum out to one.
* The hot loop works on ``(batch, *clique)`` tables, but a factor that is the same for every row
  (shared evidence, cached messages) keeps a batch axis of length one, so the work it feeds is done
  once for the whole batch.
* Messages are rescaled to a maximum of one per batch row and the log scales are summed, so
  ``log P(e)`` is exact on networks of a thousand nodes where the raw product would underflow.
* Rows whose evidence has probability zero are detected by an all-zero message or root sum, flagged in
  ``Result.impossible`` and get all-zero marginals; divisions are guarded, so no numpy warning escapes.
* A childless binary variable whose CPT factorises over its parents in one state (a noisy-OR
  leaf: P(absent | parents) = c Π_i g_i(x_i)) can be compiled *out* of the tree (``factorised``).
  Its evidence is then exact without marrying its parents: f(x) = λ_p + (λ_a - λ_p) c Π g_i(x_i), so
  every query runs as two rows, one as is and one with g_i as soft evidence on each parent, and the
  two are combined (the positive-finding step of Heckerman's Quickscore). On the mail pack the
  always-observed complaint node married nine mechanisms and carried the tree from 28,556 to
  193,212 entries.
* The compiled tree is saved as ``.npz`` (arrays, loaded with ``allow_pickle=False``) plus ``.json``
  (structure); loading needs numpy only.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.model.network import DiscreteNetwork

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FORMAT_VERSION = 3
# CPT rows are renormalised at compile time, but a row further than this from summing to one is
# treated as a modelling error rather than rounding in a BIF file.
CPT_ROW_TOLERANCE = 1e-3
# A cached prior message this close to all-ones is treated as exactly one and skipped.
UNIT_TOLERANCE = 1e-12
ZERO_EVIDENCE = 1e-12
"""A factorised leaf's two rows that cancel to within this share of the larger say P(e) = 0: below
it their difference is rounding, not probability (on the mail pack the complaint's leak keeps the
share above 0.1)."""
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
RESTRICTED_TREES = 32
"""Barren-pruned sub-trees kept per tree: a diagnosis turn touches three or four kept sets, and a
handful of recent turns is what recurs; each is small (the mail pack's are 2-40k entries)."""
SCHEDULE_BYTES = 256 * 1024 * 1024
"""Memory the cached query schedules of all trees together may hold (their static tables), least
recently used out first. A schedule depends on which variables are evidence and targets, so every
evidence shape of a diagnosis turn has its own, on the pack's tree, its pruned sub-trees and its fix
twins; on the mail pack one on the full tree holds about 0.6 MB and one on a twin about 1.6 MB, and
rebuilding one costs milliseconds, so the budget keeps the shapes of many recent turns."""
SCHEDULES = 16384
"""At most this many schedules in all, whatever their size (small sub-trees have tiny ones)."""

ScheduleKey = tuple[frozenset[int], frozenset[int], bool]


class _ScheduleCache:
    """Recency and size of every tree's cached schedules, under one lock.

    One budget for all trees, because a server holds many (the model, its sub-trees, a twin per
    fix): a budget per tree would multiply with their number. A tree keeps its own schedules; this
    keeps the order in which any of them was last used and evicts from whichever tree owns the
    oldest. A tree that was dropped leaves entries whose weak reference is dead; they count until
    they are the oldest, then go.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.order: OrderedDict[tuple[int, ScheduleKey], tuple[weakref.ref[JunctionTree], int]] = OrderedDict()
        self.bytes = 0
        self.tokens = itertools.count()

    def evict(self) -> None:
        """Drop the least recently used schedules past the budgets (the caller holds the lock)."""
        while len(self.order) > 1 and (self.bytes > SCHEDULE_BYTES or len(self.order) > SCHEDULES):
            (_, key), (owner, size) = self.order.popitem(last=False)
            self.bytes -= size
            tree = owner()
            if tree is not None:
                tree._schedules.pop(key, None)


_schedule_cache = _ScheduleCache()


def schedule_cache_bytes() -> int:
    """Memory the cached schedules of all trees hold now, as the budget counts it."""
    with _schedule_cache.lock:
        return _schedule_cache.bytes

Edge = tuple[int, int]


@dataclass(frozen=True)
class Result:
    """Posteriors for one batched propagation.

    ``log_evidence[b]`` is ``log P(e_b)`` (natural log, ``-inf`` for impossible rows); the likelihood
    vectors are taken as given, so with soft evidence it is ``log Σ_x P(x) Π_v λ_v(x_v)``.
    """

    log_evidence: FloatArray
    impossible: BoolArray
    marginals: Mapping[str, FloatArray]

    @property
    def targets(self) -> tuple[str, ...]:
        """The variables whose marginals were computed."""
        return tuple(self.marginals)

    def marginal(self, name: str) -> FloatArray:
        """``P(name | e)`` with shape ``(batch, cardinality)``; all-zero rows where ``impossible``."""
        try:
            return self.marginals[name]
        except KeyError:
            raise KeyError(f"{name!r} was not a target of this propagation") from None


@dataclass
class _CollectStep:
    """Inward pass at one clique: static table × evidence × child messages, then sum to the parent."""

    clique: int
    static: FloatArray
    evidence: list[tuple[int, tuple[int, ...]]]
    children: list[tuple[int, tuple[int, ...]]]
    sum_axes: tuple[int, ...] | None  # None for the root
    keep: bool


@dataclass
class _DistributeStep:
    """Outward (Hugin) pass into one clique: parent's separator marginal over the inward message."""

    clique: int
    parent: int
    sum_axes: tuple[int, ...]
    tail: tuple[int, ...]
    prior_message: FloatArray | None  # the cached collect message when it was not recomputed
    prior_positive: bool
    targets: list[tuple[int, tuple[int, ...]]]
    release_parent: bool


@dataclass
class _Readout:
    """Target marginals of an evidence-free subtree that hangs off one parent clique.

    Without evidence below, every outward step into the subtree (``static × msg / old``, then sums)
    is linear in the message from the parent, so each target's marginal is that separator marginal
    times a fixed matrix (in exact terms ``P(v | e) = Σ_s P(s | e) P(v | s)``). All the subtree's
    targets are read by one product with the matrices side by side, instead of four numpy calls per
    clique (on the mail pack, 110 of the 180 outward steps of a look-ahead).
    """

    sum_axes: tuple[int, ...]  # axes of the parent's belief summed out to reach the separator
    matrix: FloatArray  # (separator states, total target states)
    columns: list[tuple[int, int, int]]  # (variable, first column, end column)


@dataclass
class _Schedule:
    """Everything about a query that depends only on *which* variables are evidence and targets.

    Built once per query shape and cached, so repeated steps of a troubleshooting session pay only the
    numpy work.
    """

    root: int
    collect: list[_CollectStep]
    distribute: list[_DistributeStep]
    root_targets: list[tuple[int, tuple[int, ...]]]
    static: dict[int, FloatArray]
    const_log: float
    readouts: dict[int, list[_Readout]]
    """The read-outs of evidence-free subtrees by the clique they hang off, run as soon as that
    clique's belief is final."""
    bytes_per_row: int
    owned_bytes: int
    """Memory of the static tables this schedule made (views of the tree's potentials are free)."""


@dataclass
class _EdgePlan:
    """Precomputed axes and broadcast shape for one directed tree edge."""

    separator: tuple[int, ...]
    sum_axes: tuple[int, ...]  # axes of the sending clique (batch axis = 0) that are summed out
    tail: tuple[int, ...]  # broadcast shape (without batch) of the message inside the receiving clique


class TreeTooLarge(ValueError):
    """The triangulated network needs more potential entries than the caller allows."""

    def __init__(self, entries: int, limit: int) -> None:
        super().__init__(f"the junction tree would hold {entries} entries; the limit is {limit}")
        self.entries = entries
        self.limit = limit


@dataclass
class JunctionTree:
    """A compiled junction tree; build with :meth:`compile` or :meth:`load`."""

    names: tuple[str, ...]
    states: tuple[tuple[str, ...], ...]
    cliques: tuple[tuple[int, ...], ...]
    edges: tuple[Edge, ...]
    potentials: tuple[FloatArray, ...]
    home: tuple[int, ...]
    families: tuple[tuple[int, ...], ...]
    cpts: tuple[FloatArray, ...]
    prior_messages: dict[Edge, FloatArray]
    prior_log_scales: dict[Edge, float]
    prior_marginals: tuple[FloatArray, ...]
    _index: dict[str, int] = field(init=False, repr=False)
    _cards: tuple[int, ...] = field(init=False, repr=False)
    _neighbors: tuple[tuple[int, ...], ...] = field(init=False, repr=False)
    _plans: dict[Edge, _EdgePlan] = field(init=False, repr=False)
    _unit: dict[Edge, bool] = field(init=False, repr=False)
    _positive: dict[Edge, bool] = field(init=False, repr=False)
    _schedules: dict[ScheduleKey, _Schedule] = field(init=False, repr=False)
    _token: int = field(init=False, repr=False)
    _restricted: dict[frozenset[int], JunctionTree] = field(init=False, repr=False)
    _restricted_lock: threading.Lock = field(init=False, repr=False)
    _quiet_leaves: tuple[int, ...] = field(init=False, repr=False)
    _factorised: dict[int, _FactorisedLeaf] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {n: i for i, n in enumerate(self.names)}
        self._cards = tuple(len(s) for s in self.states)
        neighbors: list[list[int]] = [[] for _ in self.cliques]
        for a, b in self.edges:
            neighbors[a].append(b)
            neighbors[b].append(a)
        self._neighbors = tuple(tuple(sorted(n)) for n in neighbors)
        self._plans = {}
        for a, b in self.edges:
            for src, dst in ((a, b), (b, a)):
                sep = tuple(sorted(set(self.cliques[src]) & set(self.cliques[dst])))
                self._plans[(src, dst)] = _EdgePlan(
                    separator=sep,
                    sum_axes=tuple(1 + k for k, v in enumerate(self.cliques[src]) if v not in sep),
                    tail=tuple(self._cards[v] if v in sep else 1 for v in self.cliques[dst]),
                )
        self._unit = {
            e: bool(abs(self.prior_log_scales[e]) <= UNIT_TOLERANCE and np.all(np.abs(m - 1.0) <= UNIT_TOLERANCE))
            for e, m in self.prior_messages.items()
        }
        self._positive = {e: bool(np.all(m > 0)) for e, m in self.prior_messages.items()}
        self._schedules = {}
        self._token = next(_schedule_cache.tokens)
        self._restricted = {}
        self._restricted_lock = threading.Lock()
        has_children = {p for family in self.families for p in family[:-1]}
        self._quiet_leaves = tuple(v for v, family in enumerate(self.families)
                                   if v not in has_children and len(family) <= 2 and self.home[v] >= 0)
        self._factorised = {v: _factorised_leaf(self.names[v], self.families[v], self.cpts[v])
                            for v, home in enumerate(self.home) if home < 0}

    # ------------------------------------------------------------------ introspection

    def cardinality(self, name: str) -> int:
        return self._cards[self._index[name]]

    def clique_names(self) -> list[tuple[str, ...]]:
        return [tuple(self.names[v] for v in c) for c in self.cliques]

    @property
    def total_size(self) -> int:
        """Number of float64 entries over all clique potentials (what one batch row costs)."""
        return sum(int(p.size) for p in self.potentials)

    @property
    def nbytes(self) -> int:
        """Memory held by the compiled arrays (potentials, cached messages, CPTs, prior marginals)."""
        arrays = [*self.potentials, *self.prior_messages.values(), *self.cpts, *self.prior_marginals]
        return sum(int(a.nbytes) for a in arrays)

    @property
    def max_clique_size(self) -> int:
        return max(int(p.size) for p in self.potentials)

    def prior_marginal(self, name: str) -> FloatArray:
        """``P(name)`` without evidence, computed at compile time."""
        return self.prior_marginals[self._index[name]]

    # ------------------------------------------------------------------ compilation

    @classmethod
    def compile(cls, network: DiscreteNetwork, max_entries: int | None = None,
                factorised: Iterable[str] = ()) -> JunctionTree:
        """Moralise, triangulate (min-fill, ties by min-weight), build the tree and its cached messages.

        With ``max_entries``, a tree whose potentials would hold more entries raises
        :class:`TreeTooLarge` after triangulation and before anything is allocated. ``factorised``
        names childless variables to keep out of the cliques (see the module docstring); a name
        whose CPT does not factorise raises ``ValueError``.
        """
        names = tuple(network.names)
        if not names:
            raise ValueError("cannot compile an empty network")
        index = {n: i for i, n in enumerate(names)}
        families = tuple((*(index[p] for p in var.parents), index[var.name]) for var in network.variables.values())
        cpts = tuple(_normalised_cpt(var.name, var.cpt) for var in network.variables.values())
        outside = frozenset(index[n] for n in factorised)
        for name in factorised:
            _factorisation(network, name)  # raises when the variable cannot be compiled out
        return cls._build(names, tuple(network.variables[n].states for n in names), families, cpts, max_entries,
                          outside)

    @classmethod
    def _build(
        cls,
        names: tuple[str, ...],
        states: tuple[tuple[str, ...], ...],
        families: tuple[tuple[int, ...], ...],
        cpts: tuple[FloatArray, ...],
        max_entries: int | None = None,
        factorised: frozenset[int] = frozenset(),
    ) -> JunctionTree:
        """Compile from families (parents then child, global indices) and row-normalised CPTs;
        ``factorised`` variables (indices) stay out of every clique, with a home of -1.

        The maximum spanning tree over separator sizes is a small Kruskal here rather than networkx,
        so that barren-pruned sub-trees can be compiled at query time from a loaded tree.
        """
        cards = tuple(len(s) for s in states)
        adjacency: list[set[int]] = [set() for _ in names]
        for fam in families:
            if fam[-1] in factorised:
                continue
            for a in fam:
                adjacency[a].update(b for b in fam if b != a)
        cliques = [c for c in _triangulate(adjacency, cards) if not (len(c) == 1 and c[0] in factorised)]
        edges = _spanning_tree(cliques)
        sizes = [math.prod(cards[v] for v in c) for c in cliques]
        if max_entries is not None and sum(sizes) > max_entries:
            raise TreeTooLarge(sum(sizes), max_entries)
        holders: list[set[int]] = [set() for _ in names]
        for ci, clique in enumerate(cliques):
            for v in clique:
                holders[v].add(ci)

        def smallest_holding(vars_: Iterable[int]) -> int:
            return min(set.intersection(*(holders[v] for v in vars_)), key=lambda ci: (sizes[ci], ci))

        potentials = [np.ones(tuple(cards[v] for v in c)) for c in cliques]
        for fam, cpt in zip(families, cpts, strict=True):
            if fam[-1] in factorised:
                continue
            ci = smallest_holding(fam)
            order = sorted(range(len(fam)), key=lambda k: fam[k])
            shape = tuple(cards[v] if v in fam else 1 for v in cliques[ci])
            potentials[ci] *= cpt.transpose(order).reshape(shape)
        tree = cls(
            names=names,
            states=states,
            cliques=tuple(cliques),
            edges=tuple(edges),
            potentials=tuple(potentials),
            home=tuple(-1 if v in factorised else smallest_holding([v]) for v in range(len(names))),
            families=families,
            cpts=cpts,
            prior_messages={},
            prior_log_scales={},
            prior_marginals=(),
        )
        tree._compute_priors()
        return tree

    def _compute_priors(self) -> None:
        """Shafer-Shenoy pass without evidence: every directed message, normalised, with its log scale.

        Direct products (no division) keep zeros exact; this runs once per compile, so the
        quadratic cost in a clique's degree does not matter.
        """
        root = max(range(len(self.cliques)), key=lambda c: (self.potentials[c].size, -c))
        order, parent = self._bfs(root, None)
        messages: dict[Edge, FloatArray] = {}
        scales: dict[Edge, float] = {}

        def send(src: int, dst: int) -> None:
            belief = self.potentials[src].copy()
            log_scale = 0.0
            for k in self._neighbors[src]:
                if k != dst:
                    belief *= messages[(k, src)].reshape(self._plans[(k, src)].tail)
                    log_scale += scales[(k, src)]
            axes = tuple(a - 1 for a in self._plans[(src, dst)].sum_axes)
            msg = _sum_out(belief, axes)
            peak = float(msg.max()) if msg.size else 0.0
            if peak <= 0.0:
                raise ValueError("the network assigns probability zero to everything (check the CPTs)")
            messages[(src, dst)] = msg / peak
            scales[(src, dst)] = log_scale + math.log(peak)

        for c in reversed(order):
            if parent[c] >= 0:
                send(c, parent[c])
        for c in order:
            if parent[c] >= 0:
                send(parent[c], c)
        self.prior_messages.update(messages)
        self.prior_log_scales.update(scales)

        marginals: list[FloatArray] = []
        for v, ci in enumerate(self.home):
            if ci < 0:  # factorised out: filled in below, once the tree can propagate
                marginals.append(np.full(len(self.states[v]), 1.0 / len(self.states[v])))
                continue
            belief = self.potentials[ci].copy()
            for k in self._neighbors[ci]:
                belief *= messages[(k, ci)].reshape(self._plans[(k, ci)].tail)
            axes = tuple(a for a, u in enumerate(self.cliques[ci]) if u != v)
            marg = _sum_out(belief, axes)
            marginals.append(marg / marg.sum())
        self.prior_marginals = tuple(marginals)
        self.__post_init__()
        for v in self._factorised:
            marginals[v] = self._propagate_indexed({}, 1, frozenset({v})).marginals[self.names[v]][0]
        self.prior_marginals = tuple(marginals)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> None:
        """Write ``<path>.npz`` (arrays) and ``<path>.json`` (structure); no pickle anywhere.

        Potentials, messages and CPTs are each packed into one flat array (shapes in the JSON): a
        twin network has thousands of small arrays, and reading them one npz member at a time
        dominated the start-up of a process.
        """
        base = Path(path)
        messages = list(self.prior_messages.items())
        groups = {
            "potentials": list(self.potentials),
            "messages": [msg for _, msg in messages],
            "cpts": list(self.cpts),
            "prior_marginals": list(self.prior_marginals),
        }
        arrays = {name: _pack(items) for name, items in groups.items()}
        np.savez(base.with_name(base.name + ".npz"), allow_pickle=False, **arrays)
        structure = {
            "format": FORMAT_VERSION,
            "names": list(self.names),
            "states": [list(s) for s in self.states],
            "cliques": [list(c) for c in self.cliques],
            "edges": [list(e) for e in self.edges],
            "home": list(self.home),
            "families": [list(f) for f in self.families],
            "message_edges": [list(e) for e, _ in messages],
            "prior_log_scales": [[a, b, s] for (a, b), s in self.prior_log_scales.items()],
            "shapes": {name: [list(item.shape) for item in items] for name, items in groups.items()},
        }
        base.with_name(base.name + ".json").write_text(json.dumps(structure))

    @classmethod
    def load(cls, path: str | Path) -> JunctionTree:
        """Restore a tree written by :meth:`save` (numpy only: no networkx, no pgmpy)."""
        base = Path(path)
        structure = json.loads(base.with_name(base.name + ".json").read_text())
        if structure.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported junction tree format {structure.get('format')!r}")
        with np.load(base.with_name(base.name + ".npz"), allow_pickle=False) as data:
            unpacked = {name: _unpack(np.asarray(data[name], dtype=np.float64), shapes)
                        for name, shapes in structure["shapes"].items()}
        edges = [(int(a), int(b)) for a, b in structure["message_edges"]]
        return cls(
            names=tuple(str(n) for n in structure["names"]),
            states=tuple(tuple(str(s) for s in st) for st in structure["states"]),
            cliques=tuple(tuple(int(v) for v in c) for c in structure["cliques"]),
            edges=tuple((int(a), int(b)) for a, b in structure["edges"]),
            potentials=tuple(unpacked["potentials"]),
            home=tuple(int(h) for h in structure["home"]),
            families=tuple(tuple(int(v) for v in f) for f in structure["families"]),
            cpts=tuple(unpacked["cpts"]),
            prior_messages=dict(zip(edges, unpacked["messages"], strict=True)),
            prior_log_scales={(int(a), int(b)): float(s) for a, b, s in structure["prior_log_scales"]},
            prior_marginals=tuple(unpacked["prior_marginals"]),
        )

    # ------------------------------------------------------------------ propagation

    def propagate(
        self,
        likelihoods: Mapping[str, ArrayLike],
        batch: int,
        targets: Iterable[str] | None = None,
        *,
        prune: bool = True,
        barren: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> Result:
        """Posterior marginals and ``log P(e)`` for ``batch`` evidence sets at once.

        ``likelihoods[name]`` has shape ``(batch, card)`` (one-hot row = hard evidence, any
        non-negative row = soft evidence) or ``(1, card)`` to share one row across the batch, which is
        cheaper: work that depends only on shared rows is done once. Variables absent from the mapping
        are unobserved. ``targets`` restricts which marginals are computed (default: all variables).
        ``prune=False`` forces a full two-pass propagation over every clique, without the cached
        prior messages; it exists to check the pruned path against the textbook one.
        ``barren=True`` drops every variable that is neither evidence, target nor an ancestor of one
        (barren: it sums out to one), except childless ones with at most one kept parent, which cost
        nothing (see ``_with_quiet_leaves``), and runs on a junction tree compiled for the rest. That tree is
        cached per kept set, so it pays when the same query shape comes back, and when the barren part
        sits inside big cliques that the Steiner-subtree pruning alone cannot shrink (MUNIN).
        Batches whose clique tables exceed ``max_bytes`` are split into chunks.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        lams, log_offset = self.scaled_likelihoods(likelihoods, batch)
        target_ids = (
            frozenset(range(len(self.names))) if targets is None else frozenset(self._variable(t) for t in targets)
        )
        result = self._propagate_indexed(lams, batch, target_ids, prune=prune, barren=barren, max_bytes=max_bytes)
        impossible = result.impossible | np.isneginf(log_offset)
        log_evidence = np.where(impossible, -np.inf, result.log_evidence + np.where(impossible, 0.0, log_offset))
        if impossible.any():
            for m in result.marginals.values():
                m[impossible] = 0.0
        return Result(log_evidence=log_evidence, impossible=impossible, marginals=result.marginals)

    def propagate_together(
        self,
        parts: Iterable[tuple[Mapping[str, ArrayLike], int]],
        targets: Iterable[str],
        *,
        barren: bool = False,
    ) -> list[Result]:
        """Several batches (``(likelihoods, batch)`` as for :meth:`propagate`) in one propagation.

        Rows that two batches share (the next-question look-ahead and value of information both
        clamp the leading causes, for one) are propagated once. Each part's :class:`Result` is the
        one :meth:`propagate` would give it, except that it carries the marginals of every target.
        A row's figures never depend on the other rows of its batch, so merging is exact.
        """
        work = [(likelihoods, batch) for likelihoods, batch in parts]
        if any(batch < 1 for _, batch in work):
            raise ValueError("batch must be at least 1")
        names = list(dict.fromkeys(name for likelihoods, _ in work for name in likelihoods))
        total = sum(batch for _, batch in work)
        columns = []
        for name in names:
            card = self._cards[self._variable(name)]
            stacked = []
            for likelihoods, batch in work:
                raw = likelihoods.get(name)
                rows = np.ones((1, card)) if raw is None else np.asarray(raw, dtype=np.float64)
                if rows.ndim != 2 or rows.shape[1] != card or rows.shape[0] not in (1, batch):
                    raise ValueError(f"{name}: likelihood shape {rows.shape}, expected ({batch}, {card}) "
                                     f"or (1, {card})")
                stacked.append(np.broadcast_to(rows, (batch, card)))
            columns.append(np.concatenate(stacked))
        keys = np.concatenate(columns, axis=1) if columns else np.zeros((total, 0))
        unique, where = np.unique(keys, axis=0, return_inverse=True)
        inverse = where.reshape(-1)
        merged: dict[str, FloatArray] = {}
        offset = 0
        for name, column in zip(names, columns, strict=True):
            block = unique[:, offset:offset + column.shape[1]]
            offset += column.shape[1]
            # a row every batch shares stays (1, card), so the propagation does its work once; one
            # of all ones says nothing and is left out
            if not (block == block[0]).all():
                merged[name] = block
            elif not (block[0] == 1.0).all():
                merged[name] = block[:1]
        result = self.propagate(merged, len(unique), targets, barren=barren)
        out = []
        start = 0
        for _, batch in work:
            picked = inverse[start:start + batch]
            start += batch
            out.append(Result(log_evidence=result.log_evidence[picked], impossible=result.impossible[picked],
                              marginals={n: m[picked] for n, m in result.marginals.items()}))
        return out

    def _ancestral(self, seeds: frozenset[int]) -> frozenset[int]:
        """``seeds`` and all their ancestors: everything else is barren for a query on ``seeds``."""
        keep = set(seeds)
        stack = list(seeds)
        while stack:
            for p in self.families[stack.pop()][:-1]:
                if p not in keep:
                    keep.add(p)
                    stack.append(p)
        return frozenset(keep)

    def _with_quiet_leaves(self, keep: frozenset[int]) -> frozenset[int]:
        """``keep`` plus every childless variable whose one parent (if any) is kept.

        Such a leaf only ever shares a clique with its parent, so keeping it grows no other clique,
        and the Steiner pruning skips it unless it is asked about. Keeping them all makes queries
        that differ only in which of them is observed share one sub-tree (a diagnosis session
        answers mostly single-parent questions), so the sub-tree is compiled once, not per answer.
        """
        extra = [v for v in self._quiet_leaves if v not in keep and all(p in keep for p in self.families[v][:-1])]
        return keep | frozenset(extra) if extra else keep

    def _restricted_to(self, keep: frozenset[int]) -> JunctionTree:
        """The junction tree of the ancestral sub-network ``keep`` (compiled once, then cached).

        A factorised leaf in ``keep`` is compiled into the sub-tree like any variable: its parents
        are kept anyway, and on a pruned tree one row per evidence set costs less than two.

        The most recent ``RESTRICTED_TREES`` are kept, oldest out first; a lock keeps concurrent
        requests (the API serves from a thread pool) from evicting under each other's feet.
        """
        with self._restricted_lock:
            sub = self._restricted.pop(keep, None)
            if sub is not None:
                self._restricted[keep] = sub  # most recent last
                return sub
        kept = sorted(keep)  # global order is topological, so the sub-network's is too
        local = {v: i for i, v in enumerate(kept)}
        sub = JunctionTree._build(
            tuple(self.names[v] for v in kept),
            tuple(self.states[v] for v in kept),
            tuple(tuple(local[u] for u in self.families[v]) for v in kept),
            tuple(self.cpts[v] for v in kept),
        )
        with self._restricted_lock:
            while len(self._restricted) >= RESTRICTED_TREES:
                self._restricted.pop(next(iter(self._restricted)))
            self._restricted[keep] = sub
        return sub

    def scaled_likelihoods(
        self, likelihoods: Mapping[str, ArrayLike], batch: int
    ) -> tuple[dict[int, FloatArray], FloatArray]:
        """Checked likelihood rows keyed by variable index, each scaled to a maximum of one.

        Row-max scaling keeps tiny soft-evidence rows away from underflow; the returned log offset
        (``-inf`` for an all-zero row) undoes it in log space.
        """
        lams: dict[int, FloatArray] = {}
        log_offset = np.zeros(batch)
        for name, raw in likelihoods.items():
            v = self._variable(name)
            lam = np.array(raw, dtype=np.float64)
            card = self._cards[v]
            if lam.ndim != 2 or lam.shape[1] != card or lam.shape[0] not in (1, batch):
                raise ValueError(f"{name}: likelihood shape {lam.shape}, expected ({batch}, {card}) or (1, {card})")
            if not np.all(np.isfinite(lam)) or np.any(lam < 0):
                raise ValueError(f"{name}: likelihoods must be finite and non-negative")
            peak = lam.max(axis=1)
            positive = peak > 0
            np.divide(lam, peak[:, None], out=lam, where=positive[:, None])
            log_offset = log_offset + np.log(peak, out=np.full(peak.shape, -np.inf), where=positive)
            lams[v] = lam
        return lams, log_offset

    def _variable(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown variable {name!r}") from None

    def _propagate_indexed(
        self,
        lams: Mapping[int, FloatArray],
        batch: int,
        targets: frozenset[int],
        *,
        prune: bool = True,
        barren: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> Result:
        """Propagation on validated likelihoods keyed by variable index (rows already in [0, 1])."""
        if barren:
            keep = self._with_quiet_leaves(self._ancestral(frozenset(lams) | targets))
            if len(keep) < len(self.names):
                sub = self._restricted_to(keep)
                local = {name: i for i, name in enumerate(sub.names)}
                return sub._propagate_indexed(
                    {local[self.names[v]]: lam for v, lam in lams.items()},
                    batch,
                    frozenset(local[self.names[t]] for t in targets),
                    prune=prune,
                    max_bytes=max_bytes,
                )
        split = next((v for v in self._factorised if v in lams or v in targets), None)
        if split is not None:
            return self._propagate_split(split, lams, batch, targets, prune=prune, barren=barren, max_bytes=max_bytes)
        schedule = self._schedule(frozenset(lams), targets, prune)
        rows = max(1, max_bytes // max(1, schedule.bytes_per_row))
        if batch <= rows or all(lam.shape[0] == 1 for lam in lams.values()):
            return self._run(schedule, lams, batch)
        parts = []
        for start in range(0, batch, rows):
            stop = min(batch, start + rows)
            chunk = {v: lam if lam.shape[0] == 1 else lam[start:stop] for v, lam in lams.items()}
            parts.append(self._run(schedule, chunk, stop - start))
        return Result(
            log_evidence=np.concatenate([p.log_evidence for p in parts]),
            impossible=np.concatenate([p.impossible for p in parts]),
            marginals={n: np.concatenate([p.marginals[n] for p in parts]) for n in parts[0].marginals},
        )

    def _propagate_split(
        self,
        v: int,
        lams: Mapping[int, FloatArray],
        batch: int,
        targets: frozenset[int],
        *,
        prune: bool,
        barren: bool,
        max_bytes: int,
    ) -> Result:
        """A factorised leaf's evidence as two rows per evidence set (see the module docstring).

        With λ_k on the factorising state and λ_o on the other, P(e) = λ_o Z_A + (λ_k - λ_o) c Z_B,
        where Z_A propagates the rest of the evidence and Z_B the same times g_i on every parent; every
        marginal is the same combination of the two rows' joints, and the leaf's own is
        (λ_k c Z_B, λ_o (Z_A - c Z_B)).
        """
        leaf = self._factorised[v]
        own = lams.get(v)
        lam = np.ones((1, 2)) if own is None else own
        doubled: dict[int, FloatArray] = {}
        for u, rows in lams.items():
            if u != v:
                doubled[u] = rows if rows.shape[0] == 1 else np.concatenate([rows, rows])
        for u, factor in leaf.factors.items():
            rows = np.broadcast_to(lams.get(u, np.ones((1, factor.size))), (batch, factor.size))
            doubled[u] = np.concatenate([rows, rows * factor])
        inner = targets - {v}
        result = self._propagate_indexed(doubled, 2 * batch, inner, prune=prune, barren=barren, max_bytes=max_bytes)
        log_a, log_b = result.log_evidence[:batch], result.log_evidence[batch:]
        with np.errstate(invalid="ignore"):
            top = np.maximum(log_a, log_b)
        top = np.where(np.isneginf(top), 0.0, top)
        joint_a = np.exp(log_a - top)
        joint_b = np.exp(log_b - top) * leaf.constant
        own_k = np.broadcast_to(lam[:, leaf.state], (batch,))
        own_o = np.broadcast_to(lam[:, 1 - leaf.state], (batch,))
        weight_a = own_o * joint_a
        weight_b = (own_k - own_o) * joint_b
        total = weight_a + weight_b
        possible = total > ZERO_EVIDENCE * np.maximum(weight_a, np.abs(weight_b))
        safe = np.where(possible, total, 1.0)
        marginals: dict[str, FloatArray] = {}
        for name, rows in result.marginals.items():
            mixed = (weight_a[:, None] * rows[:batch] + weight_b[:, None] * rows[batch:]) / safe[:, None]
            marginals[name] = np.where(possible[:, None], np.maximum(mixed, 0.0), 0.0)
        if v in targets:
            leaf_rows = np.zeros((batch, 2))
            leaf_rows[:, leaf.state] = own_k * joint_b
            leaf_rows[:, 1 - leaf.state] = own_o * np.maximum(joint_a - joint_b, 0.0)
            marginals[self.names[v]] = np.where(possible[:, None], leaf_rows / safe[:, None], 0.0)
        log_evidence = np.where(possible, top + np.log(safe), -np.inf)
        return Result(log_evidence=log_evidence, impossible=~possible, marginals=marginals)

    def _run(self, schedule: _Schedule, lams: Mapping[int, FloatArray], batch: int) -> Result:
        """The hot loop: multiply, sum out, rescale; Hugin division on the way back."""
        messages: dict[int, FloatArray] = {}
        raw_messages: dict[int, FloatArray] = {}
        beliefs: dict[int, FloatArray] = {}
        mine: set[int] = set()
        scales: list[FloatArray] = []
        root_belief: FloatArray | None = None
        with np.errstate(under="ignore"):
            for step in schedule.collect:
                belief = step.static
                owned = False
                for v, tail in step.evidence:
                    lam = lams[v]
                    belief, owned = _times(belief, owned, lam.reshape((lam.shape[0], *tail)))
                for child, tail in step.children:
                    msg = messages[child]
                    belief, owned = _times(belief, owned, msg.reshape((msg.shape[0], *tail)))
                if step.sum_axes is None:
                    root_belief = belief if owned else belief.copy()
                    continue
                raw = _sum_out(belief, step.sum_axes)
                peak = _peak(raw)
                scales.append(peak)
                messages[step.clique] = raw / peak.reshape((-1,) + (1,) * (raw.ndim - 1))
                # Hugin divides by the unscaled message on the way back, which makes every final
                # clique belief sum to one per row, so marginals need no renormalisation.
                raw_messages[step.clique] = raw
                if step.keep:
                    beliefs[step.clique] = belief
                    if owned:  # a belief that is still the shared static table must not be updated in place
                        mine.add(step.clique)
            assert root_belief is not None
            total = _normalise_rows(root_belief)
            possible = total > 0
            beliefs[schedule.root] = root_belief

            marginals: dict[int, FloatArray] = {}
            for v, axes in schedule.root_targets:
                marginals[v] = _marginal(root_belief, axes)
            _read_out(schedule.readouts.get(schedule.root, ()), root_belief, marginals)
            for dstep in schedule.distribute:
                parent_belief = beliefs[dstep.parent]
                msg = _sum_out(parent_belief, dstep.sum_axes)
                old = raw_messages.get(dstep.clique, dstep.prior_message)
                if old is not None:
                    if dstep.clique in raw_messages or not dstep.prior_positive:
                        np.divide(msg, old, out=msg, where=old > 0)
                    else:
                        np.divide(msg, old, out=msg)
                owned = dstep.clique in mine
                base = beliefs.get(dstep.clique, schedule.static[dstep.clique])
                belief, _ = _times(base, owned, msg.reshape((msg.shape[0], *dstep.tail)))
                beliefs[dstep.clique] = belief
                for v, axes in dstep.targets:
                    marginals[v] = _marginal(belief, axes)
                _read_out(schedule.readouts.get(dstep.clique, ()), belief, marginals)
                if dstep.release_parent:
                    del beliefs[dstep.parent]

        log_z = np.log(total, out=np.full(total.shape, -np.inf), where=possible)
        log_evidence = np.full(batch, schedule.const_log) + log_z
        for s in scales:
            log_evidence = log_evidence + np.log(s)
        impossible = np.broadcast_to(~possible, (batch,)).copy()
        log_evidence[impossible] = -np.inf
        out: dict[str, FloatArray] = {}
        for v in sorted(marginals):
            m = marginals[v]
            if m.shape[0] != batch:
                m = np.repeat(m, batch, axis=0)
            out[self.names[v]] = m
        return Result(log_evidence=log_evidence, impossible=impossible, marginals=out)

    def _bfs(self, root: int, allowed: set[int] | None) -> tuple[list[int], list[int]]:
        """Breadth-first order from ``root`` (restricted to ``allowed``) and the parent of each clique."""
        parent = [-1] * len(self.cliques)
        order = [root]
        seen = {root}
        for c in order:
            for k in self._neighbors[c]:
                if k not in seen and (allowed is None or k in allowed):
                    seen.add(k)
                    parent[k] = c
                    order.append(k)
        return order, parent

    def _schedule(self, evidence: frozenset[int], targets: frozenset[int], prune: bool) -> _Schedule:
        """The cached plan for this query shape, built on first use.

        Least recently used out first, over all trees, past ``SCHEDULE_BYTES`` or ``SCHEDULES``
        (``_ScheduleCache``); the lock keeps requests on other threads from evicting while one is
        inserted (built outside it: two threads may build the same plan once each, and either
        result is the same).
        """
        key = (evidence, targets, prune)
        cache = _schedule_cache
        with cache.lock:
            cached = self._schedules.get(key)
            if cached is not None:
                cache.order.move_to_end((self._token, key))
                return cached
        built = self._build_schedule(evidence, targets, prune)
        with cache.lock:
            if key not in self._schedules:
                self._schedules[key] = built
                cache.order[(self._token, key)] = (weakref.ref(self), built.owned_bytes)
                cache.bytes += built.owned_bytes
                cache.evict()
        return built

    def _build_schedule(self, evidence: frozenset[int], targets: frozenset[int], prune: bool) -> _Schedule:
        """Plan one query shape: which cliques to touch, in which order, with which cached parts.

        With pruning, only the Steiner subtree joining evidence and target cliques is visited; every
        message entering it from outside, or from a part of it without evidence below, is a cached
        prior message folded into a batch-free "static" table once per schedule.
        """
        n = len(self.cliques)
        evidence_cliques = {self.home[v] for v in evidence}
        target_cliques = {self.home[v] for v in targets}
        if prune:
            relevant = evidence_cliques | target_cliques
            if not relevant:
                relevant = {max(range(n), key=lambda c: (self.potentials[c].size, -c))}
            start = min(relevant)
            _, up = self._bfs(start, None)
            members = {start}
            for c in relevant:
                while c not in members:
                    members.add(c)
                    c = up[c]
        else:
            members = set(range(n))
        root = max(members, key=lambda c: (self.potentials[c].size, -c))
        order, parent = self._bfs(root, members)
        children: dict[int, list[int]] = {c: [] for c in order}
        for c in order[1:]:
            children[parent[c]].append(c)
        below_evidence: dict[int, bool] = {}
        below_target: dict[int, bool] = {}
        for c in reversed(order):
            below_evidence[c] = not prune or c in evidence_cliques or any(below_evidence[k] for k in children[c])
            below_target[c] = not prune or c in target_cliques or any(below_target[k] for k in children[c])

        static: dict[int, FloatArray] = {}
        const_log = 0.0
        for c in order:
            table = self.potentials[c][None]
            for k in self._neighbors[c]:
                if k == parent[c] or (k in members and below_evidence[k]):
                    continue
                edge = (k, c)
                if below_evidence[c] or c == root:
                    const_log += self.prior_log_scales[edge]
                if not self._unit[edge]:
                    table = table * self.prior_messages[edge].reshape((1, *self._plans[edge].tail))
            if c != root and not below_evidence[c]:
                # only used on the way back, where it must sum to the cached message it stands for
                table = table / float(_sum_out(table, self._plans[(c, parent[c])].sum_axes).max())
            static[c] = table

        def marginal_axes(c: int, v: int) -> tuple[int, ...]:
            return tuple(1 + k for k, u in enumerate(self.cliques[c]) if u != v)

        # grouped by home clique once, instead of scanning every variable at every clique
        evidence_at: dict[int, list[int]] = {}
        for v in sorted(evidence):
            evidence_at.setdefault(self.home[v], []).append(v)
        targets_at: dict[int, list[int]] = {}
        for v in sorted(targets):
            targets_at.setdefault(self.home[v], []).append(v)
        collect = [
            _CollectStep(
                clique=c,
                static=static[c],
                evidence=[(v, self._evidence_tail(v)) for v in evidence_at.get(c, ())],
                children=[(k, self._plans[(k, c)].tail) for k in children[c] if below_evidence[k]],
                sum_axes=None if c == root else self._plans[(c, parent[c])].sum_axes,
                keep=below_target[c],
            )
            for c in reversed(order)
            if below_evidence[c] or c == root
        ]
        steps = [c for c in order[1:] if below_target[c]]
        # evidence-free subtrees are read out linearly from their parent (see _Readout)
        free = {c for c in steps if not below_evidence[c]}
        tops = [c for c in steps if c in free and parent[c] not in free]
        below = {c: [k for k in children[c] if k in free and below_target[k]] for c in free}
        readouts = self._readouts(tops, parent, below, static, targets_at)
        steps = [c for c in steps if c not in free]
        last_child = {parent[c]: c for c in steps}
        distribute = []
        for c in steps:
            p = parent[c]
            edge = (c, p)
            prior = None if below_evidence[c] or self._unit[edge] else self.prior_messages[edge]
            distribute.append(
                _DistributeStep(
                    clique=c,
                    parent=p,
                    sum_axes=self._plans[(p, c)].sum_axes,
                    tail=self._plans[(p, c)].tail,
                    prior_message=prior,
                    prior_positive=self._positive[edge],
                    targets=[(v, marginal_axes(c, v)) for v in targets_at.get(c, ())],
                    release_parent=last_child[p] == c,
                )
            )
        return _Schedule(
            root=root,
            collect=collect,
            distribute=distribute,
            root_targets=[(v, marginal_axes(root, v)) for v in targets_at.get(root, ())],
            static=static,
            const_log=const_log,
            readouts=readouts,
            bytes_per_row=8 * sum(int(self.potentials[c].size) for c in members),
            owned_bytes=sum(int(t.nbytes) for c, t in static.items()
                            if not np.shares_memory(t, self.potentials[c]))
            + sum(int(r.matrix.nbytes) for group in readouts.values() for r in group),
        )

    def _readouts(self, tops: list[int], parent: list[int], children: Mapping[int, list[int]],
                  static: Mapping[int, FloatArray], targets_at: Mapping[int, list[int]]) -> dict[int, list[_Readout]]:
        """One :class:`_Readout` per evidence-free subtree in ``tops``, grouped by the parent it hangs off."""
        readouts: dict[int, list[_Readout]] = {}
        for c in tops:
            p = parent[c]
            members = self._subtree_readout(c, p, children, static, targets_at)
            columns = []
            start = 0
            for v, matrix in members:
                columns.append((v, start, start + matrix.shape[1]))
                start += matrix.shape[1]
            readouts.setdefault(p, []).append(_Readout(
                sum_axes=self._plans[(p, c)].sum_axes, matrix=np.hstack([m for _, m in members]), columns=columns))
        return readouts

    def _subtree_readout(self, top: int, p: int, children: Mapping[int, list[int]], static: Mapping[int, FloatArray],
                         targets_at: Mapping[int, list[int]]) -> list[tuple[int, FloatArray]]:
        """Each target of the evidence-free subtree at ``top`` as a matrix from its separator with ``p``.

        With no evidence below, a clique's outward belief is ``static × msg / old`` (``old`` its cached
        inward message; the division is skipped where ``old`` is zero, as the outward step does), so
        entry (s, q) of a target's matrix sums ``static / old`` over the clique's states with separator
        state s and target state q. The message on to a child is linear in ``msg`` the same way, so a
        child's matrices are its parent's map to it times its own. Walked with a stack, not recursion,
        so a long chain of cliques cannot exhaust Python's stack.
        """
        members: list[tuple[int, FloatArray]] = []
        stack: list[tuple[int, int, FloatArray | None]] = [(top, p, None)]  # clique, parent, map from top's separator
        while stack:
            c, parent, from_top = stack.pop()
            plan = self._plans[(parent, c)]
            edge = (c, parent)
            shape = self.potentials[c].shape
            separator_states = math.prod(plan.tail)
            inverse = np.ones(separator_states)
            if not self._unit[edge]:
                old = self.prior_messages[edge].reshape(-1)
                np.divide(1.0, old, out=inverse, where=old > 0)
            table = (static[c][0] * inverse.reshape(plan.tail)).ravel()
            at_separator = np.broadcast_to(np.arange(separator_states).reshape(plan.tail), shape).ravel()

            for v in targets_at.get(c, ()):
                own = _linear_map(table, at_separator, shape, separator_states, (self.cliques[c].index(v),))
                members.append((v, own if from_top is None else from_top @ own))
            for d in children.get(c, ()):
                kept = tuple(k for k in range(len(shape)) if 1 + k not in self._plans[(c, d)].sum_axes)
                onward = _linear_map(table, at_separator, shape, separator_states, kept)
                stack.append((d, c, onward if from_top is None else from_top @ onward))
        return members

    def _evidence_tail(self, v: int) -> tuple[int, ...]:
        return tuple(self._cards[v] if u == v else 1 for u in self.cliques[self.home[v]])


def _linear_map(table: FloatArray, at_separator: NDArray[np.intp], shape: tuple[int, ...], rows: int,
                kept: tuple[int, ...]) -> FloatArray:
    """Entry (s, k) sums the flat clique ``table`` over the states with separator state s and state k
    of the axes ``kept``: the map from a separator marginal to the clique belief's sum onto ``kept``."""
    states = math.prod(shape[k] for k in kept)
    index = np.arange(states).reshape(tuple(shape[k] if k in kept else 1 for k in range(len(shape))))
    matrix = np.zeros((rows, states))
    np.add.at(matrix, (at_separator, np.broadcast_to(index, shape).ravel()), table)
    return matrix


def _read_out(readouts: Iterable[_Readout], belief: FloatArray, marginals: dict[int, FloatArray]) -> None:
    """The marginals of the evidence-free subtrees that hang off a clique whose final ``belief`` is known."""
    for readout in readouts:
        separator = _sum_out(belief, readout.sum_axes)
        values = separator.reshape(separator.shape[0], -1) @ readout.matrix
        for v, start, stop in readout.columns:
            marginals[v] = values[:, start:stop]


def _times(table: FloatArray, owned: bool, factor: FloatArray) -> tuple[FloatArray, bool]:
    """``table * factor``, in place when ``table`` is ours and already has the broadcast shape.

    Broadcasting a separator message whose innermost varying run is short (its last axis is a binary
    variable, say) makes numpy loop two elements at a time, several times slower than a plain product.
    Such factors are expanded to the full clique by a precomputed gather instead.
    """
    index = _expansion_index(table.shape[1:], factor.shape[1:])
    if index is not None:
        factor = factor.reshape(factor.shape[0], -1)[:, index].reshape((factor.shape[0], *table.shape[1:]))
    if owned and (factor.shape[0] == 1 or factor.shape[0] == table.shape[0]):
        np.multiply(table, factor, out=table)
        return table, True
    return table * factor, True


GATHER_MAX_INNER_RUN = 8
"""Broadcasts whose innermost contiguous run has at most this many elements are done by gather."""
GATHER_MIN_ENTRIES = 512
GATHER_MAX_ENTRIES = 1 << 20
"""Cliques outside this range keep plain broadcasting: on small ones the gather's own overhead wins,
and on big ones the index array would cost more memory than the time it saves is worth."""
GATHER_CACHE_ENTRIES = 4 << 20
"""All cached index arrays together hold at most this many entries (32 MiB); oldest go first. They
stay ``intp``: an int32 index costs numpy a conversion on every gather (15 % of a mail-pack step)."""

_expansion_indices: dict[tuple[tuple[int, ...], tuple[int, ...]], NDArray[np.intp] | None] = {}
_expansion_lock = threading.Lock()


def _expansion_index(shape: tuple[int, ...], tail: tuple[int, ...]) -> NDArray[np.intp] | None:
    """Flat positions in a ``tail``-shaped factor of every entry of a ``shape``-shaped clique table.

    ``None`` when plain broadcasting is fine: the factor already spans the table, or the innermost run
    of axes that are all full (or all broadcast) is long enough for numpy's inner loop.
    """
    key = (shape, tail)
    with _expansion_lock:
        if key in _expansion_indices:
            return _expansion_indices[key]
    index: NDArray[np.intp] | None = None
    size = math.prod(shape)
    if tail != shape and GATHER_MIN_ENTRIES <= size <= GATHER_MAX_ENTRIES:
        inner_run, inner_full = 1, None
        for dim, factor_dim in zip(reversed(shape), reversed(tail), strict=True):
            if dim == 1:
                continue
            full = factor_dim == dim
            if inner_full is not None and full != inner_full:
                break
            inner_full = full
            inner_run *= dim
        if inner_run <= GATHER_MAX_INNER_RUN:
            positions = np.arange(math.prod(tail), dtype=np.intp).reshape(tail)
            index = np.ascontiguousarray(np.broadcast_to(positions, shape)).ravel()
    with _expansion_lock:  # requests on other threads add indices too
        cached = sum(i.size for i in _expansion_indices.values() if i is not None)
        while _expansion_indices and index is not None and cached + index.size > GATHER_CACHE_ENTRIES:
            evicted = _expansion_indices.pop(next(iter(_expansion_indices)))
            cached -= 0 if evicted is None else evicted.size
        _expansion_indices[key] = index
    return index


def _normalise_rows(belief: FloatArray) -> FloatArray:
    """Scale each batch row of ``belief`` in place to sum to one (all-zero rows stay zero); returns the sums.

    A product of broadcast operands can come out in a non-C memory order, and reshaping such an
    array copies: dividing a reshaped view in place would then leave the belief itself unnormalised
    (answer probabilities summing to 1.7 on a 65,536-entry root clique of the mail pack). So the sum
    reads a reshape, and the division broadcasts over the belief itself.
    """
    total = belief.reshape(belief.shape[0], -1).sum(axis=1)
    divisor = np.where(total > 0, total, 1.0).reshape((-1,) + (1,) * (belief.ndim - 1))
    np.divide(belief, divisor, out=belief)
    return np.asarray(total, dtype=np.float64)


def _peak(message: FloatArray) -> FloatArray:
    """Per-row maximum of a message, used as its scale; an all-zero row gets scale one.

    A zero row stays zero all the way to the root and is reported there as impossible evidence.
    """
    peak = message.reshape(message.shape[0], -1).max(axis=1)
    if not peak.all():
        peak = np.where(peak > 0, peak, 1.0)
    return np.asarray(peak, dtype=np.float64)


def _marginal(belief: FloatArray, axes: tuple[int, ...]) -> FloatArray:
    """Marginal of one variable from a final clique belief (already summing to one, or zero, per row)."""
    return _sum_out(belief, axes)


SLICED_SUM_MAX_CARD = 8
"""Axes up to this many states are summed as a chain of slice additions (see ``_sum_out``)."""


def _axis_index(axis: int, k: int) -> tuple[slice | int, ...]:
    """The index of state ``k`` along ``axis`` (all of every earlier axis)."""
    return (*(slice(None),) * axis, k)


def _sum_out(table: FloatArray, axes: tuple[int, ...]) -> FloatArray:
    """``table.sum(axis=axes)`` as a new array, several times faster on clique tables.

    numpy reduces many short axes of a high-dimensional array (a clique of 13 binary variables plus
    the batch axis) through a slow generic loop: summing out the last binary axis of a (30, 2, …, 2)
    table costs 35 plain multiplications of it. Adding the slices of each axis instead, outermost
    axis first, runs on long contiguous blocks and halves the data at every step. A contiguous table
    is viewed as (before, states, after) for each step (``_sum_plan``, cached per shape), so a slice
    is one plain index: the same additions in the same order, with less work per call for the many
    small cliques.
    """
    if not axes:
        return table.copy()
    if not table.flags.c_contiguous:
        return _sum_out_strided(table, axes)
    steps, shape = _sum_plan(table.shape, axes)
    for before, card, after in steps:
        view = table.reshape(before, card, after)
        if card > SLICED_SUM_MAX_CARD:
            table = np.add.reduce(view, axis=1)
            continue
        total = view[:, 0] + view[:, 1] if card > 1 else view[:, 0].copy()
        for k in range(2, card):
            total += view[:, k]
        table = total
    return table.reshape(shape)


@functools.lru_cache(maxsize=8192)
def _sum_plan(shape: tuple[int, ...], axes: tuple[int, ...]
              ) -> tuple[tuple[tuple[int, int, int], ...], tuple[int, ...]]:
    """Each step of ``_sum_out`` on a table of ``shape``: its (before, states, after) view; and the
    shape of the result. Bounded, and thread-safe as ``functools.lru_cache`` is."""
    steps = []
    current = list(shape)
    for removed, original_axis in enumerate(sorted(axes)):
        axis = original_axis - removed
        steps.append((math.prod(current[:axis]), current[axis], math.prod(current[axis + 1:])))
        del current[axis]
    return tuple(steps), tuple(current)


def _sum_out_strided(table: FloatArray, axes: tuple[int, ...]) -> FloatArray:
    """``_sum_out`` for a table that is not C-contiguous (a reshape would copy it): the slices of
    each axis added by index, in the same order."""
    for removed, original_axis in enumerate(sorted(axes)):
        axis = original_axis - removed
        card = table.shape[axis]
        if card > SLICED_SUM_MAX_CARD:
            table = np.add.reduce(table, axis=axis)
        else:
            slices = [table[_axis_index(axis, k)] for k in range(card)]
            total = slices[0] + slices[1] if card > 1 else slices[0].copy()
            for extra in slices[2:]:
                total += extra
            table = total
    return table


def factorises(network: DiscreteNetwork, name: str) -> bool:
    """Whether ``name`` can be compiled out of a tree (``JunctionTree.compile(..., factorised=...)``):
    childless, binary, with parents, and a CPT that factorises over them in one state."""
    try:
        _factorisation(network, name)
    except (KeyError, ValueError):
        return False
    return True


def _factorisation(network: DiscreteNetwork, name: str) -> _FactorisedLeaf:
    """How ``name`` factorises in ``network`` (ValueError when it has children or does not factorise)."""
    if any(name in var.parents for var in network.variables.values()):
        raise ValueError(f"{name}: only a childless variable can be factorised out of the tree")
    index = {n: i for i, n in enumerate(network.names)}
    var = network.variables[name]
    return _factorised_leaf(name, (*(index[p] for p in var.parents), index[name]), _normalised_cpt(name, var.cpt))


@dataclass(frozen=True)
class _FactorisedLeaf:
    """P(state | parents) = constant · Π factors[parent][x_parent] for a binary leaf."""

    state: int
    constant: float
    factors: dict[int, FloatArray]


def _factorised_leaf(name: str, family: tuple[int, ...], cpt: FloatArray) -> _FactorisedLeaf:
    """How a childless binary variable's CPT factorises over its parents (ValueError when it does not)."""
    if cpt.shape[-1] != 2 or len(family) < 2:
        raise ValueError(f"{name}: only a binary variable with parents can be factorised out of the tree")
    for state in (0, 1):
        table = cpt[..., state]
        constant = float(table[(0,) * table.ndim])
        if constant <= 0.0:
            continue
        factors = {}
        for axis, parent in enumerate(family[:-1]):
            index = tuple(slice(None) if a == axis else 0 for a in range(table.ndim))
            factors[parent] = np.asarray(table[index] / constant, dtype=np.float64)
        rebuilt = constant * functools.reduce(np.multiply.outer, factors.values())
        if np.allclose(rebuilt, table, rtol=1e-12, atol=1e-15):
            return _FactorisedLeaf(state, constant, factors)
    raise ValueError(f"{name}: its CPT does not factorise over its parents (not a noisy-OR leaf)")


def _normalised_cpt(name: str, cpt: ArrayLike) -> FloatArray:
    """Check a CPT and renormalise its rows.

    BIF files round probabilities (rows off by ~1e-7); exact renormalisation makes the cached
    messages of barren subtrees exactly one and ``log P(no evidence) == 0``.
    """
    table = np.asarray(cpt, dtype=np.float64)
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ValueError(f"{name}: CPT entries must be finite and non-negative")
    sums = table.sum(axis=-1, keepdims=True)
    if np.any(np.abs(sums - 1.0) > CPT_ROW_TOLERANCE):
        worst = float(sums.flat[np.argmax(np.abs(sums - 1.0))])
        raise ValueError(f"{name}: CPT rows must sum to one (worst row sums to {worst})")
    return np.asarray(table / sums, dtype=np.float64)


def _spanning_tree(cliques: list[tuple[int, ...]]) -> list[Edge]:
    """Maximum-weight spanning tree over separator sizes (Kruskal), joined into one tree.

    Maximum separator weight is what guarantees the running-intersection property. Components of a
    disconnected network are linked through empty separators (a scalar message per batch row).
    """
    holders: dict[int, list[int]] = {}
    for ci, clique in enumerate(cliques):
        for v in clique:
            holders.setdefault(v, []).append(ci)
    weights: dict[Edge, int] = {}
    for members in holders.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                weights[(a, b)] = weights.get((a, b), 0) + 1
    parent = list(range(len(cliques)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges: list[Edge] = []
    for (a, b), _ in sorted(weights.items(), key=lambda item: (-item[1], item[0])):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
            edges.append((a, b))
    first: dict[int, int] = {}
    for c in range(len(cliques)):
        first.setdefault(find(c), c)
    components = sorted(first.values())
    edges.extend((components[0], c) for c in components[1:])
    return sorted(edges)


def _triangulate(adjacency: list[set[int]], cards: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Maximal cliques of a min-fill triangulation (ties: smallest clique table, then lowest index).

    Scores are updated only for nodes within distance two of the eliminated node, the only ones whose
    fill-in or weight can change, which keeps MUNIN-sized graphs to well under a second.
    """
    adj = [set(a) for a in adjacency]

    def score(v: int) -> tuple[int, int, int]:
        nb = adj[v]
        # fill-in = pairs of neighbours minus the pairs already adjacent (each counted from both ends)
        linked = sum(len(adj[a] & nb) for a in nb)
        fill = len(nb) * (len(nb) - 1) // 2 - linked // 2
        weight = cards[v]
        for u in nb:
            weight *= cards[u]
        return fill, weight, v

    scores = [score(v) for v in range(len(adj))]
    remaining = set(range(len(adj)))
    cliques: list[frozenset[int]] = []
    holders: dict[int, list[int]] = {}
    while remaining:
        v = min(remaining, key=scores.__getitem__)
        nb = adj[v]
        candidate = frozenset(nb | {v})
        if not any(candidate <= cliques[k] for k in holders.get(v, ())):
            for u in candidate:
                holders.setdefault(u, []).append(len(cliques))
            cliques.append(candidate)
        for a in nb:
            adj[a].discard(v)
            adj[a].update(u for u in nb if u != a)
        remaining.discard(v)
        affected = set(nb)
        for a in nb:
            affected |= adj[a]
        for a in affected & remaining:
            scores[a] = score(a)
    return [tuple(sorted(c)) for c in cliques]


def _pack(items: list[FloatArray]) -> FloatArray:
    """Many arrays as one flat array, for a cache file that loads in a handful of reads."""
    return np.concatenate([np.asarray(item, dtype=np.float64).ravel() for item in items]) if items else np.zeros(0)


def _unpack(flat: FloatArray, shapes: list[list[int]]) -> list[FloatArray]:
    """Views into ``flat`` with the saved shapes, in order."""
    out: list[FloatArray] = []
    offset = 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return out
