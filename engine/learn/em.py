"""Learn CPTs from resolved cases by EM on our own exact, batched junction-tree inference.

Why EM on our own engine: a case answers a handful of the pack's questions and never observes the
hidden mechanisms, and pgmpy's estimators drop such rows. EM uses every answer a case has: the
E-step takes expected family counts ``P(node, parents | case evidence)`` from exact inference, the
M-step turns them into CPTs.

**Family posteriors from clique beliefs.** ``Result`` gives one-variable marginals, but a family
count needs the joint of a node and its parents. Clamping each parent configuration in extra batch
rows is exact but explodes on wide noisy-OR families (a mechanism with ten parents needs 2^10 rows
per case). Instead ``clique_beliefs`` runs one batched two-pass propagation over the compiled tree's
public structure and keeps every calibrated clique belief; each family sits inside a clique, so its
posterior is a sum over that belief. All cases go through as ONE batch per E-step.

**The prior.** The expert CPT is the mean of a Dirichlet prior with ``ess`` pseudo-cases *per parent
configuration*. (The BDe prior spreads ``ess`` by the prior probability of each configuration, so the
rows where a cause is present, the rows troubleshooting is about, would get a fraction of a
pseudo-case and be overwritten by one or two cases.) The M-step takes the posterior mean
``(α + n) / Σ(α + n)``, which is also the MAP estimate under Dirichlet(α + 1): it never produces a
zero from a small expert entry, and it keeps EM's monotone ascent (tested).

**Cause priors** are learned only from ``ticket`` cases: public reports are hand-picked and say
nothing about base rates. With no ticket case, cause priors stay as the experts wrote them.

**The frozen test split** (``engine.learn.split``) never reaches EM: ``training_set`` drops those
cases before anything is counted, so no caller (``rootward learn``, the UI, a cross-validation fold)
can learn from them by mistake; ``FitResult.held_out`` names how many were left out.

**Output.** ``learned.yaml`` in the pack directory holds the full learned CPT of every node, the
case counts, the expert content hash it was learned from and the date. ``apply_learned`` lays it
over the expert network, and only when that hash still matches the pack's expert files: a pack
edited since learning falls back to the expert numbers (with a logged warning) rather than mixing
parameters from two versions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from engine.case_schema import Case
from engine.errors import LearnError
from engine.infer.junction_tree import JunctionTree
from engine.kb.knowledge import KnowledgeBase
from engine.kb.loader import LEARNED_FILE, pack_files
from engine.kb.schema import Cause
from engine.learn.split import SPLIT_RULE, split_cases
from engine.model.network import DiscreteNetwork, FloatArray, Variable

log = logging.getLogger(__name__)

DEFAULT_ESS = 20.0
MAX_ITERATIONS = 100
TOLERANCE = 1e-5
"""EM stops when no CPT entry moves by more than this between iterations."""


# --------------------------------------------------------------------------------- evidence of cases


@dataclass(frozen=True)
class TrainingSet:
    """Cases as likelihood rows, identical evidence merged into one weighted row.

    ``weights[b]`` counts every case with row b's evidence; ``ticket_weights[b]`` only the ticket
    cases, which alone inform cause priors.
    """

    likelihoods: dict[str, FloatArray]
    weights: FloatArray
    ticket_weights: FloatArray
    case_ids: list[list[str]]
    held_out: int = 0
    """Cases given but left out because they belong to the frozen test split."""

    @property
    def rows(self) -> int:
        return int(self.weights.shape[0])

    @property
    def cases(self) -> int:
        return round(float(self.weights.sum()))

    @property
    def ticket_cases(self) -> int:
        return round(float(self.ticket_weights.sum()))


def case_likelihoods(network: DiscreteNetwork, case: Case, causes: Sequence[str]) -> dict[str, FloatArray]:
    """One likelihood vector per observed variable: answers, confirmed causes, causes known absent.

    A cause's first state is its normal one ("absent"); "confirmed" means any other state, which for
    a binary cause is "present".
    """
    vectors: dict[str, FloatArray] = {}
    for question, answer in case.answers().items():
        variable = network.variables[question]
        vector = np.zeros(variable.cardinality)
        vector[variable.state_index(answer)] = 1.0
        vectors[question] = vector
    for cause in case.confirmed_causes:
        vector = np.ones(network.cardinality(cause))
        vector[0] = 0.0
        vectors[cause] = vector
    for cause in case.absent_causes(causes):
        vector = np.zeros(network.cardinality(cause))
        vector[0] = 1.0
        vectors[cause] = vector
    return vectors


def training_set(network: DiscreteNetwork, cases: Sequence[Case], causes: Sequence[str]) -> TrainingSet:
    """The learning split of ``cases`` as weighted likelihood rows; frozen test cases are dropped here."""
    if not cases:
        raise LearnError("there are no cases to learn from")
    given = len(cases)
    cases, _ = split_cases(cases)
    if not cases:
        raise LearnError(f"all {given} case(s) belong to the frozen test split ({SPLIT_RULE}), which learning "
                         "never uses; add cases whose ids fall outside it", {"held_out": given})
    rows: dict[tuple[tuple[str, tuple[float, ...]], ...], int] = {}
    vectors_by_row: list[dict[str, FloatArray]] = []
    weights: list[float] = []
    tickets: list[float] = []
    ids: list[list[str]] = []
    for case in cases:
        vectors = case_likelihoods(network, case, causes)
        key = tuple(sorted((name, tuple(v.tolist())) for name, v in vectors.items()))
        if key not in rows:
            rows[key] = len(weights)
            vectors_by_row.append(vectors)
            weights.append(0.0)
            tickets.append(0.0)
            ids.append([])
        b = rows[key]
        weights[b] += 1.0
        tickets[b] += 1.0 if case.source.kind == "ticket" else 0.0
        ids[b].append(case.id)
    observed = sorted(set().union(*(v.keys() for v in vectors_by_row)))
    likelihoods: dict[str, FloatArray] = {}
    for name in observed:
        table = np.ones((len(weights), network.cardinality(name)))
        for b, vectors in enumerate(vectors_by_row):
            if name in vectors:
                table[b] = vectors[name]
        likelihoods[name] = table
    return TrainingSet(likelihoods, np.array(weights), np.array(tickets), ids, held_out=given - len(cases))


# --------------------------------------------------------------------------------- family posteriors

BELIEF_CHUNK_BYTES = 256 * 1024 * 1024
"""Batches whose clique beliefs would exceed this are processed in slices."""


@dataclass(frozen=True)
class FamilyPosteriors:
    """``tables[X][b]`` is ``P(parents(X), X | e_b)`` in the CPT's layout (parents..., X)."""

    tables: dict[str, FloatArray]
    log_evidence: FloatArray


