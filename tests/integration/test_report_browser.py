# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The HTML report in a real browser: headless Chromium driven by Selenium through chromedriver.

Three reports (an audit, a remediation, the campaign view over four runs), each at 1280 and 390 px
wide (a laptop and a phone). Asserted, measured with the DOM:

- safety: no console error (a CSP violation would be one), no request leaves the page (the
  DevTools network log holds only the file:// document itself or data: URIs), the hostile
  strings planted in the runs did not execute;
- layout: the page never scrolls sideways; no identifier (host name, run id, timestamp, hash,
  catalog id: ``.id``/``code``) is broken across lines (the client rects of its text sit on one
  line box); every chart label lies inside its chart's box; charts span the content width;
- content: the key numbers are visible, the banner shows the final hash once, the Covered List
  entry is quoted once with every finding pointing at it, and the campaign view starts with its
  content (one verdict banner, the fleet summary on the first screen).

Full-page screenshots are written under tests/output/ (gitignored) for review:
``report-{audit,remediate,campaign}-{1280,390}.png``.

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

from report_runs import chain, finding, make_run
from ripreplace import cli
from ripreplace.lab import prereq

OUTPUT = Path(__file__).resolve().parents[1] / "output"
WIDTHS = (1280, 390)
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
    "--hide-scrollbars",
    "--window-size=1280,900",
)
EVIL = '<script>window.__pwned=1</script><img src="x" onerror="window.__pwned=2">'


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
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


# --------------------------------------------------------------------------- the runs
WINDOW = {"kind": "interval", "text": "now/PT1H", "start": "2026-12-05T06:00:00Z", "end": "2026-12-05T07:00:00Z"}
LONG_HOST = "db-primary-01.payments.eu-west-1.corp.example.com"


def _remediated(n: int) -> dict[str, Any]:
    return {
        "status": "remediated",
        "state": "verified",
        "batch": 1 if n == 1 else 2,
        "findings": [finding()],
        "targeted": True,
        "replacement": {"product": "clamav", "name": "ClamAV", "version": "1.0.7", "healthy": True, "reason": ""},
        "verify": {"outcome": "verified", "reason": "", "protection_gap_seconds": 0.4 + n / 10},
    }


def _remediate_hosts() -> dict[str, Any]:
    hosts: dict[str, Any] = {f"web{n:02d}": _remediated(n) for n in range(1, 13)}
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
    hosts[f"evil{EVIL}"] = {
        "status": "covered",
        "findings": [
            finding(
                product=EVIL,
                covered_list={"entry": EVIL, "added": "2022-03-25", "sources": ["javascript:window.__pwned=3"]},
            )
        ],
        "reason": EVIL,
        "targeted": True,
    }
    return hosts


def _batches(hosts: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"batch": 1, "hosts": ["web01"], "started": "2026-12-05T06:00:05Z", "seconds": 41.2, "counts": {"verified": 1}},
        {
            "batch": 2,
            "hosts": sorted(h for h in hosts if h != "web01"),
            "started": "2026-12-05T06:00:50Z",
            "seconds": 128.4,
            "counts": {"verified": 11, "failed": 1},
        },
    ]


def _remediate_run(runs: Path, run_id: str = "20261205T060000Z-remediate-b0b0b0", **over: Any) -> Path:
    hosts = _remediate_hosts()
    extra = {"window": WINDOW, "batches": _batches(hosts), "stop": None}
    decisions = [
        {"kind": "window-check", "batch": 1, "closes": "2026-12-05T07:00:00Z", "ok": True},
        {"kind": "window-check", "batch": 2, "closes": "2026-12-05T07:00:00Z", "ok": True},
    ]
    return make_run(
        runs,
        run_id,
        mode="remediate",
        hosts=hosts,
        extra_summary=extra,
        decisions=decisions,
        started="2026-12-05T06:00:00.000Z",
        **over,
    )


def _audit_hosts(covered: bool = True) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for n in range(1, 13):
        hosts[f"web{n:02d}"] = (
            {"status": "covered", "findings": [finding()], "excepted": [], "reason": None}
            if covered
            else {"status": "clean", "findings": [], "excepted": [], "reason": None}
        )
    hosts["db01"] = {
        "status": "covered",
        "findings": [finding("kaspersky-network-agent", product="Kaspersky Security Center Network Agent")],
        "excepted": [],
        "reason": None,
    }
    hosts["db02"] = {"status": "unreachable", "findings": [], "excepted": [], "reason": "ssh: connection refused"}
    hosts[LONG_HOST] = {
        "status": "excepted",
        "findings": [],
        "excepted": [
            finding(
                exception={
                    "id": "EXC-2026-001",
                    "scope": f"host:{LONG_HOST}",
                    "reason": "vendor-certified payment gateway",
                    "ticket": "CHG-4711",
                    "expires": "2027-03-31",
                }
            )
        ],
        "reason": "excepted",
    }
    return hosts


