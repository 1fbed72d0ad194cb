"""Canonical CPD forms → CPT arrays → a ``DiscreteNetwork``.

Authors write noisy-OR, noisy-AND, all-of and tables because those are the forms a reviewer can
check against a manual; the engine only ever sees full CPTs.
"""

from __future__ import annotations

import numpy as np

from engine.kb.knowledge import KnowledgeBase, on_state
from engine.kb.schema import AllOfCpd, Cause, Cpd, NoisyAndCpd, NoisyOrCpd, Question, TableCpd
from engine.model.network import DiscreteNetwork, FloatArray, Variable


class CompileError(ValueError):
    """A CPD that validation should have caught; names the node so the author can find it."""


def cause_cpt(cause: Cause) -> FloatArray:
    if cause.prior is not None:
        return np.array([1.0 - cause.prior, cause.prior])
    assert cause.distribution is not None
    return np.array([cause.distribution[s] for s in cause.states], dtype=np.float64)


def _binary_table(p_on: FloatArray, states: list[str], node_id: str) -> FloatArray:
    on = on_state(states)
    if on is None:
        raise CompileError(f"{node_id}: canonical CPDs need a binary node with a 'present' or 'yes' state")
    on_index = states.index(on)
    table = np.empty((*p_on.shape, 2))
    table[..., on_index] = p_on
    table[..., 1 - on_index] = 1.0 - p_on
    return table


def _parent_on_grid(kb: KnowledgeBase, parents: list[str], node_id: str) -> list[FloatArray]:
    """For each parent, a boolean grid over all parent configurations: is that parent on?"""
    grids = []
    shape = [len(kb.states(p)) for p in parents]
    for axis, parent in enumerate(parents):
        states = kb.states(parent)
        on = on_state(states)
        if on is None:
            raise CompileError(f"{node_id}: parent {parent} is not binary with a 'present' state")
        indicator = np.zeros(shape[axis])
        indicator[states.index(on)] = 1.0
        view = [1] * len(parents)
        view[axis] = shape[axis]
        grids.append(np.broadcast_to(indicator.reshape(view), shape))
    return grids


def cpd_table(kb: KnowledgeBase, node_id: str, cpd: Cpd) -> FloatArray:
    """The child-last CPT of one node with a canonical or explicit CPD."""
    states = kb.states(node_id)
    if isinstance(cpd, NoisyOrCpd):
        parents = list(cpd.parents)
        grids = _parent_on_grid(kb, parents, node_id)
        p_off = np.full(grids[0].shape, 1.0 - cpd.leak)
        for grid, parent in zip(grids, parents, strict=True):
            p_off = p_off * (1.0 - cpd.parents[parent] * grid)
        return _binary_table(1.0 - p_off, states, node_id)
    if isinstance(cpd, NoisyAndCpd):
        parents = list(cpd.parents)
        grids = _parent_on_grid(kb, parents, node_id)
        p_on = np.ones(grids[0].shape)
        for grid, parent in zip(grids, parents, strict=True):
            p_on = p_on * (cpd.parents[parent] * grid + cpd.leak * (1.0 - grid))
        return _binary_table(p_on, states, node_id)
    if isinstance(cpd, AllOfCpd):
        grids = _parent_on_grid(kb, list(cpd.parents), node_id)
        all_on = np.ones(grids[0].shape)
        for grid in grids:
            all_on = all_on * grid
        return _binary_table(cpd.strength * all_on + cpd.leak * (1.0 - all_on), states, node_id)
    return _explicit_table(kb, node_id, cpd, states)


def _explicit_table(kb: KnowledgeBase, node_id: str, cpd: TableCpd, states: list[str]) -> FloatArray:
    parent_states = [kb.states(p) for p in cpd.parents]
    table = np.full((*(len(s) for s in parent_states), len(states)), np.nan)
    for row in cpd.rows:
        index = tuple(
            slice(None) if parent not in row.when else parent_states[i].index(row.when[parent])
            for i, parent in enumerate(cpd.parents)
        )
        table[index] = [row.p.get(s, 0.0) for s in states]
    unset = np.isnan(table[..., 0])
    if unset.any():
        if cpd.default is None:
            missing = next(iter(zip(*np.nonzero(unset), strict=True)))
            config = {p: parent_states[i][int(k)] for i, (p, k) in enumerate(zip(cpd.parents, missing, strict=True))}
            raise CompileError(f"{node_id}: no table row for parent states {config} and no default row")
        table[unset] = [cpd.default.get(s, 0.0) for s in states]
    return table


def topological_order(kb: KnowledgeBase) -> list[str]:
    """Causes first, then mechanisms and questions in dependency order (Kahn's algorithm)."""
    order: list[str] = list(kb.causes)
    placed = set(order)
    pending = [*kb.mechanisms, *kb.questions]
    while pending:
        ready = [n for n in pending if all(p in placed for p in kb.parents(n))]
        if not ready:
            raise CompileError(f"cycle or dangling parent among: {', '.join(sorted(pending))}")
        for node_id in ready:
            order.append(node_id)
            placed.add(node_id)
        pending = [n for n in pending if n not in placed]
    return order


def compile_network(kb: KnowledgeBase) -> DiscreteNetwork:
    network = DiscreteNetwork()
    for node_id in topological_order(kb):
        node = kb.node(node_id)
        if isinstance(node, Cause):
            cpt = cause_cpt(node)
            parents: tuple[str, ...] = ()
        else:
            cpt = cpd_table(kb, node_id, node.cpd)
            parents = tuple(node.cpd.parents)
        states = tuple(node.answers if isinstance(node, Question) else node.states)
        network.add(Variable(name=node_id, states=states, parents=parents, cpt=cpt))
    return network

