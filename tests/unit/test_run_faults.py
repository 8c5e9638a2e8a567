# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Write faults of the run directory (issue 11, "Faults end cleanly"): the atomic writer leaves no temporary
file and names the file, the log names itself, and the run's helpers (``ripreplace.runfaults``) turn a
fault into one line with the right exit code. A mock only at the edge (the system call that fails); the
real faults (a full tmpfs, chattr, a read-only mount) are in tests/integration/test_run_faults_e2e.py.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from tests.remediate_site import make_site

from ripreplace import auditlog, remediate, rundir, runfaults, runner
from ripreplace.auditlog import files
from ripreplace.constants import ExitCode
from ripreplace.exceptions import RunDirFault, RunDirUnusable

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def _fail_on(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, name, fail)


@pytest.mark.parametrize("call", ["fsync", "replace"])
def test_atomic_write_that_fails_leaves_the_old_file_and_no_temp_and_names_the_file(tmp_path, monkeypatch, call):
    target = tmp_path / "state.json"
    files.write_json_atomic(target, {"good": 1})
    with monkeypatch.context() as patch:
        _fail_on(patch, call)
        with pytest.raises(OSError) as caught:
            files.write_json_atomic(target, {"new": 2})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert runfaults.describe(caught.value) == f"cannot write {target}: No space left on device"
    assert json.loads(target.read_text()) == {"good": 1}  # nothing recorded is lost
    assert sorted(os.listdir(tmp_path)) == ["state.json"]  # no .state.json.<pid>.tmp


def test_atomic_write_into_a_directory_it_cannot_create_in_names_the_target_not_the_temp(tmp_path):
    target = tmp_path / "missing" / "summary.json"
    with pytest.raises(OSError) as caught:
        files.write_json_atomic(target, {})
    assert caught.value.filename == str(target) and caught.value.errno == errno.ENOENT


def test_a_log_record_the_disk_cannot_take_names_the_log_and_the_chain_goes_on_after(tmp_path, monkeypatch):
    path = tmp_path / "audit.jsonl"
    log = auditlog.AuditLog(path, run_id="r1", fsync_interval=0)
    log.run_start({"run": "r1"})
    real_write = os.write
    calls = {"n": 0}

    def short_then_full(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[:10]))  # a disk-full short write: part of a line
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", short_then_full)
        with pytest.raises(OSError) as caught:
            log.decision("batch-start", batch=1)
    assert caught.value.filename == str(path)
    log.decision("stop", reason="cannot write state.json", by="error")  # space is back: a truncation record first
    log.run_end(status="error")
    log.close()
    kinds = [r["type"] for r in auditlog.iter_records(path)]
    assert kinds == ["run-start", "truncation", "decision", "run-end"]
    verdict = auditlog.verify(path)
    assert verdict.ok, verdict.one_line()


def test_fault_of_finds_the_oserror_behind_a_wrapped_error():
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system", "/r/x")
        except OSError as exc:
            raise auditlog.AuditChainError("cannot open the audit log") from exc
    except auditlog.AuditChainError as outer:
        fault = runfaults.fault_of(outer)
    assert fault is not None and runfaults.describe(fault) == "cannot write /r/x: Read-only file system"
    assert runfaults.fault_of(KeyError("x")) is None
    assert runfaults.fault_of(OSError(errno.ECONNREFUSED, "refused")) is None  # not a write fault


def test_a_fault_at_the_start_removes_the_run_directory_and_is_exit_2(tmp_path):
    run = rundir.RunDir.create(tmp_path, "audit", run_id="r1")
    run.write_manifest({"run": "r1"})
    with pytest.raises(RunDirUnusable) as caught, runfaults.starting(run):
        raise OSError(errno.ENOSPC, "No space left on device", str(run.audit_log_path))
    assert caught.value.exit_code == ExitCode.USAGE
    expected = f"cannot write {run.audit_log_path}: No space left on device: nothing was done on any host"
    assert str(caught.value) == expected
    assert os.listdir(tmp_path) == []


def test_a_run_whose_log_recorded_something_is_never_removed(tmp_path):
    run = rundir.RunDir.create(tmp_path, "remediate", run_id="r1")
    with auditlog.AuditLog(run.audit_log_path, run_id="r1") as log:
        log.run_start({"run": "r1"})
        with pytest.raises(RunDirUnusable) as caught, runfaults.starting(run, log):
            raise OSError(errno.ENOSPC, "No space left on device", str(run.state_path))
    assert "run r1 stopped before touching any host" in str(caught.value)
    kinds = [(r["type"], r["data"].get("kind")) for r in auditlog.iter_records(run.audit_log_path)]
    assert kinds == [("run-start", None), ("decision", "stop"), ("run-end", None)]
    assert not runfaults.discard(run) and run.path.is_dir()
    error = runfaults.after_error(OSError(errno.EPERM, "Operation not permitted", "x"), run, resume_hint="resume")
    assert isinstance(error, RunDirFault) and error.exit_code == ExitCode.INTERNAL
    boom = KeyError("bug")
    assert runfaults.after_error(boom, run, resume_hint="resume") is boom  # a bug stays a bug


