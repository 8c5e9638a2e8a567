# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What ``report`` and ``runs`` do with what a run directory holds: malformed files, old formats, catalogs.

- a summary.json, state.json or manifest.json with a value of the wrong type gives one line naming the
  file and the key, exit 2, never a traceback (``report`` and ``runs show``); ``runs list`` lists
  such a run as unreadable and goes on;
- ``runs show`` prints only what the run recorded (no ``None``);
- a ``ripreplace-summary/1`` run (flattened evidence, the Covered List entry's text only) still
  renders, with what it recorded;
- a report shows the Covered List facts the run recorded, whatever the catalog files say today.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from report_runs import KASPERSKY_AO, audit_hosts, finding, finding_v1, make_run
from ripreplace import cli
from ripreplace.report import load

RUN = "20261205T060000Z-audit-aaaaaa"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "runs", RUN, hosts=audit_hosts())


def _edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _set(*keys: str, value: Any) -> Any:
    def change(data: Any) -> None:
        for key in keys[:-1]:
            data = data[int(key)] if isinstance(data, list) else data[key]
        data[keys[-1]] = value

    return change


# file, the change, what the one line names
MALFORMED = [
    ("summary.json", _set("hosts", value="x"), "hosts: expected an object or null, found a string"),
    ("summary.json", _set("hosts", value=[1, 2]), "hosts: expected an object or null, found a list"),
    ("summary.json", _set("hosts", "web1", value="covered"), "hosts.web1: expected an object, found a string"),
    ("summary.json", _set("hosts", "web1", "findings", value="x"), "hosts.web1.findings: expected a list of objects"),
    ("summary.json", _set("hosts", "web1", "findings", value=[3]), "hosts.web1.findings[0]: expected an object"),
    ("summary.json", _set("hosts", "web1", "status", value=7), "hosts.web1.status: expected a string or null"),
    ("summary.json", _set("hosts", "web1", "batch", value="2"), "hosts.web1.batch: expected an integer or null"),
    ("summary.json", _set("hosts", "web1", "targeted", value="yes"), "hosts.web1.targeted: expected true or false"),
    (
        "summary.json",
        _set("hosts", "web1", "findings", "0", "evidence", value={"kind": "deb"}),
        "hosts.web1.findings[0].evidence: expected a list of objects",
    ),
    (
        "summary.json",
        _set("hosts", "web1", "findings", "0", "covered_list", value=5),
        "hosts.web1.findings[0].covered_list: expected an object, a string or null",
    ),
    (
        "summary.json",
        _set("hosts", "web1", "findings", "0", "covered_list", "sources", value="https://x"),
        "hosts.web1.findings[0].covered_list.sources: expected a list of strings",
    ),
    ("summary.json", _set("hosts", "web1", "replacement", value="clamav"), "hosts.web1.replacement: expected an"),
    ("summary.json", _set("hosts", "web1", "verify", value=[]), "hosts.web1.verify: expected an object or null"),
    ("summary.json", _set("batches", value={"1": {}}), "batches: expected a list of objects"),
    ("summary.json", _set("batches", value=[{"batch": "one"}]), "batches[0].batch: expected an integer"),
    ("summary.json", _set("counts", value=["covered"]), "counts: expected an object or null"),
    ("summary.json", _set("counts", "covered", value="1"), "counts.covered: expected an integer"),
    ("summary.json", _set("window", value="now/PT1H"), "window: expected an object or null"),
    ("summary.json", _set("stop", value="window"), "stop: expected an object or null"),
    ("summary.json", _set("exit_code", value="0"), "exit_code: expected an integer or null"),
    ("manifest.json", _set("audit_log", value="ok"), "audit_log: expected an object or null"),
    ("manifest.json", _set("resumes", value="20261204T000000Z-remediate-aaaaaa"), "resumes: expected an object"),
    ("manifest.json", _set("catalog_files", value="covered.yml"), "catalog_files: expected a list of objects"),
    ("manifest.json", _set("started", value=12), "started: expected a string or null"),
]


def _whole(path: Path, text: str) -> None:
    path.write_text(text)


WHOLE = [
    ("summary.json", "[]", "expected a JSON object, found a list"),
    ("summary.json", '"x"', "expected a JSON object, found a string"),
    ("summary.json", "{not json", "cannot be read as JSON"),
    ("manifest.json", "null", "no such file: not a run directory"),
]


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], where: str, expect: str) -> None:
    assert cli.main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err and where in err and expect in err, err


