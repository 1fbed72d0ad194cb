"""Streamlit AppTest tests of the UI: the seed incident through Diagnose, Check a fix, the author gate.

AppTest runs the real app script in-process (no browser), so these tests read what the page shows:
the ranking is read from its table (AppTest cannot read charts), the verdict from the alert boxes.
Every test gets its own SQLite database, so sessions and draft cases written by the page are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine.learn.simulate import POLICIES
from engine.store import CaseRepository, open_store
from tests.test_seed_incident import FIRST_ANSWERS as SEED_ANSWERS

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
TIMEOUT = 120
MTU_CAUSES = {"mtu_mru_mismatch", "pmtud_blackhole"}
TOKEN = "test-author-token-0123456789"


@pytest.fixture
def database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from engine.settings import get_settings

    monkeypatch.setenv("ROOTWARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("ROOTWARD_AUTHOR_TOKEN", raising=False)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table shown with these columns (the page's tables have distinct column sets)."""
    for frame in at.dataframe:
        value = frame.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}; tables: {[list(f.value.columns) for f in at.dataframe]}")


def _record(at: AppTest, question: str, answer: str) -> None:
    """Record through the "Record a known answer" tab, as staff do with facts they already have."""
    at.selectbox(key="known_question").set_value(question)
    at.radio(key="known_answer").set_value(answer)
    at.button(key="known_record").click().run()
    _no_exceptions(at)


def _ranking(at: AppTest) -> list[str]:
    return list(_table(at, "cause", "id", "probability")["id"])


def test_diagnose_seed_incident(database: str) -> None:
    at = _app().run()
    _no_exceptions(at)
    assert at.title[0].value == "Diagnose"
    assert any(b.label == "Don't know" for b in at.button), "the next question offers a don't-know answer"

    for question, answer in SEED_ANSWERS.items():
        _record(at, question, answer)
    leaders = _ranking(at)
    assert leaders[0] in MTU_CAUSES | {"dos_protection_false_positive", "firewall_esmtp_inspection"}
    assert MTU_CAUSES & set(leaders[:4]), leaders[:4]

    handoff = "handoff_path_mtu_reduced_yes"
    if any(b.key == handoff for b in at.button):
        at.button(key=handoff).click().run()  # the helpdesk records the network team's reply
        _no_exceptions(at)
    else:
        _record(at, "path_mtu_reduced", "yes")
    ranking = _table(at, "cause", "id", "probability")
    assert ranking["id"].iloc[0] in MTU_CAUSES, ranking.head()
    assert ranking["probability"].is_monotonic_decreasing
    assert any("Leading cause" in m.value for m in at.markdown)

    weights = _table(at, "answer", ranking["id"].iloc[0])
    assert "path_mtu_reduced = yes" in set(weights["answer"])
    ticket = next(c.value for c in at.code if c.value.startswith("# Rootward diagnosis"))
    assert "path_mtu_reduced" in ticket and ranking["id"].iloc[0] in ticket

    at.button(key="answers_undo").click().run()
    _no_exceptions(at)
    assert "path_mtu_reduced" not in set(_table(at, "id", "source")["id"])

    session_id = at.session_state["diagnosis"].session_id
    assert session_id, "answers are persisted to a session"
    reopened = _app()
    reopened.query_params["session"] = session_id  # a reload, or the link pasted into the ticket
    reopened.run()
    _no_exceptions(reopened)
    assert list(_table(reopened, "id", "source")["id"]) == list(SEED_ANSWERS)

    next(a for a in reopened.text_area if a.label == "What fixed it").set_value("Lowered the MTU to 1424.")
    next(b for b in reopened.button if b.label == "Save as draft case").click().run()
    _no_exceptions(reopened)
    assert any("Saved draft case" in s.value for s in reopened.success)
    with open_store(database).transaction() as session:
        case = CaseRepository(session).get(f"session-{session_id}")
    assert case.status == "draft" and case.resolution == "Lowered the MTU to 1424."
    assert case.answers() == SEED_ANSWERS


def test_japanese_question_texts_come_from_the_pack(database: str) -> None:
    from engine.service import Service

    kb = Service().kb("mail_delivery")
    at = _app()
    at.session_state["lang"] = "ja"
    at.run()
    _no_exceptions(at)
    assert at.title[0].value == "診断"
    japanese = {q.text.ja for q in kb.questions.values()}
    assert any(m.value.removeprefix("#### ") in japanese for m in at.markdown)
    assert {"はい", "いいえ", "わからない"} <= {b.label for b in at.button}


