"""Streamlit AppTest tests of the UI: the seed incident through Diagnose, Check a fix, the author gate.

AppTest runs the real app script in-process (no browser), so these tests read what the page shows:
the ranking is read from its table (AppTest cannot read charts), the verdict from the alert boxes.
Every test gets its own SQLite database, so sessions and draft cases written by the page are real.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine.bundled import samples_dir
from engine.learn.simulate import POLICIES
from engine.learn.split import in_test_split
from engine.store import CaseRepository, open_store
from tests.test_seed_incident import FIRST_ANSWERS as SEED_ANSWERS

APP = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")
TIMEOUT = 600
"""Seconds per script run: generous, because the Quality page evaluates cases and CI machines are loaded."""
MTU_CAUSES = {"mtu_mru_mismatch", "pmtud_blackhole"}
TOKEN = "test-author-token-0123456789"


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


@pytest.fixture
def authored_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Quality page evaluates the bundled case folder; here, only its authored cases (not the
    blind ones), so that an evaluation in the page takes seconds, not the minutes of the full set."""
    import shutil

    from engine.bundled import cases_dir
    from engine.learn import cases as case_module

    folder = tmp_path / "cases" / "mail_delivery"
    folder.mkdir(parents=True)
    for path in sorted((cases_dir() / "mail_delivery").glob("*.yaml")):
        if "mapped: blind" not in path.read_text(encoding="utf-8"):
            shutil.copy(path, folder / path.name)
    monkeypatch.setattr(case_module, "default_case_dir", lambda pack: tmp_path / "cases" / pack)
    return folder


def test_author_reviews_a_draft_case(database: str, monkeypatch: pytest.MonkeyPatch, authored_cases: Path) -> None:
    from engine.case_schema import Case
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
    maillog = samples_dir() / "seed" / "maillog"
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


def test_quality_page_shows_the_frozen_split_beside_cross_validation(database: str, monkeypatch: pytest.MonkeyPatch,
                                                                     authored_cases: Path) -> None:
    monkeypatch.setenv("ROOTWARD_AUTHOR_TOKEN", TOKEN)
    at = _app().run()
    at.switch_page("screens/quality.py").run()
    at.text_input[0].set_value(TOKEN)
    at.button[0].click().run()
    _no_exceptions(at)
    at.button(key="run_evaluation").click().run()
    _no_exceptions(at)
    comparison = _table(at, "metric", "cross-validation", "frozen test split").set_index("metric")
    assert int(comparison.loc["cases scored", "frozen test split"]) > 0
    assert int(comparison.loc["cases scored", "cross-validation"]) > 0
    for metric in ("top-1 accuracy", "top-3 accuracy", "Brier score", "log loss"):
        for column in ("cross-validation", "frozen test split"):
            assert 0.0 <= float(comparison.loc[metric, column]) <= 1.0, (metric, column)
    assert "%" in comparison.loc["coverage (confirmed cause has a node)", "frozen test split"]
    families = _table(at, "family", "cv top-3", "test top-3")
    assert families["test cases"].sum() == int(comparison.loc["cases scored", "frozen test split"])
    assert any("SHA-256(case id)[0] mod 3 == 0" in m.value for m in at.markdown)
    shown = set(_table(at, "case", "fold", "rank")["case"])
    assert shown and not any(in_test_split(case) for case in shown)


def test_pasted_lines_nothing_understood_are_shown_as_such(database: str) -> None:
    at = _app().run()
    at.text_area(key="paste_text").set_value("Nov 28 10:00:03 mx frobd[9]: error: flux capacitor refused\n")
    at.button(key="paste_extract").click().run()
    _no_exceptions(at)
    (expander,) = [e for e in at.expander if "These lines were not understood" in e.label]
    assert "flux capacitor refused" in expander.code[0].value


def _shown_question(at: AppTest) -> str:
    """The id of the question on the card (its answer buttons are keyed ``ask_<question>_<answer>``)."""
    skip = next(b.key for b in at.button if b.key and b.key.startswith("ask_") and b.key.endswith("_skip"))
    return skip.removeprefix("ask_").removesuffix("_skip")


def test_a_second_click_on_an_answer_button_records_one_answer(database: str) -> None:
    at = _app().run()
    _no_exceptions(at)
    question = _shown_question(at)
    button = at.button(key=f"ask_{question}_unknown")
    assert not button.disabled, "the buttons of a question on screen are usable once the page is drawn"
    button.click().run()
    _no_exceptions(at)
    button.click().run()  # the same click again, from the page as the browser still showed it
    _no_exceptions(at)
    assert at.session_state["diagnosis"].history == [(question, "unknown")]
    following = _shown_question(at)
    assert following != question
    assert not at.button(key=f"ask_{following}_unknown").disabled


def test_session_and_role_survive_page_changes_and_a_reload(database: str) -> None:
    at = _app().run()
    at.segmented_control(key="role").set_value("admin").run()
    _record(at, "attachment_mail_fails", "yes")
    session_id = at.session_state["diagnosis"].session_id
    assert session_id and at.query_params["session"] == session_id and at.query_params["role"] == "admin"
    for page in ("screens/check_fix.py", "screens/cases.py", "screens/diagnose.py"):
        at.switch_page(page).run()
        _no_exceptions(at)
        assert at.query_params["session"] == session_id, page
        assert at.query_params["role"] == "admin", page
    assert at.segmented_control(key="role").value == "admin"
    set_aside = _shown_question(at)
    at.button(key=f"ask_{set_aside}_skip").click().run()
    _no_exceptions(at)
    assert _shown_question(at) != set_aside

    reloaded = _app()
    reloaded.query_params.update(at.query_params)
    reloaded.run()
    _no_exceptions(reloaded)
    assert reloaded.session_state["diagnosis"].history == [("attachment_mail_fails", "yes")]
    assert reloaded.session_state["diagnosis"].skipped == [set_aside]  # a reload keeps it aside
    assert _shown_question(reloaded) != set_aside
    assert reloaded.segmented_control(key="role").value == "admin"
    assert reloaded.query_params["session"] == session_id