def _campaign(runs: Path) -> Path:
    make_run(runs, "20261205T050000Z-audit-a1a1a1", hosts=_audit_hosts(), started="2026-12-05T05:00:00.000Z")
    killed = make_run(
        runs,
        "20261205T055000Z-remediate-k1k1k1",
        mode="remediate",
        hosts={"web01": _remediated(1)},
        started="2026-12-05T05:50:00.000Z",
        end=False,
    )
    last = chain.verify(killed / "audit.jsonl").final_hash
    _remediate_run(
        runs,
        "20261205T060000Z-remediate-b0b0b0",
        resumes={"run": "20261205T055000Z-remediate-k1k1k1", "final_hash": last},
    )
    make_run(runs, "20261205T073000Z-audit-c3c3c3", hosts=_audit_hosts(False), started="2026-12-05T07:30:00.000Z")
    return runs


# --------------------------------------------------------------------------- measuring the page
_BROKEN_IDENTIFIERS = """
const out = [];
for (const el of document.querySelectorAll('.id, code')) {
  const range = document.createRange();
  range.selectNodeContents(el);
  const rects = Array.from(range.getClientRects()).filter(r => r.width > 0 && r.height > 0);
  rects.sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -Infinity;
  for (const r of rects) { if (r.top >= bottom - 1) { lines += 1; bottom = r.bottom; } }
  const box = el.getBoundingClientRect();
  if (lines > 1 || box.width <= 0) out.push([el.textContent, lines, box.width]);
}
return out;
"""

# An identifier inside prose (a reason naming a run, a verdict naming a hash) must be marked as one too.
_UNMARKED_IDENTIFIERS = r"""
const pattern = /\d{8}T\d{6}Z-[a-z]+-[0-9a-f]{6}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|[0-9a-f]{16,64}/;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const out = [];
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (node.parentElement.closest('.id, code, title')) continue;
  if (pattern.test(node.textContent)) out.push(node.textContent.trim().slice(0, 120));
}
return out;
"""

# Every shown chart label inside its chart's box, and no two labels of one chart row on top of each other.
_LABELS_OUTSIDE = """
const out = [];
for (const svg of document.querySelectorAll('figure.chart svg')) {
  const box = svg.getBoundingClientRect();
  const shown = Array.from(svg.querySelectorAll('text')).map(t => [t, t.getBoundingClientRect()])
    .filter(([t, r]) => r.width > 0);
  for (const [t, r] of shown) {
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
      out.push(['outside', t.textContent, Math.round(r.left - box.left), Math.round(box.right - r.right)]);
    }
  }
  shown.sort((a, b) => a[1].left - b[1].left);
  for (let i = 1; i < shown.length; i++) {
    const [a, ra] = shown[i - 1], [b, rb] = shown[i];
    if (rb.left < ra.right + 2 && rb.top < ra.bottom && ra.top < rb.bottom) {
      out.push(['overlap', a.textContent, b.textContent]);
    }
  }
}
return out;
"""

_NARROW_CHARTS = """
const content = document.querySelector('#summary').getBoundingClientRect().width;
return Array.from(document.querySelectorAll('figure.chart'))
  .map(f => f.getBoundingClientRect().width / content).filter(ratio => ratio < 0.98);
"""