class _Tracker:
    fault: OSError | None = None


def test_the_fault_watch_cancels_the_batch_and_raises_the_fault_after_it(tmp_path):
    tracker = _Tracker()
    watch = runfaults.FaultWatch(tracker, tmp_path / "audit.jsonl")
    polls: list[bool] = []

    def run_batch(hosts, number, on_event, cancel, *, attempt=1):
        polls.append(cancel())
        tracker.fault = OSError(errno.ENOSPC, "No space left on device", "state.json")  # a save failed mid-batch
        polls.append(cancel())
        return runner.PlaybookResult("canceled", 254, {})

    with pytest.raises(OSError) as caught:
        watch.wrap(run_batch)(["h1"], 1, lambda event: None, lambda: False)
    assert polls == [False, True] and caught.value is tracker.fault


def test_the_fault_watch_stops_a_batch_whose_changes_the_callback_cannot_record(tmp_path):
    watch = runfaults.FaultWatch(_Tracker(), tmp_path / "audit.jsonl")
    polls: list[bool] = []
    message = "[ERROR]: [ripreplace.remediation.audit_log] cannot write a task record to x: [Errno 28] No space"

    def run_batch(hosts, number, on_event, cancel, *, attempt=1):
        on_event({"event": "verbose", "stdout": "ok: [h1]"})
        polls.append(cancel())
        on_event({"event": "error", "stdout": message})
        polls.append(cancel())
        return runner.PlaybookResult("canceled", 254, {})

    with pytest.raises(OSError) as caught:
        watch.wrap(run_batch)(["h1"], 1, lambda event: None, lambda: False)
    assert polls == [False, True]
    said = runfaults.describe(caught.value)
    assert said.startswith(f"cannot write {tmp_path / 'audit.jsonl'}: the audit_log callback")


def test_a_summary_that_cannot_be_written_closes_the_run_with_a_stop_record_exit_1(tmp_path, monkeypatch):
    site = make_site(tmp_path)
    inputs = remediate.validate(
        remediate.RemediateRequest(
            inventory=site / "inv.yml",
            ticket="CHG-1",
            window="now/PT1H",
            window_file=None,
            batches="100%",
            runs_dir=site / "runs",
            playbook=site / "standin.yml",
        )
    )

    def factory(run):
        def run_batch(hosts, number, on_event, cancel, *, attempt=1):
            return runner.PlaybookResult("successful", 0, {})

        return run_batch

    def full(self, summary):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.summary_path))

    monkeypatch.setattr(rundir.RunDir, "write_summary", full)

    class Quiet:
        def __getattr__(self, name):
            return lambda *a, **k: None

    with pytest.raises(RunDirFault) as caught:
        remediate.execute(inputs, progress=Quiet(), run_batch_factory=factory)
    (run,) = (site / "runs").iterdir()
    assert str(caught.value).startswith(f"cannot write {run}/summary.json: No space left on device: run {run.name}")
    assert f"--resume {run.name}" in str(caught.value)
    records = list(auditlog.iter_records(run / "audit.jsonl"))
    assert records[-2]["data"]["kind"] == "stop" and records[-2]["data"]["by"] == "error"
    assert records[-1]["type"] == "run-end" and records[-1]["data"]["status"] == "error"
    assert json.loads((run / "state.json").read_text())["hosts"]["h1"]["state"] == "failed"
    assert auditlog.verify_run(run).ok
    assert sorted(p.name for p in run.iterdir() if p.name.endswith(".tmp")) == []
    assert not Path(run / "summary.json").exists()


def test_the_fault_watch_reads_an_error_that_ansible_wrapped_at_80_columns(tmp_path):
    """ansible-core before 2.19 wraps an error's text: the marker is found across the line break."""
    watch = runfaults.FaultWatch(_Tracker(), tmp_path / "audit.jsonl")
    wrapped = "[ERROR]: [ripreplace.remediation.audit_log] the audit log is NOT being\nwritten: cannot open it"

    def run_batch(hosts, number, on_event, cancel, *, attempt=1):
        on_event({"event": "error", "stdout": wrapped})
        assert cancel() is True
        return runner.PlaybookResult("failed", 99, {})

    with pytest.raises(OSError) as caught:
        watch.wrap(run_batch)(["h1"], 1, lambda event: None, lambda: False)
    assert "the audit log is NOT being written: cannot open it" in runfaults.describe(caught.value)
