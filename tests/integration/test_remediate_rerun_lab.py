# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""A remediation rerun costs what an audit costs, and a clean host is not given the replacement
unless asked (issue 13, Deliver 2; issue 11, item 10).

The rerun test remediates two lab hosts (one light, one systemd), then runs the same campaign again:
every host is recognised as already verified in the quick step (detection clean and the replacement
healthy, both measured now), no task reports a change, no task of the install, remove or verify
paths runs, and dpkg's state of every package is the same before and after. The rerun's wall time
and an audit's of the same hosts are written to ``tests/output/rerun-vs-audit.json`` and printed:
no timed assertion here (the ratio belongs to bench/ and docs/performance.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_remediate_campaign_lab import planted, site_inventory

from ripreplace import records

pytestmark = pytest.mark.lab

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "rerun-vs-audit.json"
#: Task name prefixes of the paths a host already verified skips (install, configure, start, remove, verify).
SKIPPED_PATHS = (
    "REPLACEMENT | INSTALL",
    "REPLACEMENT | CONFIGURE",
    "REPLACEMENT | SERVICE",
    "REMOVE |",
    "VERIFY | RECORD",
)


@pytest.fixture
def inventory(lab, workdir) -> Path:
    return site_inventory(lab.dir, lab.lab.state["repo_url"], workdir)


def dpkg_state(lab: Any, host: str) -> list[str]:
    """Every package dpkg knows on the host, with its state and version."""
    out = lab.sh(host, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev} ${Version}\\n").stdout
    return sorted(out.splitlines())


def campaign(
    lab: Any, workdir: Path, inventory: Path, hosts: list[str], *args: str
) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    result = lab.ripreplace(
        "remediate",
        "-i",
        str(inventory),
        "--ticket",
        "CHG-4711",
        "--window",
        "now/PT2H",
        "--batches",
        "100%",
        "--limit",
        ",".join(hosts),
        "--runs-dir",
        str(workdir / "runs"),
        "--yes",
        "--output",
        "json",
        *args,
        cwd=workdir,
    )
    seconds = time.monotonic() - started
    assert result.returncode in (0, 4), result.stderr
    return result.returncode, json.loads(result.stdout), seconds


def audit_log(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (Path(envelope["run_dir"]) / "audit.jsonl").read_text().splitlines()]


def test_rerun_on_a_remediated_fleet_changes_nothing_and_is_timed_against_an_audit(lab, workdir, inventory):
    hosts = [sorted(lab.light_hosts)[0], sorted(lab.systemd_hosts)[0]]
    planted(lab, *hosts)
    code, first, first_s = campaign(lab, workdir, inventory, hosts)
    assert code == 0, first["result"]["hosts"]
    assert {first["result"]["hosts"][h]["status"] for h in hosts} == {"remediated"}
    before = {h: dpkg_state(lab, h) for h in hosts}
    assert all(any(line.startswith("clamav-daemon ii ") for line in before[h]) for h in hosts)

    code, rerun, rerun_s = campaign(lab, workdir, inventory, hosts)
    assert code == 0, rerun["result"]["hosts"]
    for host in hosts:
        entry = rerun["result"]["hosts"][host]
        assert entry["status"] == "clean" and entry["state"] == "verified", entry
        assert (
            entry["reason"].startswith("already verified: nothing covered, clamav ")
            and "healthy (checked now)" in (entry["reason"])
        )
        assert entry["replacement"]["healthy"] is True and entry["replacement"]["version"]
        assert entry["verify"]["recorded"] is True
    assert records.validate(rerun["result"], "summary") == []
    state = json.loads((Path(rerun["run_dir"]) / "state.json").read_text())
    assert records.validate(state, "state") == []
    log = audit_log(rerun)
    tasks = [r["data"] for r in log if r["type"] == "task"]
    assert tasks and [t for t in tasks if t["status"] == "changed"] == []
    ran = [t["task"] for t in tasks if t["status"] != "skipped"]
    assert [t for t in ran if t.startswith(SKIPPED_PATHS)] == [], "a host already verified went down a full path"
    (end,) = [r["data"] for r in log if r["type"] == "playbook-end"]
    assert {h: end["stats"][h]["changed"] for h in hosts} == dict.fromkeys(hosts, 0)
    assert {h: dpkg_state(lab, h) for h in hosts} == before  # nothing installed, removed or upgraded

    started = time.monotonic()
    audited = lab.ripreplace(
        "audit", "-i", str(inventory), "--limit", ",".join(hosts), "--runs-dir", str(workdir / "runs"), cwd=workdir
    )
    audit_s = time.monotonic() - started
    assert audited.returncode == 0, audited.stdout + audited.stderr
    measured = {
        "hosts": hosts,
        "first_remediation_s": round(first_s, 2),
        "rerun_s": round(rerun_s, 2),
        "audit_s": round(audit_s, 2),
        "rerun_over_audit": round(rerun_s / audit_s, 2),
        "tasks_per_host_rerun": len(tasks) // len(hosts),
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(measured, indent=2) + "\n")
    print(f"\nrerun vs audit on {len(hosts)} lab hosts: {json.dumps(measured)}")
    lab.reset(*hosts)


def test_a_clean_host_is_not_given_the_replacement_unless_asked_and_the_plan_says_so(lab, workdir, inventory):
    clean, covered = sorted(lab.light_hosts)[1], sorted(lab.light_hosts)[2]
    lab.reset(clean, covered)
    lab.plant(covered, "kesl")
    before = {h: dpkg_state(lab, h) for h in (clean, covered)}
    common = ["--ticket", "CHG-4711", "--window", "now/PT2H", "--limit", f"{clean},{covered}"]
    runs = ["--runs-dir", str(workdir / "runs")]

    dry = lab.ripreplace(
        "remediate", "-i", str(inventory), *common, *runs, "--dry-run", "--output", "json", cwd=workdir
    )
    assert dry.returncode == 0, dry.stderr
    envelope = json.loads(dry.stdout)
    assert envelope["dry_run"] is True and envelope["result"]["format"] == "ripreplace-plan/1"
    plan = envelope["result"]["hosts"]
    assert plan[clean]["action"] == "skip" and plan[clean]["install"] == [] and plan[clean]["remove"] == {}
    assert plan[covered]["action"] == "remediate" and plan[covered]["remove"]["packages"] == ["kesl"]
    assert "clamav-daemon" in plan[covered]["install"] and any("kesl" in s for s in plan[covered]["remove"]["services"])
    assert "kaspersky-kesl" in plan[covered]["note"]
    # the plan scan is a read-only run of its own whose trail verifies
    assert lab.ripreplace("verify-log", envelope["run_dir"]).returncode == 0

    text = lab.ripreplace("remediate", "-i", str(inventory), *common, *runs, "--dry-run", "--install-on-clean")
    assert text.returncode == 0, text.stderr
    assert f"    {clean}: install: install clamav (" in text.stdout, text.stdout
    assert f"    {covered}: remediate: remove packages kesl;" in text.stdout
    assert "dry run: nothing was changed" in text.stdout
    assert {h: dpkg_state(lab, h) for h in (clean, covered)} == before  # a dry run changes nothing

    code, env, _ = campaign(lab, workdir, inventory, [clean])
    entry = env["result"]["hosts"][clean]
    assert code == 0 and entry["status"] == "clean" and entry["state"] == "verified", entry
    assert "--install-on-clean" in entry["reason"] and entry["replacement"]["healthy"] is None
    assert dpkg_state(lab, clean) == before[clean]  # not given the replacement: nothing installed
    lab.reset(clean, covered)
