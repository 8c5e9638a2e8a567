# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate`` campaigns on the lab (issue 6, point 8 and Done-when).

Each test plants covered software, runs the console script as an operator does (``--yes``,
``--output json``) and reads the JSON envelope, ``state.json`` and the audit log. The lab's
repository and EICAR-only ClamAV database go into a copy of the lab inventory as ``all`` vars, the
way a site sets them in group_vars. Tests reset the hosts they change.

"Both logs verify" after a SIGKILL and --resume means: the resumed run's log verifies OK (exit 0,
final hash matches its manifest); the killed run's log is INCOMPLETE RUN (exit 6) with every
complete record verifying and no TAMPERED verdict, which is the truthful verdict for a killed
run; and the resumed log's run-start names the killed run and the hash of its last complete record.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.hoststate import listing, package_states
from tests.remediate_site import collection_copy

from ripreplace import collection, records
from ripreplace.lab import fakeapproved
from ripreplace.lab.fleet import Lab

pytestmark = pytest.mark.lab

COVERED = ("kesl",)  # one covered package a host: the behaviour under test is the campaign, not the removal


def site_inventory(lab_dir: Path, repo_url: str, workdir: Path) -> Path:
    data = yaml.safe_load((lab_dir / "inventory.yml").read_text())
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


