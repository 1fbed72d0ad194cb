"""Ranking by P(at work): latent causes (acting only through a conjunction) stop crowding thin cases.

The requirement probabilities are checked against an independent route (the chain rule over
successively clamped propagations), and the mail pack's latent causes against its structure.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.bundled import samples_dir
from engine.kb.knowledge import KnowledgeBase
from engine.kb.validate import load_kb
from engine.learn.cases import credited_causes, refinement_map
from engine.learn.evaluate import ScoredCase
from engine.reason.at_work import conjunction_requirements
from engine.reason.evidence import Evidence, build_evidence
from engine.reason.inference import propagate
from engine.reason.ranking import rank

SEED = json.loads((samples_dir() / "seed" / "answers.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb("mail_delivery")


def test_latent_causes_are_those_behind_a_conjunction(kb: KnowledgeBase) -> None:
    latent = conjunction_requirements(kb)
    assert set(latent) == {"mtu_mru_mismatch", "pmtud_blackhole", "tunnel_without_mss_clamping",
                           "remote_reduced_mtu_hop", "dos_protection_false_positive"}
    (requirement,) = latent["pmtud_blackhole"]
    assert {node for node, _ in requirement} == {"pmtud_blackhole", "reduced_path_mtu", "icmp_feedback_lost"}


def test_requirement_probability_equals_the_chain_rule(kb: KnowledgeBase) -> None:
    evidence = build_evidence(kb, {"attachment_mail_fails": "yes", "single_sender_affected": "yes"})
    ranking = rank(kb, evidence, top_combinations=1, explain=0)
    score = next(c for c in ranking.causes if c.id == "pmtud_blackhole")
    (requirement,) = conjunction_requirements(kb)["pmtud_blackhole"]
    expected, clamps = 1.0, {}
    for node, on in requirement:
        marginal = propagate(kb, [evidence], clamps, targets=[node]).marginal(node)[0]
        expected *= float(np.dot(marginal, on))
        clamps[node] = np.asarray([on], dtype=float)
    assert score.at_work == pytest.approx(expected, abs=1e-12)
    assert score.at_work < score.probability


def test_at_work_never_exceeds_presence_and_orders_the_list(kb: KnowledgeBase) -> None:
    latent = conjunction_requirements(kb)
    for answers in ({}, SEED["first"], {**SEED["first"], **SEED["then"]}, {"policy_reject_logged": "yes"}):
        ranking = rank(kb, build_evidence(kb, answers), top_combinations=1, explain=0)
        for cause in ranking.causes:
            assert cause.at_work <= cause.probability + 1e-15
            if cause.id not in latent:
                assert cause.at_work == cause.probability
        keys = [(c.at_work, c.probability) for c in ranking.causes]
        assert keys == sorted(keys, reverse=True)


def test_icmp_filtering_alone_is_not_a_leading_cause(kb: KnowledgeBase) -> None:
    """With nothing answered, a black hole is as likely as its prevalence, and not what to fix."""
    nothing = rank(kb, Evidence(), top_combinations=1, explain=0)
    pmtud = next(c for c in nothing.causes if c.id == "pmtud_blackhole")
    assert pmtud.probability > nothing.causes[2].probability  # it would lead a ranking by presence
    assert "pmtud_blackhole" not in [c.id for c in nothing.causes[:3]]
    seed = rank(kb, build_evidence(kb, {**SEED["first"], **SEED["then"]}), top_combinations=1, explain=0)
    assert {c.id for c in seed.causes[:2]} <= {"pmtud_blackhole", "mtu_mru_mismatch"}


def test_a_refinement_of_the_confirmed_cause_is_a_hit(kb: KnowledgeBase) -> None:
    """evaluate grades as ``rank``'s contract says: a cause refining the confirmed one counts as it."""
    credited = credited_causes(["postfix_misconfig"], refinement_map(kb))
    parts = {c for c, cause in kb.causes.items() if cause.refines == "postfix_misconfig"}
    assert parts and credited == {"postfix_misconfig", *parts}
    assert credited_causes(["restriction_list_error"], refinement_map(kb)) == {"restriction_list_error"}
    scored = ScoredCase("c1", 0, ["postfix_misconfig"], [("restriction_list_error", 0.4), ("postfix_misconfig", 0.1)],
                        credited)
    assert scored.rank_of_confirmed() == 1
