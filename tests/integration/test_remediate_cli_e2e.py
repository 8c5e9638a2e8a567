# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate`` and ``ripreplace runs`` end to end: real ansible-runner runs of a stand-in
playbook on local-connection hosts (tests/remediate_site.py), no lab.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.remediate_site import (
    BIN,
    STANDIN_VERIFY,
    base,
    collection_copy,
    make_site,
    ripreplace,
    runs,
    touched,
    write_inventory,
)

from ripreplace import collection, records
from ripreplace.constants import ExitCode

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


def test_no_terminal_and_no_yes_refuses(site):
    result = ripreplace(site, *base(site, "--window", "now/PT1H"))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.strip().endswith("not on a terminal: pass --yes to confirm the plan")
    assert touched(site) == [] and runs(site) == []


def test_outside_the_window_refuses_exit_5_records_why_touches_nothing(site):
    result = ripreplace(site, *base(site, "--window", "2099-12-05T01:00:00Z/PT2H", "--output", "json"))
    assert result.returncode == ExitCode.WINDOW, result.stderr
    assert touched(site) == []
    envelope = json.loads(result.stdout)
    assert envelope["result"]["stop"]["by"] == "window"
    assert "opens 2099-12-05T01:00:00Z" in envelope["result"]["stop"]["reason"]
    assert {h["status"] for h in envelope["result"]["hosts"].values()} == {"deferred"}
    assert "next window" in result.stderr
    (run,) = runs(site)
    verify = ripreplace(site, "verify-log", str(run))
    assert verify.returncode == 0, verify.stdout
    records = [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]
    assert [r["type"] for r in records][:2] == ["run-start", "decision"] and records[-1]["type"] == "run-end"
    assert records[1]["data"]["kind"] == "window-check" and records[1]["data"]["ok"] is False


ENVELOPE_KEYS = {"envelope_version", "command", "exit_code", "result", "run", "run_dir", "final_hash"}
SUMMARY_KEYS = {
    "format",
    "run",
    "mode",
    "finished",
    "window",
    "previous",
    "batches",
    "stop",
    "counts",
    "hosts",
    "exit_code",
}
HOST_KEYS = {"status", "state", "reason", "findings", "excepted", "batch", "targeted", "run", "replacement", "verify"}
BATCH_KEYS = {"batch", "hosts", "started", "seconds", "playbook", "counts", "failed_pct", "canceled"}


