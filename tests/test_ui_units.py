"""Unit tests of the UI's plain functions: the author gate, the launcher, pasted evidence, the ticket."""

from __future__ import annotations

import sys

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from engine.bundled import samples_dir
from ui.auth import token_matches
from ui.settings import UiSettings


def test_author_token_must_match_exactly_and_an_unset_token_never_matches() -> None:
    configured = UiSettings(author_token=SecretStr("s3cret-token"))
    assert token_matches("s3cret-token", configured)
    assert not token_matches("s3cret-toke", configured)
    assert not token_matches("", configured)
    assert not token_matches("anything", UiSettings(author_token=None))


def test_ui_command_runs_streamlit_headless_on_the_given_address() -> None:
    from engine.cli.ui_commands import app_script, streamlit_command

    script = app_script()
    assert script.name == "app.py" and script.is_file()
    command = streamlit_command(script, "127.0.0.1", 8599)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert {"--server.headless=true", "--server.address=127.0.0.1", "--server.port=8599",
            "--browser.gatherUsageStats=false"} <= set(command)


def test_ui_command_rejects_an_unknown_pack_before_starting_anything() -> None:
    from engine.cli import app

    result = CliRunner().invoke(app, ["ui", "--kb", "no_such_pack"])
    assert result.exit_code == 1
    assert "no bundled pack 'no_such_pack'" in result.output


def test_pasted_text_yields_findings_with_redacted_lines() -> None:
    from engine.service import Service
    from ui.evidence_paste import Pasted, read_paste

    maillog = samples_dir() / "seed" / "maillog"
    if not maillog.is_file():
        pytest.skip(f"{maillog} is not in this checkout")
    service = Service()
    kb = service.kb("mail_delivery")
    pasted = read_paste(maillog.read_text(encoding="utf-8"), "mail_delivery", service)
    assert pasted is not None
    findings = pasted.findings
    assert findings, "the seed maillog answers at least one question"
    assert all(f.question in kb.questions and f.answer in kb.questions[f.question].answers for f in findings)
    assert not any("@" in f.line for f in findings), "addresses are redacted before display and storage"
    keys = [(f.question, f.answer) for f in findings]
    assert len(keys) == len(set(keys)), "one finding per question and answer"
    assert read_paste("nothing to see here", "mail_delivery", service) == Pasted([], [])
    unknown = read_paste("Nov 28 10:00:00 mx frobd[1]: error: flux capacitor for jane@example.jp refused",
                         "mail_delivery", service)
    assert unknown is not None and unknown.findings == []
    assert unknown.unmatched == [(1, "Nov 28 10:00:00 mx frobd[1]: error: flux capacitor for <redacted> refused")]


def test_ticket_markdown_lists_answers_ranking_and_the_lines_behind_extracted_answers() -> None:
    from engine.service import Service
    from engine.sessions import SessionState
    from ui.ticket import ticket_markdown

    service = Service()
    kb = service.kb("mail_delivery")
    answers = {"attachment_mail_fails": "yes", "data_phase_timeout_logged": "yes"}
    out = service.diagnose("mail_delivery", answers, role="helpdesk")
    state = SessionState(id="s1", pack="mail_delivery", kb_hash=kb.version_hash, created="", events=[],
                         answers=answers, tried=[("restart_postfix", "persisted")])
    line = "Nov 18 09:36:45 mx1 postfix/smtpd[20502]: timeout after DATA (14480 bytes) from x[192.0.2.7]"
    text = ticket_markdown(service.pack_view("mail_delivery", "en"), state, out, {"data_phase_timeout_logged": line})
    assert text.startswith("# Rootward diagnosis")
    assert out.causes[0].id in text
    assert "restart_postfix" in text and "persisted" in text
    assert "## Log lines that answered questions" in text and "timeout after DATA" in text


def test_japanese_chart_text_finds_a_font() -> None:
    """Charts in Japanese must not fall back to empty boxes on a machine without system CJK fonts."""
    import warnings

    import matplotlib.pyplot as plt

    import ui.charts  # noqa: F401 - sets the font fallback

    figure, axis = plt.subplots()
    axis.set_title("経路MTUの低下とPMTUDブラックホール")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        figure.canvas.draw()
    plt.close(figure)
