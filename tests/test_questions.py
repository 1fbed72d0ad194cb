"""The next-question engine on the mail pack: ordering, roles and hand-off, the stop rule, skipping."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.errors import EvidenceError
from engine.reason.evidence import build_evidence
from engine.reason.questions import StopPolicy, next_questions, widened_gains
from engine.reason.ranking import cause_posterior
from engine.service import Service
from tests.test_seed_incident import FIRST_ANSWERS, WITH_PATH_MTU

PACK = "mail_delivery"


@pytest.fixture(scope="module")
def service() -> Service:
    return Service()


def test_suggestions_are_ordered_by_gain_per_minute_with_consistent_figures(service: Service) -> None:
    out = service.next(PACK, FIRST_ANSWERS)
    assert out.questions, out
    rates = [q.gain_per_minute for q in out.questions]
    assert rates == sorted(rates, reverse=True)
    for question in out.questions:
        assert question.id not in FIRST_ANSWERS
        assert question.gain_per_minute == pytest.approx(question.expected_gain_bits / question.cost_minutes)
        assert sum(question.answers.values()) == pytest.approx(1.0)
        assert question.why


def test_a_role_sees_only_its_questions_and_the_best_one_to_hand_off(service: Service) -> None:
    kb = service.kb(PACK)
    out = service.next(PACK, FIRST_ANSWERS, role="helpdesk")
    assert out.questions and all("helpdesk" in kb.questions[q.id].asked_by for q in out.questions)
    (handoff,) = out.handoff  # after the seed's first answers, the path-MTU check is the network team's
    assert "helpdesk" not in kb.questions[handoff.id].asked_by
    assert handoff.gain_per_minute > out.questions[0].gain_per_minute
    assert handoff.id == service.next(PACK, FIRST_ANSWERS).questions[0].id  # the best question overall
    assert service.next(PACK, FIRST_ANSWERS, role="network").handoff == []  # nothing better elsewhere


def test_stop_rule_fires_on_probability_and_on_the_exchange_rate(service: Service) -> None:
    kb = service.kb(PACK)
    evidence = build_evidence(kb, WITH_PATH_MTU)
    keep_asking = next_questions(kb, evidence, policy=StopPolicy(probability=0.999, exchange_rate=0.0))
    assert not keep_asking.stop and keep_asking.stop_reason == "" == keep_asking.stop_details
    confident = next_questions(kb, evidence, policy=StopPolicy(probability=0.5, exchange_rate=0.0))
    assert confident.stop and confident.stop_reason.startswith("Enough evidence: act on ")
    assert "likely" in confident.stop_details
    assert confident.leader_probability >= 0.5 or "combination" in confident.stop_details
    too_dear = next_questions(kb, evidence, policy=StopPolicy(probability=0.999, exchange_rate=100.0))
    assert too_dear.stop and "exchange rate" in too_dear.stop_details
    assert "worth its minutes for this decision" in too_dear.stop_reason
    assert "enough evidence" not in too_dear.stop_reason.lower()



def test_a_stuck_decision_asks_about_every_cause_before_it_gives_up(service: Service) -> None:
    """When no question is worth its minutes for the leading hypotheses and none is safe to act on,
    the decision objective asks by the information about every cause, and stops only when that too
    falls below the rate."""
    kb = service.kb(PACK)
    evidence = build_evidence(kb, WITH_PATH_MTU)
    posterior = cause_posterior(kb, evidence)
    candidates = [q for q in kb.questions if q not in evidence.observed()]
    wider = widened_gains(posterior.tree, posterior.likelihoods, list(kb.causes), candidates)
    per_minute = {q: wider[q] / kb.questions[q].cost_minutes for q in candidates}
    best = max(per_minute, key=lambda q: per_minute[q])
    decision_first = next_questions(kb, evidence, policy=StopPolicy(probability=0.999, exchange_rate=0.0))
    assert decision_first.questions[0].id != best  # the two scores disagree here, so the test tells them apart
    assert decision_first.questions[0].gain_per_minute < per_minute[best] * 0.99
    widened = next_questions(kb, evidence, policy=StopPolicy(probability=0.999, exchange_rate=per_minute[best] * 0.99))
    assert not widened.stop and widened.questions[0].id == best
    assert widened.questions[0].expected_gain_bits == pytest.approx(wider[best], abs=1e-12)
    beyond = next_questions(kb, evidence, policy=StopPolicy(probability=0.999, exchange_rate=per_minute[best] * 1.01))
    assert beyond.stop and "worth its minutes for this decision" in beyond.stop_reason

def test_skipped_questions_are_neither_suggested_nor_handed_off(service: Service) -> None:
    kb = service.kb(PACK)
    first = service.next(PACK, FIRST_ANSWERS, role="helpdesk")
    skipped = [first.questions[0].id, *(h.id for h in first.handoff)]
    second = service.next(PACK, FIRST_ANSWERS, role="helpdesk", skip=skipped)
    offered = [q.id for q in second.questions] + [h.id for h in second.handoff]
    assert not set(offered) & set(skipped)
    assert second.questions[0].id == first.questions[1].id  # the runner-up moves up; gains do not change

    everything = [q for q in kb.questions if "helpdesk" in kb.questions[q].asked_by and q not in FIRST_ANSWERS]
    exhausted = service.next(PACK, FIRST_ANSWERS, role="helpdesk", skip=everything)
    assert exhausted.questions == [] and exhausted.stop
    assert exhausted.stop_details == "no unanswered question is left for this role except those skipped"
    assert exhausted.stop_reason.startswith("No question is left to ask in this role except those set aside")


def test_skipping_an_unknown_question_names_the_valid_ids(service: Service) -> None:
    with pytest.raises(EvidenceError, match="unknown question 'no_such_question'") as raised:
        service.next(PACK, FIRST_ANSWERS, skip=["no_such_question"])
    assert "attachment_mail_fails" in raised.value.details["valid_questions"]


def test_cli_next_rejects_an_unknown_objective() -> None:
    result = subprocess.run([sys.executable, "-m", "engine.cli", "next", "--kb", PACK, "--objective", "most",
                             "--format", "json"], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert json.loads(result.stdout)["error"]["details"]["valid_objectives"] == ["decision", "all", "leading"]


def test_cli_next_accepts_repeated_skip_options() -> None:
    plain = subprocess.run([sys.executable, "-m", "engine.cli", "next", "--kb", PACK, "--format", "json"],
                           capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr
    first = json.loads(plain.stdout)["questions"][0]["id"]
    skipped = subprocess.run([sys.executable, "-m", "engine.cli", "next", "--kb", PACK, "--format", "json",
                              "--skip", first, "--skip", "path_mtu_reduced"],
                             capture_output=True, text=True, timeout=300)
    assert skipped.returncode == 0, skipped.stderr
    ids = [q["id"] for q in json.loads(skipped.stdout)["questions"]]
    assert first not in ids and "path_mtu_reduced" not in ids


def test_leading_objective_scores_only_the_front_runners(service: Service) -> None:
    """Its gains are the per-cause mutual informations of the all-causes objective, summed over the
    leading causes; after the seed's first answers it stops proposing the long-tail bounce question."""
    from engine.infer import mutual_information_gains
    from engine.reason.inference import evidence_likelihoods
    from engine.reason.questions import LEADING_CAUSES

    kb = service.kb(PACK)
    evidence = build_evidence(kb, FIRST_ANSWERS)
    leading = next_questions(kb, evidence, role="helpdesk", objective="leading", limit=50)
    front = sorted(kb.causes, key=lambda c: -leading.cause_probabilities[c])[:LEADING_CAUSES]
    tree, _, likelihoods = evidence_likelihoods(kb, [evidence])
    every = mutual_information_gains(tree, likelihoods, causes=list(kb.causes),
                                     candidates=[s.id for s in leading.questions])
    for suggestion in leading.questions:
        expected = sum(float(every.mutual_information[suggestion.id][c][0]) for c in front)
        assert suggestion.expected_gain_bits == pytest.approx(expected, abs=1e-12)
    every_cause = next_questions(kb, evidence, objective="all")
    assert leading.cause_probabilities == pytest.approx(every_cause.cause_probabilities)
    assert leading.questions[0].id != "user_unknown_bounce"
    with pytest.raises(ValueError, match="unknown objective"):
        next_questions(kb, evidence, objective="most")  # type: ignore[arg-type]


