#!/usr/bin/python
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: covered_lock
short_description: One remediation campaign at a time on a host - a lock file on the host itself
version_added: "0.1.0"
description:
  - Takes, releases or reads the campaign lock of a host, a small JSON file on the host itself
    (default C(/var/lib/ripreplace/lock)), so two campaigns collide even when they run from two
    controllers. The lock names the run that holds it, the controller, the operator, the
    controller's process id and the time it was taken.
  - With O(state=present) the lock is created atomically (C(O_CREAT|O_EXCL)). When another run
    holds it, nothing is changed and the module returns RV(locked) true with the reason
    C(locked by RUN_ID since TIME); it does B(not) fail, so the caller ends the host there.
  - A lock held by another run is taken over only when it is known to be stale - its run is one
    of O(own_runs) (the run being resumed), O(break_lock) names it, its run is in O(dead_runs)
    (a run of the same controller and runs directory that has ended) or it is older than
    O(max_age) seconds. RV(took_over) then says whose lock it was and why.
  - With O(state=absent) the lock is removed only when this run holds it; another run's lock is
    left alone. With O(state=query) the holder is only read.
  - Every read-decide-write is serialised on the host by an C(flock) on a guard file next to the
    lock, so two contenders never both believe they hold it.
author:
  - ripreplace developers (!UNKNOWN)
