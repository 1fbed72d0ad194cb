"""Intake on everyday complaints written before the intake file was tuned on them.

``tests/data/intake_phrasings.yaml`` holds sentences in English and Japanese as a helpdesk person
or a user says them, each with the answers it states (read from the question texts; the file's
header says how). Recall and precision are checked separately per language so that a failure says
which way the reading went wrong: an answer the caller gave and intake missed, or one it invented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.evidence.intake import read_complaint
from engine.kb.validate import load_kb

PACK = "mail_delivery"
DATA = Path(__file__).resolve().parent / "data" / "intake_phrasings.yaml"
PHRASINGS: dict[str, list[dict[str, Any]]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))


def _readings(lang: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    kb = load_kb(PACK)
    return [
        (item["text"], item["expect"], {a.question: a.answer for a in read_complaint(kb, item["text"], lang).answers})
        for item in PHRASINGS[lang]
    ]


def test_the_phrasings_are_many_and_name_real_questions_and_answers() -> None:
    kb = load_kb(PACK)
    assert len(PHRASINGS["en"]) + len(PHRASINGS["ja"]) >= 60 and len(PHRASINGS["ja"]) >= 30
    for item in PHRASINGS["en"] + PHRASINGS["ja"]:
        for question, answer in item["expect"].items():
            assert answer in kb.questions[question].answers, (item["text"], question)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_answer_a_complaint_states_is_proposed(lang: str) -> None:
    missed = [(text, {q: a for q, a in expected.items() if got.get(q) != a}) for text, expected, got in _readings(lang)]
    assert [m for m in missed if m[1]] == []


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_nothing_a_complaint_does_not_state_is_proposed(lang: str) -> None:
    invented = [
        (text, {q: a for q, a in got.items() if expected.get(q) != a}) for text, expected, got in _readings(lang)
    ]
    assert [i for i in invented if i[1]] == []
