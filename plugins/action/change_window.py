# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""ripreplace.remediation.change_window: refuse a host outside its change window; require a ticket.

Runs on the controller only (it never connects to the host): reads the window with the parser the
``ripreplace`` command uses (``plugins/plugin_utils/windows.py`` and ``window_file.py``), judges the
host by its inventory groups at the current time, and fails the host with the window's reason
(``outside its change window: the window ended at ...``) when it may not be changed. See the
DOCUMENTATION of ``plugins/modules/change_window.py``.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.ripreplace.remediation.plugins.plugin_utils import window_file as window_files
from ansible_collections.ripreplace.remediation.plugins.plugin_utils import windows

ARGUMENT_SPEC = {
    "window": {"type": "str"},
    "window_file": {"type": "path"},
    "ticket": {"type": "str", "default": ""},
    "groups": {"type": "list", "elements": "str"},
    "verified": {"type": "dict"},
}
#: What the ripreplace command sets in the environment of the playbooks it runs (ripreplace.runner).
WRAPPED_ENV = "RIPREPLACE_WRAPPED"
RUN_ID_ENV = "RIPREPLACE_RUN_ID"
NO_TICKET = (
    "no change ticket: set ripreplace_ticket (for example -e ripreplace_ticket=CHG-1234) or RIPREPLACE_TICKET; "
    "ripreplace changes no host without one"
)
NO_WINDOW = (
    "no change window: set ripreplace_window (START/END, START/PT3H or now/PT2H, ISO 8601 with a UTC offset) "
    "or ripreplace_window_file (a ripreplace-windows/1 file on the controller)"
)
TWO_WINDOWS = "give one change window: ripreplace_window or ripreplace_window_file, not both"


def utcnow():
    """The current time in UTC (the guard's one clock; unit tests replace it)."""
    return datetime.datetime.now(datetime.timezone.utc)


def load_schedule(window, window_file, now):
    """The schedule of ``window`` (an interval) or ``window_file``; :class:`windows.WindowError` otherwise."""
    if window and window_file:
        raise windows.UsageError(TWO_WINDOWS)
    if window_file:
        return window_files.load_window_file(Path(window_file), now=now)
    if window:
        return windows.parse_interval(window, now=now, label="ripreplace_window")
    raise windows.UsageError(NO_WINDOW)


def wrapper_check(verified, environ):
    """The ripreplace command checked this batch's window itself: the run it names must be the run this
    playbook belongs to (the environment the command sets), or the guard refuses. Returns what it
    relied on, or raises AnsibleActionFail with one line."""
    run = verified.get("run")
    if environ.get(WRAPPED_ENV) != "1" or not run or environ.get(RUN_ID_ENV) != str(run):
        raise AnsibleActionFail(
            "ripreplace_window_verified is set by the ripreplace command for the batches of its own run only; "
            "this playbook is not run by it (%s=%r): give ripreplace_window or ripreplace_window_file instead"
            % (RUN_ID_ENV, environ.get(RUN_ID_ENV))
        )
    return {"verified_by": "ripreplace", "run": str(run), "batch": verified.get("batch")}


def judge(schedule, groups, now):
    """The result of the window check for one host at ``now``: (failed, data)."""
    check = windows.check_host(schedule, groups, now)
    data = {"now": windows.iso(now), "schedule": schedule.as_dict(), "groups": sorted(groups)}
    if check.is_open:
        data["window"] = check.window.as_dict()
        data["remaining_s"] = int((check.window.closes - now).total_seconds())
        return False, data
    data["reason"] = check.reason
    if check.next_window is not None:
        data["next_window"] = check.next_window.as_dict()
    if check.ended is not None:
        data["ended"] = windows.iso(check.ended)
    return True, data


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result["changed"] = False
        ticket = (args["ticket"] or "").strip()
        if not ticket:
            raise AnsibleActionFail(NO_TICKET)
        result["ticket"] = ticket
        if args["verified"]:
            result.update(wrapper_check(args["verified"], os.environ))
            result["msg"] = "window checked by the ripreplace command (run %s)" % result["run"]
            return result
        groups = args["groups"]
        if groups is None:
            groups = list(task_vars.get("group_names") or [])
        groups = sorted({str(g) for g in groups if isinstance(g, str)} | {windows.ALL})
        now = utcnow()
        try:
            schedule = load_schedule(args["window"], args["window_file"], now)
            failed, data = judge(schedule, groups, now)
        except windows.WindowError as exc:
            raise AnsibleActionFail(str(exc)) from None
        result.update(data)
        if failed:
            result["failed"] = True
            result["msg"] = "%s (ticket %s; window %s)" % (data["reason"], ticket, schedule.description)
        else:
            window = data["window"]
            result["msg"] = "inside the change window %s until %s (ticket %s)" % (
                window["name"],
                window["closes"],
                ticket,
            )
        return result