def _family_clique(tree: JunctionTree, family: Sequence[int]) -> int:
    """The smallest clique holding every variable of a family (moralisation guarantees one)."""
    wanted = set(family)
    sizes = [math.prod(len(tree.states[v]) for v in c) for c in tree.cliques]
    return min((c for c, members in enumerate(tree.cliques) if wanted <= set(members)),
               key=lambda c: (sizes[c], c))


def clique_potentials(tree: JunctionTree, network: DiscreteNetwork) -> list[FloatArray]:
    """Clique potentials of ``network``'s CPTs on ``tree``'s structure (same graph, any numbers).

    EM changes numbers, never the graph, so the tree is triangulated once and only the potentials
    are rebuilt each iteration: every CPT is multiplied into one clique that holds its family.
    """
    index = {n: i for i, n in enumerate(tree.names)}
    cards = [len(s) for s in tree.states]
    potentials = [np.ones(tuple(cards[v] for v in c)) for c in tree.cliques]
    for variable in network.variables.values():
        family = [index[v] for v in (*variable.parents, variable.name)]
        clique = _family_clique(tree, family)
        order = sorted(range(len(family)), key=lambda k: family[k])
        members = set(family)
        shape = tuple(cards[v] if v in members else 1 for v in tree.cliques[clique])
        potentials[clique] = potentials[clique] * variable.cpt.transpose(order).reshape(shape)
    return potentials


