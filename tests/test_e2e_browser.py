"""End to end: ``rootward ui`` on loopback, driven in headless Debian Chromium through Playwright.

These tests prove the pieces meet in a real browser. The first: the CLI launches Streamlit, the
page loads the pack, five answers given through the page change the ranking, and the leading cause
shown is the one the service computes for the same answers; it saves a screenshot of the Diagnose
page mid-diagnosis (to the test's temporary directory and, with ``ROOTWARD_SCREENSHOT_DIR`` set,
there too: that is how docs/screenshots/diagnose.png is made). The second is the seed incident as
staff work it: the caller's story into the complaint box, the proposed answers confirmed, then
questions until a path-MTU cause leads, with a page change and a reload on the way that must keep
the session, the role and the answers; it also saves the page at 1400 and 800 pixels wide.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent
SEED_FIRST_FIVE = {
    "attachment_mail_fails": "yes",
    "single_sender_affected": "yes",
    "other_senders_large_mail_ok": "yes",
    "dos_flag_on_receiver": "yes",
    "data_phase_timeout_logged": "yes",
}
PATH_MTU_CAUSES = {"pmtud_blackhole", "mtu_mru_mismatch", "tunnel_without_mss_clamping", "remote_reduced_mtu_hop"}
ANSWERED = re.compile(r"^\d+ answered$")
ANSWER_YES = {"path_mtu_reduced", "problem_intermittent"}
LEADER_PERCENT = 50
MAX_QUESTIONS = 40
START_TIMEOUT_S = 120
STEP_TIMEOUT_MS = 300_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is absent: apt-get install chromium"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ui_url(tmp_path: Path) -> Iterator[str]:
    """``python -m engine.cli ui --port FREE`` with its own SQLite file; stopped and reaped afterwards."""
    port = _free_port()
    env = dict(os.environ, ROOTWARD_DATABASE_URL=f"sqlite:///{tmp_path / 'ui.db'}")
    log = (tmp_path / "ui.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "ui", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"rootward ui exited with {process.returncode}: {(tmp_path / 'ui.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"rootward ui did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def _idle(page: object) -> None:
    """Wait until Streamlit has finished the rerun a click started."""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]",  # type: ignore[attr-defined]
                           timeout=STEP_TIMEOUT_MS)


def test_diagnose_in_chromium(ui_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from engine.service import Service

    kb = Service().kb("mail_delivery")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1080})
            page.goto(ui_url, timeout=STEP_TIMEOUT_MS)
            page.get_by_text("Leading cause:").wait_for(timeout=STEP_TIMEOUT_MS)
            _idle(page)
            page.get_by_role("tab", name="Record a known answer").click()
            for given, (question, answer) in enumerate(SEED_FIRST_FIVE.items(), start=1):
                text = kb.questions[question].text.en
                combo = page.get_by_role("combobox", name="Question")
                combo.click()
                combo.fill(text[:40])
                page.get_by_role("option", name=text, exact=True).click()
                radio = page.locator("[data-testid=stRadio]").filter(has_text="Answer")
                radio.get_by_text({"yes": "Yes", "no": "No"}[answer], exact=True).click()
                _idle(page)
                page.get_by_role("button", name="Record", exact=True).click()
                page.get_by_text(f"{given} answered", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)
                _idle(page)
            expected = Service().rank("mail_delivery", SEED_FIRST_FIVE).causes[0]
            leader = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="Leading cause:")
            assert expected.title in leader.inner_text()
            page.get_by_text("Most probable combinations", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)
            page.locator("[data-testid=stMain] img").first.wait_for(timeout=STEP_TIMEOUT_MS)
            page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; })")
            shot = tmp_path / "diagnose.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    target = os.environ.get("ROOTWARD_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / "diagnose.png")


def _answered(page: object, count: int) -> None:
    page.get_by_text(f"{count} answered", exact=True).wait_for(timeout=STEP_TIMEOUT_MS)  # type: ignore[attr-defined]


def _place(page: object) -> dict[str, str]:
    """The query parameters in the address bar (one value each)."""
    from urllib.parse import parse_qs, urlparse

    query = parse_qs(urlparse(page.url).query)  # type: ignore[attr-defined]
    return {key: values[0] for key, values in query.items()}


def _leader(page: object, titles: dict[str, str]) -> tuple[str, int]:
    """The leading cause's id and its percentage, as the page shows them ("Leading cause: T — 73%")."""
    text = page.locator("[data-testid=stMarkdownContainer]").filter(  # type: ignore[attr-defined]
        has_text="Leading cause:").first.inner_text()
    cause = next(cause for title, cause in titles.items() if f"Leading cause: {title} —" in text)
    return cause, int(text.rsplit("—", 1)[1].strip().rstrip("%"))


