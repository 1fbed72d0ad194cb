"""Conversion between our ``DiscreteNetwork`` and pgmpy, for validation, reference tests and BIF I/O.

pgmpy is heavy to import (seconds, hundreds of MB), so it is imported here only, and this module is
imported only by code paths that really need pgmpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.model.network import DiscreteNetwork, Variable

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork


def to_pgmpy(network: DiscreteNetwork) -> DiscreteBayesianNetwork:
    """Build a pgmpy network whose ``check_model`` passes; pgmpy wants child-first CPT columns."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    model = DiscreteBayesianNetwork()
    model.add_nodes_from(network.names)
    for var in network.variables.values():
        model.add_edges_from((p, var.name) for p in var.parents)
    cpds = []
    for var in network.variables.values():
        # child-last (p1, p2, ..., child) -> pgmpy's (child, p1*p2*...) with the last parent fastest
        values = var.cpt.reshape(-1, var.cardinality).T
        state_names = {var.name: list(var.states)}
        for p in var.parents:
            state_names[p] = list(network.variables[p].states)
        cpds.append(
            TabularCPD(
                variable=var.name,
                variable_card=var.cardinality,
                values=values,
                evidence=list(var.parents) or None,
                evidence_card=[network.cardinality(p) for p in var.parents] or None,
                state_names=state_names,
            )
        )
    model.add_cpds(*cpds)
    model.check_model()
    return model


def from_pgmpy(model: DiscreteBayesianNetwork) -> DiscreteNetwork:
    """Read a pgmpy network (e.g. from BIF) into our layout, in topological order."""
    import networkx as nx

    network = DiscreteNetwork()
    for name in nx.topological_sort(model):
        cpd = model.get_cpds(name)
        parents = tuple(cpd.variables[1:])
        states = tuple(str(s) for s in cpd.state_names[name])
        parent_cards = tuple(int(c) for c in cpd.cardinality[1:])
        values = np.asarray(cpd.get_values(), dtype=np.float64)  # (card, prod(parent cards))
        cpt = values.T.reshape(*parent_cards, len(states))
        network.add(Variable(name=str(name), states=states, parents=tuple(str(p) for p in parents), cpt=cpt))
    return network