def test_check_fix_rebuild_mail_server(database: str) -> None:
    from ui.state import Diagnosis

    at = _app()
    at.session_state["diagnosis"] = Diagnosis(pack="mail_delivery", ref="mail_delivery",
                                              history=list({**SEED_ANSWERS, "path_mtu_reduced": "yes"}.items()))
    at.run()
    at.switch_page("screens/check_fix.py").run()
    _no_exceptions(at)
    assert at.title[0].value == "Check a fix"
    at.selectbox(key="fix_choice").set_value("rebuild_mail_server")
    at.button(key="assess").click().run()
    _no_exceptions(at)
    p_resolves = next(m.value for m in at.metric if m.label == "P(resolves)")
    assert float(p_resolves.rstrip("%")) < 5.0
    verdict = " ".join(e.value for e in at.error)
    assert "Rebuild" in verdict and "unlikely" in verdict
    assert any("does not touch the leading cause" in m.value for m in at.markdown)
    alternatives = _table(at, "action", "id", "P(resolves)")
    assert "rebuild_mail_server" not in set(alternatives["id"])


def test_author_pages_stay_locked_without_a_token(database: str) -> None:
    at = _app().run()
    for page in ("screens/cases.py", "screens/knowledge.py", "screens/quality.py"):
        at.switch_page(page).run()
        _no_exceptions(at)
        assert any("locked" in w.value for w in at.warning), page
        assert any("ROOTWARD_AUTHOR_TOKEN" in m.value for m in at.markdown), page
        assert not at.dataframe, page


def test_author_reviews_a_draft_case(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.learn.cases import Case
    from engine.store.models import utc_now

    monkeypatch.setenv("ROOTWARD_AUTHOR_TOKEN", TOKEN)
    now = utc_now()
    draft = Case(id="ui-draft-1", pack="mail_delivery", kb_hash="0123456789abcdef", title="Attachments lost",
                 source={"kind": "ticket", "reference": "T-1"}, author="ui:helpdesk", created=now, updated=now,
                 evidence={"attachment_mail_fails": "yes"}, confirmed_causes=["pmtud_blackhole"])
    with open_store(database).transaction() as session:
        CaseRepository(session).add(draft)

    at = _app().run()
    at.switch_page("screens/cases.py").run()
    at.text_input[0].set_value("wrong token")
    at.button[0].click().run()
    assert any("not the configured author token" in e.value for e in at.error)
    at.text_input[0].set_value(TOKEN)
    at.button[0].click().run()
    _no_exceptions(at)
    assert list(_table(at, "id", "status")["id"]) == ["ui-draft-1"]
    at.button(key="case_accept").click().run()
    _no_exceptions(at)
    with open_store(database).transaction() as session:
        assert CaseRepository(session).get("ui-draft-1").status == "reviewed"

    at.switch_page("screens/knowledge.py").run()
    _no_exceptions(at)
    assert at.selectbox(key="kb_node").value in {"mtu_mru_mismatch", *at.selectbox(key="kb_node").options}
    assert any(h.value == "Validation" for h in at.subheader)
    assert any("Causes (top) feed mechanisms" in m.value for m in at.markdown)
    at.switch_page("screens/quality.py").run()
    _no_exceptions(at)
    assert at.title[0].value == "Quality"
    assert any(tab.label == "Learn and preview" for tab in at.tabs)
    at.number_input(key="sim_runs").set_value(1)
    at.button(key="run_simulation").click().run()
    _no_exceptions(at)
    policies = _table(at, "policy", "mean_questions")
    assert len(policies) == len(POLICIES) and policies["mean_questions"].ge(0).all()


def test_pasted_log_fills_answers_with_the_matching_line(database: str) -> None:
    maillog = Path(__file__).resolve().parent.parent / "data" / "samples" / "seed" / "maillog"
    if not maillog.is_file():
        pytest.skip(f"{maillog} is not in this checkout")
    at = _app().run()
    at.text_area(key="paste_text").set_value(maillog.read_text(encoding="utf-8"))
    at.button(key="paste_extract").click().run()
    _no_exceptions(at)
    findings = _table(at, "use", "question", "answer", "line")
    assert len(findings) >= 1
    assert all(":" in line for line in findings["line"]), "each finding shows the line number and line"
    at.button(key="paste_apply").click().run()
    _no_exceptions(at)
    answered = _table(at, "id", "source")
    used = set(findings.loc[findings["use"], "question"])
    assert used <= set(answered["id"])
    assert all(answered.loc[answered["id"].isin(used), "source"].str.len() > 0)