def _requests(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message.get("params") or {}
            urls.append((params.get("request") or {}).get("url") or params.get("url") or "")
    return urls


def _open(driver: Any, page: Path, width: int) -> str:
    """Load ``page`` in a viewport ``width`` px wide; assert it is inert and fetched nothing."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    url = page.resolve().as_uri()
    driver.get("about:blank")
    driver.get_log("performance")  # drain what the browser did before
    driver.get_log("browser")
    driver.get(url)
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == [], errors  # a blocked inline style or script would log one
    requests = _requests(driver)
    assert url in requests
    assert [u for u in requests if u != url and not u.startswith("data:")] == []
    assert driver.execute_script("return window.__pwned === undefined") is True
    return url


def _check_layout(driver: Any, width: int) -> None:
    # a page wider than a phone's screen makes the browser zoom out (a wider layout viewport)
    inner = driver.execute_script("return window.innerWidth")
    assert inner == width, f"the page is wider than the {width} px screen: laid out {inner} px wide"
    scroll = driver.execute_script("return document.scrollingElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways at {width} px: {scroll} px wide"
    assert driver.execute_script(_UNMARKED_IDENTIFIERS) == [], "identifiers in prose not kept whole"
    assert driver.execute_script(_BROKEN_IDENTIFIERS) == [], f"identifiers broken across lines at {width} px"
    assert driver.execute_script(_LABELS_OUTSIDE) == [], f"chart labels outside their box or overlapping at {width} px"
    assert driver.execute_script(_NARROW_CHARTS) == [], f"a chart narrower than the content at {width} px"


def _screenshot(driver: Any, name: str, width: int) -> None:
    OUTPUT.mkdir(exist_ok=True)
    height = int(driver.execute_script("return document.scrollingElement.scrollHeight"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": min(height, 12000), "deviceScaleFactor": 1, "mobile": width < 600},
    )
    shot = OUTPUT / f"report-{name}-{width}.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000


def _render(run_or_campaign: list[str], page: Path, name: str) -> None:
    assert cli.main(["report", *run_or_campaign, "--format", "html", "-o", str(page)]) == 0
    OUTPUT.mkdir(exist_ok=True)
    shutil.copyfile(page, OUTPUT / f"report-{name}.html")  # beside the screenshots, for review


def _card(driver: Any, key: str) -> str:
    from selenium.webdriver.common.by import By

    el = driver.find_element(By.CSS_SELECTOR, f'[data-key="{key}"] .n')
    assert el.is_displayed()
    return str(el.text)


# --------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("width", WIDTHS)
def test_remediation_report(tmp_path: Path, browser: Any, width: int) -> None:
    from selenium.webdriver.common.by import By

    run = _remediate_run(tmp_path / "runs")
    page = tmp_path / "report.html"
    _render([str(run)], page, "remediate")
    url = _open(browser, page, width)
    assert browser.title.startswith("ripreplace remediate run 20261205T060000Z-remediate-b0b0b0")
    # links: http(s) sources, or the page's own Covered List entries
    for a in browser.find_elements(By.TAG_NAME, "a"):
        href = a.get_attribute("href")
        assert href.startswith("https:") or href.startswith(url + "#cl-") or href.startswith(url + "#run-"), href
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    # the key numbers, visible
    assert _card(browser, "hosts") == "15"
    assert _card(browser, "covered_remaining") == "2"  # the covered host and the failed one
    assert _card(browser, "status-remediated") == "12"
    assert _card(browser, "status-failed") == "1"
    assert _card(browser, "status-deferred") == "1"
    # one banner, the final hash once in it
    verdict = browser.find_element(By.CSS_SELECTOR, "#audit-log .verdict")
    assert verdict.is_displayed() and "Audit log verified" in verdict.text
    final_hash = browser.find_element(By.CSS_SELECTOR, ".final-hash").text
    assert final_hash == json.loads((run / "manifest.json").read_text())["audit_log"]["final_hash"]
    assert verdict.text.count(final_hash) == 1 and len(browser.find_elements(By.CSS_SELECTOR, ".final-hash")) == 1
    # the Covered List entry quoted once per entry; every finding with one points at it
    quotes = browser.find_elements(By.CSS_SELECTOR, "#covered-list blockquote")
    assert len(quotes) == 2  # Kaspersky's entry, and the planted one
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hosts a.ref")) == 14
    timelines = browser.find_elements(By.CSS_SELECTOR, "section.timeline figure")
    assert len(timelines) == 2 and all(t.is_displayed() for t in timelines)
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.host")) == 15
    _check_layout(browser, width)
    _screenshot(browser, "remediate", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_audit_report(tmp_path: Path, browser: Any, width: int) -> None:
    from selenium.webdriver.common.by import By

    run = make_run(tmp_path / "runs", "20261205T050000Z-audit-a1a1a1", hosts=_audit_hosts())
    page = tmp_path / "report.html"
    _render([str(run)], page, "audit")
    _open(browser, page, width)
    assert _card(browser, "hosts") == "15"
    assert _card(browser, "covered_remaining") == "13"
    assert _card(browser, "exceptions") == "1"
    assert _card(browser, "status-covered") == "13"
    assert browser.find_elements(By.CSS_SELECTOR, "section.timeline") == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "#covered-list blockquote")) == 1
    # the long host name is whole on one line, in the hosts table and in the exceptions table
    long_names = [e for e in browser.find_elements(By.CSS_SELECTOR, ".id") if e.text == LONG_HOST]
    assert len(long_names) == 2
    # most urgent first: covered hosts lead the hosts table
    first = browser.find_element(By.CSS_SELECTOR, "tr.host")
    assert first.get_attribute("data-status") == "covered"
    _check_layout(browser, width)
    _screenshot(browser, "audit", width)


@pytest.mark.parametrize("width", WIDTHS)
def test_campaign_report(tmp_path: Path, browser: Any, width: int) -> None:
    from selenium.webdriver.common.by import By

    runs = _campaign(tmp_path / "runs")
    page = tmp_path / "report.html"
    _render(["--campaign", str(runs)], page, "campaign")
    _open(browser, page, width)
    # content first: one verdict banner for the four runs, the fleet summary on the first screen
    banners = browser.find_elements(By.CSS_SELECTOR, ".verdict")
    assert len(banners) == 1 and "Audit log verified" in banners[0].text
    assert "resumed by run 20261205T060000Z-remediate-b0b0b0" in banners[0].text
    summary_top = browser.execute_script("return document.querySelector('#summary').getBoundingClientRect().top")
    assert summary_top < 500, summary_top
    assert _card(browser, "hosts") == "16"  # the audits' 15 and the remediation's planted host
    assert _card(browser, "status-remediated") == "12"
    # each run's final hash in the runs table, none in the banner
    hashes = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#runs code.hash")]
    assert len(hashes) == 4 and all(len(h) == 64 for h in hashes[:2])
    assert not [h for h in hashes if h in banners[0].text]
    _check_layout(browser, width)
    _screenshot(browser, "campaign", width)