def test_why_and_stop_texts_are_plain_words_with_the_figures_kept_apart(service: Service) -> None:
    """Staff read causes and repairs in the texts; bits, percentages and rates live in the details."""
    kb = service.kb(PACK)
    for answers in ({}, FIRST_ANSWERS, WITH_PATH_MTU):
        out = next_questions(kb, build_evidence(kb, answers), limit=20)
        for suggestion in out.questions:
            assert suggestion.why and suggestion.why_details
            assert "bit" not in suggestion.why and "%" not in suggestion.why and "minute" not in suggestion.why
        assert "bit" not in out.stop_reason and "%" not in out.stop_reason
        if out.stop and not out.stop_reason.startswith("Enough evidence"):
            assert "enough evidence" not in out.stop_reason.lower()


def test_decision_objective_tells_apart_the_leading_hypotheses_after_the_first_answers(service: Service) -> None:
    """After the seed's first answers the path-MTU causes lead, and the default objective asks what
    settles them (the tracepath check), with a why that names the decision, not the long tail."""
    kb = service.kb(PACK)
    out = next_questions(kb, build_evidence(kb, FIRST_ANSWERS), limit=len(kb.questions))
    assert out.objective == "decision"
    assert out.questions[0].id == "path_mtu_reduced", [q.id for q in out.questions[:5]]
    assert "front-runners" not in out.questions[0].why
    rates = [q.gain_per_minute for q in out.questions]
    assert rates == sorted(rates, reverse=True)
    every = next_questions(kb, build_evidence(kb, FIRST_ANSWERS), limit=len(kb.questions), objective="all")
    assert {q.id for q in every.questions} == {q.id for q in out.questions}


def test_the_decision_stop_never_calls_thin_evidence_enough(service: Service) -> None:
    """With nothing answered and a high bar, the stop for lack of worthwhile questions names the
    leader as a lead, not as a conclusion."""
    kb = service.kb(PACK)
    out = next_questions(kb, build_evidence(kb, {}), policy=StopPolicy(probability=0.99, exchange_rate=1.0))
    assert out.stop and out.stop_reason.startswith("No remaining question is worth its minutes for this decision")
    assert kb.causes[out.leader].title.en in out.stop_reason and "not yet certain" in out.stop_reason
