# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Faults end cleanly (issue 11): a full disk, permission denied, a read-only runs directory, and the
operator's Ctrl-C / SIGTERM, on real runs of the stand-in campaign (tests/remediate_site.py).

The faults are real, not mocked: a small tmpfs filled up, ``chattr +i`` on the run directory, a
read-only bind mount. Each gives one line naming the file and the cause, exit 2 at the start (nothing
touched, nothing left) or 1 mid-run, a ``stop`` record where the log can still take one, no temporary
file, the last good ``state.json``; and ``remediate --resume`` finishes the campaign once the fault is
gone. Every mount is undone in a ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.remediate_site import BIN, base, make_site, ripreplace, touched, write_inventory

from ripreplace import collection, records
from ripreplace.constants import ExitCode

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"), reason="mounts and chattr need root"),
]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted at the end whatever happened."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> None:
    """Fill the file system to the last block (dd stops at ENOSPC)."""
    subprocess.run(["dd", "if=/dev/zero", f"of={disk / 'filler'}", "bs=4k"], capture_output=True, check=False)
    probe = subprocess.run(
        ["dd", "if=/dev/zero", f"of={disk / 'probe'}", "bs=4k", "count=1"], capture_output=True, check=False
    )
    assert b"No space left" in probe.stderr, "the disk is not full"
    (disk / "probe").unlink(missing_ok=True)


def start(site: Path, runs_dir: Path, *extra: str) -> subprocess.Popen[str]:
    args = base(site, "--window", "now/PT1H", "--batches", "1,100%", "--yes", *extra)
    args[args.index("--runs-dir") + 1] = str(runs_dir)
    return subprocess.Popen(
        [str(BIN / "ripreplace"), *args],
        cwd=site,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path())),
    )


def wait_at_gate(site: Path, proc: subprocess.Popen[str], runs_dir: Path) -> Path:
    """Until every host was touched (batch 2 waits for its gate); returns the run directory."""
    deadline = time.monotonic() + 240
    while touched(site) != ["h1", "h2", "h3", "h4"]:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the campaign never reached the gate"
        time.sleep(0.2)
    time.sleep(1)  # h2 is at its gate: h3 and h4 wait for it (linear strategy)
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    return run


def leftovers(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.name.endswith(".tmp"))


def log_records(run: Path) -> list[dict[str, object]]:
    out = []
    for line in (run / "audit.jsonl").read_bytes().splitlines():
        with contextlib.suppress(ValueError):  # a partial last line of a disk-full short write
            out.append(json.loads(line))
    return out


def stop_of(run: Path) -> dict[str, object]:
    (stop,) = [r["data"] for r in log_records(run) if r["type"] == "decision" and r["data"]["kind"] == "stop"]
    return stop  # type: ignore[return-value]


def resume(site: Path, runs_dir: Path, run: Path) -> dict[str, object]:
    write_inventory(site, {})
    args = base(site, "--window", "now/PT1H", "--resume", run.name, "--batches", "100%", "--yes", "--output", "json")
    args[args.index("--runs-dir") + 1] = str(runs_dir)
    resumed = ripreplace(site, *args)
    assert resumed.returncode == ExitCode.OK, resumed.stderr
    envelope = json.loads(resumed.stdout)
    assert envelope["result"]["counts"] == {"clean": 4}
    assert {h for h, e in envelope["result"]["hosts"].items() if e["targeted"]} == {"h2", "h3", "h4"}
    new = ripreplace(site, "verify-log", envelope["run_dir"])
    assert new.returncode == 0, new.stdout
    return envelope  # type: ignore[no-any-return]


