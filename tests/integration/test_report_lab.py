# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Reports in every format from REAL lab runs (issue 7, Done-when).

``ripreplace audit`` runs on the lab after covered software is planted (and one host excepted), then
``ripreplace report`` renders the run directory in all five formats and each is validated: the HTML
parses and shows the hosts, counts and verdict; the CSV has one row per host per finding; the JUnit
XML has one test case per host, failing where covered software is; the JSON validates against
``report.schema.json``; the Markdown holds the counts. A second test runs a real ``ripreplace
remediate`` on one host and renders the campaign view across both runs. Hosts are reset after use.
"""

from __future__ import annotations

import csv
import html.parser
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ripreplace.lab import fakeapproved

pytestmark = pytest.mark.lab

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "ripreplace" / "schemas" / "report.schema.json"
FORMATS = ("html", "csv", "json", "junit", "md")


class _Html(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def render_all(lab: Any, workdir: Path, *args: str) -> dict[str, str]:
    out = {}
    for fmt in FORMATS:
        target = workdir / f"report.{fmt}"
        result = lab.ripreplace("report", *args, "--format", fmt, "-o", str(target), cwd=workdir)
        assert result.returncode == 0, (fmt, result.stderr)
        out[fmt] = target.read_text(encoding="utf-8")
    return out


def check_formats(reports: dict[str, str], expect: dict[str, str], counts: dict[str, int]) -> dict[str, Any]:
    """Validate each format against what ``expect`` (host -> status) and ``counts`` say."""
    data = json.loads(reports["json"])
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)
    assert data["audit_log_ok"] is True
    got = {h["name"]: h["status"] for h in data["hosts"]}
    assert {h: got[h] for h in expect} == expect
    for status, n in counts.items():
        assert data["counts"].get(status) == n, (status, data["counts"])

    page = _Html()
    page.feed(reports["html"])
    page.close()
    text = " ".join(page.text)
    assert "Audit log verified" in text
    for run in data["runs"]:
        assert run["audit_log"]["final_hash"] in text
    for host in expect:
        assert host in text
    assert not [t for t, _a in page.tags if t in ("script", "link", "iframe", "img")]
    assert sum(1 for t, a in page.tags if t == "tr" and a.get("class") == "host") == len(data["hosts"])

    rows = list(csv.DictReader(io.StringIO(reports["csv"])))
    expected_rows = sum(max(1, len(h["findings"]) + len(h["excepted"])) for h in data["hosts"])
    assert len(rows) == expected_rows
    assert {r["host"] for r in rows} == set(got)

    root = ET.fromstring(reports["junit"])
    assert root.tag == "testsuites"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == set(got)
    for host in data["hosts"]:
        assert (cases[host["name"]].find("failure") is not None) == host["failing"], host["name"]

    md = reports["md"]
    assert f"Hosts: **{len(data['hosts'])}**" in md
    for status, n in counts.items():
        assert f"| {status} | {n} |" in md
    return data


def write_exceptions(workdir: Path, host: str) -> Path:
    path = workdir / "exceptions.yml"
    path.write_text(
        "format: ripreplace-exceptions/1\n"
        "exceptions:\n"
        f"  - {{id: EXC-LAB, host: {host}, catalog_id: kaspersky-kesl, ticket: CHG-77,\n"
        "      reason: kept until the replacement is qualified, expires: '2099-12-31'}\n"
    )
    return path


def audit(lab: Any, workdir: Path, *args: str) -> dict[str, Any]:
    result = lab.ripreplace(
        "audit", "-i", str(lab.inventory), "--runs-dir", str(workdir / "runs"), "--output", "json", *args, cwd=workdir
    )
    assert result.returncode == 3, result.stderr
    return json.loads(result.stdout)


def test_every_format_from_a_real_audit_run(lab, workdir):
    covered, excepted, clean = lab.light_hosts[0], lab.light_hosts[1], lab.light_hosts[2]
    sysd = lab.systemd_hosts[0]
    lab.reset(covered, excepted, clean, sysd)
    try:
        lab.plant(covered, "kesl", "klnagent64")
        lab.plant(excepted, "kesl")
        lab.plant(sysd, "kesl-gui", "kesl")
        exceptions = write_exceptions(workdir, excepted)
        envelope = audit(lab, workdir, "--exceptions", str(exceptions))
        run = envelope["run"]
        expect = {covered: "covered", excepted: "excepted", clean: "clean", sysd: "covered"}
        reports = render_all(lab, workdir, run, "--runs-dir", str(workdir / "runs"))
        data = check_formats(reports, expect, {"covered": 2, "excepted": 1, "clean": 1})
        hosts = {h["name"]: h for h in data["hosts"]}
        kesl = next(f for f in hosts[covered]["findings"] if f["catalog_id"] == "kaspersky-kesl")
        assert kesl["covered_list"]["added"] == "2022-03-25"
        assert any(s.startswith("https://") for s in kesl["covered_list"]["sources"])
        assert ("deb", "kesl") in {(e["kind"], e["value"]) for e in kesl["evidence"]}
        assert hosts[excepted]["excepted"][0]["exception"]["id"] == "EXC-LAB"
        assert "EXC-LAB" in reports["html"] and "2099-12-31" in reports["html"]
        # the verdict comes from the verifier now: it equals what verify-log says
        verify = lab.ripreplace("verify-log", str(workdir / "runs" / run), cwd=workdir)
        assert verify.returncode == 0 and data["runs"][0]["audit_log"]["final_hash"] in verify.stdout
        # the same run by path works as well, and the path form of RUN is accepted
        by_path = lab.ripreplace("report", str(workdir / "runs" / run), "--format", "md", cwd=workdir)
        assert by_path.returncode == 0 and "covered software remaining on **2**" in by_path.stdout
        (Path(__file__).resolve().parents[1] / "output").mkdir(exist_ok=True)
        (Path(__file__).resolve().parents[1] / "output" / "lab-audit-report.html").write_text(reports["html"])
    finally:
        lab.reset(covered, excepted, clean, sysd)


SITE_CATALOG = """\
format: ripreplace-covered-catalog/1
catalog_version: "site-report-test"
entries:
  - id: site-report-agent
    vendor: AO Kaspersky Lab
    product: Report test agent
    platform: linux
    covered_list:
      entry: {entry}
      added: "{added}"
      sources: [{source}]
    signals:
      paths:
        - {{path: /opt/rr-report-agent, confidence: high, source: {{grade: site, ref: "report test"}}}}
