"""bnlearn-style BIF text as a :class:`DiscreteNetwork` (the importer reads the files, bounded).

BIF parsing is delegated to pgmpy's ``BIFReader`` (imported lazily: importing this module stays
cheap), because it is the reference parser the rest of the project validates against. Rows are
renormalised because BIF files round probabilities (rows sum to 1 ± 1e-7), and exact comparisons
against pgmpy, which prunes barren nodes, need rows that sum to one.
"""

from __future__ import annotations

import numpy as np

from engine.model.network import DiscreteNetwork, Variable


def parse_bif(text: str) -> DiscreteNetwork:
    """A row-normalised network from BIF text."""
    from pgmpy.readwrite import BIFReader

    from engine.model.pgmpy_bridge import from_pgmpy

    raw = from_pgmpy(BIFReader(string=text).get_model())
    network = DiscreteNetwork()
    for var in raw.variables.values():
        cpt = var.cpt / var.cpt.sum(axis=-1, keepdims=True)
        network.add(Variable(var.name, var.states, var.parents, np.asarray(cpt, dtype=np.float64)))
    return network


def roots(network: DiscreteNetwork) -> list[str]:
    """Parentless variables: the default troubleshooting causes of a BIF network."""
    return [v.name for v in network.variables.values() if not v.parents]


def leaves(network: DiscreteNetwork) -> list[str]:
    """Childless variables: the default observable questions of a BIF network."""
    parents = {p for v in network.variables.values() for p in v.parents}
    return [n for n in network.names if n not in parents]
