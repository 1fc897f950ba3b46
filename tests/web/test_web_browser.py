"""The page in a real headless Chromium, against a real ``therabill serve`` on a loopback port.

A person's path: enter a visit with 97124 and 97140 (keyboard only), check it, read the denial
of 97124 and its reason; compare the two codes; see the history chart; upload a small CSV and
download the results. Screenshots go to test-artifacts/screenshots (git-ignored). The server's
log is read at the end: it must hold neither the patient id nor the visit's content.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage")
PATIENT = "PT-BROWSER-0042"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``therabill serve`` in its own process; yields its address and its log file."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "THERABILL_API_KEYS": "", "THERABILL_API_KEYS_FILE": ""}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "therabill", "serve", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _chromium(javascript: bool = True) -> WebDriver:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail("Chromium is not installed: run .ci/setup-web.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    return driver


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = _chromium()
    try:
        yield driver
    finally:
        driver.quit()


def _until(driver: WebDriver, seconds: float, condition: Callable[[WebDriver], Any]) -> None:
    """Wait for ``condition``; elements of a page being replaced are looked up again (Chromium
    may also answer that a node found a moment ago no longer belongs to the document)."""
    def settled(d: WebDriver) -> Any:
        try:
            return condition(d)
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return False
            raise

    WebDriverWait(driver, seconds, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(settled)


def _wait(driver: WebDriver, css: str, seconds: float = 30) -> None:
    _until(driver, seconds, ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _shoot(driver: WebDriver, name: str, width: int = 1280) -> Path:
    """A full-page screenshot at ``width``."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(800, min(int(height) + 120, 6000)))
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    assert path.stat().st_size > 10_000
    return path


def _field(driver: WebDriver, css: str, text: str) -> None:
    element = driver.find_element(By.CSS_SELECTOR, css)
    element.clear()
    element.send_keys(text)


def test_check_a_visit_and_read_the_denial(server: tuple[str, Path], browser: WebDriver
                                           ) -> None:
    base, _ = server
    browser.get(base + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Check a visit"
    # Every field has a label.
    for element in browser.find_elements(By.CSS_SELECTOR, "form input:not([type=hidden]), "
                                                          "form select"):
        assert browser.execute_script(
            "return arguments[0].labels.length + (arguments[0].getAttribute('aria-label') "
            "? 1 : 0)", element) > 0
    browser.execute_script("document.getElementById('date_of_service').value = '2025-06-03'")
    _field(browser, "#patient_id", PATIENT)
    # The locality is found by name: type words, pick from the matches.
    _field(browser, "#locality", "long beach")
    picks = browser.find_elements(By.CSS_SELECTOR, "#locality-name button.pick")
    assert picks and picks[0].text.startswith("01182-18")
    picks[0].send_keys(Keys.ENTER)
    assert browser.find_element(By.ID, "locality").get_attribute("value") == "01182-18"
    assert "LOS ANGELES" in browser.find_element(By.ID, "locality-name").text.upper()
    rows = browser.find_elements(By.CSS_SELECTOR, ".line-row")
    for row, (code, minutes, modifiers) in zip(rows, (("97124", "15", "59"),
                                                      ("97140", "23", "")), strict=False):
        row.find_element(By.CSS_SELECTOR, "input.code").send_keys(code)
        # The code's plain-language summary appears as it is typed.
        summary = row.find_element(By.CSS_SELECTOR, "output.summary").text
        assert summary.startswith(code + ": ") and len(summary) > 15
        row.find_element(By.NAME, "minutes").send_keys(minutes)
        row.find_element(By.NAME, "modifiers").send_keys(modifiers)
    # Keyboard only: Enter in a field submits the form.
    rows[1].find_element(By.NAME, "minutes").send_keys(Keys.ENTER)
    _wait(browser, "table.lines")
    massage = browser.find_element(By.CSS_SELECTOR, "tr.status-denied[data-code='97124']")
    assert "denied" in massage.text
    reason = browser.find_element(By.CSS_SELECTOR, "tr.why[data-code='97124']").text
    assert "ncci.ptp" in reason and "97140" in reason and "NCCI" in reason
    payable = browser.find_element(By.CSS_SELECTOR, "tr[data-code='97140'].status-payable")
    assert "$" in payable.text
    _shoot(browser, "check-visit")
    _shoot(browser, "check-visit-phone", width=400)
    # At phone width the page does not scroll sideways (tables scroll in their own box).
    browser.set_window_size(400, 900)
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.set_window_size(1280, 1000)


def test_compare_the_two_codes(server: tuple[str, Path], browser: WebDriver) -> None:
    base, _ = server
    browser.get(base + "/")
    browser.find_element(By.LINK_TEXT, "Compare codes").click()
    _wait(browser, "p.difference")
    codes = [e.get_attribute("value") for e in browser.find_elements(By.NAME, "codes")]
    assert codes[:2] == ["97124", "97140"]
    browser.execute_script("document.querySelector('input[name=date]').value = '2025-06-01'")
    browser.find_element(By.CSS_SELECTOR, "form.guide button[type=submit]").click()
    _until(browser, 30, lambda d: "2025-06-01" in d.find_element(
        By.CSS_SELECTOR, "section.answer h2").text)
    difference = browser.find_element(By.CSS_SELECTOR, "p.difference").text
    assert "97124 pays $2.59" in difference and "practice expense" in difference
    together = browser.find_element(By.CSS_SELECTOR, "ul.together").text
    assert "No:" in together
    _shoot(browser, "compare")


def test_explain_and_suggest(server: tuple[str, Path], browser: WebDriver) -> None:
    base, _ = server
    browser.get(base + "/guide/explain")
    _field(browser, "#code", "97140")
    browser.find_element(By.ID, "code").send_keys(Keys.ENTER)
    _until(browser, 30, lambda d: d.find_element(
        By.CSS_SELECTOR, "section.answer h2").text.startswith("97140"))
    assert "massage therapist" in browser.find_element(By.CSS_SELECTOR, "section.answer").text
    _shoot(browser, "explain")
    browser.find_element(By.LINK_TEXT, "Technique → code").click()
    _field(browser, "textarea[name=q]", "manual lymphatic drainage, then effleurage")
    browser.find_element(By.CSS_SELECTOR, "form.guide button[type=submit]").click()
    _wait(browser, "section.suggestion")
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "section.suggestion a")]
    assert "97140" in links and "97124" in links
    _shoot(browser, "suggest")