def clique_beliefs(
    tree: JunctionTree, potentials: Sequence[FloatArray], likelihoods: dict[str, FloatArray], batch: int
) -> tuple[list[FloatArray], FloatArray]:
    """Calibrated clique posteriors ``P(clique variables | e_b)`` and ``log P(e_b)``, batched.

    A plain two-pass Hugin propagation over the compiled tree's public structure (cliques, edges,
    home cliques) with the given potentials, without the pruning and caching of
    ``JunctionTree.propagate``: the E-step needs every clique anyway. Messages are rescaled per
    row (log scales summed), so the evidence probability does not underflow; rows of impossible
    evidence get ``-inf`` and zero beliefs. Clique variables are in the tree's global order, so a
    separator is a subsequence of both cliques and a message is moved by summing out and
    reshaping, never by transposing.
    """
    cards = [len(s) for s in tree.states]
    index = {n: i for i, n in enumerate(tree.names)}
    neighbours: list[list[int]] = [[] for _ in tree.cliques]
    for a, b in tree.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    order, parent = [0], [-1] * len(tree.cliques)
    seen = {0}
    for c in order:
        for k in neighbours[c]:
            if k not in seen:
                seen.add(k)
                parent[k] = c
                order.append(k)

    def tail(clique: int, variables: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(cards[v] if v in variables else 1 for v in tree.cliques[clique])

    def separator(a: int, b: int) -> tuple[int, ...]:
        return tuple(v for v in tree.cliques[a] if v in set(tree.cliques[b]))

    beliefs = [np.broadcast_to(p, (batch, *p.shape)).copy() for p in potentials]
    for name, lam in likelihoods.items():
        v = index[name]
        home = tree.home[v]
        beliefs[home] *= np.asarray(lam, dtype=np.float64).reshape((batch, *tail(home, (v,))))
    log_scale = np.zeros(batch)
    upward: dict[int, FloatArray] = {}
    with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
        for c in reversed(order[1:]):
            p = parent[c]
            sep = separator(c, p)
            axes = tuple(1 + k for k, v in enumerate(tree.cliques[c]) if v not in sep)
            message = beliefs[c].sum(axis=axes) if axes else beliefs[c].copy()
            peak = message.reshape(batch, -1).max(axis=1)
            safe = np.where(peak > 0, peak, 1.0)
            message /= safe.reshape((batch, *([1] * (message.ndim - 1))))
            log_scale += np.log(safe)
            upward[c] = message
            beliefs[p] *= message.reshape((batch, *tail(p, sep)))
        root = beliefs[0].reshape(batch, -1)
        total = root.sum(axis=1)
        possible = total > 0
        root /= np.where(possible, total, 1.0)[:, None]
        for c in order[1:]:
            p = parent[c]
            sep = separator(c, p)
            axes = tuple(1 + k for k, v in enumerate(tree.cliques[p]) if v not in sep)
            down = beliefs[p].sum(axis=axes) if axes else beliefs[p].copy()
            ratio = np.divide(down, upward[c], out=np.zeros_like(down), where=upward[c] > 0)
            beliefs[c] *= ratio.reshape((batch, *tail(c, sep)))
            flat = beliefs[c].reshape(batch, -1)
            sums = flat.sum(axis=1)
            flat /= np.where(sums > 0, sums, 1.0)[:, None]
    log_evidence = np.where(possible, log_scale + np.log(np.where(possible, total, 1.0)), -np.inf)
    for belief in beliefs:
        belief[~possible] = 0.0
    return beliefs, log_evidence


def family_posteriors(
    tree: JunctionTree,
    network: DiscreteNetwork,
    likelihoods: dict[str, FloatArray],
    batch: int,
    nodes: Sequence[str] | None = None,
) -> FamilyPosteriors:
    """Exact ``P(X, parents(X) | e_b)`` for each node X and evidence row b.

    Every family lies inside some clique (moralisation joins parents), so its posterior is that
    clique's calibrated belief with the other variables summed out. ``likelihoods`` are
    ``(batch, card)`` arrays as for ``JunctionTree.propagate``; ``tree`` only supplies the structure
    (compiled from ``network`` or any network with the same graph), the numbers come from
    ``network``. Large batches are split so that the beliefs stay under ``BELIEF_CHUNK_BYTES``.
    """
    wanted = list(nodes) if nodes is not None else network.names
    index = {n: i for i, n in enumerate(tree.names)}
    potentials = clique_potentials(tree, network)
    sizes = [int(p.size) for p in potentials]
    plans: list[tuple[str, int, tuple[int, ...], list[int]]] = []
    for name in wanted:
        family = [index[v] for v in (*network.variables[name].parents, name)]
        clique = _family_clique(tree, family)
        members = tree.cliques[clique]
        summed = tuple(1 + k for k, v in enumerate(members) if v not in family)
        kept = [v for v in members if v in family]  # global order
        plans.append((name, clique, summed, [kept.index(v) for v in family]))
    rows_per_chunk = max(1, BELIEF_CHUNK_BYTES // (8 * sum(sizes)))
    tables: dict[str, list[FloatArray]] = {name: [] for name in wanted}
    logs: list[FloatArray] = []
    for start in range(0, batch, rows_per_chunk):
        stop = min(batch, start + rows_per_chunk)
        chunk = {n: np.asarray(lam, dtype=np.float64)[start:stop] for n, lam in likelihoods.items()}
        beliefs, log_evidence = clique_beliefs(tree, potentials, chunk, stop - start)
        logs.append(log_evidence)
        for name, clique, summed, axes in plans:
            table = beliefs[clique].sum(axis=summed) if summed else beliefs[clique]
            tables[name].append(np.transpose(table, (0, *(1 + a for a in axes))))
    return FamilyPosteriors({n: np.concatenate(parts) for n, parts in tables.items()}, np.concatenate(logs))


# ----------------------------------------------------------------------------------------------- EM


@dataclass
class FitResult:
    """The learned network, with what a reviewer needs to judge it."""

    network: DiscreteNetwork
    expected_counts: dict[str, FloatArray]
    learned_nodes: list[str]
    iterations: int
    converged: bool
    objective: list[float] = field(default_factory=list)
    """Log posterior (log-likelihood plus Dirichlet log-prior) after each iteration: never decreases."""
    cases: int = 0
    ticket_cases: int = 0
    held_out: int = 0
    """Cases given to ``fit`` but left out as members of the frozen test split."""


def learnable_nodes(kb: KnowledgeBase) -> list[str]:
    """Every node except definitions (``deterministic: true``), whose 0/1 rows are not estimates."""
    nodes = []
    for node_id in [*kb.causes, *kb.mechanisms, *kb.questions]:
        node = kb.node(node_id)
        if isinstance(node, Cause) or not getattr(node.cpd, "deterministic", False):
            nodes.append(node_id)
    return nodes


def _log_prior(network: DiscreteNetwork, alphas: dict[str, FloatArray]) -> float:
    total = 0.0
    for name, alpha in alphas.items():
        theta = network.variables[name].cpt
        mask = alpha > 0
        total += float(np.sum(alpha[mask] * np.log(theta[mask])))
    return total


def fit(
    network: DiscreteNetwork,
    cases: Sequence[Case],
    *,
    causes: Sequence[str],
    learnable: Sequence[str] | None = None,
    ess: float = DEFAULT_ESS,
    max_iterations: int = MAX_ITERATIONS,
    tolerance: float = TOLERANCE,
) -> FitResult:
    """EM from ``network`` (the expert CPTs, which are also the prior means) over ``cases``.

    ``causes`` are the root-cause ids (their counts come from ticket cases only); ``learnable`` limits
    which nodes are re-estimated (default: all).
    """
    if ess <= 0:
        raise LearnError(f"the equivalent sample size must be positive, got {ess}")
    data = training_set(network, cases, causes)
    learned = [n for n in network.names if learnable is None or n in set(learnable)]
    cause_set = set(causes)
    alphas = {n: ess * network.variables[n].cpt for n in learned}
    current = network
    objective: list[float] = []
    counts: dict[str, FloatArray] = {}
    converged = False
    iterations = 0
    tree = JunctionTree.compile(network)  # the structure; each iteration brings its own numbers
    for iteration in range(1, max_iterations + 1):
        iterations = iteration
        posteriors = family_posteriors(tree, current, data.likelihoods, data.rows, learned)
        impossible = ~np.isfinite(posteriors.log_evidence)
        if impossible.any():
            bad = sorted(c for b in np.flatnonzero(impossible) for c in data.case_ids[int(b)])
            raise LearnError(
                f"{len(bad)} case(s) are impossible under the model (an answer contradicts a confirmed "
                f"cause through a 0/1 CPT entry): {', '.join(bad[:10])}", {"cases": bad})
        objective.append(float(data.weights @ posteriors.log_evidence) + _log_prior(current, alphas))
        counts = {}
        updated: dict[str, Variable] = {}
        shift = 0.0
        for name in learned:
            weights = data.ticket_weights if name in cause_set else data.weights
            counts[name] = np.tensordot(weights, posteriors.tables[name], axes=(0, 0))
            total = alphas[name] + counts[name]
            norm = total.sum(axis=-1, keepdims=True)
            old = current.variables[name].cpt
            cpt = np.divide(total, norm, out=old.copy(), where=norm > 0)
            shift = max(shift, float(np.max(np.abs(cpt - old))))
            updated[name] = replace(current.variables[name], cpt=cpt)
        current = _with_cpts(current, updated)
        if shift < tolerance:
            converged = True
            break
    final = family_posteriors(tree, current, data.likelihoods, data.rows, [])
    objective.append(float(data.weights @ final.log_evidence) + _log_prior(current, alphas))
    return FitResult(current, counts, learned, iterations, converged, objective, data.cases, data.ticket_cases,
                     data.held_out)


def _with_cpts(network: DiscreteNetwork, updated: dict[str, Variable]) -> DiscreteNetwork:
    result = DiscreteNetwork()
    for name, variable in network.variables.items():
        result.add(updated.get(name, variable))
    return result


# ------------------------------------------------------------------------------------- learned.yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LearnedRow(_Strict):
    when: dict[str, str] = Field(default_factory=dict)
    p: dict[str, float]
    cases: float = Field(description="expected number of cases behind this row")


class LearnedNode(_Strict):
    parents: list[str] = Field(default_factory=list)
    states: list[str]
    rows: list[LearnedRow]


class LearnedParameters(_Strict):
    """The reviewable output of ``rootward learn``: full CPTs plus what they were learned from."""

    format: Literal[1] = 1
    pack: str
    kb_hash: str = Field(description="content hash of the expert pack files (without learned.yaml)")
    learned_on: dt.date
    cases: int
    ticket_cases: int
    ess: float
    iterations: int
    nodes: dict[str, LearnedNode]


def expert_hash(directory: Path) -> str:
    """The pack's content hash over its expert files only, as ``content_hash`` computes it.

    ``learned.yaml`` is left out, so this equals ``kb.version_hash`` when no learned file exists,
    and stays the same after learning writes one.
    """
    digest = hashlib.sha256()
    for path in pack_files(directory):
        if path.name == LEARNED_FILE:
            continue
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def learned_parameters(kb: KnowledgeBase, result: FitResult, ess: float,
                       today: dt.date | None = None) -> LearnedParameters:
    nodes: dict[str, LearnedNode] = {}
    for name in result.learned_nodes:
        variable = result.network.variables[name]
        rows = []
        parent_states = [result.network.variables[p].states for p in variable.parents]
        for config in itertools.product(*(range(len(s)) for s in parent_states)):
            cpt_row = variable.cpt[config]
            count = result.expected_counts[name][config].sum() if name in result.expected_counts else 0.0
            rows.append(LearnedRow(
                when={p: parent_states[i][k] for i, (p, k) in enumerate(zip(variable.parents, config, strict=True))},
                p={s: round(float(cpt_row[j]), 6) for j, s in enumerate(variable.states)},
                cases=round(float(count), 3),
            ))
        nodes[name] = LearnedNode(parents=list(variable.parents), states=list(variable.states), rows=rows)
    return LearnedParameters(
        pack=kb.id, kb_hash=expert_hash(kb.directory), learned_on=today or dt.datetime.now(dt.UTC).date(),
        cases=result.cases, ticket_cases=result.ticket_cases, ess=ess, iterations=result.iterations, nodes=nodes,
    )


def write_learned(directory: Path, parameters: LearnedParameters) -> Path:
    """Write ``learned.yaml`` atomically (a reader never sees half a file)."""
    import io
    import os
    import tempfile

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.width = 120
    buffer = io.StringIO()
    buffer.write("# Learned by `rootward learn` from reviewed cases; the expert CPDs are the prior.\n"
                 "# Review the changes (`rootward learn --dry-run`) before committing this file.\n")
    yaml.dump(parameters.model_dump(mode="json"), buffer)
    target = directory / LEARNED_FILE
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".learned-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(buffer.getvalue())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load_learned(directory: Path) -> LearnedParameters | None:
    """The pack's ``learned.yaml``, or None; a malformed file is an error naming the file."""
    from pydantic import ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = directory / LEARNED_FILE
    if not path.is_file():
        return None
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        return LearnedParameters.model_validate(document)
    except (YAMLError, ValidationError, OSError) as exc:
        raise LearnError(f"{path}: not a valid learned-parameters file ({str(exc).splitlines()[0]})",
                         {"file": str(path)}) from exc


def apply_learned(kb: KnowledgeBase, network: DiscreteNetwork) -> DiscreteNetwork:
    """The expert network with ``learned.yaml``'s CPTs laid over it (a new network; input untouched).

    Without a learned file, or with one learned from different expert files, the expert network is
    returned unchanged (the stale case is logged): parameters are never mixed across pack versions.
    """
    parameters = load_learned(kb.directory)
    if parameters is None:
        return network
    current = expert_hash(kb.directory)
    if parameters.kb_hash != current:
        log.warning("%s/%s was learned from pack version %s, but the pack is now %s; using the expert "
                    "CPDs (re-run `rootward learn --kb %s`)", kb.id, LEARNED_FILE, parameters.kb_hash,
                    current, kb.id)
        return network
    updated: dict[str, Variable] = {}
    for name, node in parameters.nodes.items():
        variable = network.variables.get(name)
        if variable is None or tuple(node.parents) != variable.parents or tuple(node.states) != variable.states:
            raise LearnError(f"{kb.directory / LEARNED_FILE}: node '{name}' does not match the pack's "
                             "structure; re-run `rootward learn`", {"node": name})
        cpt = np.array(variable.cpt, copy=True)
        parent_states = [network.variables[p].states for p in variable.parents]
        for row in node.rows:
            index = tuple(parent_states[i].index(row.when[p]) for i, p in enumerate(variable.parents))
            values = np.array([row.p[s] for s in variable.states])
            cpt[index] = values / values.sum()
        updated[name] = replace(variable, cpt=cpt)
    return _with_cpts(network, updated)


# ------------------------------------------------------------------------------------------- review


@dataclass(frozen=True)
class ParameterChange:
    """One CPT entry that learning moved, for ``learn --dry-run``."""

    node: str
    when: dict[str, str]
    state: str
    expert: float
    learned: float
    cases: float

    @property
    def delta(self) -> float:
        return self.learned - self.expert

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "when": self.when, "state": self.state, "expert": round(self.expert, 6),
                "learned": round(self.learned, 6), "delta": round(self.delta, 6), "cases": round(self.cases, 3)}


def parameter_changes(expert: DiscreteNetwork, result: FitResult, top: int = 20) -> list[ParameterChange]:
    """The largest absolute changes of CPT entries, largest first (one entry per binary row)."""
    changes: list[ParameterChange] = []
    for name in result.learned_nodes:
        before = expert.variables[name]
        after = result.network.variables[name].cpt
        parent_states = [expert.variables[p].states for p in before.parents]
        states = before.states[1:] if before.cardinality == 2 else before.states
        for config in itertools.product(*(range(len(s)) for s in parent_states)):
            when = {p: parent_states[i][k] for i, (p, k) in enumerate(zip(before.parents, config, strict=True))}
            count = float(result.expected_counts[name][config].sum()) if name in result.expected_counts else 0.0
            for state in states:
                j = before.state_index(state)
                changes.append(ParameterChange(name, when, state, float(before.cpt[config][j]),
                                               float(after[config][j]), count))
    changes.sort(key=lambda c: (-abs(c.delta), c.node))
    return changes[:top]


def learn(kb: KnowledgeBase, cases: Sequence[Case], *, ess: float = DEFAULT_ESS) -> tuple[FitResult, DiscreteNetwork]:
    """Fit the pack's expert network to cases; returns the fit and the expert network it started from."""
    from engine.model.compile import compile_network

    expert = compile_network(kb)
    result = fit(expert, cases, causes=list(kb.causes), learnable=learnable_nodes(kb), ess=ess)
    return result, expert
