# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""ripreplace audit core: events -> summary.json, exit-code precedence, input validation, JSON envelope.

``runner-events-local-kesl-residue.json`` is the real ansible-runner event stream of
``ripreplace audit`` on a Debian 12 machine holding /var/opt/kaspersky/kesl (kept fields: event,
uuid, counter, event_data).
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest

from ripreplace import audit, cli, records
from ripreplace.constants import ENVELOPE_VERSION, ExitCode
from ripreplace.exceptions import InputFileError, UsageError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def events():
    return json.loads((FIXTURES / "runner-events-local-kesl-residue.json").read_text())


def _collect(events):
    collector = audit.EventCollector()
    for event in events:
        collector(event)
    return collector


def _retarget(events, host):
    out = copy.deepcopy(events)
    for e in out:
        if e["event_data"].get("host"):
            e["event_data"]["host"] = host
    return out


def _detect_ok(events):
    return next(
        e
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"].get("task_action") == records.DETECT_ACTION
    )


def _summary(collector, hosts):
    return audit.build_summary(
        run_id="r1", hosts=hosts, collector=collector, playbook_status="successful", playbook_rc=0
    )


def test_real_event_stream_gives_covered_residue(events):
    summary = _summary(_collect(events), ["localhost"])
    host = summary["hosts"]["localhost"]
    assert host["status"] == "covered"
    assert [f["catalog_id"] for f in host["findings"]] == ["kaspersky-kesl"]
    finding = host["findings"][0]
    assert finding["state"] == "residue" and finding["confidence"] == "high"
    assert finding["vendor"] == "AO Kaspersky Lab"
    assert finding["evidence"][0]["kind"] == "path" and finding["evidence"][0]["value"] == "/var/opt/kaspersky/kesl"
    assert host["removal_plan"]["paths"][0]["vendor_root"] == "/var/opt/kaspersky"
    assert summary["products"] == {"kaspersky-kesl": ["localhost"]}
    assert summary["counts"] == {"covered": 1}
    assert summary["mode"] == "audit" and summary["run"] == "r1"
    assert records.exit_code_for("audit", summary["hosts"]) == ExitCode.COVERED == summary["exit_code"]


def _clean(events):
    out = copy.deepcopy(events)
    facts = _detect_ok(out)["event_data"]["res"]["ansible_facts"]["covered_software"]
    facts["findings"] = []
    return out


def _excepted(events):
    out = copy.deepcopy(events)
    facts = _detect_ok(out)["event_data"]["res"]["ansible_facts"]["covered_software"]
    finding = facts["findings"].pop()
    finding["exception"] = {
        "id": "EXC-1",
        "scope": "host:localhost",
        "reason": "kept for a vendor test",
        "ticket": "CHG-1",
        "expires": "2027-01-31",
    }
    facts["excepted"] = [finding]
    return out


def _review(events):
    out = copy.deepcopy(events)
    facts = _detect_ok(out)["event_data"]["res"]["ansible_facts"]["covered_software"]
    facts["findings"][0]["review"] = True
    facts["findings"][0]["confidence"] = "low"
    return out


def _container(events):
    out = copy.deepcopy(events)
    facts = _detect_ok(out)["event_data"]["res"]["ansible_facts"]["covered_software"]
    finding = facts["findings"][0]
    finding.update(state="container", review=True)
    finding["evidence"] = [
        {
            "kind": "process",
            "value": "/opt/kaspersky/kesl/libexec/kesl",
            "confidence": "high",
            "details": {"pid": 4242, "container_id": "0123456789abcdef0123", "cgroup": "/docker/0123456789abcdef0123"},
        }
    ]
    return out


def _unreachable(events):
    return [
        {
            "event": "runner_on_unreachable",
            "event_data": {
                "host": "localhost",
                "task": "DETECT | SCAN | Find covered software",
                "res": {"msg": "Failed to connect to the host via ssh: timeout", "unreachable": True},
            },
        }
    ]


def _failed(events):
    return [
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "localhost",
                "task": "DETECT | SCAN | Find covered software",
                "task_action": records.DETECT_ACTION,
                "ignore_errors": None,
                "res": {"msg": "rpm could not list installed packages", "rc": 1},
            },
        }
    ]


@pytest.mark.parametrize(
    ("transform", "status", "reason_part"),
    [
        (_clean, "clean", None),
        (_excepted, "excepted", "excepted by EXC-1 (CHG-1, until 2027-01-31): kept for a vendor test"),
        (_review, "clean", "low-confidence signal(s) to review"),
        (
            _container,
            "clean",
            "in a container, not on the host (never removed by ripreplace): kaspersky-kesl (container 0123456789ab)",
        ),
        (_unreachable, "unreachable", "Failed to connect to the host via ssh: timeout"),
        (_failed, "failed", "rpm could not list installed packages"),
        (lambda e: [], "failed", "never scanned"),
    ],
)
def test_host_statuses(events, transform, status, reason_part):
    summary = _summary(_collect(transform(events)), ["localhost"])
    host = summary["hosts"]["localhost"]
    assert host["status"] == status
    if reason_part is None:
        assert host["reason"] is None
    else:
        assert reason_part in host["reason"]


