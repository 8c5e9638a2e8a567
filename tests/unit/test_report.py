# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""ripreplace report: the five formats, escaping, exit codes, and the campaign merge.

Run directories are built with the real audit-log writer API (``auditlog.AuditLog``), so every
log here is a valid hash chain that the verifier checks while rendering.
"""

from __future__ import annotations

import csv
import html.parser
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from report_runs import EVIL, EVIL_HOST, audit_hosts, chain, finding, make_run
from ripreplace import cli
from ripreplace.report import load, render

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "ripreplace" / "schemas" / "report.schema.json"


def render_to_text(report: Any, fmt: str) -> str:
    buf = io.StringIO()
    render.render(report, fmt, buf)
    return buf.getvalue()


@pytest.fixture
def audit_run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "runs", "20261205T060000Z-audit-aaaaaa", hosts=audit_hosts())


# --------------------------------------------------------------------------- JSON contract
def test_json_matches_the_pinned_schema_and_contract(audit_run: Path) -> None:
    report = load.run_report(audit_run)
    data = json.loads(render_to_text(report, "json"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    # the contract: these keys and values are what tools rely on (docs/reports.md)
    assert data["format"] == "ripreplace-report/1"
    assert sorted(data) == sorted(
        ["format", "kind", "title", "generated", "generator", "audit_log_ok", "counts", "totals", "runs", "hosts"]
    )
    assert data["kind"] == "run" and data["audit_log_ok"] is True
    assert data["counts"] == {"covered": 1, "unreachable": 1, "excepted": 1, "clean": 1}
    assert data["totals"] == {
        "hosts": 4,
        "covered_remaining": 1,
        "failing": 2,
        "exceptions_applied": 1,
        "exceptions_expired": 1,
    }
    hosts = {h["name"]: h for h in data["hosts"]}
    assert [h["name"] for h in data["hosts"]] == sorted(hosts)
    kesl = hosts["web1"]["findings"][0]
    # the Covered List entry, its date and sources come from catalog/covered.yml
    assert kesl["covered_list"]["added"] == "2022-03-25"
    assert "https://www.fcc.gov/supplychain/coveredlist" in kesl["covered_list"]["sources"]
    assert kesl["evidence"][0] == {
        "kind": "deb",
        "value": "kesl",
        "confidence": "high",
        "details": {"version": "12.0.0.6672", "status": "installed"},
    }
    assert hosts["db1"]["excepted"][0]["exception"]["expires"] == "2027-01-31"
    verdict = data["runs"][0]["audit_log"]
    assert verdict["status"] == "ok" and len(verdict["final_hash"]) == 64
    assert verdict["final_hash"] == json.loads((audit_run / "manifest.json").read_text())["audit_log"]["final_hash"]


def test_schema_is_itself_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


# --------------------------------------------------------------------------- CSV
def test_csv_one_row_per_host_perfinding(audit_run: Path) -> None:
    text = render_to_text(load.run_report(audit_run), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["host"], r["catalog_id"]) for r in rows] == [
        ("db1", "kaspersky-network-agent"),
        ("db2", ""),
        ("web1", "kaspersky-kesl"),
        ("web2", ""),
    ]
    web1 = rows[2]
    assert web1["status"] == "covered" and web1["covered_remains"] == "true"
    assert web1["covered_list_added"] == "2022-03-25"
    assert web1["evidence"] == "deb:kesl 12.0.0.6672; service:kesl (systemd, active)"
    assert rows[0]["exception_id"] == "EXC-7" and rows[0]["exception_expires"] == "2027-01-31"
    assert rows[0]["audit_log"] == "ok"


@pytest.mark.parametrize("cell", ["=HYPERLINK(1)", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_guards_formula_injection(tmp_path: Path, cell: str) -> None:
    hosts = {cell: {"status": "covered", "findings": [finding(product=cell)], "reason": cell}}
    run = make_run(tmp_path / "runs", "20261205T060000Z-audit-bbbbbb", hosts=hosts)
    rows = list(csv.reader(io.StringIO(render_to_text(load.run_report(run), "csv"))))
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert rows[1][1] == "'" + cell


# --------------------------------------------------------------------------- JUnit
def test_junit_one_case_per_host_failing_where_covered_or_failed(audit_run: Path) -> None:
    root = ET.fromstring(render_to_text(load.run_report(audit_run), "junit"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["db1", "db2", "web1", "web2"]
    assert suite.get("tests") == "4" and suite.get("failures") == "2" and suite.get("errors") == "0"
    failed = {c.get("name"): c.find("failure") for c in cases}
    assert failed["web1"] is not None and "kaspersky-kesl" in failed["web1"].get("message", "")
    assert failed["db2"] is not None and "connection refused" in failed["db2"].get("message", "")
    assert failed["web2"] is None and failed["db1"] is None
    # the common JUnit schema: only these elements and attributes
    allowed = {
        "testsuites": {"name", "tests", "failures", "errors", "skipped", "time", "disabled"},
        "testsuite": {
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "time",
            "timestamp",
            "hostname",
            "id",
            "package",
        },
        "properties": set(),
        "property": {"name", "value"},
        "testcase": {"name", "classname", "time", "assertions", "status"},
        "failure": {"message", "type"},
        "skipped": {"message"},
        "system-out": set(),
    }
    for el in root.iter():
        assert el.tag in allowed, el.tag
        assert set(el.attrib) <= allowed[el.tag], (el.tag, el.attrib)
    for case in cases:
        assert case.get("classname") and case.get("time") is not None


def test_junit_control_characters_stay_valid_xml(tmp_path: Path) -> None:
    hosts = {"h\x01\x1b[31m": {"status": "failed", "findings": [], "reason": "bad \x00 byte </failure>"}}
    run = make_run(tmp_path / "runs", "20261205T060000Z-audit-cccccc", hosts=hosts)
    root = ET.fromstring(render_to_text(load.run_report(run), "junit"))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "</failure>" in failure.get("message", "")


# --------------------------------------------------------------------------- Markdown
def test_markdown_summary_has_the_counts_and_final_hash(audit_run: Path) -> None:
    report = load.run_report(audit_run)
    text = render_to_text(report, "md")
    assert "| covered | 1 |" in text and "| clean | 1 |" in text and "| unreachable | 1 |" in text
    assert "Hosts: **4**; covered software remaining on **1**" in text
    assert f"`{report.runs[0].audit_log.final_hash}`" in text
    assert "web1: covered software found: kaspersky-kesl" in text
    assert "db1: kaspersky-network-agent by EXC-7 until 2027-01-31" in text
    assert len(text.splitlines()) < 40


def test_markdown_escapes_table_and_html(tmp_path: Path) -> None:
    hosts = {"a|b<img src=x>": {"status": "covered", "findings": [finding()], "reason": "[x](javascript:1)"}}
    run = make_run(tmp_path / "runs", "20261205T060000Z-audit-dddddd", hosts=hosts)
    text = render_to_text(load.run_report(run), "md")
    assert "<img" not in text and "a\\|b&lt;img" in text
    assert "\\[x\\](javascript:1)" in text and "[x](" not in text  # brackets escaped: no link


# --------------------------------------------------------------------------- HTML and escaping
class _Scan(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _scan(text: str) -> _Scan:
    scan = _Scan()
    scan.feed(text)
    scan.close()
    return scan


def test_hostile_strings_render_inert(tmp_path: Path) -> None:
    hostile = finding(
        "evil-<b>id</b>",
        vendor=EVIL,
        product=EVIL,
        covered_list={
            "entry": EVIL,
            "added": "2022-03-25",
            "sources": [
                "javascript:alert(1)",
                " JavaScript:alert(1)",
                "data:text/html,<script>1</script>",
                EVIL,
                "https://www.fcc.gov/supplychain/coveredlist",
            ],
        },
        evidence=[{"kind": "path", "value": EVIL, "confidence": "high", "note": EVIL}],
    )
    hosts = {
        EVIL_HOST: {"status": "covered", "findings": [hostile], "reason": EVIL, "excepted": []},
        "javascript:alert(1)": {
            "status": "failed",
            "findings": [],
            "reason": EVIL,
            "replacement": {"product": EVIL, "name": EVIL, "version": EVIL, "healthy": False, "reason": EVIL},
        },
    }
    decisions = [
        {"kind": "batch-start", "batch": 1, "hosts": [EVIL_HOST], "closes": "2026-12-05T07:00:00Z"},
    ]
    extra = {
        "window": {"kind": "interval", "text": EVIL, "start": "2026-12-05T06:00:00Z", "end": "2026-12-05T07:00:00Z"},
        "batches": [
            {"batch": 1, "hosts": [EVIL_HOST], "started": "2026-12-05T06:01:00Z", "seconds": 30, "counts": {EVIL: 1}}
        ],
        "stop": {"reason": EVIL, "by": EVIL},
    }
    run = make_run(
        tmp_path / "runs",
        "20261205T060000Z-remediate-eeeeee",
        mode="remediate",
        hosts=hosts,
        extra_summary=extra,
        decisions=decisions,
    )
    text = render_to_text(load.run_report(run), "html")
    scan = _scan(text)
    tags = [t for t, _a in scan.tags]
    assert "script" not in tags and "img" not in tags and "b" not in tags
    for tag, attrs in scan.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action", "xlink:href", "formaction"):
                # an http(s) link, or a link to one of the page's own Covered List entries or runs
                assert value is not None and (
                    value.startswith("https://") or re.fullmatch(r"#(cl|run)-[0-9]+", value)
                ), (
                    tag,
                    name,
                    value,
                )
    hrefs = [a.get("href") for t, a in scan.tags if t == "a" and not (a.get("href") or "").startswith("#")]
    assert hrefs == ["https://www.fcc.gov/supplychain/coveredlist"]
    ids = {a.get("id") for _t, a in scan.tags if a.get("id")}
    fragments = [a["href"] for t, a in scan.tags if t == "a" and (a.get("href") or "").startswith("#")]
    assert fragments and all(f[1:] in ids for f in fragments)
    # the hostile text is there, as text
    body = "".join(scan.text)
    assert "<script>alert(1)</script>" in body and "javascript:alert(1)" in body
    # one style element, no inline style attributes (the CSP allows only the hashed <style>)
    assert tags.count("style") == 1
    assert all("style" not in a for _t, a in scan.tags)
    csp = [a.get("content") for t, a in scan.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0] or "") and "script-src 'none'" in (csp[0] or "")


def test_html_has_summary_findings_timeline_verdict_and_exceptions(audit_run: Path) -> None:
    report = load.run_report(audit_run)
    text = render_to_text(report, "html")
    scan = _scan(text)
    body = " ".join(scan.text)
    assert "Audit log verified" in body and report.runs[0].audit_log.final_hash in body
    assert "EXC-7" in body and "2027-01-31" in body and "EXC-1 expired" in body
    assert "(added 2022-03-25)" in body
    assert [a.get("href") for t, a in scan.tags if t == "a"].count("https://www.fcc.gov/supplychain/coveredlist") >= 1
    # the status chart (one bar per status, each its own row) and no batch timeline: an audit has no batches
    bars = [a.get("data-key") for t, a in scan.tags if t == "div" and (a.get("data-key") or "").startswith("status-")]
    assert bars == ["status-covered", "status-unreachable", "status-excepted", "status-clean"]
    assert sum(1 for t, _a in scan.tags if t == "svg") == len(bars)
    assert not [a for t, a in scan.tags if t == "section" and a.get("class") == "timeline"]
    assert sum(1 for t, a in scan.tags if t == "tr" and a.get("class") == "host") == 4
    for t, a in scan.tags:
        assert t not in ("link", "script", "iframe", "img", "object", "embed"), t
        assert "src" not in a or t == "meta"


def test_csp_style_hash_matches_the_inline_style(audit_run: Path) -> None:
    import base64
    import hashlib
    import re

    text = render_to_text(load.run_report(audit_run), "html")
    style = re.search(r"<style>(.*?)</style>", text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    csp = [a.get("content") for t, a in _scan(text).tags if t == "meta" and a.get("http-equiv")]
    assert csp and f"style-src 'sha256-{digest}';" in (csp[0] or "")


# --------------------------------------------------------------------------- the command and exit codes
def test_cli_writes_every_format_exit_0(audit_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in render.FORMATS:
        out = tmp_path / f"r.{fmt}"
        rc = cli.main(["report", audit_run.name, "--runs-dir", str(audit_run.parent), "--format", fmt, "-o", str(out)])
        assert rc == 0, fmt
        assert out.stat().st_size > 100
    assert cli.main(["report", str(audit_run), "--format", "md"]) == 0
    assert "Hosts: **4**" in capsys.readouterr().out


def test_cli_usage_and_missing_run_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "nope", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope: no such run" in err
    assert cli.main(["report"]) == 2
    assert cli.main(["report", "x", "--campaign", str(tmp_path)]) == 2
    assert cli.main(["report", "--campaign", str(tmp_path / "missing")]) == 2
    assert cli.main(["report", "x", "--format", "pdf"]) == 2


def test_tampered_log_still_renders_with_the_verdict_and_exit_6(
    audit_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = audit_run / "audit.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"web1"', b'"webX"')
    log.write_bytes(b"".join(lines))
    # a stored verdict claiming OK must not be believed
    (audit_run / "verdict.json").write_text('{"status": "ok"}')
    out = tmp_path / "r.html"
    assert cli.main(["report", str(audit_run), "-o", str(out)]) == 6
    assert "failed verification: TAMPERED: line 2" in capsys.readouterr().err
    body = " ".join(_scan(out.read_text()).text)
    assert "AUDIT LOG FAILED VERIFICATION: TAMPERED" in body and "line 2" in body
    data_out = tmp_path / "r.json"
    assert cli.main(["report", str(audit_run), "--format", "json", "-o", str(data_out)]) == 6
    data = json.loads(data_out.read_text())
    assert data["audit_log_ok"] is False and data["runs"][0]["audit_log"]["status"] == "tampered"


def test_missing_or_incomplete_log_exit_6(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", "20261205T060000Z-audit-ffffff", hosts=audit_hosts(), end=False)
    assert cli.main(["report", str(run), "--format", "json", "-o", str(tmp_path / "a.json")]) == 6
    assert json.loads((tmp_path / "a.json").read_text())["runs"][0]["audit_log"]["status"] == "incomplete"
    (run / "audit.jsonl").unlink()
    assert cli.main(["report", str(run), "--format", "md", "-o", str(tmp_path / "a.md")]) == 6
    assert "no audit.jsonl" in (tmp_path / "a.md").read_text()


def test_killed_run_reports_from_state_json(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs", "20261205T060000Z-remediate-gggggg", mode="remediate", hosts={}, end=False)
    (run / "summary.json").unlink()
    state = {
        "format": "ripreplace-state/1",
        "hosts": {
            "web1": {
                "state": "replaced",
                "findings": [finding()],
                "replacement": {"product": "clamav", "healthy": True},
            },
            "web2": {
                "state": "verified",
                "findings": [finding()],
                "removed": [{"phase": "packages", "result": "purged"}],
            },
        },
    }
    (run / "state.json").write_text(json.dumps(state))
    report = load.run_report(run)
    assert report.runs[0].source == "state.json"
    hosts = {h.name: h for h in report.hosts}
    assert hosts["web1"].status == "deferred" and hosts["web1"].covered_remains
    assert hosts["web2"].status == "remediated" and hosts["web2"].removal_actions[0].result == "purged"


# --------------------------------------------------------------------------- campaign
def test_campaign_latest_state_per_host_and_where_it_comes_from(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "20261205T060000Z-audit-000001", hosts=audit_hosts(), started="2026-12-05T06:00:00.000Z")
    remediated = {
        "web1": {
            "status": "remediated",
            "state": "verified",
            "findings": [finding()],
            "targeted": True,
            "replacement": {"product": "clamav", "name": "ClamAV", "version": "1.0", "healthy": True, "reason": ""},
            "verify": {"outcome": "verified", "protection_gap_seconds": 0.8},
        },
        "db2": {"status": "deferred", "state": "deferred", "findings": [], "targeted": True, "reason": "window"},
    }
    extra = {
        "window": {
            "kind": "interval",
            "text": "now/PT1H",
            "start": "2026-12-06T01:00:00Z",
            "end": "2026-12-06T02:00:00Z",
        },
        "batches": [{"batch": 1, "hosts": ["web1"], "started": "2026-12-06T01:00:05Z", "seconds": 41.2, "counts": {}}],
    }
    make_run(
        runs,
        "20261206T010000Z-remediate-000002",
        mode="remediate",
        hosts=remediated,
        started="2026-12-06T01:00:00.000Z",
        extra_summary=extra,
    )
    make_run(
        runs,
        "20261207T010000Z-audit-000003",
        hosts={"web1": {"status": "clean", "findings": []}},
        started="2026-12-07T01:00:00.000Z",
    )
    report = load.campaign_report(runs)
    hosts = {h.name: h for h in report.hosts}
    assert hosts["web1"].status == "remediated" and hosts["web1"].run == "20261207T010000Z-audit-000003"
    assert hosts["web1"].protection_gap_seconds == 0.8
    assert [e.status for e in hosts["web1"].history] == ["covered", "remediated", "clean"]
    assert hosts["web2"].status == "clean" and hosts["web2"].run == "20261205T060000Z-audit-000001"
    assert hosts["db2"].status == "deferred" and hosts["db2"].run == "20261206T010000Z-remediate-000002"
    assert hosts["db1"].status == "excepted"
    assert report.counts == {"deferred": 1, "excepted": 1, "remediated": 1, "clean": 1}
    data = json.loads(render_to_text(report, "json"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    assert data["kind"] == "campaign" and len(data["runs"]) == 3
    text = render_to_text(report, "html")
    assert "20261206T010000Z-remediate-000002" in text and "against the change window" in text
    assert cli.main(["report", "--campaign", str(runs), "--format", "junit", "-o", str(tmp_path / "c.xml")]) == 0


def test_campaign_killed_run_resumed_from_its_last_hash_is_superseded(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    killed = make_run(
        runs,
        "20261205T060000Z-remediate-00000a",
        mode="remediate",
        hosts={"web1": {"status": "deferred", "findings": [finding()]}},
        end=False,
    )
    last = chain.verify(killed / "audit.jsonl").final_hash
    make_run(
        runs,
        "20261205T070000Z-remediate-00000b",
        mode="remediate",
        hosts={"web1": {"status": "remediated", "findings": [finding()]}},
        started="2026-12-05T07:00:00.000Z",
        resumes={"run": "20261205T060000Z-remediate-00000a", "final_hash": last},
    )
    report = load.campaign_report(runs)
    assert report.runs[0].audit_log.status == "incomplete"
    assert report.runs[0].audit_log.superseded_by == "20261205T070000Z-remediate-00000b"
    assert report.log_ok
    assert cli.main(["report", "--campaign", str(runs), "--format", "md", "-o", str(tmp_path / "c.md")]) == 0
    # a resume naming another hash does not excuse the incomplete log
    manifest = json.loads((runs / "20261205T070000Z-remediate-00000b" / "manifest.json").read_text())
    manifest["resumes"]["final_hash"] = "0" * 64
    (runs / "20261205T070000Z-remediate-00000b" / "manifest.json").write_text(json.dumps(manifest))
    assert cli.main(["report", "--campaign", str(runs), "--format", "md", "-o", str(tmp_path / "c.md")]) == 6


def test_safe_url() -> None:
    assert render.safe_url("https://www.fcc.gov/x") == "https://www.fcc.gov/x"
    assert render.safe_url("HTTP://example.org") == "HTTP://example.org"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:x",
        " https://x",
        "https://a b",
        "data:text/html,x",
        "//x",
        "/x",
        "https:",
        "vbscript:x",
        "https://x\n",
        None,
        3,
    ):
        assert render.safe_url(bad) is None, bad


# --------------------------------------------------------------------------- the HTML page, read in a minute
@pytest.mark.parametrize(
    ("start", "end", "labels"),
    [
        # the lab's window: an hour, ticks every 15 minutes on the quarter hours
        ("2026-12-05T06:00:00Z", "2026-12-05T07:00:00Z", ["06:00", "06:15", "06:30", "06:45", "07:00"]),
        # odd start and end (seen: 12:57:36, 13:22:34 before): whole 5 minutes
        ("2026-12-05T12:55:12Z", "2026-12-05T13:21:40Z", ["13:00", "13:05", "13:10", "13:15", "13:20"]),
        # a 3-minute zoom: half minutes
        (
            "2026-12-05T06:00:05Z",
            "2026-12-05T06:03:01Z",
            ["06:00:30", "06:01:00", "06:01:30", "06:02:00", "06:02:30", "06:03:00"],
        ),
        # 40 seconds: every 10 s
        ("2026-12-05T06:00:03Z", "2026-12-05T06:00:44Z", ["06:00:10", "06:00:20", "06:00:30", "06:00:40"]),
        # a night across midnight: hours, the day named once it changes
        ("2026-12-05T22:10:00Z", "2026-12-06T05:50:00Z", None),
    ],
)
def test_time_ticks_fall_on_round_times(start: str, end: str, labels: list[str] | None) -> None:
    from ripreplace.report import charts

    t0, t1 = charts.parse_time(start), charts.parse_time(end)
    assert t0 is not None and t1 is not None
    ticks = charts.ticks(t0, t1)
    if labels is None:  # the night: 2-hour ticks from 00:00 of the next day, dated
        assert [t.label for t in ticks] == ["12-06 00:00", "12-06 02:00", "12-06 04:00"]
    else:
        assert [t.label for t in ticks] == labels
    assert 2 <= len(ticks) <= charts.MAX_TICKS
    assert all(0 <= t.pct <= 100 for t in ticks)
    assert [t.pct for t in ticks] == sorted(t.pct for t in ticks)
    # on a narrow page every other tick keeps its label: never fewer than two
    assert sum(t.major for t in ticks) >= 2
    # a label at either end is anchored inward, so it stays inside the chart
    for t in ticks:
        assert t.anchor == ("start" if t.pct < 7 else "end" if t.pct > 93 else "middle")


def _remediation(tmp_path: Path, hosts: int = 12) -> Path:
    names = {f"web{n:02d}": {"status": "remediated", "findings": [finding()], "batch": 1} for n in range(1, hosts + 1)}
    extra = {
        "window": {
            "kind": "interval",
            "text": "now/PT1H",
            "start": "2026-12-05T06:00:00Z",
            "end": "2026-12-05T07:00:00Z",
        },
        "batches": [{"batch": 1, "hosts": sorted(names), "started": "2026-12-05T06:00:05Z", "seconds": 300.0}],
        "stop": {"reason": "the window closed at 2026-12-05T07:00:00Z during batch 1", "by": "window"},
    }
    return make_run(
        tmp_path / "runs", "20261205T060000Z-remediate-abcdef", mode="remediate", hosts=names, extra_summary=extra
    )


def test_html_banner_final_hash_once_and_covered_list_quoted_once(tmp_path: Path) -> None:
    report = load.run_report(_remediation(tmp_path))
    text = render_to_text(report, "html")
    final = report.runs[0].audit_log.final_hash
    assert final is not None
    banner = text[text.index('<section id="audit-log">') : text.index("</section>")]
    assert banner.count(final) == 1 and text.count(final) == 1
    # twelve hosts, one Covered List entry: quoted once, every finding points at it
    assert text.count("Information security products, solutions, and services supplied") == 1
    scan = _scan(text)
    refs = [a["href"] for t, a in scan.tags if t == "a" and a.get("class") == "ref"]
    assert refs == ["#cl-1"] * 12
    assert [a.get("id") for t, a in scan.tags if a.get("class") == "cl-entry"] == ["cl-1"]


def test_html_tiles_do_not_repeat_the_chart(audit_run: Path) -> None:
    scan = _scan(render_to_text(load.run_report(audit_run), "html"))
    tiles = [a["data-key"] for t, a in scan.tags if (a.get("class") or "").startswith("tile") and a.get("data-key")]
    assert tiles == ["hosts", "covered_remaining", "exceptions"]  # the status counts are the chart's rows
    text = " ".join(scan.text)
    assert "covered software remains" in text and "hosts: 1 covered" in text


def test_html_identifiers_are_never_broken(tmp_path: Path) -> None:
    from ripreplace.report import htmlpage

    assert "break-all" not in htmlpage.CSS and "break-word" not in htmlpage.CSS.split(".id{")[1].split("}")[0]
    assert ".id{white-space:nowrap;" in htmlpage.CSS
    # identifiers inside prose (a stop reason, a merged host's reason) are kept whole as well
    text = render_to_text(load.run_report(_remediation(tmp_path)), "html")
    assert 'the window closed at <span class="id">2026-12-05T07:00:00Z</span> during batch 1' in text
    mark = htmlpage.prose({"20261205T060000Z-remediate-abcdef": 2})
    assert str(
        mark("remediated in run 20261205T060000Z-remediate-abcdef; clean in run 20261206T010000Z-audit-000003")
    ) == (
        'remediated in run <a class="runref" href="#run-2" title="run 20261205T060000Z-remediate-abcdef">#2</a>; '
        'clean in run <span class="id">20261206T010000Z-audit-000003</span>'
    )
    assert str(mark("<b>a5fa7f5e7375a45158159a40a659</b>")) == (
        '&lt;b&gt;<span class="id">a5fa7f5e7375a45158159a40a659</span>&lt;/b&gt;'
    )


def test_html_campaign_leads_with_content(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for n in range(1, 6):
        make_run(runs, f"2026120{n}T060000Z-audit-00000{n}", hosts=audit_hosts(), started=f"2026-12-0{n}T06:00:00Z")
    text = render_to_text(load.campaign_report(runs), "html")
    scan = _scan(text)
    assert sum(1 for _t, a in scan.tags if (a.get("class") or "").startswith("verdict")) == 1
    sections = [a.get("id") or a.get("class") for t, a in scan.tags if t == "section"]
    assert sections[:3] == ["audit-log", "summary", "runs"]
    assert "Audit log verified for all 5 runs" in " ".join(" ".join(scan.text).split())
