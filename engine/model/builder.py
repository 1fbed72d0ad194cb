"""Small helpers for building networks out of deterministic pieces and noise roots.

Both the divorced inference network and the twin network are assembled from the same parts: a
binary switch computed from its parents, pairwise chains (so no table grows with the number of
parents), and relabelling into a node's own states.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from engine.kb.knowledge import on_state
from engine.model.network import DiscreteNetwork, Variable

SWITCH = ("off", "on")


def switch_root(name: str, p_on: float) -> Variable:
    return Variable(name=name, states=SWITCH, parents=(), cpt=np.array([1.0 - p_on, p_on]))


class NetworkBuilder:
    """Accumulates variables of the twin network in a valid (topological) order."""

    def __init__(self) -> None:
        self.network = DiscreteNetwork()

    def states(self, name: str) -> tuple[str, ...]:
        return self.network.variables[name].states

    def is_on(self, name: str, index: int) -> bool:
        states = self.states(name)
        on = on_state(states)
        return states[index] == (on if on is not None else "on")

    def add(self, variable: Variable) -> str:
        if variable.name not in self.network.variables:
            self.network.add(variable)
        return variable.name

    def deterministic(
        self, name: str, states: Sequence[str], parents: Sequence[str], rule: Callable[[tuple[int, ...]], int]
    ) -> str:
        """A node whose state is a function of its parents' states (a one-hot CPT)."""
        if name in self.network.variables:
            return name
        cards = [len(self.states(p)) for p in parents]
        cpt = np.zeros((*cards, len(states)))
        for combo in itertools.product(*(range(c) for c in cards)):
            cpt[(*combo, rule(combo))] = 1.0
        return self.add(Variable(name=name, states=tuple(states), parents=tuple(parents), cpt=cpt))

    def switch(self, name: str, parents: Sequence[str], rule: Callable[[list[bool]], bool]) -> str:
        """A binary off/on node computed from whether each parent is on."""
        return self.deterministic(
            name, SWITCH, parents,
            lambda combo: int(rule([self.is_on(p, i) for p, i in zip(parents, combo, strict=True)])),
        )

    def chain(
        self, name: str, inputs: list[str], combine: Callable[[bool, bool], bool], tag: str = "", shared: int = 0
    ) -> str:
        """Fold binary inputs pairwise, so no table grows with the number of parents.

        Folds over only the first ``shared`` inputs keep the untagged name, so a copy of the chain
        whose leading inputs are unchanged reuses the original's nodes instead of duplicating them.
        """
        acc = inputs[0]
        for k, item in enumerate(inputs[1:], start=1):
            label = f"{name}:{k}" if k < shared else f"{name}{tag}:{k}"
            acc = self.switch(label, [acc, item], lambda on: combine(on[0], on[1]))
        return acc

    def relabel(self, name: str, states: Sequence[str], source: str) -> str:
        """Turn an off/on result into the mechanism's own states (``present`` is on)."""
        on = on_state(list(states))
        assert on is not None
        on_index = list(states).index(on)
        return self.deterministic(
            name, states, [source], lambda combo: on_index if self.is_on(source, combo[0]) else 1 - on_index
        )
