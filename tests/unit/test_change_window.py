# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The change-window guard (action plugin ripreplace.remediation.change_window), run as ansible runs it.

The plugin's ``run`` with real task arguments and task vars; only the clock, the task object and the
connection (which the guard never uses) are stand-ins. The window parser is the collection's own,
the one ``ripreplace remediate`` uses (tests/unit/test_windows.py covers it in depth).
"""

from __future__ import annotations

import datetime as dt
import types
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail
from tests import collection_code

from ripreplace import windows

NOW = dt.datetime(2026, 12, 5, 7, 0, tzinfo=dt.UTC)  # a Saturday, 02:00 in New York


def guard():
    return collection_code.load("plugins.action.change_window")


class _Shell:
    tmpdir = "/nonexistent"  # never used: the guard needs no temporary directory on the host


def run(args, *, task_vars=None, monkeypatch, now=NOW, environ=None):
    mod = guard()
    monkeypatch.setattr(mod, "utcnow", lambda: now)
    monkeypatch.setattr(mod.os, "environ", dict(environ or {}))
    task = types.SimpleNamespace(
        args=dict(args), action="ripreplace.remediation.change_window", async_val=0, check_mode=False
    )
    connection = types.SimpleNamespace(_shell=_Shell())
    action = mod.ActionModule(task, connection, None, None, None, None)
    return action.run(task_vars=task_vars if task_vars is not None else {"group_names": ["web"]})


WINDOW_FILE = """\
format: ripreplace-windows/1
timezone: America/New_York
windows:
  - name: night
    groups: [web]
    rrule: FREQ=DAILY
    start: "01:00"
    duration: PT3H
  - name: weekend
    groups: [db]
    rrule: FREQ=WEEKLY;BYDAY=SU
    start: "10:00"
    duration: PT2H
blackouts:
  - date: 2026-12-06
    reason: year-end freeze
    groups: [web]