def test_an_unknown_session_link_is_said_and_replaced_by_a_new_session(database: str) -> None:
    at = _app()
    at.query_params["session"] = "no-such-session"
    at.run()
    _no_exceptions(at)
    assert any("unknown or expired" in w.value and "a new one was started" in w.value for w in at.warning)
    fresh = at.session_state["diagnosis"].session_id
    assert fresh and fresh != "no-such-session" and at.query_params["session"] == fresh
    _record(at, "attachment_mail_fails", "yes")
    assert not any("unknown or expired" in w.value for w in at.warning), "the notice goes once the work goes on"


def _page_text(at: AppTest) -> str:
    return " ".join(e.value for kind in (at.markdown, at.info, at.success, at.warning, at.caption) for e in kind)


def test_the_status_is_worded_from_enough_evidence_and_numbers_stay_in_the_details(database: str) -> None:
    from engine.service import Service

    at = _app().run()
    _no_exceptions(at)
    assert any("barely move the usual causes" in i.value for i in at.info)
    assert "nough evidence" not in _page_text(at)

    at.segmented_control(key="role").set_value("admin").run()
    for question, answer in {**SEED_ANSWERS, "path_mtu_reduced": "yes"}.items():
        _record(at, question, answer)
    expected = Service().diagnose("mail_delivery", {**SEED_ANSWERS, "path_mtu_reduced": "yes"}, role="admin")
    assert expected.enough_evidence
    leader = expected.causes[0].title
    if expected.stop:
        assert [s.value for s in at.success] == [f"**Enough evidence: act on {leader}.**"]
    else:
        assert any(i.value == f"The answers point towards {leader}, not yet firmly: answer the next question."
                   for i in at.info)
    text = _page_text(at)
    assert "keep asking" not in text and "bits per minute" not in text
    details = next(e for e in at.expander if e.label == "Details: numbers and ids")
    assert expected.unmodelled_probability is not None
    assert any(m.value == f"Something the knowledge base does not cover: {100 * expected.unmodelled_probability:.0f} %"
               for m in details.markdown)


def test_japanese_status_and_verdict(database: str) -> None:
    from ui.state import Diagnosis

    at = _app()
    at.session_state["lang"] = "ja"
    at.session_state["role"] = "admin"
    at.session_state["diagnosis"] = Diagnosis(pack="mail_delivery", ref="mail_delivery",
                                              history=list({**SEED_ANSWERS, "path_mtu_reduced": "yes"}.items()))
    at.run()
    _no_exceptions(at)
    status = [e.value for kind in (at.success, at.info) for e in kind]
    assert any(v.startswith(("**十分な証拠があります。", "回答は「")) for v in status), status
    assert any(e.label == "詳細(数値とID)" for e in at.expander)
    at.switch_page("screens/check_fix.py").run()
    at.selectbox(key="fix_choice").set_value("rebuild_mail_server")
    at.button(key="assess").click().run()
    _no_exceptions(at)
    assert at.title[0].value == "対処法の確認"
    verdict = " ".join(e.value for e in at.error)
    assert "可能性は低いです" in verdict and "先に" in verdict
    assert {m.label for m in at.metric} >= {"解決確率", "停止時間"}


def _status_script(stop: bool, enough_evidence: bool, lang: str) -> None:
    """The Diagnose page's status line alone, for a real diagnosis with the two flags set as given."""
    from engine.service import Service
    from ui.views.diagnose import _status

    service = Service()
    out = service.diagnose("mail_delivery", {"attachment_mail_fails": "yes"}, role="admin")
    _status(service.pack_view("mail_delivery", lang),
            out.model_copy(update={"stop": stop, "enough_evidence": enough_evidence}), lang)


@pytest.mark.parametrize(("stop", "enough_evidence"), [(False, False), (True, False), (False, True), (True, True)])
def test_enough_evidence_is_said_only_when_the_page_stops_asking(stop: bool, enough_evidence: bool) -> None:
    from engine.service import Service

    at = AppTest.from_function(_status_script, args=(stop, enough_evidence, "en"), default_timeout=TIMEOUT).run()
    _no_exceptions(at)
    text = " ".join(e.value for kind in (at.markdown, at.info, at.success, at.warning, at.caption) for e in kind)
    leader = Service().diagnose("mail_delivery", {"attachment_mail_fails": "yes"}, role="admin").causes[0].title
    assert ("Enough evidence: act on " + leader in text) == (stop and enough_evidence)
    assert "nough evidence" not in text.replace("Enough evidence: act on", "")
    assert "keep asking" not in text.lower()
    assert ("barely move the usual causes" in text) == (not enough_evidence)
    assert ("Answer the checklist above" in text) == (not enough_evidence)


def test_the_japanese_status_line_is_japanese() -> None:
    at = AppTest.from_function(_status_script, args=(False, False, "ja"), default_timeout=TIMEOUT).run()
    _no_exceptions(at)
    assert [i.value for i in at.info] == [
        "これまでの回答では、よくある原因の順位はほとんど変わっていません。"
        "今の順位は主に各原因の起こりやすさです。上のチェックリストか次の質問に答えてください。"
    ]
