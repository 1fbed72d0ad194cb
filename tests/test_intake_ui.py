"""The Diagnose page opens with the complaint box and the checklist (Streamlit AppTest, no browser).

Proposed answers are shown with their words and count only once confirmed; checklist answers
count once recorded. Each test gets its own SQLite database, so the answers reach a real session.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.test_intake import SEED_EN, SEED_JA, SEED_SIX
from tests.test_ui import APP, TIMEOUT, _no_exceptions, _ranking, _table


def _read(at: AppTest, text: str) -> None:
    at.text_area(key="intake_text").set_value(text)
    at.button(key="intake_read").click().run()
    _no_exceptions(at)


def test_the_complaint_is_proposed_with_its_words_and_counts_only_once_confirmed(database: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _no_exceptions(at)
    assert any(e.label == "What the caller says" for e in at.expander)
    _read(at, SEED_EN)
    proposals = _table(at, "use", "question", "answer", "words")
    assert set(SEED_SIX) <= set(proposals["question"])
    assert all(words in SEED_EN for words in proposals["words"])
    assert at.session_state["diagnosis"].history == [], "proposals are not answers until confirmed"

    at.button(key="intake_confirm").click().run()
    _no_exceptions(at)
    diagnosis = at.session_state["diagnosis"]
    assert {q: a for q, a in diagnosis.given.items() if q in SEED_SIX} == SEED_SIX
    assert diagnosis.sources["config_stable_long"] == "“mail server configuration has not changed in five years”"
    assert diagnosis.session_id, "confirmed answers are saved to the session"
    assert _ranking(at)[0] in {"pmtud_blackhole", "mtu_mru_mismatch", "tunnel_without_mss_clamping",
                               "remote_reduced_mtu_hop", "dos_protection_false_positive"}


def test_a_japanese_complaint_is_read_on_the_japanese_page(database: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = "ja"
    at.run()
    _read(at, SEED_JA)
    proposals = _table(at, "use", "question", "answer", "words")
    assert set(SEED_SIX) <= set(proposals["question"])
    assert all(words in SEED_JA for words in proposals["words"])
    assert any(e.label == "問い合わせの内容" for e in at.expander)
    assert at.session_state["diagnosis"].history == []


def test_the_checklist_records_only_what_is_ticked(database: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.radio(key="checklist_problem_intermittent").set_value("no")
    at.radio(key="checklist_all_mail_fails").set_value("no")
    next(b for b in at.button if b.label == "Record the checked answers").click().run()
    _no_exceptions(at)
    assert at.session_state["diagnosis"].given == {"problem_intermittent": "no", "all_mail_fails": "no"}
    assert set(_table(at, "id", "source")["id"]) == {"problem_intermittent", "all_mail_fails"}
    assert not any(r.key == "checklist_problem_intermittent" for r in at.radio), "answered items leave the list"
