"""One entry point for propagating evidence, on the plain network or, with fixes tried, the twin.

Ranking, next question and fix assessment all go through here, so a fix attempt ("tried F, the
problem persisted") is weighed the same way everywhere.
"""

from __future__ import annotations

import numpy as np

from engine.infer.junction_tree import JunctionTree, Result
from engine.kb.knowledge import KnowledgeBase
from engine.model.cache import compiled_model, twin_model
from engine.model.twin import TwinLayout
from engine.reason.evidence import Evidence, TriedFix, likelihood_batch, reported_symptoms


def tried_likelihoods(kb: KnowledgeBase, layout: TwinLayout, evidence: Evidence) -> dict[str, np.ndarray]:
    """Slot k holds the k-th fix tried; its outcome observes the problem as seen right after it.

    "Persisted" means every failure the user reported is still seen, "stopped" that none is (with
    no failure reported, the complaint node stands for the problem); "unclear" observes nothing.
    """
    arrays: dict[str, np.ndarray] = {}
    reported = reported_symptoms(kb, evidence)
    for slot, attempt in enumerate(evidence.tried):
        if attempt.outcome == "unclear":
            continue
        if reported:
            for question in reported:
                answers = kb.questions[question].answers
                row = np.zeros((1, len(answers)))
                row[0, 0 if attempt.outcome == "persisted" else 1] = 1.0  # answer 0 is the failure
                arrays[layout.seen_symptoms[slot][question]] = row
        else:
            states = kb.states(layout.complaint)
            row = np.zeros((1, len(states)))
            row[0, states.index("present" if attempt.outcome == "persisted" else "absent")] = 1.0
            seen = layout.seen_complaint[slot]
            assert seen is not None
            arrays[seen] = row
    return arrays


def model_for(
    kb: KnowledgeBase, tried: tuple[TriedFix, ...], candidate: str | None = None
) -> tuple[JunctionTree, TwinLayout | None]:
    """The plain network when nothing was tried or proposed, else the twin for those fixes."""
    fixes = [t.fix for t in tried] + ([candidate] if candidate else [])
    if not fixes:
        return compiled_model(kb).tree, None
    twin = twin_model(kb, fixes, observed=len(tried))
    return twin.tree, twin.layout


def evidence_likelihoods(
    kb: KnowledgeBase, variants: list[Evidence], candidate: str | None = None
) -> tuple[JunctionTree, TwinLayout | None, dict[str, np.ndarray]]:
    """The tree to use and the likelihoods of a batch of evidence variants (same fixes tried)."""
    tried = variants[0].tried
    if any(v.tried != tried for v in variants):
        raise ValueError("a batch must share its fixes tried")
    tree, layout = model_for(kb, tried, candidate)
    likelihoods = likelihood_batch(kb, variants)
    if layout is not None:
        likelihoods.update(tried_likelihoods(kb, layout, variants[0]))
    return tree, layout, likelihoods


def propagate(
    kb: KnowledgeBase, variants: list[Evidence], extra: dict[str, np.ndarray] | None = None,
    targets: list[str] | None = None,
) -> Result:
    """One batched pass over evidence variants (plus optional clamps, e.g. on causes)."""
    tree, _, likelihoods = evidence_likelihoods(kb, variants)
    if extra:
        likelihoods.update(extra)
    return tree.propagate(likelihoods, len(variants), targets)