def test_history_chart(server: tuple[str, Path], browser: WebDriver) -> None:
    base, _ = server
    browser.get(base + "/guide/history")
    _wait(browser, "#history-chart")
    _until(browser, 60, lambda d: d.execute_script(
        "const i = document.getElementById('history-chart');"
        "return i.complete && i.naturalWidth > 0"))
    assert "97124 vs 97140" in browser.find_element(By.TAG_NAME, "figcaption").text
    _shoot(browser, "history")


def test_upload_a_csv(server: tuple[str, Path], browser: WebDriver, tmp_path: Path) -> None:
    base, _ = server
    csv_file = tmp_path / "visits.csv"
    csv_file.write_text("visit_id,patient_id,date_of_service,code,minutes,modifiers\n"
                        f"u-1,{PATIENT},2025-06-03,97124,15,59\n"
                        f"u-1,{PATIENT},2025-06-03,97140,23,\n"
                        "u-2,,2025-06-03,97110,38,\n", encoding="utf-8")
    browser.get(base + "/upload")
    browser.find_element(By.ID, "file").send_keys(str(csv_file))
    browser.find_element(By.ID, "upload-button").click()
    _wait(browser, "#upload-summary")
    assert browser.find_element(By.ID, "summary-visits").text == "2"
    summary = browser.find_element(By.ID, "upload-summary").text
    assert "denied: 1" in summary and "ncci.ptp" in summary
    link = browser.find_element(By.ID, "download")
    assert link.get_attribute("download") == "visits-results.jsonl"
    assert (link.get_attribute("href") or "").startswith("data:application/x-ndjson;base64,")
    _shoot(browser, "upload")


def test_the_page_works_without_javascript(server: tuple[str, Path]) -> None:
    base, _ = server
    driver = _chromium(javascript=False)
    try:
        driver.get(base + "/")
        assert not driver.find_element(By.ID, "add-line").is_displayed()  # needs the script
        date_field = driver.find_element(By.ID, "date_of_service")
        date_field.send_keys("06032025")
        rows = driver.find_elements(By.CSS_SELECTOR, ".line-row")
        rows[0].find_element(By.NAME, "code").send_keys("97124")
        rows[0].find_element(By.NAME, "minutes").send_keys("15")
        rows[1].find_element(By.NAME, "code").send_keys("97140")
        rows[1].find_element(By.NAME, "minutes").send_keys("23" + Keys.ENTER)
        _wait(driver, "table.lines")
        assert driver.find_elements(By.CSS_SELECTOR, "tr.status-denied[data-code='97124']")
        # The summaries the script would show as one types are rendered by the server.
        summary = driver.find_element(By.CSS_SELECTOR, ".line-row output.summary").text
        assert len(summary) > 15
    finally:
        driver.quit()


def test_server_log_holds_no_patient_data(server: tuple[str, Path]) -> None:
    _, log = server
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "POST /check 200" in text and "POST /upload 200" in text
    for secret in (PATIENT, "97124", "97140", "u-1"):
        assert secret not in text


def _readme_curls() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The web page and the REST API"):]
    section = section[:section.index("\n## ", 5)]
    return [line.strip() for line in section.splitlines() if line.strip().startswith("curl ")]


def test_readme_curl_examples_run(server: tuple[str, Path]) -> None:
    base, _ = server
    commands = [c for c in _readme_curls() if "X-API-Key" not in c]
    assert len(commands) >= 3
    for command in commands:
        done = subprocess.run(command.replace("http://127.0.0.1:8000", base), shell=True,
                              cwd=REPO, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, (command, done.stderr)
        rows = [json.loads(row) for row in done.stdout.splitlines() if row.strip()]
        assert rows, command
        assert "type" not in rows[0] or "status" not in rows[0], (command, rows[0])
    massage = json.loads(subprocess.run(
        commands[0].replace("http://127.0.0.1:8000", base), shell=True, cwd=REPO,
        capture_output=True, text=True, timeout=60, check=True).stdout)
    assert {line["code"]: line["status"] for line in massage["lines"]}["97124"] == "denied"
