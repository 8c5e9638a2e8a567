# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Two ``ripreplace remediate`` campaigns on one lab host at the same time (issue 11, Done-when): one
proceeds, the other reports the host ``locked by RUN_ID since T`` and touches nothing; nothing is purged
twice. An audit meanwhile warns that the host is locked by a campaign in progress.

Deterministic, not timed: the first campaign runs playbooks/remediate.yml with one task added right after
the host's lock is taken, a wait for a gate file on the controller. The second campaign (the shipped
playbook) starts while the first one holds the lock at its gate, and ends before the gate opens.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tests.integration.hoststate import package_states
from tests.integration.test_remediate_campaign_lab import planted, site_inventory, statuses

from ripreplace import collection

pytestmark = pytest.mark.lab

LOCK = "/var/lib/ripreplace/lock"
#: What may run on a host another campaign holds: the window check, the quick step's read-only look (detection,
#: the replacement's probe, the decision: playbooks/remediate.yml, before the lock), the lock (which finds it
#: held) and plumbing. None of them may report a change (asserted below).
READ_ONLY = {
    "ripreplace.remediation.change_window",
    "ripreplace.remediation.covered_facts",
    "ripreplace.remediation.replacement_probe",
    "ansible.builtin.set_fact",
    "ripreplace.remediation.covered_lock",
    "ansible.builtin.include_role",
    "ansible.builtin.validate_argument_spec",
    "ansible.builtin.meta",
}


def gated_playbook(workdir: Path, gate: Path) -> Path:
    """playbooks/remediate.yml with a wait for ``gate`` (on the controller) once the host's lock is taken."""
    plays = yaml.safe_load(collection.playbook("remediate").read_text())
    tasks = plays[0]["tasks"]
    (at,) = [
        n
        for n, task in enumerate(tasks)
        if (task.get("ansible.builtin.include_role") or {}).get("name") == "ripreplace.remediation.lock"
    ]
    tasks.insert(
        at + 1,
        {
            "name": "TEST | Hold the campaign here, under the host's lock, until the test opens the gate",
            "ansible.builtin.wait_for": {"path": str(gate), "timeout": 900},
            "delegate_to": "localhost",
        },
    )
    path = workdir / "remediate-gated.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def remediate_argv(inventory: Path, workdir: Path, host: str, ticket: str, *extra: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "ripreplace"),
        "remediate",
        "-i",
        str(inventory),
        "--limit",
        host,
        "--ticket",
        ticket,
        "--runs-dir",
        str(workdir / "runs"),
        "--window",
        "now/PT1H",
        "--batches",
        "100%",
        "--yes",
        "--output",
        "json",
        *extra,
    ]


def host_lock(lab, host: str) -> dict | None:
    shown = lab.sh(host, "cat", LOCK, check=False)
    return json.loads(shown.stdout) if shown.returncode == 0 and shown.stdout.strip() else None


def test_two_campaigns_on_one_host_one_proceeds_the_other_is_locked_and_nothing_is_purged_twice(lab, workdir):
    host = lab.light_hosts[0]
    planted(lab, host)
    inventory = site_inventory(lab.dir, lab.lab.state["repo_url"], workdir)
    gate = workdir / "gate"
    first = subprocess.Popen(
        remediate_argv(inventory, workdir, host, "CHG-A", "--playbook", str(gated_playbook(workdir, gate))),
        cwd=workdir,
        env=lab._env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 600
        held = None
        while held is None:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first campaign never took the host's lock"
            time.sleep(0.5)
            held = host_lock(lab, host)
        (run_a,) = [p.name for p in (workdir / "runs").iterdir() if p.is_dir()]
        assert held["run"] == run_a and held["controller_pid"] == first.pid

        # the second campaign, the shipped playbook, while the first holds the lock at its gate
        second = subprocess.run(
            remediate_argv(inventory, workdir, host, "CHG-B"),
            cwd=workdir,
            env=lab._env,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
        assert second.returncode == 5, second.stderr  # locked: not remediated, nothing went wrong on it
        envelope = json.loads(second.stdout)
        entry = envelope["result"]["hosts"][host]
        assert entry["status"] == "locked" and entry["state"] == "locked"
        assert entry["reason"] == f"locked by {run_a} since {held['started']}"
        run_b = Path(envelope["run_dir"])
        records = [json.loads(line) for line in (run_b / "audit.jsonl").read_text().splitlines()]
        tasks = [r["data"] for r in records if r["type"] == "task" and r["data"].get("host") == host]
        actions = {t.get("action") for t in tasks}
        assert "ripreplace.remediation.covered_lock" in actions
        assert actions <= READ_ONLY, actions - READ_ONLY  # untouched: the window check, read-only looks, the lock
        assert [t["task"] for t in tasks if t.get("status") == "changed"] == []
        assert package_states(lab, host, "kesl")["kesl"] == "ii"  # the first one is still at its gate
        assert host_lock(lab, host) == held  # nor did it take or release the first one's lock
        assert lab.ripreplace("verify-log", str(run_b)).returncode == 0

        # an audit meanwhile warns that a campaign holds the host (read in the scan's own call)
        audit = lab.ripreplace(
            "audit", "-i", str(inventory), "--limit", host, "--runs-dir", str(workdir / "runs"), "--output", "json"
        )
        assert audit.returncode == 3, audit.stderr  # kesl is still there: the first campaign waits at its gate
        scanned = json.loads(audit.stdout)["result"]["hosts"][host]
        assert scanned["campaign_lock"]["run"] == run_a and scanned["campaign_lock"]["started"] == held["started"]
        warning = f"warning: {host} is locked by campaign {run_a} since {held['started']}"
        (line,) = [line for line in audit.stderr.splitlines() if line.startswith("warning:")]
        assert line.startswith(warning), line
    finally:
        gate.touch()
        out, err = first.communicate(timeout=900)
    assert first.returncode == 0, err
    assert statuses(json.loads(out)) == {host: "remediated"}
    assert package_states(lab, host, "kesl")["kesl"] == "absent"
    log = lab.sh(host, "cat", "/var/log/dpkg.log").stdout
    removals = [line for line in log.splitlines() if line.split()[2:3] == ["remove"] and " kesl:" in line]
    assert len(removals) == 1, removals  # removed once, by the first campaign
    assert host_lock(lab, host) is None  # released at the end
    lab.reset(host)
