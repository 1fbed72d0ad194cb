"""Shared helpers for the inference tests: random networks, evidence, and two reference engines.

The references are deliberately independent of our junction tree: brute-force enumeration of the
full joint (small networks, any soft evidence) and pgmpy's ``VariableElimination`` (bigger networks;
soft evidence becomes an observed dummy child whose CPT is the likelihood).
"""

from __future__ import annotations

import math
import string

import numpy as np
from hypothesis import strategies as st

from engine.bundled import networks_dir
from engine.model.network import DiscreteNetwork, Variable

NETWORKS = networks_dir()

Evidence = dict[str, np.ndarray]


def random_network(
    rng: np.random.Generator, n_nodes: int, *, window: int = 6, zero_rate: float = 0.15
) -> DiscreteNetwork:
    """A random DAG; parents come from the previous ``window`` nodes so the treewidth stays small."""
    network = DiscreteNetwork()
    names = [f"{string.ascii_uppercase[i % 26]}{i}" for i in range(n_nodes)]
    for i, name in enumerate(names):
        card = int(rng.integers(2, 5))
        pool = names[max(0, i - window) : i]
        n_par = int(rng.integers(0, min(3, len(pool)) + 1))
        parents = tuple(sorted(rng.choice(pool, size=n_par, replace=False).tolist())) if n_par else ()
        shape = (*tuple(network.cardinality(p) for p in parents), card)
        cpt = rng.gamma(0.7, size=shape)
        cpt[rng.random(shape) < zero_rate] = 0.0
        flat = cpt.reshape(-1, card)
        empty = flat.sum(axis=1) == 0
        flat[empty, rng.integers(0, card, size=int(empty.sum()))] = 1.0
        cpt = flat.reshape(shape) / flat.reshape(shape).sum(axis=-1, keepdims=True)
        network.add(Variable(name, tuple(f"s{k}" for k in range(card)), parents, cpt))
    return network


def random_evidence(
    rng: np.random.Generator, network: DiscreteNetwork, n_hard: int, n_soft: int
) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Distinct hard (state index) and soft (likelihood vector, may contain zeros) evidence."""
    names = list(rng.permutation(network.names))
    hard = {n: int(rng.integers(network.cardinality(n))) for n in names[:n_hard]}
    soft = {}
    for n in names[n_hard : n_hard + n_soft]:
        lam = rng.random(network.cardinality(n)) * 3.0
        lam[rng.random(lam.size) < 0.25] = 0.0
        if not lam.any():
            lam[0] = 0.5
        soft[n] = lam
    return hard, soft


def likelihoods(network: DiscreteNetwork, hard: dict[str, int], soft: dict[str, np.ndarray]) -> Evidence:
    """Our input format (one batch row) for hard and soft evidence."""
    out = {n: np.eye(network.cardinality(n))[[k]] for n, k in hard.items()}
    out.update({n: np.asarray(lam, dtype=np.float64)[None, :] for n, lam in soft.items()})
    return out


def brute_force(network: DiscreteNetwork, lams: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float]:
    """Posterior marginals and ``P(e)`` by enumerating the joint (for at most ~10 variables)."""
    names = network.names
    axis = {n: i for i, n in enumerate(names)}
    joint = np.ones(tuple(network.cardinality(n) for n in names))
    for var in network.variables.values():
        family = [*var.parents, var.name]
        shape = [1] * len(names)
        for p in family:
            shape[axis[p]] = network.cardinality(p)
        order = sorted(range(len(family)), key=lambda k: axis[family[k]])
        joint = joint * var.cpt.transpose(order).reshape(shape)
    for n, lam in lams.items():
        shape = [1] * len(names)
        shape[axis[n]] = lam.size
        joint = joint * np.asarray(lam).reshape(shape)
    total = float(joint.sum())
    marginals = {}
    for n in names:
        m = joint.sum(axis=tuple(i for i in range(len(names)) if i != axis[n]))
        marginals[n] = m / total if total > 0 else np.zeros_like(m)
    return marginals, total


def with_soft_children(
    network: DiscreteNetwork, soft: dict[str, np.ndarray]
) -> tuple[DiscreteNetwork, dict[str, str], float]:
    """Soft evidence as observed dummy children ``P(d=yes | X) = λ(X) / max λ`` for pgmpy.

    Returns the extended network, the dummy evidence, and ``Σ log max λ`` to add to its ``log P(e)``.
    """
    extended = DiscreteNetwork(dict(network.variables))
    evidence = {}
    offset = 0.0
    for i, (name, lam) in enumerate(soft.items()):
        peak = float(np.max(lam))
        scaled = np.asarray(lam, dtype=np.float64) / peak
        dummy = f"soft_{i}"
        extended.add(Variable(dummy, ("no", "yes"), (name,), np.stack([1.0 - scaled, scaled], axis=1)))
        evidence[dummy] = "yes"
        offset += math.log(peak)
    return extended, evidence, offset


def pgmpy_reference(
    network: DiscreteNetwork, hard: dict[str, int], soft: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray] | None, float]:
    """pgmpy VE posteriors of the network's variables and ``log P(e)`` (chain rule over the evidence).

    Returns ``(None, -inf)`` when the evidence is impossible.
    """
    from pgmpy.inference import VariableElimination

    from engine.model.pgmpy_bridge import to_pgmpy

    extended, evidence, offset = with_soft_children(network, soft)
    evidence.update({n: network.variables[n].states[k] for n, k in hard.items()})
    ve = VariableElimination(to_pgmpy(extended))
    log_p = offset
    seen: dict[str, str] = {}
    for name, state in evidence.items():
        factor = ve.query([name], evidence=dict(seen) or None, show_progress=False)
        p = float(factor.values[factor.state_names[name].index(state)])
        if p <= 0.0:
            return None, -math.inf
        log_p += math.log(p)
        seen[name] = state
    marginals = {}
    for n in network.names:
        if n not in evidence:
            # one query per variable: pgmpy's joint=False builds the joint of all query variables first
            factor = ve.query([n], evidence=evidence, show_progress=False)
            marginals[n] = np.asarray(factor.values, dtype=np.float64)
    for n, k in hard.items():
        marginals[n] = np.eye(network.cardinality(n))[k]
    return marginals, log_p


def entropy_bits(p: np.ndarray) -> float:
    q = p[p > 0]
    return float(-(q * np.log2(q)).sum())


seeds = st.integers(min_value=0, max_value=2**32 - 1)
