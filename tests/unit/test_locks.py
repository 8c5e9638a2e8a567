# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""One operator at a time, controller side: the locked state, its exit code, the resume lock, --break-lock."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
from tests.collection_code import load

from ripreplace import records, remediate, runlocks
from ripreplace.campaign import HostProgress, HostState, StateTracker
from ripreplace.campaign.state import host_status
from ripreplace.constants import ExitCode
from ripreplace.exceptions import UsageError


def _lock_event(host: str, res: dict) -> dict:
    return {"event": "runner_on_ok", "event_data": {"host": host, "resolved_action": records.LOCK_ACTION, "res": res}}


def test_a_host_another_run_holds_is_locked_with_the_reason_and_exits_5():
    tracker = StateTracker("r2", {"h1": HostProgress(), "h2": HostProgress()})
    tracker(_lock_event("h1", {"locked": True, "reason": "locked by r1 since 2026-12-03T10:00:00Z"}))
    tracker(_lock_event("h2", {"locked": False, "acquired": True}))
    assert tracker.hosts["h1"].state == HostState.LOCKED and tracker.hosts["h2"].state == HostState.PENDING
    assert host_status(tracker.hosts["h1"]) == ("locked", "locked by r1 since 2026-12-03T10:00:00Z")
    tracker.finish_batch(["h1"], canceled=False, result=None)
    assert tracker.hosts["h1"].state == HostState.LOCKED  # an end state: not failed at the batch's end


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ({"locked"}, ExitCode.WINDOW),
        ({"locked", "remediated"}, ExitCode.WINDOW),
        ({"locked", "failed"}, ExitCode.HOSTS_FAILED),
        ({"remediated"}, ExitCode.OK),
    ],
)
def test_exit_code_of_locked_hosts(statuses, code):
    hosts = {f"h{n}": {"status": s} for n, s in enumerate(sorted(statuses))}
    assert records.exit_code_for("remediate", hosts) == code


def _previous(tmp_path: Path, run: str = "20260101T000000Z-remediate-aaaaaa") -> remediate.Previous:
    (tmp_path / run).mkdir()
    return remediate.Previous(run, tmp_path / run, "0" * 64, "ok", "", 1, "", ())


def test_a_second_resume_of_the_same_run_is_refused_and_a_dead_holder_releases_it(tmp_path):
    previous = _previous(tmp_path)
    fd = runlocks.hold_resume_lock(previous)
    try:
        with pytest.raises(UsageError, match=r"already being resumed \(pid \d+\)"):
            runlocks.hold_resume_lock(previous)
    finally:
        os.close(fd)
    os.close(runlocks.hold_resume_lock(previous))  # released: taken again
    assert list((tmp_path / previous.run).iterdir()) == []  # the resumed run's directory is not written


@pytest.mark.parametrize("value", ["", ".", "..", "../r", "x;rm -rf /", "a b", "r\n1", "r1\n", "x" * 129])
def test_break_lock_must_be_a_run_id(value):
    with pytest.raises(UsageError, match="--break-lock"):
        runlocks.validate_break_lock(value)


def test_the_resume_chain_names_every_run_resumed(tmp_path):
    for run, earlier in (("r3", "r2"), ("r2", "r1"), ("r1", None)):
        (tmp_path / run).mkdir()
        manifest = {"resumes": {"run": earlier} if earlier else None}
        (tmp_path / run / "manifest.json").write_text(json.dumps(manifest))
    chain = runlocks.chain(tmp_path, "r3", json.loads((tmp_path / "r3" / "manifest.json").read_text()))
    assert chain == ("r3", "r2", "r1")


lock_module = load("plugins.modules.covered_lock")


def _module(tmp_path: Path, **args: object) -> dict:
    """The module's main() as AnsiballZ runs it (its arguments where AnsiballZ puts them), in this process."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    argv = {"ANSIBLE_MODULE_ARGS": {"path": str(tmp_path / "l" / "lock"), **args}}
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(argv)))
        patch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        with pytest.raises(SystemExit):
            lock_module.main()
    return json.loads(out.getvalue())


def test_module_takes_refuses_releases_only_its_own(tmp_path):
    first = _module(tmp_path, run_id="r1", controller="c1", operator="alice")
    assert first["acquired"] and first["changed"] and not first["locked"]
    held = json.loads((tmp_path / "l" / "lock").read_text())
    assert held["run"] == "r1" and held["operator"] == "alice"
    assert os.stat(tmp_path / "l" / "lock").st_mode & 0o777 == 0o600
    second = _module(tmp_path, run_id="r2")
    assert second["locked"] and not second["acquired"] and not second["changed"]
    assert second["reason"] == f"locked by r1 since {held['started']}"
    assert not _module(tmp_path, run_id="r2", state="absent")["released"]  # not its lock
    assert _module(tmp_path, run_id="r1")["acquired"]  # its own again: no change
    assert json.loads((tmp_path / "l" / "lock").read_text()) == held
    assert _module(tmp_path, run_id="r1", state="absent")["released"]
    assert not (tmp_path / "l" / "lock").exists()


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ({"own_runs": ["r1"]}, "resumed"),
        ({"break_lock": "r1"}, "broken"),
        ({"dead_runs": ["r1"], "controller": "c1", "runs_dir": "/runs"}, "dead"),
        ({"max_age": 3600}, None),
    ],
)
def test_module_takes_over_stale_locks_only(tmp_path, args, why):
    _module(tmp_path, run_id="r1", controller="c1", runs_dir="/runs")
    result = _module(tmp_path, run_id="r2", **args)
    if why is None:  # one second old at most: not expired
        assert result["locked"]
        return
    assert result["took_over"] == {"run": "r1", "why": why} and result["acquired"]
    assert json.loads((tmp_path / "l" / "lock").read_text())["run"] == "r2"


def test_module_dead_run_of_another_controller_is_not_stale(tmp_path):
    _module(tmp_path, run_id="r1", controller="c1", runs_dir="/runs")
    assert _module(tmp_path, run_id="r2", dead_runs=["r1"], controller="c2", runs_dir="/runs")["locked"]


def test_module_expired_and_unreadable_locks(tmp_path):
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "lock").write_text("garbage")
    os.utime(tmp_path / "l" / "lock", (1, 1))
    result = _module(tmp_path, run_id="r2")
    assert result["took_over"]["why"] == "expired" and result["took_over"]["run"] == "unknown"


def test_module_check_mode_writes_nothing(tmp_path):
    result = _module(tmp_path, run_id="r1", _ansible_check_mode=True)
    assert result["acquired"] and not (tmp_path / "l").exists()
    _module(tmp_path, run_id="r1")
    other = _module(tmp_path, run_id="r2", _ansible_check_mode=True, break_lock="r1")
    assert other["took_over"]["why"] == "broken"
    assert json.loads((tmp_path / "l" / "lock").read_text())["run"] == "r1"  # nothing taken in check mode
    query = _module(tmp_path, run_id="audit", state="query")
    assert query["locked"] and query["holder"]["run"] == "r1" and not query["changed"]