def remediate(lab: Any, workdir: Path, inventory: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = lab.ripreplace(
        "remediate",
        "-i",
        str(inventory),
        "--ticket",
        "CHG-4711",
        "--runs-dir",
        str(workdir / "runs"),
        "--yes",
        "--output",
        "json",
        *args,
        cwd=workdir,
    )
    assert result.returncode in (0, 4, 5), result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def statuses(envelope: dict[str, Any]) -> dict[str, str]:
    return {h: e["status"] for h, e in envelope["result"]["hosts"].items()}


def planted(lab: Any, *hosts: str) -> None:
    lab.reset(*hosts)
    for host in hosts:
        lab.plant(host, *COVERED)


@pytest.fixture
def inventory(lab, workdir) -> Path:
    return site_inventory(lab.dir, lab.lab.state["repo_url"], workdir)


def test_outside_the_window_refuses_and_no_host_changes(lab, workdir, inventory):
    planted(lab, *lab.hosts)
    before = {h: listing(lab, h) for h in lab.hosts}
    code, envelope, stderr = remediate(lab, workdir, inventory, "--window", "2099-01-01T01:00:00Z/PT2H")
    assert code == 5
    assert "opens 2099-01-01T01:00:00Z" in envelope["result"]["stop"]["reason"] and "next window" in stderr
    assert set(statuses(envelope).values()) == {"deferred"}
    assert {h: listing(lab, h) for h in lab.hosts} == before
    assert lab.ripreplace("verify-log", envelope["run_dir"]).returncode == 0


def test_short_window_defers_later_batches(lab, workdir, inventory):
    planted(lab, *lab.hosts)
    # No timing guess: kesl's prerm takes 75 s (the lab's slow knob), so the canary uses at least 75 s of
    # the 10-minute window and batch 2's 9 minutes cannot fit after it, however fast the machine; the
    # canary itself starts about 0.5 s into the window, 60 s inside its own 9-minute floor.
    for host in lab.hosts:
        lab.sh(host, "sh", "-c", "mkdir -p /etc/ripreplace-lab && echo 75 > /etc/ripreplace-lab/slow-prerm-kesl")
    code, envelope, _ = remediate(
        lab, workdir, inventory, "--window", "now/PT10M", "--batch-estimate", "PT9M", "--batches", "1,100%"
    )
    assert code == 5
    result = envelope["result"]
    canary = result["batches"][0]["hosts"][0]
    assert len(result["batches"]) == 1 and statuses(envelope)[canary] == "remediated"
    assert result["stop"]["by"] == "window" and "would not finish" in result["stop"]["reason"]
    for host in lab.hosts:
        if host != canary:
            assert statuses(envelope)[host] == "deferred"
            assert package_states(lab, host, "kesl")["kesl"] == "ii"  # untouched
    lab.reset(*lab.hosts)


def test_failing_canary_stops_later_batches(lab, workdir, inventory):
    planted(lab, *lab.hosts)
    canary = sorted(lab.hosts)[0]
    lab.sh(canary, "sh", "-c", "mkdir -p /etc/ripreplace-lab && touch /etc/ripreplace-lab/fail-postrm-kesl")
    code, envelope, _ = remediate(
        lab, workdir, inventory, "--window", "now/PT1H", "--batches", "1,100%", "--max-fail", "50"
    )
    assert code == 4
    result = envelope["result"]
    assert statuses(envelope)[canary] == "failed" and result["stop"]["by"] == "batch-failed"
    # the reason is the failing postrm's own message, in the summary and the state (issue 11 item 10)
    reason = result["hosts"][canary]["reason"]
    assert "kesl postrm: cannot unregister from the management server" in reason, reason
    assert "post-removal script subprocess returned error exit status 1" in reason
    assert "returned an error code" not in reason
    state = json.loads((Path(envelope["run_dir"]) / "state.json").read_text())
    assert state["hosts"][canary]["reason"] == reason
    assert len(result["batches"]) == 1
    for host in lab.hosts:
        if host != canary:
            assert statuses(envelope)[host] == "deferred" and "campaign stopped" in result["hosts"][host]["reason"]
            assert package_states(lab, host, "kesl")["kesl"] == "ii"
    lab.reset(*lab.hosts)


def test_max_fail_holds(lab, workdir, inventory):
    planted(lab, *lab.hosts)
    order = sorted(lab.hosts)
    lab.sh(order[1], "sh", "-c", "mkdir -p /etc/ripreplace-lab && touch /etc/ripreplace-lab/fail-postrm-kesl")
    code, envelope, _ = remediate(
        lab, workdir, inventory, "--window", "now/PT1H", "--batches", "1,2,100%", "--max-fail", "0"
    )
    assert code == 4
    result = envelope["result"]
    assert [b["hosts"] for b in result["batches"]] == [order[:1], order[1:3]]
    assert result["stop"]["by"] == "max-fail" and "more than --max-fail 0%" in result["stop"]["reason"]
    assert statuses(envelope) == {
        order[0]: "remediated",
        order[1]: "failed",
        order[2]: "remediated",
        order[3]: "deferred",
    }
    # the record contract: both files of this real remediation validate against the shipped schemas,
    # and a remediated host's finding keeps the Covered List facts of the scan
    assert records.validate_run_dir(Path(envelope["run_dir"])) == {"summary.json": [], "state.json": []}
    (finding,) = [f for f in result["hosts"][order[0]]["findings"] if f["catalog_id"] == "kaspersky-kesl"]
    assert finding["covered_list"]["added"] == "2022-03-25" and finding["evidence"][0]["details"]
    lab.reset(*lab.hosts)


def test_renaming_every_task_of_the_verify_role_changes_no_outcome(lab, workdir, inventory):
    """remediate.yml over a collection copy whose verify role has every task renamed (issue 10)."""
    host = sorted(lab.light_hosts)[0]
    planted(lab, host)
    site = workdir / "renamed"
    site.mkdir()
    copy = collection_copy(site, rename_tasks=True)
    assert "VERIFY |" not in (copy / "roles" / "verify" / "tasks" / "main.yml").read_text()
    shutil.copy2(collection.playbook("remediate"), site / "remediate.yml")  # finds the copy next to it
    code, envelope, _ = remediate(
        lab, workdir, inventory, "--window", "now/PT1H", "--limit", host, "--playbook", str(site / "remediate.yml")
    )
    assert code == 0, envelope["result"]["hosts"][host]
    entry = envelope["result"]["hosts"][host]
    assert entry["status"] == "remediated" and entry["verify"]["recorded"] is True
    state = json.loads((Path(envelope["run_dir"]) / "state.json").read_text())
    assert [h["state"] for h in state["hosts"][host]["history"]] == ["replaced", "removed", "verified"]
    log = (Path(envelope["run_dir"]) / "audit.jsonl").read_text().splitlines()
    tasks = [r["data"].get("task") for r in map(json.loads, log)]
    assert any(str(t).startswith("renamed task") for t in tasks)  # the renamed role is what ran
    lab.reset(host)


def _wrapper_children_gone(run_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                env = (proc / "environ").read_bytes()
            except OSError:
                continue
            if f"RIPREPLACE_RUN_ID={run_id}".encode() in env:
                alive.append(proc.name)
        if not alive:
            return
        time.sleep(0.5)
    raise AssertionError(f"processes of run {run_id} still alive: {alive}")


def test_sigkill_mid_batch_then_resume_finishes_and_both_logs_verify(lab, workdir, inventory):
    planted(lab, *lab.hosts)
    argv = [
        str(Path(sys.executable).parent / "ripreplace"),
        "remediate",
        "-i",
        str(inventory),
        "--ticket",
        "CHG-4711",
        "--runs-dir",
        str(workdir / "runs"),
        "--yes",
        "--window",
        "now/PT1H",
        "--batches",
        "1,100%",
    ]
    proc = subprocess.Popen(argv, cwd=workdir, env=lab._env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        run_dir = None
        while time.monotonic() < deadline and proc.poll() is None:
            found = list((workdir / "runs").glob("*/state.json")) if (workdir / "runs").exists() else []
            if found:
                run_dir = found[0].parent
                state = json.loads(found[0].read_text())["hosts"]
                if any(e["batch"] == 2 and e["state"] in ("replaced", "removed") for e in state.values()):
                    break
            time.sleep(0.3)
        assert proc.poll() is None and run_dir is not None, "the campaign ended before batch 2 was in progress"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    _wrapper_children_gone(run_dir.name)
    assert not (run_dir / "summary.json").exists()
    code, envelope, _ = remediate(
        lab, workdir, inventory, "--window", "now/PT1H", "--resume", run_dir.name, "--batches", "100%"
    )
    assert code == 0, envelope["result"]["hosts"]
    result = envelope["result"]
    assert set(statuses(envelope).values()) == {"remediated"}
    assert result["previous"]["run"] == run_dir.name and result["previous"]["log_status"] == "incomplete"
    old = lab.ripreplace("verify-log", str(run_dir))
    assert old.returncode == 6 and "INCOMPLETE RUN" in old.stdout and "TAMPERED" not in old.stdout
    new = lab.ripreplace("verify-log", envelope["run_dir"])
    assert new.returncode == 0 and "final hash matches manifest.json" in new.stdout
    chain = collection.load_plugin_util("audit_chain")
    assert chain.verify(run_dir / "audit.jsonl").final_hash == result["previous"]["final_hash"]
    first = next(chain.iter_records(Path(envelope["run_dir"]) / "audit.jsonl"))
    assert first["type"] == "run-start" and first["data"]["previous"]["run"] == run_dir.name
    for host in lab.hosts:
        assert package_states(lab, host, "kesl")["kesl"] in ("absent", "un", "pn")
    lab.reset(*lab.hosts)


def test_host_whose_link_is_cut_mid_run_is_unreachable_and_the_others_go_on(lab, workdir, inventory):
    planted(lab, *lab.hosts)
    victim = sorted(lab.light_hosts)[-1]
    argv = [
        str(Path(sys.executable).parent / "ripreplace"),
        "remediate",
        "-i",
        str(inventory),
        "--ticket",
        "CHG-4711",
        "--runs-dir",
        str(workdir / "runs"),
        "--yes",
        "--window",
        "now/PT1H",
        "--batches",
        "100%",
        "--max-fail",
        "50",
        "--output",
        "json",
    ]
    proc = subprocess.Popen(argv, cwd=workdir, env=lab._env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            found = list((workdir / "runs").glob("*/state.json")) if (workdir / "runs").exists() else []
            if found and json.loads(found[0].read_text())["hosts"][victim]["findings"] is not None:
                break
            time.sleep(0.3)
        lab.set_link(victim, False)
        out, err = proc.communicate(timeout=600)
    finally:
        lab.set_link(victim, True)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, err
    envelope = json.loads(out)
    result = envelope["result"]
    assert result["hosts"][victim]["status"] == "unreachable", result["hosts"][victim]
    assert all(s == "remediated" for h, s in statuses(envelope).items() if h != victim)
    assert lab.ripreplace("verify-log", envelope["run_dir"]).returncode == 0
    lab.reset(*lab.hosts)


def test_done_when_six_host_campaign_every_host_verified(ansible_env, workdir):
    directory = Path(tempfile.mkdtemp(prefix="ripreplace-remediate-lab-", dir="/var/tmp"))
    fleet = Lab(directory)
    try:
        fleet.up(light=5, systemd=1)
        hosts = sorted(fleet.hosts)
        assert len(hosts) >= 6
        for host in hosts:
            fleet.plant(host, list(COVERED))
        inventory = site_inventory(directory, fleet.state["repo_url"], workdir)
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "ripreplace"),
                "remediate",
                "-i",
                str(inventory),
                "--ticket",
                "CHG-4711",
                "--runs-dir",
                str(workdir / "runs"),
                "--yes",
                "--output",
                "json",
                "--batches",
                "1,50%,100%",
                "--window",
                "now/PT1H",
            ],
            cwd=workdir,
            env=ansible_env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        envelope = json.loads(result.stdout)
        assert [len(b["hosts"]) for b in envelope["result"]["batches"]] == [1, 3, 2]
        assert {h: e["status"] for h, e in envelope["result"]["hosts"].items()} == dict.fromkeys(hosts, "remediated")
        assert all(e["state"] == "verified" for e in envelope["result"]["hosts"].values())
        verify = subprocess.run(
            [str(Path(sys.executable).parent / "ripreplace"), "verify-log", envelope["run_dir"]],
            capture_output=True,
            text=True,
            check=False,
            env=ansible_env,
        )
        assert verify.returncode == 0 and verify.stdout.split(": ", 1)[1].startswith("OK"), verify.stdout
    finally:
        fleet.down(quiet=True)
        shutil.rmtree(directory, ignore_errors=True)
