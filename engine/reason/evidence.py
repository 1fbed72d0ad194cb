"""What the user told us, checked against the pack, and turned into likelihood vectors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np

from engine.errors import EvidenceError
from engine.kb.knowledge import KnowledgeBase
from engine.kb.schema import UNKNOWN_ANSWER


@dataclass(frozen=True)
class SoftAnswer:
    """Likelihood evidence, e.g. an ambiguous log line: P(observation | answer) per answer."""

    question: str
    likelihood: dict[str, float]
    source: str = ""


FixOutcome = Literal["persisted", "stopped", "unclear"]
FIX_OUTCOMES: tuple[str, ...] = ("persisted", "stopped", "unclear")


@dataclass(frozen=True)
class TriedFix:
    """A fix someone already applied, and whether the problem persisted afterwards."""

    fix: str
    outcome: FixOutcome


@dataclass
class Evidence:
    """Hard answers (``unknown`` already dropped), soft findings from artifacts, and fixes tried."""

    answers: dict[str, str] = field(default_factory=dict)
    soft: dict[str, SoftAnswer] = field(default_factory=dict)
    tried: tuple[TriedFix, ...] = ()

    def without(self, question: str) -> Evidence:
        answers = {q: a for q, a in self.answers.items() if q != question}
        soft = {q: s for q, s in self.soft.items() if q != question}
        return Evidence(answers, soft, self.tried)

    def observed(self) -> set[str]:
        return set(self.answers) | set(self.soft)


def check_question(kb: KnowledgeBase, question: str) -> None:
    if question not in kb.questions:
        raise EvidenceError(
            f"unknown question '{question}'",
            {"question": question, "valid_questions": sorted(kb.questions)},
        )


def check_answer(kb: KnowledgeBase, question: str, answer: str) -> None:
    check_question(kb, question)
    valid = kb.questions[question].answers
    if answer != UNKNOWN_ANSWER and answer not in valid:
        raise EvidenceError(
            f"'{answer}' is not an answer to '{question}'; valid answers: {', '.join(valid)}, {UNKNOWN_ANSWER}",
            {"question": question, "answer": answer, "valid_answers": [*valid, UNKNOWN_ANSWER]},
        )


def reported_symptoms(kb: KnowledgeBase, evidence: Evidence) -> list[str]:
    """The symptom questions answered with the failure ("yes, mail with attachments fails")."""
    return [q for q, a in evidence.answers.items() if kb.questions[q].symptom and a == kb.questions[q].answers[0]]


def check_tried(kb: KnowledgeBase, tried: Iterable[tuple[str, str]]) -> tuple[TriedFix, ...]:
    checked = []
    for fix, outcome in tried:
        if fix not in kb.fixes:
            raise EvidenceError(f"unknown fix '{fix}'", {"fix": fix, "valid_fixes": sorted(kb.fixes)})
        if outcome not in FIX_OUTCOMES:
            raise EvidenceError(
                f"'{outcome}' is not a fix outcome; valid outcomes: {', '.join(FIX_OUTCOMES)}",
                {"fix": fix, "outcome": outcome, "valid_outcomes": list(FIX_OUTCOMES)},
            )
        checked.append(TriedFix(fix, cast(FixOutcome, outcome)))
    if checked and kb.pack.complaint is None:
        raise EvidenceError(f"pack {kb.id} has no complaint node, so fix attempts cannot be weighed", {})
    return tuple(checked)


def build_evidence(
    kb: KnowledgeBase,
    answers: Mapping[str, str],
    soft: Iterable[SoftAnswer] = (),
    tried: Iterable[tuple[str, str]] = (),
) -> Evidence:
    """Validate answers; ``unknown`` means no evidence and is dropped here, once."""
    checked: dict[str, str] = {}
    for question, answer in answers.items():
        check_answer(kb, question, answer)
        if answer != UNKNOWN_ANSWER:
            checked[question] = answer
    soft_by_question: dict[str, SoftAnswer] = {}
    for finding in soft:
        for answer in finding.likelihood:
            check_answer(kb, finding.question, answer)
        if finding.question not in checked:
            soft_by_question[finding.question] = finding
    return Evidence(checked, soft_by_question, check_tried(kb, tried))


def complaint_clamp(kb: KnowledgeBase) -> dict[str, np.ndarray]:
    """Everyone who consults the engine has the problem: the complaint node is observed present.

    A (1, states) row is shared across the batch, which the junction tree propagates once.
    """
    complaint = kb.pack.complaint
    if complaint is None:
        return {}
    states = kb.states(complaint)
    row = np.zeros((1, len(states)))
    row[0, states.index("present")] = 1.0
    return {complaint: row}


def likelihood_batch(kb: KnowledgeBase, variants: list[Evidence]) -> dict[str, np.ndarray]:
    """One (batch, states) likelihood array per observed question, across evidence variants,
    plus the complaint clamp."""
    batch = len(variants)
    observed = sorted(set().union(*(v.observed() for v in variants))) if variants else []
    arrays: dict[str, np.ndarray] = complaint_clamp(kb)
    for question in observed:
        states = kb.questions[question].answers
        rows = np.ones((batch, len(states)))
        for b, variant in enumerate(variants):
            if question in variant.answers:
                rows[b] = 0.0
                rows[b, states.index(variant.answers[question])] = 1.0
            elif question in variant.soft:
                rows[b] = [variant.soft[question].likelihood.get(s, 1.0) for s in states]
        # a row shared by the whole batch is passed once, so the tree propagates it once
        arrays[question] = rows[:1] if (rows == rows[0]).all() else rows
    return arrays
