"""How much the answers have told us, and how much of the problem the pack cannot explain.

A ranking always sums to a confident-looking list, even before anyone has answered anything: with
thin evidence it is the priors speaking. Two numbers say so plainly, beside the ranking and never as
a pseudo-cause inside it (``causes`` holds only what the pack can name, confirm and fix):

* **unmodelled_probability** = P(no modelled cause is present | complaint, evidence): the posterior
  probability that every cause of the pack is in its normal (first) state, so the complaint is
  explained only by leaks — the complaint's own leak and the leaks of the mechanisms leading to it,
  which all stand for causes the pack does not model. This is chosen over "the complaint's leak
  fired alone" because it is defined for any pack with a complaint, whatever the complaint's CPD
  form (a table CPD has no leak parameter), and it needs no extra node: clamping every cause to its
  normal state in one more propagation gives P(e, all causes normal), and its ratio to the
  ranking's own P(e) is the answer, exactly, so no existing marginal can change. Packs without a
  complaint get ``None``: there is nothing the causes are meant to explain.
* **enough_evidence**: the information the evidence has given about the causes,
  Σ_c KL(P(C_c | complaint, e) ‖ P(C_c | complaint)) in bits (each cause's posterior against the
  ranking with nothing answered), reaches ``ENOUGH_EVIDENCE_BITS``. It is measured like the
  next-question gain — Σ_c I(Q; C_c) is the expected value of the same sum taken between the
  posteriors after and before answering Q — so "enough" is in the unit staff already see in
  ``expected_gain_bits``, and it is zero when nothing has been answered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from engine.kb.knowledge import KnowledgeBase
from engine.reason.evidence import Evidence
from engine.reason.inference import propagate
from engine.reason.ranking import CausePosterior, cause_posterior

ENOUGH_EVIDENCE_BITS = 1.0
"""One bit: the answers together have told us at least as much about the causes as one yes/no
question whose answer was a fair coin. On mail_delivery 1.1.0 a single answer that only nudges the
usual causes gives 0.0–0.8 bits (``config_stable_long=yes`` 0.1, ``attachment_mail_fails=yes`` 0.5),
one that points at a specific cause 1–2.3 bits (``quota_exceeded_logged=yes`` 2.2), and the seed
incident's six first observations 1.6 bits, 3.4 with the path-MTU check."""


@dataclass(frozen=True)
class Uncertainty:
    """What the faces show beside a ranking; see the module docstring for both definitions."""

    unmodelled_probability: float | None
    evidence_bits: float
    """Σ over causes of KL(posterior ‖ ranking with nothing answered), in bits."""

    @property
    def enough_evidence(self) -> bool:
        return self.evidence_bits >= ENOUGH_EVIDENCE_BITS


def _kl_bits(posterior: np.ndarray, baseline: np.ndarray) -> float:
    """KL(posterior ‖ baseline) in bits; states the posterior rules out contribute nothing."""
    keep = posterior > 0.0
    return float(np.sum(posterior[keep] * np.log2(posterior[keep] / baseline[keep])))


_BASELINES: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
_BASELINE_LOCK = threading.Lock()
BASELINES = 16
"""Packs whose baseline (the causes given the complaint alone) is kept: one small dict per version."""


def baseline(kb: KnowledgeBase) -> dict[str, np.ndarray]:
    """P(C | complaint) per cause: what the answers are measured against. It depends on the pack
    only, so it is computed once per version (``BASELINES`` versions kept, least recent out first)."""
    with _BASELINE_LOCK:
        known = _BASELINES.get(kb.version_hash)
        if known is not None:
            _BASELINES.move_to_end(kb.version_hash)
            return known
    causes = list(kb.causes)
    result = propagate(kb, [Evidence()], targets=causes)
    marginals = {c: result.marginal(c)[0].copy() for c in causes}
    with _BASELINE_LOCK:
        _BASELINES[kb.version_hash] = marginals
        while len(_BASELINES) > BASELINES:
            _BASELINES.popitem(last=False)
    return marginals


def assess_uncertainty(kb: KnowledgeBase, evidence: Evidence, posterior: CausePosterior | None = None
                       ) -> Uncertainty:
    """Both numbers from the evidence's posterior (``posterior``, when the caller already has it), one
    propagation with every cause clamped normal, and the pack's cached baseline."""
    posterior = posterior or cause_posterior(kb, evidence)
    causes = list(kb.causes)
    reference = baseline(kb)
    bits = sum(_kl_bits(posterior.result.marginal(c)[0], reference[c]) for c in causes)
    unmodelled: float | None = None
    if kb.pack.complaint is not None:
        likelihoods = posterior.likelihoods_copy()
        for cause in causes:
            normal = np.zeros((1, len(kb.states(cause))))
            normal[0, 0] = 1.0
            likelihoods[cause] = likelihoods[cause] * normal if cause in likelihoods else normal
        normal_only = posterior.tree.propagate(likelihoods, 1, targets=[], barren=True)
        unmodelled = 0.0 if normal_only.impossible[0] else float(
            np.exp(normal_only.log_evidence[0] - posterior.log_evidence))
        unmodelled = min(1.0, max(0.0, unmodelled))
    return Uncertainty(unmodelled_probability=unmodelled, evidence_bits=max(0.0, bits))
