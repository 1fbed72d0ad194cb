"""Which pairs of causes no question can tell apart.

Two causes are look-alikes when, with each alone present, every answer to every question is about
equally likely: then no amount of asking separates them and the ranking will split between them
forever. Authors should add the question that differs (KB-MODELLING: "discriminate look-alikes").
"""

from __future__ import annotations

import numpy as np

from engine.compiled.cache import compiled_model
from engine.kb.knowledge import KnowledgeBase

DISTINGUISHING_BITS = 1.0
"""An answer whose likelihood differs by a factor of two between the causes tells them apart."""


def single_fault_profiles(kb: KnowledgeBase) -> dict[str, dict[str, np.ndarray]]:
    """P(answer | only this cause present) for every cause and question, in one batched pass."""
    model = compiled_model(kb)
    causes = list(kb.causes)
    batch = len(causes)
    likelihoods = {}
    for i, cause_id in enumerate(causes):
        states = kb.states(cause_id)
        rows = np.zeros((batch, len(states)))
        rows[:, 0] = 1.0
        rows[i] = 0.0
        rows[i, 1:] = 1.0  # any non-normal state: multi-state causes keep their own mix
        likelihoods[cause_id] = rows
    result = model.tree.propagate(likelihoods, batch)
    marginals = {q: result.marginal(q) for q in kb.questions}
    return {c: {q: marginals[q][i] for q in kb.questions} for i, c in enumerate(causes)}


def identifiability_warnings(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """(cause, cause, what is closest to separating them) for every indistinguishable pair."""
    profiles = single_fault_profiles(kb)
    causes = list(profiles)
    warnings = []
    for i, first in enumerate(causes):
        for second in causes[i + 1 :]:
            best_bits, best_question = 0.0, ""
            for question in kb.questions:
                p, q = profiles[first][question], profiles[second][question]
                with np.errstate(divide="ignore", invalid="ignore"):
                    bits = np.abs(np.log2(np.maximum(p, 1e-300) / np.maximum(q, 1e-300)))
                if float(bits.max()) > best_bits:
                    best_bits, best_question = float(bits.max()), question
            if best_bits < DISTINGUISHING_BITS:
                detail = f"best question '{best_question}' separates them by {best_bits:.2f} bits"
                warnings.append((first, second, detail))
    return warnings
