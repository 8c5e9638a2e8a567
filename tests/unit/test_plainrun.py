# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The outcome of a plain playbook run, rebuilt from its audit log (ripreplace.report.plainrun).

Logs are written with the real writer (the records a callback writes: task records with ``facts``);
real runs are in tests/integration/test_plain_runs_e2e.py and test_campaign_guarantees_lab.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ripreplace import auditlog
from ripreplace.exceptions import InputFileError
from ripreplace.report import plainrun

FINDING = {
    "catalog_id": "kaspersky-kesl",
    "vendor": "Kaspersky",
    "product": "Kaspersky Endpoint Security for Linux",
    "state": "installed",
    "confidence": "high",
    "review": False,
    "evidence": [{"kind": "deb", "value": "kesl", "confidence": "high", "details": {}}],
}
SCAN = "ripreplace.remediation.covered_facts"


def task(host: str, action: str, status: str = "ok", **more: Any) -> dict[str, Any]:
    return {"host": host, "task": f"{action} task", "action": action, "status": status, **more}


def scan(host: str, findings: list[dict[str, Any]]) -> dict[str, Any]:
    covered = {"findings": findings, "excepted": [], "exceptions_expired": []}
    return task(host, SCAN, role="ripreplace.remediation.detect", facts={"covered_software": covered})


def write(path: Path, run: str, tasks: list[dict[str, Any]], *, playbook: str = "audit.yml", end: bool = True) -> None:
    with auditlog.AuditWriter(path, run_id=run) as writer:
        writer.append(auditlog.RUN_START, {"manifest": {"run": run}})
        writer.append("playbook-start", {"playbook": f"/p/{playbook}"})
        for data in tasks:
            writer.append(auditlog.TASK, data)
        if end:
            hosts = sorted({t["host"] for t in tasks})
            failed = [t["host"] for t in tasks if t["status"] == "failed"]
            status = "failed" if failed else "successful"
            writer.append("playbook-end", {"status": status, "stats": {h: {} for h in hosts}})
            writer.append(auditlog.RUN_END, {"status": status})


def test_an_audit_judges_hosts_as_the_command_does(tmp_path):
    log = tmp_path / "audit.jsonl"
    gate = task("a", "ansible.builtin.fail", "failed", role="ripreplace.remediation.detect", msg="covered software")
    broken = task("c", "ansible.builtin.command", "failed", msg="boom")
    write(log, "r1", [scan("a", [FINDING]), gate, scan("b", []), broken, task("d", SCAN, "unreachable", msg="ssh")])
    summary = plainrun.build(log, "r1")
    assert summary is not None and summary["mode"] == "audit" and summary["run"] == "r1"
    hosts = summary["hosts"]
    assert hosts["a"]["status"] == "covered"  # the findings gate is the audit's answer, not a failure
    assert [f["catalog_id"] for f in hosts["a"]["findings"]] == ["kaspersky-kesl"]
    assert hosts["b"]["status"] == "clean"
    assert hosts["c"]["status"] == "failed" and "boom" in hosts["c"]["reason"]
    assert hosts["d"]["status"] == "unreachable"
    assert summary["exit_code"] == 3 and summary["counts"] == {"clean": 1, "covered": 1, "failed": 1, "unreachable": 1}


def test_a_failure_before_the_scan_is_a_failure_even_in_role_detect(tmp_path):
    log = tmp_path / "audit.jsonl"
    preflight = task("a", "ansible.builtin.fail", "failed", role="ripreplace.remediation.detect", msg="bad input")
    write(log, "r1", [preflight])
    assert plainrun.build(log, "r1") is None  # no scan recorded: nothing a summary can say
    write(tmp_path / "b.jsonl", "r1", [preflight, scan("b", [])])
    summary = plainrun.build(tmp_path / "b.jsonl", "r1")
    assert summary is not None and summary["hosts"]["a"]["status"] == "failed"


def test_a_remediation_refused_by_the_window_is_deferred_and_the_others_replayed(tmp_path):
    log = tmp_path / "audit.jsonl"
    guard = "ripreplace.remediation.change_window"
    refused = task("late", guard, "failed", msg="outside its change window: the window ended at 2020-01-01T01:00:00Z")
    outcome = {"step": "verify", "outcome": "verified", "reason": "", "check_mode": False, "recorded": True}
    tasks = [
        refused,
        task("ok1", guard),
        task("ok1", "ripreplace.remediation.covered_lock", locked=False),
        scan("ok1", []),
        task("ok1", "ansible.builtin.set_fact", facts={"verify_outcome": outcome}),
        task("held", guard),
        task("held", "ripreplace.remediation.covered_lock", locked=True, msg="locked by run-x since 2026"),
    ]
    write(log, "r2", tasks, playbook="remediate.yml")
    summary = plainrun.build(log, "r2")
    assert summary is not None and summary["mode"] == "remediate"
    hosts = summary["hosts"]
    assert hosts["late"]["status"] == "deferred" and "the window ended at" in hosts["late"]["reason"]
    assert hosts["ok1"]["status"] == "clean" and hosts["held"]["status"] == "locked"


def test_a_run_killed_before_its_end_leaves_its_hosts_interrupted(tmp_path):
    log = tmp_path / "audit.jsonl"
    write(log, "r3", [task("h", "ripreplace.remediation.change_window"), scan("h", [FINDING])], end=False)
    summary = plainrun.build(log, "r3")
    assert summary is not None and summary["hosts"]["h"]["status"] == "deferred"
    assert "interrupted" in summary["hosts"]["h"]["reason"]


def test_only_the_manifests_run_is_read_from_a_shared_log(tmp_path):
    log = tmp_path / "audit.jsonl"
    write(log, "first", [scan("a", [FINDING])])
    write(log, "second", [scan("b", [])])
    first, second = plainrun.build(log, "first"), plainrun.build(log, "second")
    assert first is not None and set(first["hosts"]) == {"a"}
    assert second is not None and set(second["hosts"]) == {"b"}


@pytest.mark.parametrize(
    "facts",
    [
        {"covered_software": {"findings": [{"catalog_id": "x"}]}},  # a finding without its keys
        {"covered_software": {"findings": 7}},
        {"covered_software": {"findings": [dict(FINDING, evidence="not a list")]}},
    ],
)
def test_records_that_do_not_describe_hosts_are_one_line(tmp_path, facts):
    log = tmp_path / "audit.jsonl"
    write(log, "r4", [task("a", SCAN, facts=facts)])
    with pytest.raises(InputFileError) as caught:
        plainrun.build(log, "r4")
    assert str(caught.value).startswith(f"{log}: ") and "\n" not in str(caught.value)