"""


@pytest.mark.parametrize(
    ("window", "failed", "reason"),
    [
        ("2026-12-05T06:00:00Z/PT3H", False, None),
        ("2026-12-05T01:00:00-05:00/2026-12-05T02:00:00-05:00", True, "the window ended at 2026-12-05T07:00:00Z"),
        ("2026-12-05T03:00:00Z/PT1H", True, "the window ended at 2026-12-05T04:00:00Z"),
        ("2026-12-06T06:00:00Z/PT3H", True, "the next window ripreplace_window opens at 2026-12-06T06:00:00Z"),
        ("now/PT2H", False, None),
    ],
)
def test_an_interval_lets_hosts_inside_it_through_and_fails_the_others_with_its_reason(
    monkeypatch, window, failed, reason
):
    result = run({"window": window, "ticket": "CHG-1"}, monkeypatch=monkeypatch)
    assert result["changed"] is False and result["ticket"] == "CHG-1"
    assert bool(result.get("failed")) is failed
    if failed:
        assert result["reason"] == f"outside its change window: {reason}"
        assert result["msg"].startswith(result["reason"]) and "CHG-1" in result["msg"]
        assert "window" not in result
    else:
        assert result["window"]["name"] == "ripreplace_window" and result["remaining_s"] > 0
        assert result["msg"].startswith("inside the change window")


def test_the_window_closes_at_its_end_exactly(monkeypatch):
    args = {"window": "2026-12-05T06:00:00Z/PT1H", "ticket": "CHG-1"}
    just_before = run(args, monkeypatch=monkeypatch, now=NOW - dt.timedelta(seconds=1))
    assert not just_before.get("failed") and just_before["remaining_s"] == 1
    at_end = run(args, monkeypatch=monkeypatch, now=NOW)
    assert at_end["failed"] and at_end["ended"] == "2026-12-05T07:00:00Z"


@pytest.mark.parametrize(
    "case",
    [
        (["web"], NOW, False, None),  # 02:00 in New York: night is open
        (["web"], NOW + dt.timedelta(hours=3), True, "the next window night opens at 2026-12-07T06:00:00Z"),
        (["web"], dt.datetime(2026, 12, 6, 7, tzinfo=dt.UTC), True, "blackout: year-end freeze: the next window"),
        (["db"], NOW, True, "the next window weekend opens at 2026-12-06T15:00:00Z"),
        (["db"], dt.datetime(2026, 12, 6, 16, tzinfo=dt.UTC), False, None),  # the blackout is web's only
        ([], NOW, True, "outside its change window: no window opens in the next 400 days"),
    ],
)
def test_a_window_file_judges_each_host_by_its_groups(tmp_path, monkeypatch, case):
    groups, now, failed, reason = case
    path = tmp_path / "windows.yml"
    path.write_text(WINDOW_FILE)
    result = run(
        {"window_file": str(path), "ticket": "CHG-2"},
        task_vars={"group_names": groups},
        monkeypatch=monkeypatch,
        now=now,
    )
    assert bool(result.get("failed")) is failed, result
    assert result["groups"] == sorted({*groups, "all"})
    assert result["schedule"]["kind"] == "file" and len(result["schedule"]["sha256"]) == 64
    if failed:
        assert reason in result["reason"]


def test_the_groups_option_overrides_the_hosts_groups(tmp_path, monkeypatch):
    path = tmp_path / "windows.yml"
    path.write_text(WINDOW_FILE)
    args = {"window_file": str(path), "ticket": "CHG-2", "groups": ["db"]}
    assert run(args, task_vars={"group_names": ["web"]}, monkeypatch=monkeypatch)["failed"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"window": "now/PT1H"}, "no change ticket: set ripreplace_ticket"),
        ({"window": "now/PT1H", "ticket": "   "}, "no change ticket"),
        ({"ticket": "CHG-1"}, "no change window: set ripreplace_window"),
        ({"ticket": "CHG-1", "window": "now/PT1H", "window_file": "/x.yml"}, "give one change window"),
        (
            {"ticket": "CHG-1", "window": "2026-12-05T01:00:00/PT3H"},
            "ripreplace_window start '2026-12-05T01:00:00' has no UTC",
        ),
        ({"ticket": "CHG-1", "window": "tonight"}, "ripreplace_window 'tonight' is not an ISO 8601 interval"),
        ({"ticket": "CHG-1", "window": "now/P1M"}, "uses months or years"),
        ({"ticket": "CHG-1", "window_file": "/nonexistent/w.yml"}, "/nonexistent/w.yml: window file not found"),
        ({"ticket": "CHG-1", "window": "now/PT1H", "colour": "red"}, "Invalid options"),
    ],
)
def test_bad_input_is_one_line_and_fails_the_host(monkeypatch, args, message):
    with pytest.raises(AnsibleActionFail) as caught:
        run(args, monkeypatch=monkeypatch)
    text = str(caught.value)
    assert message in text and "\n" not in text and "Traceback" not in text


def test_a_bad_window_file_names_the_place(tmp_path, monkeypatch):
    path = tmp_path / "w.yml"
    path.write_text(WINDOW_FILE.replace('start: "01:00"', 'start: "25:00"'))
    with pytest.raises(AnsibleActionFail, match=r"w.yml: windows/0/start"):
        run({"ticket": "CHG-1", "window_file": str(path)}, monkeypatch=monkeypatch)


def test_the_ticket_is_checked_before_the_window(monkeypatch):
    with pytest.raises(AnsibleActionFail, match="no change ticket"):
        run({"window": "2020-01-01T00:00:00Z/PT1H"}, monkeypatch=monkeypatch)


def test_the_wrappers_own_check_passes_for_its_own_run_only(monkeypatch):
    verified = {"run": "20261205T060000Z-remediate-3fa2c1", "batch": 2}
    env = {"RIPREPLACE_WRAPPED": "1", "RIPREPLACE_RUN_ID": verified["run"]}
    ok = run({"ticket": "CHG-1", "verified": verified}, monkeypatch=monkeypatch, environ=env)
    assert not ok.get("failed") and ok["verified_by"] == "ripreplace" and ok["run"] == verified["run"]
    assert ok["batch"] == 2 and "window" not in ok
    for environ in ({}, {**env, "RIPREPLACE_WRAPPED": "0"}, {**env, "RIPREPLACE_RUN_ID": "another-run"}):
        with pytest.raises(AnsibleActionFail, match="set by the ripreplace command for the batches of its own run"):
            run({"ticket": "CHG-1", "verified": verified}, monkeypatch=monkeypatch, environ=environ)
    with pytest.raises(AnsibleActionFail, match="no change ticket"):
        run({"verified": verified}, monkeypatch=monkeypatch, environ=env)


def test_the_guard_and_the_command_read_a_window_alike(tmp_path):
    """The wrapper's facade and the plugin run the same parser: same open window, same closing time."""
    path = tmp_path / "windows.yml"
    path.write_text(WINDOW_FILE)
    schedule = windows.load_window_file(path, now=NOW)
    mine = windows.check_host(schedule, ["web", "all"], NOW)
    assert mine.is_open and mine.window is not None and windows.iso(mine.window.closes) == "2026-12-05T09:00:00Z"
    plugin_file = collection_code.load("plugins.plugin_utils.window_file")
    theirs = plugin_file.load_window_file(Path(path), now=NOW)
    assert theirs.as_dict() == schedule.as_dict()