def test_campaign_json_envelope_contract_and_run_directory(site):
    result = ripreplace(
        site, *base(site, "--window", "now/PT1H", "--batches", "1,50%,100%", "--yes", "--output", "json")
    )
    assert result.returncode == ExitCode.OK, result.stderr
    envelope = json.loads(result.stdout)
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["envelope_version"] == 1 and envelope["command"] == "remediate" and envelope["exit_code"] == 0
    summary = envelope["result"]
    assert set(summary) == SUMMARY_KEYS and summary["format"] == "ripreplace-summary/2"
    assert summary["mode"] == "remediate" and summary["counts"] == {"clean": 4}
    assert all(set(h) == HOST_KEYS for h in summary["hosts"].values())
    assert [len(b["hosts"]) for b in summary["batches"]] == [1, 2, 1]
    assert all(set(b) == BATCH_KEYS for b in summary["batches"])
    assert touched(site) == ["h1", "h2", "h3", "h4"]
    run = Path(envelope["run_dir"])
    assert json.loads((run / "summary.json").read_text()) == summary
    state = json.loads((run / "state.json").read_text())
    assert state["format"] == "ripreplace-state/2" and state["hosts"]["h1"]["state"] == "verified"
    assert records.validate_run_dir(run) == {"summary.json": [], "state.json": []}
    assert [h["state"] for h in state["hosts"]["h1"]["history"]] == ["replaced", "removed", "verified"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["mode"] == "remediate" and manifest["ticket"] == "CHG-1"
    assert manifest["audit_log"]["final_hash"] == envelope["final_hash"]
    assert (run / "batch-2.hosts").read_text() == "h2\nh3\n"
    verify = ripreplace(site, "verify-log", str(run))
    assert verify.returncode == 0 and "final hash matches manifest.json" in verify.stdout
    kinds = [
        r["data"].get("kind")
        for r in map(json.loads, (run / "audit.jsonl").read_text().splitlines())
        if r["type"] == "decision"
    ]
    assert kinds == ["window-check"] + ["window-check", "batch-start", "batch-end"] * 3
    listing = ripreplace(site, "runs", "list", "--runs-dir", str(site / "runs"), "--output", "json")
    assert listing.returncode == 0
    (row,) = json.loads(listing.stdout)["result"]["runs"]
    assert row["run"] == run.name and row["ticket"] == "CHG-1" and row["log"]["status"] == "ok"
    assert row["counts"] == {"clean": 4} and row["exit_code"] == 0
    show = ripreplace(site, "runs", "show", run.name, "--runs-dir", str(site / "runs"))
    assert show.returncode == 0 and "h4: clean" in show.stdout and "batch 3: 1 host(s)" in show.stdout


def test_failing_canary_exit_4_then_resume_finishes(site):
    write_inventory(site, {"h1": {"fail_me": True}})
    first = ripreplace(site, *base(site, "--window", "now/PT1H", "--batches", "1,100%", "--yes", "--output", "json"))
    assert first.returncode == ExitCode.HOSTS_FAILED, first.stderr
    summary = json.loads(first.stdout)["result"]
    assert summary["stop"]["by"] == "batch-failed"
    assert summary["hosts"]["h1"]["status"] == "failed" and "postrm of kesl failed" in summary["hosts"]["h1"]["reason"]
    assert touched(site) == ["h1"]
    write_inventory(site, {})
    prev = json.loads(first.stdout)["run"]
    second = ripreplace(
        site,
        *base(
            site,
            "--window",
            "now/PT1H",
            "--resume",
            prev,
            "--batches",
            "100%",
            "--yes",
            "--output",
            "json",
            "--ticket",
            "CHG-2",
        ),
    )
    assert second.returncode == ExitCode.OK, second.stderr
    result = json.loads(second.stdout)["result"]
    assert result["previous"]["run"] == prev and result["previous"]["log_status"] == "ok"
    assert result["previous"]["final_hash"] == json.loads(first.stdout)["final_hash"]


def test_sigkill_mid_batch_then_resume(site):
    write_inventory(site, {"h2": {"pause": 30}})
    proc = subprocess.Popen(
        [str(BIN / "ripreplace"), *base(site, "--window", "now/PT1H", "--batches", "1,100%", "--yes")],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path())),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if sorted(touched(site)) == ["h1", "h2", "h3", "h4"]:
                break
            time.sleep(0.2)
        time.sleep(2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    (killed,) = runs(site)
    assert not (killed / "summary.json").exists()
    state = json.loads((killed / "state.json").read_text())
    assert state["hosts"]["h1"]["state"] == "verified" and state["hosts"]["h2"]["state"] != "verified"
    time.sleep(1)
    write_inventory(site, {})
    resumed = ripreplace(
        site,
        *base(site, "--window", "now/PT1H", "--resume", killed.name, "--batches", "100%", "--yes", "--output", "json"),
    )
    assert resumed.returncode == ExitCode.OK, resumed.stderr
    result = json.loads(resumed.stdout)["result"]
    assert result["previous"]["log_status"] == "incomplete" and "killed" in result["previous"]["note"]
    assert result["counts"] == {"clean": 4}
    assert {h for h, e in result["hosts"].items() if e["targeted"]} == {"h2", "h3", "h4"}
    old = ripreplace(site, "verify-log", str(killed))
    assert old.returncode == ExitCode.LOG_INVALID and "INCOMPLETE RUN" in old.stdout and "TAMPERED" not in old.stdout
    new = ripreplace(site, "verify-log", json.loads(resumed.stdout)["run_dir"])
    assert new.returncode == 0, new.stdout
    from ripreplace import collection as coll

    chain = coll.load_plugin_util("audit_chain")
    assert chain.verify(killed / "audit.jsonl").final_hash == result["previous"]["final_hash"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the verify role writes its fact file owned by root")
@pytest.mark.parametrize(("role", "rename"), [("verify", False), ("proof", True)], ids=["as-shipped", "renamed"])
def test_renaming_the_verify_role_and_its_tasks_changes_no_outcome(site, role, rename):
    """The campaign reads the roles' declared facts, never a task or role name (issue 10).

    The collection's verify role runs (a read-only re-scan of this machine's packages, services and
    paths; the fact file in the test's directory) after stand-in replacement and removal facts; in
    the renamed case the role is called ``proof`` and every task of it is renamed. h1 must be
    verified while its batch still runs (h2 waits at a gate the test opens only then): a state
    machine keyed on names would only settle h1 when the playbook ends.
    """
    collection_copy(site, verify_role=role, rename_tasks=rename)
    (site / "standin.yml").write_text(STANDIN_VERIFY)
    gate = site / "gate"
    write_inventory(site, {"h1": {"verify_role": role}, "h2": {"verify_role": role, "gate": str(gate)}}, count=2)
    args = base(site, "--window", "now/PT1H", "--batches", "100%", "--forks", "2", "--yes", "--output", "json")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()))
    proc = subprocess.Popen(
        [str(BIN / "ripreplace"), *args], cwd=site, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        hosts: dict[str, dict[str, object]] = {}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            found = list((site / "runs").glob("*/state.json")) if (site / "runs").exists() else []
            hosts = json.loads(found[0].read_text())["hosts"] if found else {}
            if hosts.get("h1", {}).get("state") in ("verified", "failed", "unreachable"):
                break
            time.sleep(0.2)
        states = {h: e["state"] for h, e in hosts.items()}
        assert states.get("h1") == "verified" and states.get("h2") != "verified", hosts
        gate.touch()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == ExitCode.OK, err
    summary = json.loads(out)["result"]
    assert {h: e["status"] for h, e in summary["hosts"].items()} == {"h1": "clean", "h2": "clean"}
    run = Path(json.loads(out)["run_dir"])
    state = json.loads((run / "state.json").read_text())
    for host in ("h1", "h2"):
        assert [h["state"] for h in state["hosts"][host]["history"]] == ["replaced", "removed", "verified"]
        assert state["hosts"][host]["verify"]["outcome"] == "verified" and state["hosts"][host]["verify"]["recorded"]
        assert (site / "facts" / host / "ripreplace.fact").is_file()
    assert records.validate_run_dir(run) == {"summary.json": [], "state.json": []}
