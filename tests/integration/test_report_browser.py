"""The HTML report in a real browser: headless Chromium driven by Selenium through chromedriver.

Asserts: no console error (a CSP violation would be one), no request leaves the page (the
DevTools network log holds only the file:// document itself or data: URIs), the hostile strings
planted in the run did not execute, and the key numbers are visible. A screenshot is kept under
tests/output/ (gitignored) as the test's artifact.

Needs the Debian packages chromium and chromium-driver (``make deps-debian``) and the pip package
selenium (the ``test`` extra). Missing: skipped locally, a failure under CI (``CI=true``), like the
lab tests (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from report_runs import finding, make_run
from ripreplace import cli
from ripreplace.lab import prereq

OUTPUT = Path(__file__).resolve().parents[1] / "output"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-pings",
    "--metrics-recording-only",
    "--window-size=1400,1900",
)


def _missing() -> str | None:
    missing = [tool for tool in prereq.REPORT_TEST_TOOLS if shutil.which(tool) is None]
    if missing:
        pkgs = " ".join(prereq.REPORT_TEST_TOOLS[t] for t in missing)
        return f"the browser test needs {', '.join(missing)}: apt-get install -y {pkgs}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser test needs selenium: pip install -e '.[test]'"
    return None


_REASON = _missing()
if _REASON is not None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser test cannot run under CI: {_REASON}", pytrace=False)
    pytest.skip(_REASON, allow_module_level=True)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    profile = tempfile.mkdtemp(prefix="ripreplace-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _remediate_run(runs: Path) -> Path:
    hosts: dict[str, Any] = {}
    for n in range(1, 13):
        name = f"web{n:02d}"
        hosts[name] = {
            "status": "remediated",
            "state": "verified",
            "batch": 1 if n == 1 else 2,
            "findings": [finding()],
            "targeted": True,
            "replacement": {"product": "clamav", "name": "ClamAV", "version": "1.0.7", "healthy": True, "reason": ""},
            "verify": {"outcome": "verified", "reason": "", "protection_gap_seconds": 0.4 + n / 10},
        }
    hosts["db01"] = {
        "status": "failed",
        "state": "failed",
        "batch": 2,
        "findings": [finding("kaspersky-network-agent", product="Kaspersky Security Center Network Agent")],
        "reason": "'REPLACEMENT | HEALTH | Prove the replacement healthy' failed: clamd not answering",
        "targeted": True,
        "replacement": {"product": "clamav", "name": "ClamAV", "version": "1.0.7", "healthy": False, "reason": "no"},
    }
    hosts["db02"] = {"status": "deferred", "state": "deferred", "findings": [], "targeted": True, "reason": "stopped"}
    evil = '<script>window.__pwned=1</script><img src="x" onerror="window.__pwned=2">'
    hosts[f"evil{evil}"] = {
        "status": "covered",
        "findings": [
            finding(
                product=evil,
                covered_list={"entry": evil, "added": "2022-03-25", "sources": ["javascript:window.__pwned=3"]},
            )
        ],
        "reason": evil,
        "targeted": True,
    }
    extra = {
        "window": {
            "kind": "interval",
            "text": "now/PT1H",
            "start": "2026-12-05T06:00:00Z",
            "end": "2026-12-05T07:00:00Z",
        },
        "batches": [
            {
                "batch": 1,
                "hosts": ["web01"],
                "started": "2026-12-05T06:00:05Z",
                "seconds": 41.2,
                "counts": {"verified": 1},
            },
            {
                "batch": 2,
                "hosts": sorted(h for h in hosts if h != "web01"),
                "started": "2026-12-05T06:00:50Z",
                "seconds": 128.4,
                "counts": {"verified": 11, "failed": 1},
            },
        ],
        "stop": None,
    }
    decisions = [
        {"kind": "window-check", "batch": 1, "closes": "2026-12-05T07:00:00Z", "ok": True},
        {"kind": "window-check", "batch": 2, "closes": "2026-12-05T07:00:00Z", "ok": True},
    ]
    return make_run(
        runs,
        "20261205T060000Z-remediate-b0b0b0",
        mode="remediate",
        hosts=hosts,
        extra_summary=extra,
        decisions=decisions,
    )


def _requests(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message.get("params") or {}
            urls.append((params.get("request") or {}).get("url") or params.get("url") or "")
    return urls


def test_html_report_in_headless_chromium(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    run = _remediate_run(tmp_path / "runs")
    page = tmp_path / "report.html"
    assert cli.main(["report", str(run), "--format", "html", "-o", str(page)]) == 0
    url = page.resolve().as_uri()
    browser.get("about:blank")
    browser.get_log("performance")  # drain what the browser's own start-up tab did
    browser.get_log("browser")
    browser.get(url)
    assert browser.title.startswith("ripreplace remediate run 20261205T060000Z-remediate-b0b0b0")

    # no console errors (a blocked inline style or script would log one)
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == []
    # nothing left the page: only the document itself (and data: URIs) was requested
    requests = _requests(browser)
    assert url in requests
    assert [u for u in requests if u != url and not u.startswith("data:")] == []
    # the planted markup stayed text
    assert browser.execute_script("return window.__pwned === undefined") is True
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    assert not [a for a in browser.find_elements(By.TAG_NAME, "a") if not a.get_attribute("href").startswith("https:")]

    # the key numbers, visible
    def card(key: str) -> str:
        el = browser.find_element(By.CSS_SELECTOR, f'[data-key="{key}"] .n')
        assert el.is_displayed()
        return str(el.text)

    assert card("hosts") == "15"
    assert card("covered_remaining") == "2"  # the covered host and the failed one
    assert card("status-remediated") == "12"
    assert card("status-failed") == "1"
    assert card("status-deferred") == "1"
    verdict = browser.find_element(By.CSS_SELECTOR, "#audit-log .verdict")
    assert verdict.is_displayed() and "Audit log verified" in verdict.text
    final_hash = browser.find_element(By.CSS_SELECTOR, ".final-hash").text
    assert (
        len(final_hash) == 64
        and final_hash in json.loads((run / "manifest.json").read_text())["audit_log"]["final_hash"]
    )
    timelines = browser.find_elements(By.CSS_SELECTOR, "section.timeline svg")
    assert timelines and all(t.is_displayed() for t in timelines)
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.host")) == 15

    OUTPUT.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 40, 6000))
    shot = OUTPUT / "report-browser.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