def _no_sideways_scrolling(page: object) -> None:
    """Every table's grid fits its column: nothing to scroll to the side."""
    overflow = page.evaluate(  # type: ignore[attr-defined]
        "Array.from(document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller'))"
        ".filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)"
        ".map(e => `${e.closest('[class*=st-key-]')?.className ?? '?'}: ${e.scrollWidth} > ${e.clientWidth}`)")
    assert overflow == []


def _screenshot(page: object, path: Path) -> None:
    page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; })")  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]


def test_seed_story_to_the_path_mtu_leader_keeping_its_place(ui_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from engine.service import Service
    from tests.test_intake import SEED_EN

    kb = Service().kb("mail_delivery")
    questions = {spec.text.en.replace("`", ""): question for question, spec in kb.questions.items()}  # as rendered
    titles = {spec.title.en: cause for cause, spec in kb.causes.items()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(ui_url, timeout=STEP_TIMEOUT_MS)
            page.get_by_text("Leading cause:").wait_for(timeout=STEP_TIMEOUT_MS)
            _idle(page)
            page.locator("[data-testid=stButtonGroup]").get_by_text("admin", exact=True).click()  # he did it all
            _idle(page)

            complaint = page.get_by_label("The complaint in the caller's own words (English or Japanese)")
            complaint.fill(SEED_EN)
            complaint.press("Control+Enter")
            _idle(page)
            page.get_by_role("button", name="Read the complaint").click()
            page.get_by_role("button", name="Confirm these answers").click(timeout=STEP_TIMEOUT_MS)
            count = page.locator("[data-testid=stCaptionContainer]").filter(has_text=ANSWERED)
            count.wait_for(timeout=STEP_TIMEOUT_MS)
            _idle(page)
            confirmed = int(count.inner_text().split()[0])
            assert confirmed >= 5
            place = _place(page)
            assert place.get("session") and place.get("role") == "admin", page.url

            page.get_by_role("link", name="Check a fix").click()
            page.get_by_role("heading", name="Check a fix").wait_for(timeout=STEP_TIMEOUT_MS)
            _idle(page)
            assert _place(page) == place, page.url
            page.get_by_role("link", name="Diagnose").click()
            _answered(page, confirmed)
            _idle(page)
            assert _place(page) == place, page.url
            page.reload()
            _answered(page, confirmed)
            _idle(page)
            assert _place(page) == place, page.url

            card = page.locator(".st-key-question_card")
            answered = confirmed
            for _ in range(MAX_QUESTIONS):
                cause, percent = _leader(page, titles)
                if cause in PATH_MTU_CAUSES and percent >= LEADER_PERCENT:
                    break
                shown = card.locator("h4").inner_text()
                question = questions[shown]
                if question in ANSWER_YES:
                    card.get_by_role("button", name="Yes", exact=True).click()
                    answered += 1
                    _answered(page, answered)
                else:
                    card.get_by_role("button", name="Skip for now").click()
                    page.wait_for_function("shown => !document.querySelector('.st-key-question_card h4') || "
                                           "document.querySelector('.st-key-question_card h4').innerText !== shown",
                                           arg=shown, timeout=STEP_TIMEOUT_MS)
                _idle(page)
            leader = _leader(page, titles)
            assert leader[0] in PATH_MTU_CAUSES and leader[1] >= LEADER_PERCENT, leader
            assert answered > confirmed, "the path-MTU question was answered through the page"
            assert _place(page) == place, page.url

            page.reload()
            _answered(page, answered)
            _idle(page)
            assert _leader(page, titles) == leader
            page.locator("[data-testid=stMain] img").first.wait_for(timeout=STEP_TIMEOUT_MS)
            page.locator("[data-testid=stDataFrame] .dvn-scroller").first.wait_for(timeout=STEP_TIMEOUT_MS)
            _screenshot(page, tmp_path / "diagnose-1400.png")
            _no_sideways_scrolling(page)
            page.set_viewport_size({"width": 800, "height": 1000})
            _idle(page)
            _screenshot(page, tmp_path / "diagnose-800.png")
        finally:
            browser.close()
    target = os.environ.get("ROOTWARD_SCREENSHOT_DIR")
    for name in ("diagnose-1400.png", "diagnose-800.png"):
        assert (tmp_path / name).stat().st_size > 10_000
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_path / name, Path(target) / name)
