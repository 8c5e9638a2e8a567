# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What the ``audit_log`` callback records of ansible's events: small accessors and the task record.

Only the callback imports this file (inside ``ansible-playbook``); it reads ansible's result, host
and task objects through accessors that tolerate the differences between ansible-core versions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .audit_record import ITEM, RETRY, TASK
from .audit_redact import REDACTED_NO_LOG, Redactor, secret_values
from .run_files import isotime, sha256_file, utcnow

try:
    from ansible.module_utils.common.text.converters import to_text
except ImportError:  # pragma: no cover - only outside ansible (documentation builds)
    to_text = str  # type: ignore[assignment]


def result_data(result: Any) -> dict[str, Any]:
    data = getattr(result, "result", None)
    if data is None:
        data = getattr(result, "_result", None)
    return data if isinstance(data, dict) else {}


def host_name(result: Any) -> str | None:
    host = getattr(result, "host", None) or getattr(result, "_host", None)
    return host.get_name() if host is not None else None


def task_of(result: Any) -> Any:
    return getattr(result, "task", None) or getattr(result, "_task", None)


def task_fields(result: Any) -> Mapping[str, Any]:
    """``task_fields`` from ansible-core 2.19 on, ``_task_fields`` before (2.16)."""
    fields = getattr(result, "task_fields", None)
    if fields is None:
        fields = getattr(result, "_task_fields", None)
    return fields if isinstance(fields, Mapping) else {}


def task_name(result: Any, task: Any) -> str:
    name = getattr(result, "task_name", None)
    if name:
        return str(to_text(name))
    return str(to_text(task.get_name())) if task is not None else ""


def role_name(task: Any) -> str | None:
    role = getattr(task, "_role", None)
    return str(to_text(role.get_name())) if role is not None else None


def is_no_log(task: Any, data: Mapping[str, Any]) -> bool:
    if data.get("_ansible_no_log") or "censored" in data:
        return True
    no_log = getattr(task, "no_log", None)
    return isinstance(no_log, bool) and no_log


#: The facts a result sets that the trail keeps under ``facts``, so that a run's outcome can be rebuilt
#: from its log alone (``ripreplace report`` of a plain playbook run): the detection's findings and the
#: roles' outcome facts (``ripreplace.records.STEP_FACTS``).
KEPT_FACTS = ("ripreplace_replacement", "remove_outcome", "verify_outcome")
FINDING_KEYS = ("findings", "excepted", "exceptions_expired")


