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
  normal state in a second batch row of the same junction-tree propagation gives
  P(e, all causes normal) / P(e) exactly, so no existing marginal can change. Packs without a
  complaint get ``None``: there is nothing the causes are meant to explain.
* **enough_evidence**: the information the evidence has given about the causes,
  Σ_c KL(P(C_c | complaint, e) ‖ P(C_c | complaint)) in bits (each cause's posterior against the
  ranking with nothing answered), reaches ``ENOUGH_EVIDENCE_BITS``. It is measured like the
  next-question gain — Σ_c I(Q; C_c) is the expected value of the same sum taken between the
  posteriors after and before answering Q — so "enough" is in the unit staff already see in
  ``expected_gain_bits``, and it is zero when nothing has been answered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import ContradictionError
from engine.kb.knowledge import KnowledgeBase
from engine.reason.evidence import Evidence
from engine.reason.inference import propagate
from engine.reason.ranking import find_contradiction

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


def assess_uncertainty(kb: KnowledgeBase, evidence: Evidence) -> Uncertainty:
    """Both numbers from two propagations: the evidence (with and without every cause clamped
    normal, as two rows of one batch) and the empty evidence the priors are compared against."""
    causes = list(kb.causes)
    clamps = {}
    for cause in causes:
        rows = np.ones((2, len(kb.states(cause))))
        rows[1] = 0.0
        rows[1, 0] = 1.0
        clamps[cause] = rows
    result = propagate(kb, [evidence, evidence], clamps, targets=causes)
    if result.impossible[0]:
        raise ContradictionError(find_contradiction(kb, evidence))
    baseline = propagate(kb, [Evidence()], targets=causes)
    bits = sum(_kl_bits(result.marginal(c)[0], baseline.marginal(c)[0]) for c in causes)
    unmodelled: float | None = None
    if kb.pack.complaint is not None:
        unmodelled = 0.0 if result.impossible[1] else float(
            np.exp(result.log_evidence[1] - result.log_evidence[0]))
        unmodelled = min(1.0, max(0.0, unmodelled))
    return Uncertainty(unmodelled_probability=unmodelled, evidence_bits=max(0.0, bits))
