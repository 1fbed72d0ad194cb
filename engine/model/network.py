"""The plain-numpy discrete Bayesian network every engine layer shares.

The KB compiler, the BIF importer, our own inference and the pgmpy reference all meet here, so
that the inference core never has to know about YAML, pydantic or pgmpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Variable:
    """One node: its states and P(node | parents).

    ``cpt`` has shape ``(*parent_cardinalities, len(states))`` with parents in the order of
    ``parents``; the last axis sums to one. This child-last layout lets a conditioning row be
    addressed as ``cpt[parent_state_indices]``.
    """

    name: str
    states: tuple[str, ...]
    parents: tuple[str, ...]
    cpt: FloatArray

    @property
    def cardinality(self) -> int:
        return len(self.states)

    def state_index(self, state: str) -> int:
        return self.states.index(state)


@dataclass
class DiscreteNetwork:
    """A DAG of discrete variables, kept in a topological order."""

    variables: dict[str, Variable] = field(default_factory=dict)

    def add(self, variable: Variable) -> None:
        missing = [p for p in variable.parents if p not in self.variables]
        if missing:
            raise ValueError(f"{variable.name}: parents must be added first, missing {missing}")
        expected = (*(self.variables[p].cardinality for p in variable.parents), variable.cardinality)
        if variable.cpt.shape != expected:
            raise ValueError(f"{variable.name}: CPT shape {variable.cpt.shape}, expected {expected}")
        self.variables[variable.name] = variable

    @property
    def names(self) -> list[str]:
        return list(self.variables)

    def children(self, name: str) -> list[str]:
        return [v.name for v in self.variables.values() if name in v.parents]

    def cardinality(self, name: str) -> int:
        return self.variables[name].cardinality