options:
  state:
    description:
      - C(present) takes the lock, C(absent) releases it, C(query) only reads who holds it.
    type: str
    choices: [present, absent, query]
    default: present
  path:
    description: The lock file on the host.
    type: path
    default: /var/lib/ripreplace/lock
  run_id:
    description: The run taking or releasing the lock (ripreplace's run id).
    type: str
    required: true
  controller:
    description: The controller's host name, recorded in the lock.
    type: str
    default: ""
  controller_pid:
    description: The controller process's id, recorded in the lock.
    type: int
    default: 0
  operator:
    description: Who runs the campaign, recorded in the lock.
    type: str
    default: ""
  runs_dir:
    description: The controller's runs directory, recorded in the lock.
    type: str
    default: ""
  own_runs:
    description: Runs whose lock this run takes over as its own (the run it resumes and the runs that one resumed).
    type: list
    elements: str
    default: []
  dead_runs:
    description:
      - Runs known to have ended on this controller (their wrapper process is gone). Their lock is
        taken over when the lock also names this controller and runs directory.
    type: list
    elements: str
    default: []
  break_lock:
    description: The run whose lock is taken over explicitly (C(ripreplace remediate --break-lock RUN_ID)).
    type: str
    default: ""
  max_age:
    description: Seconds after which any lock is stale and taken over; C(0) never.
    type: int
    default: 86400
attributes:
  check_mode:
    support: full
    description: Reports whether the lock would be taken or who holds it; writes nothing.
  diff_mode:
    support: none
    description: Returns no diff.
  platform:
    support: full
    platforms: posix
    description: Linux hosts (any POSIX host with Python 3.9 or later).
notes:
  - Runs on the target with the standard library only (Python 3.9 and later).
  - C(ripreplace audit) never takes or writes a lock. O(state=query) only reads who holds it.
seealso:
  - module: ripreplace.remediation.covered_remove
"""

EXAMPLES = r"""
- name: LOCK | Take the host's campaign lock
  ripreplace.remediation.covered_lock:
    run_id: "{{ ripreplace_run_id }}"
    controller: ctl01
    operator: alice
  register: lock_result

- name: LOCK | Leave a host another campaign holds
  ansible.builtin.meta: end_host
  when: lock_result.locked

- name: UNLOCK | Release it (only if this run holds it)
  ripreplace.remediation.covered_lock:
    state: absent
    run_id: "{{ ripreplace_run_id }}"
"""

RETURN = r"""
acquired:
  description: This run holds the lock now (or would, in check mode).
  returned: always
  type: bool
locked:
  description: Another run holds the lock; this host must not be touched.
  returned: always
  type: bool
reason:
  description: C(locked by RUN_ID since TIME) when RV(locked), else empty.
  returned: always
  type: str
holder:
  description:
    - The lock's content before this call (run, controller, controller_pid, operator, runs_dir, started), or null.
  returned: always
  type: dict
took_over:
  description: When a stale lock was taken over, C(run) and C(why) (resumed, broken, dead, expired).
  returned: always
  type: dict
released:
  description: With O(state=absent), the lock was this run's and is gone.
  returned: always
  type: bool
"""

import datetime as dt
import fcntl
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

_MAX_READ = 65536


def _read(path):
    """The holder's record, or None when there is no lock; an unreadable lock reads as an unknown run."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        data = os.read(fd, _MAX_READ)
        mtime = os.fstat(fd).st_mtime
    finally:
        os.close(fd)
    try:
        holder = json.loads(data.decode("utf-8"))
    except ValueError:
        holder = None
    if not isinstance(holder, dict) or not isinstance(holder.get("run"), str):
        holder = {"run": "unknown", "started": _iso(mtime), "unreadable": True}
    holder["_mtime"] = mtime
    return holder


def _iso(epoch):
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(holder):
    try:
        started = dt.datetime.strptime(str(holder.get("started")), "%Y-%m-%dT%H:%M:%SZ")
        epoch = started.replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        epoch = holder["_mtime"]
    return time.time() - min(epoch, holder["_mtime"])


def _stale(params, holder):
    """Why another run's lock may be taken over, or None."""
    run = holder["run"]
    if run in params["own_runs"]:
        return "resumed"
    if params["break_lock"] and run == params["break_lock"]:
        return "broken"
    same_controller = holder.get("controller") == params["controller"] and holder.get("runs_dir") == params["runs_dir"]
    if same_controller and run in params["dead_runs"]:
        return "dead"
    if params["max_age"] > 0 and _age(holder) > params["max_age"]:
        return "expired"
    return None


def _write(path, record):
    """Create the lock atomically; False if it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    try:
        os.write(fd, json.dumps(record, sort_keys=True).encode("utf-8") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def _public(holder):
    return None if holder is None else {k: v for k, v in holder.items() if not k.startswith("_")}


def _acquire(module, params, result):
    path = params["path"]
    holder = _read(path)
    result["holder"] = _public(holder)
    if holder is not None and holder["run"] == params["run_id"]:
        result["acquired"] = True
        return
    if holder is not None:
        why = _stale(params, holder)
        if why is None:
            result["locked"] = True
            result["reason"] = "locked by %s since %s" % (holder["run"], holder.get("started", "?"))
            return
        result["took_over"] = {"run": holder["run"], "why": why}
    result["acquired"] = True
    result["changed"] = True
    if module.check_mode:
        return
    if holder is not None:
        os.unlink(path)
    record = {
        "run": params["run_id"],
        "controller": params["controller"],
        "controller_pid": params["controller_pid"],
        "operator": params["operator"],
        "runs_dir": params["runs_dir"],
        "started": _iso(time.time()),
    }
    if not _write(path, record):  # cannot happen under the guard; never overwrite another run's lock
        module.fail_json(msg="%s: appeared while taking it; not overwritten" % path, **result)


def _release(module, params, result):
    holder = _read(params["path"])
    result["holder"] = _public(holder)
    if holder is None or holder["run"] != params["run_id"]:
        return
    result["released"] = True
    result["changed"] = True
    if not module.check_mode:
        os.unlink(params["path"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent", "query"], default="present"),
            path=dict(type="path", default="/var/lib/ripreplace/lock"),
            run_id=dict(type="str", required=True),
            controller=dict(type="str", default=""),
            controller_pid=dict(type="int", default=0),
            operator=dict(type="str", default=""),
            runs_dir=dict(type="str", default=""),
            own_runs=dict(type="list", elements="str", default=[]),
            dead_runs=dict(type="list", elements="str", default=[]),
            break_lock=dict(type="str", default=""),
            max_age=dict(type="int", default=86400),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, acquired=False, locked=False, reason="", holder=None, took_over=None, released=False)
    if not params["run_id"].strip():
        module.fail_json(msg="run_id must not be empty", **result)
    path = params["path"]
    if params["state"] == "query" or (module.check_mode and not os.path.isdir(os.path.dirname(path))):
        holder = _read(path) if os.path.isdir(os.path.dirname(path)) else None
        result["holder"] = _public(holder)
        if holder is not None and holder["run"] != params["run_id"]:
            result["locked"] = True
            result["reason"] = "locked by %s since %s" % (holder["run"], holder.get("started", "?"))
        elif params["state"] == "present":
            result["acquired"] = result["changed"] = True
        module.exit_json(**result)
    try:
        if not module.check_mode:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        guard = (
            os.open(path + ".guard", os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600) if not module.check_mode else None
        )
        try:
            if guard is not None:
                fcntl.flock(guard, fcntl.LOCK_EX)  # released when closed, or when this process dies
            (_acquire if params["state"] == "present" else _release)(module, params, result)
        finally:
            if guard is not None:
                os.close(guard)
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (path, exc.strerror or exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