"""


def test_report_shows_the_catalog_facts_the_run_used(lab, workdir):
    """Issue 10: a report rebuilt after the catalog file changed shows the facts the run used."""
    host = lab.light_hosts[0]
    lab.reset(host)
    try:
        lab.sh(host, "mkdir", "-p", "/opt/rr-report-agent")
        site = workdir / "site.yml"
        used = {"entry": "Entry text as the audit used it", "added": "2021-01-01"}
        site.write_text(SITE_CATALOG.format(**used, source="https://www.fcc.gov/supplychain/coveredlist"))
        run = audit(lab, workdir, "--limit", host, "--catalog", str(site))["run"]
        runs = str(workdir / "runs")

        def finding() -> dict[str, Any]:
            target = workdir / "r.json"
            result = lab.ripreplace("report", run, "--runs-dir", runs, "--format", "json", "-o", str(target))
            assert result.returncode == 0, result.stderr
            (host_entry,) = json.loads(target.read_text())["hosts"]
            return next(f for f in host_entry["findings"] if f["catalog_id"] == "site-report-agent")

        before = finding()
        assert before["covered_list"]["entry"] == used["entry"] and before["covered_list"]["added"] == used["added"]
        # the site catalog is edited after the run: other entry text, other date, other source
        site.write_text(
            SITE_CATALOG.format(entry="Edited later", added="2099-01-01", source="https://example.org/later")
        )
        after = finding()
        assert after["covered_list"] == before["covered_list"]
        site.unlink()  # and removed: the report does not need it
        assert finding()["covered_list"] == before["covered_list"]
    finally:
        lab.reset(host)


def site_inventory(lab: Any, workdir: Path) -> Path:
    """The lab inventory plus the site settings remediate needs (lab repository, EICAR-only ClamAV db)."""
    data = yaml.safe_load((lab.dir / "inventory.yml").read_text())
    repo_url = lab.lab.state["repo_url"]
    data["all"]["vars"].update(
        {
            "replacement_clamav_signatures_url": repo_url + "clamav/",
            "replacement_clamav_official_databases": False,
            "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
        }
    )
    path = workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_every_format_from_a_real_remediate_run_and_the_campaign_view(lab, workdir):
    host, other = lab.light_hosts[0], lab.light_hosts[1]
    lab.reset(host, other)
    try:
        lab.plant(host, "kesl", "klnagent64")
        lab.plant(other, "kesl")
        inventory = site_inventory(lab, workdir)
        first = audit(lab, workdir, "--limit", f"{host}:{other}")
        result = lab.ripreplace(
            "remediate",
            "-i",
            str(inventory),
            "--ticket",
            "CHG-REPORT",
            "--window",
            "now/PT1H",
            "--limit",
            host,
            "--runs-dir",
            str(workdir / "runs"),
            "--yes",
            "--output",
            "json",
            cwd=workdir,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        remediated = json.loads(result.stdout)
        reports = render_all(lab, workdir, remediated["run"], "--runs-dir", str(workdir / "runs"))
        data = check_formats(reports, {host: "remediated"}, {"remediated": 1})
        entry = data["hosts"][0]
        assert entry["replacement"]["healthy"] is True
        assert entry["findings"] and entry["verify"]["outcome"] == "verified"
        run = data["runs"][0]
        assert run["batches"] and run["window_end"] and run["ticket"] == "CHG-REPORT"
        assert "against the change window" in reports["html"]
        (Path(__file__).resolve().parents[1] / "output").mkdir(exist_ok=True)
        (Path(__file__).resolve().parents[1] / "output" / "lab-remediate-report.html").write_text(reports["html"])

        campaign = render_all(lab, workdir, "--campaign", str(workdir / "runs"))
        data = check_formats(campaign, {host: "remediated", other: "covered"}, {"remediated": 1, "covered": 1})
        by_name = {h["name"]: h for h in data["hosts"]}
        assert by_name[host]["run"] == remediated["run"] and by_name[other]["run"] == first["run"]
        assert [h["status"] for h in by_name[host]["history"]] == ["covered", "remediated"]
        assert data["kind"] == "campaign" and len(data["runs"]) == 2
    finally:
        lab.reset(host, other)