@pytest.mark.parametrize(("name", "change", "expect"), MALFORMED, ids=[m[2].split(":")[0] for m in MALFORMED])
def test_malformed_value_one_line_exit_2(  # noqa: PLR0917 - fixtures and the table's three columns
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, change: Any, expect: str
) -> None:
    _edit(run / name, change)
    where = str(run / name)
    _one_line_exit_2(capsys, ["report", str(run), "--format", "json", "-o", str(tmp_path / "r.json")], where, expect)
    assert not (tmp_path / "r.json").exists()
    _one_line_exit_2(capsys, ["runs", "show", RUN, "--runs-dir", str(run.parent)], where, expect)
    _one_line_exit_2(capsys, ["report", "--campaign", str(run.parent), "--format", "md"], where, expect)
    # the listing names the broken run and goes on
    assert cli.main(["runs", "list", "--runs-dir", str(run.parent), "--output", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["result"]["runs"]
    assert row["run"] == RUN and row["outcome"].startswith("unreadable: ") and expect in row["outcome"]


@pytest.mark.parametrize(("name", "text", "expect"), WHOLE, ids=[w[2] for w in WHOLE])
def test_malformed_file_one_line_exit_2(
    run: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, expect: str
) -> None:
    (run / name).write_text(text)
    where = str(run / name)
    _one_line_exit_2(capsys, ["report", str(run), "--format", "md"], where, expect)
    if name != "manifest.json":  # without a manifest it is no run: `runs show` cannot find it
        _one_line_exit_2(capsys, ["runs", "show", str(run)], where, expect)


def test_malformed_state_json_of_a_killed_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_run(tmp_path / "runs", "20261205T060000Z-remediate-gggggg", mode="remediate", hosts={}, end=False)
    (path / "summary.json").unlink()
    (path / "state.json").write_text(json.dumps({"format": "ripreplace-state/2", "hosts": {"web1": ["replaced"]}}))
    expect = "hosts.web1: expected an object, found a list"
    _one_line_exit_2(capsys, ["report", str(path), "--format", "md"], str(path / "state.json"), expect)
    _one_line_exit_2(capsys, ["runs", "show", str(path)], str(path / "state.json"), expect)


# --------------------------------------------------------------------------- runs show: only what is known
def test_runs_show_prints_only_what_is_known(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["runs", "show", RUN, "--runs-dir", str(run.parent)]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    keys = [line.split()[0] for line in out.splitlines() if not line.startswith(("  ", "batch", "stopped"))]
    # an audit run: no ticket, no window, no resumed run, no exit code recorded by this fixture
    assert keys == ["run", "mode", "started", "operator", "outcome", "log"]
    assert "  web1: covered" in out and "  db2: unreachable: ssh: connection refused" in out
    assert "log        OK: " in out


def test_runs_show_of_a_resumed_remediation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = {
        "window": {"kind": "interval", "text": "now/PT1H"},
        "batches": [{"batch": 1, "hosts": ["web1"], "counts": {}}],  # no duration recorded
        "stop": {"reason": "the window closed", "by": "window"},
        "exit_code": 5,
    }
    path = make_run(
        tmp_path / "runs",
        "20261205T070000Z-remediate-bbbbbb",
        mode="remediate",
        hosts={"web1": {"status": "deferred", "findings": [finding()], "reason": None}},
        extra_summary=extra,
        resumes={"run": "20261205T060000Z-remediate-aaaaaa", "final_hash": "0" * 64},
    )
    assert cli.main(["runs", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    assert "resumes    20261205T060000Z-remediate-aaaaaa\n" in out and "ticket     CHG-1\n" in out
    assert "exit_code  5\n" in out
    assert "batch 1: 1 host(s)\n" in out  # no "in None s", no empty counts
    assert "stopped: the window closed\n" in out and "  web1: deferred\n" in out


def test_runs_list_text_and_json(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["runs", "list", "--runs-dir", str(run.parent)]) == 0
    lines = capsys.readouterr().out.splitlines()  # piped: plain, one table row a line
    (row,) = [line for line in lines if RUN in line]
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == [
        RUN,
        "audit",
        "2026-12-05T06:00:00.000Z",
        "-",
        "1 clean, 1 covered, 1 excepted, 1 unreachable",
        "ok",
    ]
    assert "\x1b" not in "".join(lines)
    assert cli.main(["runs", "list", "--runs-dir", str(run.parent), "--output", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["result"]["runs"]
    assert row["counts"] == {"clean": 1, "covered": 1, "excepted": 1, "unreachable": 1}
    assert row["log"]["status"] == "ok" and len(row["log"]["final_hash"]) == 64
    assert cli.main(["runs", "show", "nope", "--runs-dir", str(run.parent)]) == 2
    assert "nope: no such run" in capsys.readouterr().err


# --------------------------------------------------------------------------- what the run recorded, only
def test_summary_v1_run_renders_with_what_it_recorded(tmp_path: Path) -> None:
    hosts = {"web1": {"status": "covered", "findings": [finding_v1()], "excepted": [], "reason": None}}
    path = make_run(tmp_path / "runs", RUN, hosts=hosts, summary_format="ripreplace-summary/1")
    report = load.run_report(path)
    (kesl,) = report.hosts[0].findings
    assert kesl.covered_list is not None and kesl.covered_list.entry == KASPERSKY_AO["entry"]
    assert kesl.covered_list.added is None and kesl.covered_list.sources == ()  # not recorded by /1: not invented
    assert kesl.evidence[0].details == {"version": "12.0.0.6672", "status": "installed"}
    assert kesl.evidence[0].text() == "deb:kesl 12.0.0.6672"
    out = tmp_path / "r.html"
    assert cli.main(["report", str(path), "-o", str(out)]) == 0
    page = out.read_text()
    assert "The run recorded the entry's text only" in page and "(added" not in page


def test_report_shows_the_facts_the_run_used_not_todays_catalog(tmp_path: Path) -> None:
    """A site catalog the run used is edited (or removed) afterwards: the report does not change."""
    site = tmp_path / "site.yml"
    site.write_text("format: ripreplace-covered-catalog/1\nentries: []\n")
    used = {"entry": "Entry as the run saw it", "added": "2021-01-01", "sources": ["https://example.org/then"]}
    hosts = {"web1": {"status": "covered", "findings": [finding("site-agent", covered_list=used)], "reason": None}}
    # what the run recorded, in its manifest before run-end (an edit after run-end would be tampering)
    used_files = [{"path": str(site), "sha256": "a" * 64}]
    path = make_run(tmp_path / "runs", RUN, hosts=hosts, manifest_extra={"catalog_files": used_files})

    def rendered() -> dict[str, Any]:
        out = tmp_path / "r.json"
        assert cli.main(["report", str(path), "--format", "json", "-o", str(out)]) == 0
        return json.loads(out.read_text())

    before = rendered()
    site.write_text("format: ripreplace-covered-catalog/1\nentries: [{id: site-agent, covered_list: {entry: NEW}}]\n")
    after_edit = rendered()
    site.unlink()
    after_removal = rendered()
    for data in (before, after_edit, after_removal):
        (f,) = data["hosts"][0]["findings"]
        assert f["covered_list"] == {**used, "grade": None}
        assert data["runs"][0]["catalogs"] == [{"path": str(site), "sha256": "a" * 64}]
    assert before["hosts"] == after_edit["hosts"] == after_removal["hosts"]


def test_a_summary_built_by_the_record_contract_renders_every_status(tmp_path: Path) -> None:
    """summary.json as records.build_summary writes it (ripreplace-summary/2, schema-valid), with the
    statuses the contract adds (review, locked): every format renders it, the JSON validates."""
    import xml.etree.ElementTree as ET

    import jsonschema

    from ripreplace import records

    low = finding("kaspersky-maybe", confidence="low", review=True)
    hosts = audit_hosts() | {
        "lab1": {"status": "review", "reason": "low-confidence signal(s) to review", "findings": [low], "excepted": []},
        "lab2": {"status": "locked", "reason": "locked by run X since T", "findings": [], "excepted": []},
    }
    summary = records.build_summary(
        run_id=RUN, mode="audit", hosts=hosts, playbook={"status": "successful", "rc": 3}, products={}
    )
    assert records.validate(summary, "summary") == []
    path = make_run(tmp_path / "runs", RUN, hosts=hosts, summary=dict(summary))
    out = tmp_path / "r.json"
    assert cli.main(["report", str(path), "--format", "json", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    schema = Path(__file__).resolve().parents[2] / "src" / "ripreplace" / "schemas" / "report.schema.json"
    jsonschema.Draft202012Validator(json.loads(schema.read_text())).validate(data)
    assert list(data["counts"]) == ["covered", "unreachable", "locked", "review", "excepted", "clean"]
    by_name = {h["name"]: h for h in data["hosts"]}
    assert by_name["lab1"]["findings"][0]["covered_list"]["added"] == "2022-03-25"
    assert not by_name["lab1"]["failing"] and not by_name["lab2"]["failing"]
    assert cli.main(["report", str(path), "--format", "junit", "-o", str(tmp_path / "r.xml")]) == 0
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "r.xml").getroot().iter("testcase")}
    assert cases["lab2"].find("skipped") is not None and cases["lab1"].find("skipped") is None
    assert cases["lab1"].find("failure") is None
    for fmt in ("html", "csv", "md"):
        assert cli.main(["report", str(path), "--format", fmt, "-o", str(tmp_path / f"r.{fmt}")]) == 0
    assert 'class="st st-locked"' in (tmp_path / "r.html").read_text()


def test_runs_show_escapes_what_a_run_file_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A reason or ticket carrying terminal control sequences is printed escaped, never interpreted."""
    hosts = {"web1": {"status": "failed", "findings": [], "reason": "boom\x1b[2J\x1b]0;owned\x07\u202e"}}
    path = make_run(tmp_path / "runs", RUN, hosts=hosts)
    _edit(path / "manifest.json", _set("ticket", value="CHG-1\x1b[31m"))
    assert cli.main(["runs", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "  web1: failed: boom\\x1b[2J\\x1b]0;owned\\x07\\u202e" in out
    assert "ticket     CHG-1\\x1b[31m" in out
    assert cli.main(["runs", "list", "--runs-dir", str(path.parent)]) == 0
    assert "\x1b" not in capsys.readouterr().out


# --------------------------------------------------------------------------- the files the log vouches for
@pytest.mark.parametrize(
    ("name", "change", "what"),
    [
        ("summary.json", _set("hosts", "web1", "status", value="clean"), "a covered host made clean"),
        ("summary.json", _set("hosts", "db2", "reason", value="all fine"), "a reason rewritten"),
        ("manifest.json", _set("ticket", value="CHG-FORGED"), "the ticket changed"),
        ("manifest.json", _set("operator", value="mallory"), "the operator changed"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else None,
)
def test_an_edited_run_file_is_never_shown_beside_ok(  # noqa: PLR0917 - fixtures and the table
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, change: Any, what: str
) -> None:
    """Issue 11: summary.json and manifest.json are vouched for by the run-end record; an edit after the
    run fails verification, and the report says so instead of "Audit log verified" (exit 6)."""
    out = tmp_path / "r.html"
    assert cli.main(["report", str(run), "-o", str(out)]) == 0
    assert "Audit log verified" in out.read_text()
    _edit(run / name, change)
    assert cli.main(["report", str(run), "-o", str(out)]) == 6, what
    err = capsys.readouterr().err
    assert f"{name} was changed after the run ended" in err
    page = out.read_text()
    assert "Audit log verified" not in page
    assert "AUDIT LOG FAILED VERIFICATION: TAMPERED" in page and f"{name} was changed after the run ended" in page
    assert 'class="verdict bad"' in page
    data_out = tmp_path / "r.json"
    assert cli.main(["report", str(run), "--format", "json", "-o", str(data_out)]) == 6
    data = json.loads(data_out.read_text())
    assert data["audit_log_ok"] is False and data["runs"][0]["audit_log"]["status"] == "tampered"
    campaign = tmp_path / "c.html"
    assert cli.main(["report", "--campaign", str(run.parent), "-o", str(campaign)]) == 6
    assert "AUDIT LOG FAILED VERIFICATION: 1 of 1 runs" in campaign.read_text()
    assert cli.main(["runs", "show", str(run)]) == 0
    assert "log        TAMPERED: " in capsys.readouterr().out


def test_files_the_run_end_did_not_record_are_named_unverified(tmp_path: Path) -> None:
    """A run whose run-end recorded no file (older runs): the log verifies, and the report says plainly
    that summary.json and manifest.json are not covered by it (amber, exit 0)."""
    path = make_run(tmp_path / "runs", RUN, hosts=audit_hosts(), cover_files=False)
    out = tmp_path / "r.json"
    assert cli.main(["report", str(path), "--format", "json", "-o", str(out)]) == 0
    verdict = json.loads(out.read_text())["runs"][0]["audit_log"]
    assert verdict["status"] == "ok" and verdict["unverified_files"] == ["summary.json", "manifest.json"]
    page = tmp_path / "r.html"
    assert cli.main(["report", str(path), "-o", str(page)]) == 0
    text = page.read_text()
    assert 'class="verdict warn"' in text
    assert "Not covered by the log: summary.json, manifest.json" in text
    assert text.count("not verified") == 1  # said once, not again in the verifier's own words
    assert cli.main(["report", "--campaign", str(path.parent), "-o", str(page)]) == 0
    assert "summary.json, manifest.json not covered by its log" in page.read_text()
    covered = make_run(tmp_path / "runs2", RUN, hosts=audit_hosts())
    assert cli.main(["report", str(covered), "--format", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["runs"][0]["audit_log"]["unverified_files"] == []
