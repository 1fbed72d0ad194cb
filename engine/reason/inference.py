"""One entry point for propagating evidence: the plain network, or a twin when fixes were tried.

Ranking, next question and fix assessment all go through here, so a fix attempt ("tried F, the
problem persisted") is weighed the same way everywhere. Attempts are collapsed to a few
observed after-worlds (``engine.reason.attempts``), which copy only what leads to the failures
the user reported; a candidate fix being assessed adds one more. A twin over the budget of
``engine.compiled.cache`` gives way to likelihood factors on the causes the fixes remove.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.compiled.cache import TwinTooLarge, compiled_model, twin_model
from engine.infer.junction_tree import JunctionTree, Result
from engine.kb.knowledge import KnowledgeBase
from engine.model.twin import TwinLayout
from engine.reason.attempts import attempt_factors, collapse, remission_rates
from engine.reason.evidence import Evidence, likelihood_batch, reported_symptoms


def watched_outcomes(kb: KnowledgeBase, variants: list[Evidence]) -> list[str]:
    """What an after-world must show: every reported failure, and the complaint for a variant with none."""
    watched: dict[str, None] = {}
    for variant in variants:
        reported = reported_symptoms(kb, variant)
        for name in reported or ([kb.pack.complaint] if kb.pack.complaint else []):
            watched[name] = None
    return list(watched)


def _times(likelihoods: dict[str, np.ndarray], node: str, factor: np.ndarray) -> None:
    likelihoods[node] = likelihoods[node] * factor if node in likelihoods else factor


def _seen_rows(kb: KnowledgeBase, layout: TwinLayout, variants: list[Evidence], slot: int, outcome: str
               ) -> dict[str, np.ndarray]:
    """The slot's "as seen afterwards" nodes observed per variant: all failures seen, or none."""
    rows: dict[str, np.ndarray] = {}
    for b, variant in enumerate(variants):
        reported = reported_symptoms(kb, variant)
        if reported:
            seen = [(layout.seen_symptoms[slot][q], kb.questions[q].answers, 0) for q in reported]
        else:
            name = layout.seen_complaint[slot]
            assert name is not None
            states = kb.states(layout.complaint)
            seen = [(name, states, states.index("present"))]
        for node, states, failing in seen:
            array = rows.setdefault(node, np.ones((len(variants), len(states))))
            array[b] = 0.0
            array[b, failing if outcome == "persisted" else 1 - failing] = 1.0
    return {node: array[:1] if (array == array[0]).all() else array for node, array in rows.items()}


def evidence_likelihoods(
    kb: KnowledgeBase, variants: list[Evidence], candidate: str | None = None,
    outcomes: Sequence[str] | None = None,
) -> tuple[JunctionTree, TwinLayout | None, dict[str, np.ndarray]]:
    """The tree to use and the likelihoods of a batch of evidence variants (same fixes tried).

    Raises :class:`TwinTooLarge` when the candidate's twin passes the budget (the caller then
    assesses the candidate on the causes).
    """
    tried = variants[0].tried
    if any(v.tried != tried for v in variants):
        raise ValueError("a batch must share its fixes tried")
    likelihoods = likelihood_batch(kb, variants)
    if not tried and candidate is None:
        return compiled_model(kb).tree, None, likelihoods
    collapsed = collapse(tried)
    steps = [*collapsed.steps, *([(*collapsed.pending, candidate)] if candidate is not None else [])]
    try:
        twin = twin_model(kb, steps, observed=len(collapsed.steps),
                          outcomes=list(outcomes) if outcomes is not None else watched_outcomes(kb, variants))
    except TwinTooLarge:
        if candidate is not None:
            raise
        intermittency = kb.pack.intermittency
        tree = compiled_model(kb).tree
        prior = tree.prior_marginal(intermittency) if intermittency is not None else None
        for node, factor in attempt_factors(kb, variants[0], prior).items():
            _times(likelihoods, node, factor)
        return tree, None, likelihoods
    for slot, outcome in enumerate(collapsed.outcomes):
        likelihoods.update(_seen_rows(kb, twin.layout, variants, slot, outcome))
    rates = remission_rates(kb)
    if rates is not None and kb.pack.intermittency is not None and (collapsed.quiet_spells or
                                                                      collapsed.earlier_persisted):
        factor = rates ** collapsed.quiet_spells * (1.0 - rates) ** collapsed.earlier_persisted
        _times(likelihoods, kb.pack.intermittency, factor[None, :])
    return twin.tree, twin.layout, likelihoods


def propagate(
    kb: KnowledgeBase, variants: list[Evidence], extra: dict[str, np.ndarray] | None = None,
    targets: list[str] | None = None,
) -> Result:
    """One batched pass over evidence variants, times optional clamps (e.g. on causes).

    A clamp multiplies what is already known about its node (fix attempts can weigh on causes
    too), so clamping a cause never discards an attempt's evidence about it. With ``targets``
    given, the questions nobody answered are barren (they sum out to one) and the pass runs on the
    sub-tree without them: on the mail pack a turn's tree shrinks from 166k to about 12k entries,
    because the big cliques come from questions whose parents moralisation marries.
    """
    tree, _, likelihoods = evidence_likelihoods(kb, variants)
    for node, clamp in (extra or {}).items():
        _times(likelihoods, node, clamp)
    return tree.propagate(likelihoods, len(variants), targets, barren=targets is not None)