def test_expired_exception_is_reported_on_the_host(events):
    out = copy.deepcopy(events)
    facts = _detect_ok(out)["event_data"]["res"]["ansible_facts"]["covered_software"]
    facts["exceptions_expired"] = [
        {"id": "EXC-9", "message": "exception EXC-9 for kaspersky-kesl expired on 2026-11-30"}
    ]
    host = _summary(_collect(out), ["localhost"])["hosts"]["localhost"]
    assert host["status"] == "covered"
    assert "expired on 2026-11-30" in host["reason"]


def test_a_host_locked_by_a_campaign_in_progress_is_a_field_and_one_warning_line(events, tmp_path):
    out = copy.deepcopy(events)
    facts = _detect_ok(out)["event_data"]["res"]["ansible_facts"]["covered_software"]
    lock = {"run": "20261205T060000Z-remediate-3fa2c1", "started": "2026-12-05T06:00:04Z", "controller": "ctl1"}
    facts["campaign_lock"] = dict(lock, operator="alice")
    summary = _summary(_collect(out), ["localhost"])
    host = summary["hosts"]["localhost"]
    assert host["campaign_lock"]["run"] == lock["run"] and host["status"] == "covered"  # the status is unchanged
    assert records.validate(summary, "summary") == []  # the schema knows the field
    assert audit.lock_warning("localhost", host["campaign_lock"]) == (
        "warning: localhost is locked by campaign 20261205T060000Z-remediate-3fa2c1 since 2026-12-05T06:00:04Z "
        "from ctl1: a remediation is in progress there, this audit may have seen it half-way"
    )
    facts["campaign_lock"] = None
    assert "campaign_lock" not in _summary(_collect(out), ["localhost"])["hosts"]["localhost"]


def test_the_scan_reads_the_campaign_lock_in_its_own_call(tmp_path):
    from tests.collection_code import load

    facts_mod = load("plugins.modules.covered_facts")
    lock = tmp_path / "var" / "lib" / "ripreplace" / "lock"
    assert facts_mod.campaign_lock(str(tmp_path), "/var/lib/ripreplace/lock") is None
    lock.parent.mkdir(parents=True)
    lock.write_text('{"run": "r1", "started": "2026-12-05T06:00:04Z", "controller": "c", "controller_pid": 1}')
    assert facts_mod.campaign_lock(str(tmp_path), "/var/lib/ripreplace/lock") == {
        "run": "r1",
        "started": "2026-12-05T06:00:04Z",
        "controller": "c",
        "operator": None,
    }
    lock.write_text("garbage")
    assert facts_mod.campaign_lock(str(tmp_path), "/var/lib/ripreplace/lock")["unreadable"] is True


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (["clean", "clean"], ExitCode.OK),
        (["clean", "excepted"], ExitCode.OK),
        (["covered", "clean"], ExitCode.COVERED),
        (["clean", "unreachable"], ExitCode.HOSTS_FAILED),
        (["failed", "clean"], ExitCode.HOSTS_FAILED),
        # A definite finding is never masked by a flaky host: 3 wins over 4.
        (["covered", "unreachable"], ExitCode.COVERED),
        (["covered", "failed", "excepted"], ExitCode.COVERED),
    ],
)
def test_exit_code_precedence(statuses, code):
    summary = {"hosts": {f"h{n}": {"status": s} for n, s in enumerate(statuses)}}
    assert records.exit_code_for("audit", summary["hosts"]) == code


def test_two_hosts_one_unreachable(events):
    stream = _retarget(events, "light1") + _retarget(_unreachable(events), "light2")
    summary = _summary(_collect(stream), ["light1", "light2", "light3"])
    assert {h: v["status"] for h, v in summary["hosts"].items()} == {
        "light1": "covered",
        "light2": "unreachable",
        "light3": "failed",
    }
    assert summary["counts"] == {"covered": 1, "failed": 1, "unreachable": 1}


def test_ignored_failure_does_not_fail_the_host(events):
    failed = _failed(events)
    failed[0]["event_data"]["ignore_errors"] = True
    summary = _summary(_collect(failed + _clean(events)), ["localhost"])
    assert summary["hosts"]["localhost"]["status"] == "clean"


# --------------------------------------------------------------------------- input validation
def _request(tmp_path, **kw):
    base = {
        "inventory": None,
        "limit": None,
        "catalogs": (),
        "exceptions": (),
        "runs_dir": tmp_path / "runs",
        "forks": 5,
    }
    base.update(kw)
    return audit.AuditRequest(**base)