def playbooks_of(run_id: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"ansible-playbook" in cmdline and run_id.encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def playbooks_gone(run_id: str) -> bool:
    """The stopped run's ansible-playbook is gone; a worker it forked (its own session since ansible-core 2.16)
    may still finish the module it is running, never start another: wait for it, bounded."""
    deadline = time.monotonic() + 120
    while playbooks_of(run_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ripreplace") and ": error: " in lines[0], stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_disk_full_mid_campaign_stops_cleanly_then_resume_finishes(site, small_disk):
    runs_dir = small_disk / "runs"
    write_inventory(site, {"h2": {"gate": str(site / "gate")}})
    proc = start(site, runs_dir)
    try:
        run = wait_at_gate(site, proc, runs_dir)
        before = json.loads((run / "state.json").read_text())
        # the log's next pages stay allocated (fallocate, keep size): the disk is full for every other file
        subprocess.run(["fallocate", "-n", "-o", str((run / "audit.jsonl").stat().st_size), "-l", "256k",
                        str(run / "audit.jsonl")], check=True)  # fmt: skip
        fill(small_disk)
        (site / "gate").touch()
        _out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == ExitCode.INTERNAL, err
    line = one_error_line(err)
    assert "No space left on device" in line and f"cannot write {run}/" in line
    assert f"--resume {run.name}" in line
    assert leftovers(small_disk) == []
    # nothing recorded is lost: state.json is whole (its last good version), the log verifies and says why
    state = json.loads((run / "state.json").read_text())
    assert state["hosts"]["h1"]["state"] == "verified" and state["hosts"]["h1"] == before["hosts"]["h1"]
    assert records.validate_run_dir(run)["state.json"] == []
    stop = stop_of(run)
    assert stop["by"] == "error" and "No space left on device" in str(stop["reason"])
    assert log_records(run)[-1]["type"] == "run-end"
    assert not (run / "summary.json").exists()
    old = ripreplace(site, "verify-log", str(run))
    assert old.returncode == 0 and old.stdout.startswith(f"{run}/audit.jsonl: OK"), old.stdout
    assert playbooks_gone(run.name)  # no ansible-playbook of the stopped run goes on changing hosts
    (small_disk / "filler").unlink()  # space is back
    envelope = resume(site, runs_dir, run)
    assert envelope["result"]["previous"]["log_status"] == "ok"
    assert leftovers(small_disk) == []


def test_permission_denied_mid_campaign_stops_cleanly_then_resume_finishes(site, tmp_path):
    runs_dir = tmp_path / "runs"
    write_inventory(site, {"h2": {"gate": str(site / "gate")}})
    proc = start(site, runs_dir)
    run = None
    try:
        run = wait_at_gate(site, proc, runs_dir)
        subprocess.run(["chattr", "+i", str(run)], check=True)  # no new file in it: state.json cannot be replaced
        (site / "gate").touch()
        _out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        if run is not None:
            subprocess.run(["chattr", "-i", str(run)], check=False)
    assert proc.returncode == ExitCode.INTERNAL, err
    line = one_error_line(err)
    assert f"cannot write {run}/state.json: Operation not permitted" in line, line
    assert leftovers(runs_dir) == []
    stop = stop_of(run)
    assert stop["by"] == "error" and "state.json: Operation not permitted" in str(stop["reason"])
    state = json.loads((run / "state.json").read_text())
    assert state["hosts"]["h1"]["state"] == "verified"
    assert ripreplace(site, "verify-log", str(run)).returncode == 0
    resume(site, runs_dir, run)


def test_an_audit_log_the_callback_cannot_write_stops_the_batch_then_resume_finishes(site, tmp_path):
    """Changes the log cannot record are not made: the callback's error cancels the running batch."""
    runs_dir = tmp_path / "runs"
    write_inventory(site, {"h2": {"gate": str(site / "gate")}})
    proc = start(site, runs_dir)
    log = None
    try:
        run = wait_at_gate(site, proc, runs_dir)
        log = run / "audit.jsonl"
        subprocess.run(["chattr", "+i", str(log)], check=True)  # every append fails (EPERM), state.json does not
        (site / "gate").touch()
        _out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        if log is not None:
            subprocess.run(["chattr", "-i", str(log)], check=False)
    assert proc.returncode == ExitCode.INTERNAL, err
    line = one_error_line(err)
    assert f"cannot write {run}/audit.jsonl: " in line and f"--resume {run.name}" in line, line
    assert playbooks_gone(run.name)
    state = json.loads((run / "state.json").read_text())
    assert state["hosts"]["h1"]["state"] == "verified"
    assert {state["hosts"][h]["state"] for h in ("h2", "h3", "h4")} == {"interrupted"}
    assert not any(s.get("state") == "removed" for s in state["hosts"]["h2"]["history"])  # stopped before it
    old = ripreplace(site, "verify-log", str(run))  # no stop record could be written: incomplete, never tampered
    assert old.returncode == ExitCode.LOG_INVALID and "INCOMPLETE RUN" in old.stdout, old.stdout
    assert leftovers(runs_dir) == []
    envelope = resume(site, runs_dir, run)
    assert envelope["result"]["previous"]["log_status"] == "incomplete"


def test_a_runs_directory_that_cannot_be_written_at_the_start_is_exit_2_and_leaves_nothing(site, small_disk, tmp_path):
    fill(small_disk)
    for command in (["audit"], base(site, "--window", "now/PT1H", "--yes")):
        args = [*command, "--runs-dir", str(small_disk / "runs")]
        result = ripreplace(site, *args)
        assert result.returncode == ExitCode.USAGE, result.stderr
        line = one_error_line(result.stderr)
        assert "No space left on device" in line and "nothing was done on any host" in line
        assert not (small_disk / "runs").exists() or list((small_disk / "runs").iterdir()) == []
    assert touched(site) == []
    # a read-only runs directory (a read-only bind mount) is refused with its cause, before anything
    ro = tmp_path / "ro"
    (tmp_path / "ro-src").mkdir()
    ro.mkdir()
    subprocess.run(["mount", "--bind", str(tmp_path / "ro-src"), str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
        result = ripreplace(site, *base(site, "--window", "now/PT1H", "--yes"), "--runs-dir", str(ro / "runs"))
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
    assert result.returncode == ExitCode.USAGE
    assert "read-only file system" in one_error_line(result.stderr)
    assert touched(site) == [] and list((tmp_path / "ro-src").iterdir()) == []


def test_a_report_that_cannot_be_written_is_one_line_and_leaves_no_temp_file(site, small_disk):
    runs_dir = site / "runs"
    done = ripreplace(site, *base(site, "--window", "now/PT1H", "--batches", "100%", "--yes", "--output", "json"))
    assert done.returncode == 0, done.stderr
    run = Path(json.loads(done.stdout)["run_dir"])
    assert run.parent == runs_dir
    fill(small_disk)
    target = small_disk / "report.html"
    result = ripreplace(site, "report", str(run), "--format", "html", "-o", str(target))
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert one_error_line(result.stderr).endswith(f"cannot write {target}: No space left on device")
    assert not target.exists() and leftovers(small_disk) == [] and sorted(os.listdir(small_disk)) == ["filler"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_of_the_wrapper_stops_cleanly_then_resume_finishes(site, sig):
    runs_dir = site / "runs"
    write_inventory(site, {"h2": {"gate": str(site / "gate")}})
    proc = start(site, runs_dir, "--output", "json")
    try:
        run = wait_at_gate(site, proc, runs_dir)
        proc.send_signal(sig)  # the wrapper only, as a terminal's Ctrl-C reaches it (ansible-playbook has its own)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        # h2's worker (its own session) finishes the module it was running, its wait for the gate: let it end
        (site / "gate").touch()
    assert playbooks_gone(run.name)
    assert proc.returncode == ExitCode.WINDOW, err
    summary = json.loads(out)["result"]
    assert summary["stop"]["by"] == "interrupt" and sig.name in summary["stop"]["reason"]
    assert summary["hosts"]["h1"]["status"] == "clean"
    assert {summary["hosts"][h]["state"] for h in ("h2", "h3", "h4")} == {"interrupted"}
    state = json.loads((run / "state.json").read_text())
    assert {h: e["state"] for h, e in state["hosts"].items()} == {
        "h1": "verified",
        "h2": "interrupted",
        "h3": "interrupted",
        "h4": "interrupted",
    }
    kinds = [r["data"]["kind"] for r in log_records(run) if r["type"] == "decision"]
    assert "cancel" in kinds and kinds[-1] == "stop" and stop_of(run)["by"] == "interrupt"
    assert ripreplace(site, "verify-log", str(run)).returncode == 0
    assert leftovers(runs_dir) == []
    envelope = resume(site, runs_dir, run)
    assert envelope["result"]["previous"]["log_status"] == "ok"