def kept_facts(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """``covered_software`` (its findings, excepted and expired exceptions) and the outcome facts a result
    sets; None when it sets none of them."""
    facts = data.get("ansible_facts")
    if not isinstance(facts, Mapping):
        return None
    kept: dict[str, Any] = {}
    covered = facts.get("covered_software")
    if isinstance(covered, Mapping):
        kept["covered_software"] = {k: covered[k] for k in FINDING_KEYS if k in covered}
    for name in KEPT_FACTS:
        if name in facts:
            kept[name] = facts[name]
    return kept or None


def loop_summary(loop: Iterable[Any]) -> dict[str, int]:
    """count, changed, failed and skipped of a loop's item results (the fallback of :class:`ItemCounts`:
    from ansible-core 2.21 on, the item results of a task's ``results`` carry no ``failed``)."""
    summary = {"count": 0, "changed": 0, "failed": 0, "skipped": 0}
    for item in loop:
        summary["count"] += 1
        if isinstance(item, dict):
            summary["changed"] += bool(item.get("changed"))
            summary["failed"] += bool(item.get("failed"))
            summary["skipped"] += bool(item.get("skipped"))
    return summary


class StartTimes:
    """When each task started, and when it started on each host (``v2_runner_on_start``): a result's
    start is its host's, else its task's. Thread-safe: results of several hosts arrive at once."""

    def __init__(self) -> None:
        self._tasks: dict[Any, str] = {}
        self._hosts: dict[tuple[Any, Any], str] = {}
        self._lock = threading.Lock()

    def task(self, uuid: Any) -> None:
        with self._lock:
            self._tasks[uuid] = isotime(utcnow())

    def host(self, host: Any, uuid: Any) -> None:
        with self._lock:
            self._hosts[(host, uuid)] = isotime(utcnow())

    def of(self, host: Any, uuid: Any, *, final: bool) -> str | None:
        """The start of a result; ``final`` (the task's own result, not an item's) forgets the host's."""
        with self._lock:
            started = self._hosts.pop((host, uuid), None) if final else self._hosts.get((host, uuid))
            return started or self._tasks.get(uuid)


class ItemCounts:
    """A loop's summary counted from the per-item hooks (``v2_runner_item_on_ok/failed/skipped``), which
    every ansible-core calls with the item's real status, per (host, task uuid) until the task's own
    result takes it (:meth:`take`). Thread-safe: results of several hosts arrive at once."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str | None, str | None], dict[str, int]] = {}
        self._retries: dict[tuple[str | None, str | None, str], int] = {}
        self._lock = threading.Lock()

    def add(self, host: str | None, uuid: str | None, status: str, *, changed: bool) -> None:
        with self._lock:
            counts = self._counts.setdefault((host, uuid), {"count": 0, "changed": 0, "failed": 0, "skipped": 0})
            counts["count"] += 1
            counts["changed"] += bool(changed)
            counts["failed"] += status == "failed"
            counts["skipped"] += status == "skipped"

    def take(self, host: str | None, uuid: str | None) -> dict[str, int] | None:
        with self._lock:
            self._retries = {k: n for k, n in self._retries.items() if k[:2] != (host, uuid)}
            return self._counts.pop((host, uuid), None)

    def retry(self, host: str | None, uuid: str | None, item: Any) -> int:
        """The number of the attempt that just failed (1, 2, ...), counted per host, task and loop item:
        ansible-core 2.21 hands ``v2_runner_retry`` the number of the attempt to come, earlier cores the
        one that failed."""
        key = (host, uuid, repr(item))
        with self._lock:
            self._retries[key] = self._retries.get(key, 0) + 1
            return self._retries[key]


def playbook_start(playbook: Any, cliargs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` of a playbook-start record; the extra vars only as a marker saying how many ``-e``."""
    path = getattr(playbook, "_file_name", None)
    path = os.path.abspath(str(to_text(path))) if path else None
    data: dict[str, Any] = {
        "playbook": path,
        "check_mode": bool(cliargs.get("check", False)),
        "diff_mode": bool(cliargs.get("diff", False)),
        "forks": cliargs.get("forks"),
        "limit": cliargs.get("subset"),
        "tags": list(cliargs.get("tags") or ()),
        "skip_tags": list(cliargs.get("skip_tags") or ()),
        "inventory": list(cliargs.get("inventory") or ()),
        "pid": os.getpid(),
    }
    if path and os.path.isfile(path):
        try:
            data["sha256"] = sha256_file(path)
        except OSError as exc:
            data["sha256"] = f"<unreadable: {exc.strerror}>"
    sources = cliargs.get("extra_vars") or ()
    if sources:
        data["extra_vars"] = f"<redacted: extra vars not recorded ({len(sources)} -e option(s))>"
    return data


def playbook_end(stats: Any, playbooks: list[str | None]) -> dict[str, Any]:
    """The ``data`` of a playbook-end record: stats per host, failed and unreachable hosts, status."""
    per_host = {str(to_text(h)): stats.summarize(h) for h in sorted(stats.processed)}
    failed = sorted(h for h, s in per_host.items() if s.get("failures"))
    unreachable = sorted(h for h, s in per_host.items() if s.get("unreachable"))
    return {
        "playbooks": playbooks,
        "status": "failed" if failed or unreachable else "successful",
        "stats": per_host,
        "hosts_failed": failed,
        "hosts_unreachable": unreachable,
    }


class TaskContext:
    """What the callback knows around one result: start time, play, check mode, what to keep."""

    __slots__ = ("attempt", "check_mode", "include_diff", "items", "play", "result_keys", "start")

    def __init__(
        self,
        *,
        start: str | None,
        play: str | None,
        check_mode: bool,
        result_keys: Iterable[str],
        include_diff: bool,
        items: Mapping[str, int] | None = None,
        attempt: int | None = None,
    ) -> None:
        self.start = start
        self.play = play
        self.check_mode = check_mode
        self.result_keys = tuple(result_keys)
        self.include_diff = include_diff
        self.items = items  # the loop's summary from ItemCounts, when the item hooks saw its items
        self.attempt = attempt  # a retry record's failed attempt, from ItemCounts.retry


def task_record(result: Any, status: str, rtype: str, end: str, ctx: TaskContext) -> dict[str, Any]:
    """The ``data`` of a task, item or retry record (before redaction; see docs/audit-log.md)."""
    task = task_of(result)
    data = result_data(result)
    record: dict[str, Any] = {
        "host": host_name(result),
        "task": task_name(result, task),
        "action": str(to_text(getattr(task, "action", "") or "")),
        "status": status,
        "end": end,
    }
    uuid = getattr(task, "_uuid", None)
    if ctx.start:
        record["start"] = ctx.start
    if uuid:
        record["task_uuid"] = uuid
    role = role_name(task)
    if role:
        record["role"] = role
    if ctx.play is not None:
        record["play"] = ctx.play
    if getattr(task, "check_mode", None) is True or ctx.check_mode:
        record["check_mode"] = True
    if status == "failed" and task_fields(result).get("ignore_errors"):
        record["ignore_errors"] = True
    if data.get("changed") and status != "changed":
        record["changed"] = True
    if is_no_log(task, data):
        record["args"] = REDACTED_NO_LOG
        record["result"] = REDACTED_NO_LOG
        if rtype == ITEM:
            record["item"] = REDACTED_NO_LOG
        record["redacted"] = ["args, result: no_log task"]
        return record
    _result_fields(record, task, data, rtype, ctx)
    return record


def _result_fields(record: dict[str, Any], task: Any, data: Mapping[str, Any], rtype: str, ctx: TaskContext) -> None:
    """Arguments, the kept result keys, diff, item label, attempts and loop summary."""
    if rtype == TASK:
        args = getattr(task, "args", None)
        if args:
            record["args"] = {k: v for k, v in args.items() if not str(k).startswith("_ansible_")}
    for key in ctx.result_keys:
        if key in data:
            record[key] = data[key]
    if ctx.include_diff and data.get("diff"):
        record["diff"] = data["diff"]
    kept = kept_facts(data)
    if kept:
        record["facts"] = kept
    if rtype == ITEM:
        record["item"] = data.get("_ansible_item_label", data.get("item"))
    if rtype == RETRY:
        record["attempts"] = ctx.attempt if ctx.attempt is not None else data.get("attempts")
        record["retries"] = data.get("retries")
    elif "attempts" in data:
        record["attempts"] = data.get("attempts")
    loop = data.get("results")
    if rtype == TASK and isinstance(loop, list):
        record["items"] = dict(ctx.items) if ctx.items else loop_summary(loop)


class SecretVars:
    """Teaches the redactor the values never to write, from the run's own variables.

    Vault values, values of secret-named variables and of the variables a site lists in
    ``ripreplace_secret_vars``: from the extra vars at playbook start, the play's variables at play
    start, and each host's variables (inventory, group_vars, host_vars) at its first result. A
    value learnt is scrubbed from every later string of every record.
    """

    def __init__(self, redactor: Redactor, warn: Callable[[str], None]) -> None:
        self._redactor = redactor
        self._warn = warn
        self._hosts: set[str] = set()
        self._manager: Any = None

    def learn(self, variables: Any, what: str) -> None:
        try:
            values = secret_values(variables) if isinstance(variables, Mapping) else set()
        except Exception as exc:  # never break the run; say the values may be missed
            self._warn(f"cannot read the variables of {what} to find secret values: {exc!r}")
            return
        self._redactor.add_scrub_values(values)

    def play(self, play: Any) -> None:
        try:
            self._manager = play.get_variable_manager()
            variables = self._manager.get_vars(play=play, include_hostvars=False)
        except Exception as exc:
            self._warn(f"cannot read the variables of the play to find secret values: {exc!r}")
            return
        self.learn(variables, "the play")
        self._hosts.clear()  # a new play may bring new vars_files: read each host again

    def host(self, host: Any) -> None:
        if host is None or self._manager is None:
            return
        name = host.get_name()
        if name in self._hosts:
            return
        self._hosts.add(name)
        try:
            variables = self._manager.get_vars(host=host, include_hostvars=False)
        except Exception as exc:
            self._warn(f"cannot read the variables of host {name} to find secret values: {exc!r}")
            return
        self.learn(variables, f"host {name}")
