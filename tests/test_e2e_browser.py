"""End to end: ``rootward ui`` on loopback, driven in headless Debian Chromium through Playwright.

This is the one test that proves the pieces meet in a real browser: the CLI launches Streamlit, the
page loads the pack, five answers given through the page change the ranking, and the leading cause
shown is the one the service computes for the same answers. It saves a screenshot of the Diagnose
page mid-diagnosis (to the test's temporary directory and, with ``ROOTWARD_SCREENSHOT_DIR`` set,
there too: that is how docs/screenshots/diagnose.png is made).
"""

from __future__ import annotations

import os
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
START_TIMEOUT_S = 120
STEP_TIMEOUT_MS = 120_000

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
            page.get_by_text("Leading cause").wait_for(timeout=STEP_TIMEOUT_MS)
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
