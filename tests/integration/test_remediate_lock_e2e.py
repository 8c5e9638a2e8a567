# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""One operator at a time, end to end: two ``ripreplace remediate`` on the same hosts at once, stale host
locks, and a double ``--resume`` -- real ansible-runner runs of the stand-in playbook, which takes and
releases each host's lock through the collection's own lock role (tests/remediate_site.py), no lab.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from tests.remediate_site import BIN, base, make_site, ripreplace, runs, touched, write_inventory

from ripreplace import collection
from ripreplace.constants import ExitCode

pytestmark = pytest.mark.e2e

ARGS = ("--window", "now/PT2H", "--batches", "100%", "--yes", "--output", "json")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


def _start(site: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()))
    return subprocess.Popen(
        [str(BIN / "ripreplace"), *base(site, *args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=site,
        stdin=subprocess.DEVNULL,
    )


def _wait_for(paths: list[Path], proc: subprocess.Popen[str]) -> None:
    """Until every path exists (the first campaign is at its gate); fails if the campaign ended first."""
    deadline = time.monotonic() + 240
    while not all(p.exists() for p in paths):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first campaign never reached its gate"
        time.sleep(0.2)


def _lock(site: Path, host: str) -> Path:
    return site / "locks" / f"{host}.lock"


def _envelope(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout)


def _audit(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]


def test_two_campaigns_at_once_one_proceeds_the_other_reports_locked_and_touches_nothing(site):
    gate = site / "gate"
    write_inventory(site, {"h1": {"gate": str(gate)}, "h2": {"gate": str(gate)}}, count=2)
    first = _start(site, *ARGS)
    try:
        _wait_for([site / "markers" / "h1.touched", site / "markers" / "h2.touched", _lock(site, "h2")], first)
        (run_a,) = runs(site)
        held = json.loads(_lock(site, "h1").read_text())
        since = {h: json.loads(_lock(site, h).read_text())["started"] for h in ("h1", "h2")}  # a second apart, maybe
        assert held["run"] == run_a.name and held["controller"] == socket.gethostname()
        assert held["controller_pid"] == first.pid and held["runs_dir"] == str((site / "runs").resolve())
        assert held["operator"] and held["started"].endswith("Z")
        for marker in (site / "markers").iterdir():
            marker.unlink()

        second = ripreplace(site, *base(site, *ARGS))
        assert second.returncode == ExitCode.WINDOW, second.stderr
        assert touched(site) == []  # the second campaign touched no host
        assert json.loads(_lock(site, "h1").read_text()) == held  # nor the first one's lock
        summary = _envelope(second)["result"]
        assert {h: e["status"] for h, e in summary["hosts"].items()} == {"h1": "locked", "h2": "locked"}
        for host, entry in summary["hosts"].items():
            assert entry["reason"] == f"locked by {run_a.name} since {since[host]}"
        run_b = next(r for r in runs(site) if r != run_a)
        state = json.loads((run_b / "state.json").read_text())
        assert {h: e["state"] for h, e in state["hosts"].items()} == {"h1": "locked", "h2": "locked"}
        host_states = [r["data"] for r in _audit(run_b) if r["type"] == "host-state"]
        assert {(d["host"], d["state"]) for d in host_states} == {("h1", "locked"), ("h2", "locked")}
        assert ripreplace(site, "verify-log", str(run_b)).returncode == 0
    finally:
        gate.touch()
        out, err = first.communicate(timeout=300)
    assert first.returncode == ExitCode.OK, err
    assert {e["status"] for e in json.loads(out)["result"]["hosts"].values()} == {"clean"}
    assert not _lock(site, "h1").exists() and not _lock(site, "h2").exists()  # released at the end


def _plant(site: Path, host: str, run: str, *, controller: str = "elsewhere", age: dt.timedelta | None = None) -> None:
    started = dt.datetime.now(dt.UTC) - (age or dt.timedelta(0))
    (site / "locks").mkdir(exist_ok=True)
    record = {
        "run": run,
        "controller": controller,
        "controller_pid": 999999,
        "operator": "bob",
        "runs_dir": str((site / "runs").resolve()),
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    _lock(site, host).write_text(json.dumps(record))


def _took_over(run: Path) -> list[dict]:
    """The stale host locks the run took over, as its audit log records them."""
    return [r["data"] for r in _audit(run) if r["type"] == "decision" and r["data"]["kind"] == "lock-taken-over"]


def test_stale_locks_are_recognised_a_live_one_is_not(site):
    write_inventory(site, {}, count=4)
    dead = "20260101T000000Z-remediate-dead00"
    (site / "runs" / dead).mkdir(parents=True)
    (site / "runs" / dead / ".lock").write_text("1\n")  # ended: nobody holds its flock
    _plant(site, "h1", dead, controller=socket.gethostname())  # a run of this controller that ended
    _plant(site, "h2", "20260101T000000Z-remediate-old000", age=dt.timedelta(days=2))  # older than the max age
    _plant(site, "h3", "20260101T000000Z-remediate-other0")  # another controller's, fresh: live as far as we know
    _plant(site, "h4", "20260101T000000Z-remediate-broken")  # broken explicitly below

    result = ripreplace(site, *base(site, *ARGS))
    assert result.returncode == ExitCode.WINDOW, result.stderr
    hosts = _envelope(result)["result"]["hosts"]
    assert {h: e["status"] for h, e in hosts.items()} == {
        "h1": "clean",
        "h2": "clean",
        "h3": "locked",
        "h4": "locked",
    }
    assert hosts["h3"]["reason"].startswith("locked by 20260101T000000Z-remediate-other0 since ")
    assert touched(site) == ["h1", "h2"]
    (run,) = [r for r in runs(site) if r.name != dead]
    taken = sorted((t["host"], t["why"], t["run"]) for t in _took_over(run))
    assert taken == [("h1", "dead", dead), ("h2", "expired", "20260101T000000Z-remediate-old000")]
    assert ripreplace(site, "verify-log", str(run)).returncode == 0
    assert not _lock(site, "h1").exists() and _lock(site, "h3").exists()

    broke = ripreplace(site, *base(site, *ARGS, "--limit", "h4", "--break-lock", "20260101T000000Z-remediate-broken"))
    assert broke.returncode == ExitCode.OK, broke.stderr
    (run2,) = [r for r in runs(site) if r.name not in (dead, run.name)]
    assert [t["why"] for t in _took_over(run2)] == ["broken"]
    decisions = [r["data"] for r in _audit(run2) if r["type"] == "decision" and r["data"]["kind"] == "break-lock"]
    assert decisions and decisions[0]["run"] == "20260101T000000Z-remediate-broken"
    assert not _lock(site, "h4").exists() and _lock(site, "h3").exists()

    bad = ripreplace(site, *base(site, *ARGS, "--break-lock", "x;rm -rf /"))
    assert bad.returncode == ExitCode.USAGE and len(bad.stderr.strip().splitlines()) == 1


def test_resume_retakes_its_own_lock_and_a_double_resume_is_refused(site):
    write_inventory(site, {"h1": {"fail_me": True}}, count=2)
    first = ripreplace(site, *base(site, *ARGS))
    assert first.returncode == ExitCode.HOSTS_FAILED, first.stderr
    (run_a,) = runs(site)
    assert not _lock(site, "h1").exists()  # released on failure (always), the host still reachable
    # as if the campaign had been killed with h1 locked (another controller's name: only "own" applies)
    _plant(site, "h1", run_a.name)
    gate = site / "gate"
    write_inventory(site, {"h1": {"gate": str(gate)}}, count=2)
    for marker in (site / "markers").iterdir():
        marker.unlink()
    resuming = _start(site, *ARGS, "--resume", run_a.name)
    try:
        _wait_for([site / "markers" / "h1.touched"], resuming)
        twice = ripreplace(site, *base(site, *ARGS, "--resume", run_a.name))
        assert twice.returncode == ExitCode.USAGE
        assert twice.stderr.strip() == (
            f"ripreplace: error: --resume {run_a.name}: that run is already being resumed (pid {resuming.pid}); "
            "wait for it or stop it"
        )
        assert len([r for r in runs(site) if r.is_dir()]) == 2  # the refused one made no run directory
    finally:
        gate.touch()
        _out, err = resuming.communicate(timeout=300)
    assert resuming.returncode == ExitCode.OK, err
    run_b = next(r for r in runs(site) if r != run_a and r.is_dir())
    assert [t["why"] for t in _took_over(run_b)] == ["resumed"]
    assert not _lock(site, "h1").exists()