def test_local_inputs(tmp_path):
    inputs = audit.validate_inputs(_request(tmp_path))
    assert inputs.hosts == ("localhost",) and inputs.local
    assert inputs.inventory["all"]["hosts"]["localhost"]["ansible_connection"] == "local"


def test_inventory_hosts_and_limit(tmp_path):
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  children:\n    light:\n      hosts: {light1: {}, light2: {}}\n    systemd:\n      hosts: {sysd1: {}}\n"
    )
    assert audit.validate_inputs(_request(tmp_path, inventory=inv)).hosts == ("light1", "light2", "sysd1")
    assert audit.validate_inputs(_request(tmp_path, inventory=inv, limit="systemd")).hosts == ("sysd1",)
    with pytest.raises(UsageError, match=r"--limit 'web\*' matches no host in"):
        audit.validate_inputs(_request(tmp_path, inventory=inv, limit="web*"))


@pytest.mark.parametrize(
    ("setup", "error", "match"),
    [
        (lambda p: {"inventory": p / "missing.yml"}, InputFileError, "missing.yml: inventory not found"),
        (
            lambda p: {"inventory": _file(p, "bad.yml", "all: [unclosed\n")},
            InputFileError,
            "bad.yml: cannot parse inventory",
        ),
        (
            lambda p: {"catalogs": (_file(p, "site.yml", "format: nope\nentries: []\n"),)},
            InputFileError,
            "site.yml: format: 'ripreplace-covered-catalog/1' was expected",
        ),
        (
            lambda p: {
                "exceptions": (_file(p, "exc.yml", "format: ripreplace-exceptions/1\nexceptions: [{id: x}]\n"),)
            },
            InputFileError,
            "exc.yml: entry x:",
        ),
        (lambda p: {"forks": 0}, UsageError, "--forks must be a positive number"),
        (lambda p: {"limit": "web1"}, UsageError, "without -i only localhost is audited"),
        (lambda p: {"today": "tomorrow"}, UsageError, "--today 'tomorrow' is not a date"),
    ],
)
def test_input_errors_before_any_host(tmp_path, setup, error, match):
    with pytest.raises(error, match=match):
        audit.validate_inputs(_request(tmp_path, **setup(tmp_path)))
    assert not (tmp_path / "runs").exists()  # no run directory: nothing was started


def _file(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- CLI and envelope
def test_envelope_contract():
    env = audit.envelope("audit", ExitCode.COVERED, {"hosts": {}}, run="r1", run_dir="/x")
    assert env == {
        "envelope_version": ENVELOPE_VERSION,
        "command": "audit",
        "exit_code": 3,
        "result": {"hosts": {}},
        "run": "r1",
        "run_dir": "/x",
    }


def test_cli_audit_bad_inventory_exit_2(tmp_path, capsys):
    assert cli.main(["audit", "-i", str(tmp_path / "nope.yml"), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.yml: inventory not found" in err
    assert not (tmp_path / "runs").exists()


def test_cli_audit_forks_usage_error(capsys):
    assert cli.main(["audit", "--forks", "-1"]) == 2
    assert "--forks: must be a positive number" in capsys.readouterr().err


def test_cli_catalog_validate(tmp_path, capsys):
    root = Path(audit.collection.collection_root())
    assert cli.main(["catalog", "validate", str(root / "inventories/example/covered-site.yml")]) == 0
    assert "valid site catalog, 1 entry" in capsys.readouterr().out
    assert cli.main(["catalog", "validate", str(root / "inventories/example/exceptions.yml"), "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["envelope_version"] == ENVELOPE_VERSION and out["result"]["kind"] == "exceptions"
    bad = _file(tmp_path, "bad.yml", "format: ripreplace-covered-catalog/1\nentries:\n  - {id: x-y, vendor: v}\n")
    assert cli.main(["catalog", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"ripreplace: error: {bad}: entry x-y: missing required properties: 'covered_list', 'platform', 'product'\n"
    )


def test_cli_catalog_list_and_show(capsys):
    assert cli.main(["catalog", "list", "--platform", "network"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(" network " in ln for ln in lines)
    assert cli.main(["catalog", "show", "kaspersky-network-agent", "--output", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)["result"]
    assert {s["name"] for s in shown["signals"]["services"]} == {"klnagent", "klnagent64"}
    assert cli.main(["catalog", "show", "no-such-id"]) == 2
    assert "no catalog entry 'no-such-id'" in capsys.readouterr().err


def test_render_text_names_products_and_exit(events, tmp_path):
    summary = _summary(_collect(events), ["localhost"])
    outcome = audit.AuditOutcome(
        run=audit.rundir.RunDir(path=tmp_path, run_id="r1"), summary=summary, exit_code=ExitCode.COVERED
    )
    buf = io.StringIO()
    audit.render_text(outcome, stream=buf)
    text = buf.getvalue()
    assert "kaspersky-kesl" in text and "path:/var/opt/kaspersky/kesl" in text
    assert "exit 3: covered software found" in text
