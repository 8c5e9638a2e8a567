# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The outcome of a run made without the ripreplace command, rebuilt from its audit log.

A plain ``ansible-playbook`` (or ansible-runner, or AWX) run with the ``audit_log`` callback leaves a
run directory with ``manifest.json`` and ``audit.jsonl`` but no ``summary.json`` or ``state.json``:
nothing but the playbook wrote them. Its records carry what a summary needs (the callback keeps the
detection's findings and the roles' outcome facts under ``facts``, see docs/audit-log.md), so the
summary is rebuilt from them by the wrapper's own rules and its one builder, in memory (the run's
directory is never written):

- an audit (the records show ``covered_facts`` and no campaign step): each host's scan becomes an
  :class:`ripreplace.audit.HostScan` and :func:`ripreplace.audit.host_outcome` judges it, as for
  ``ripreplace audit``; the findings gate of the detect role (``detect_fail_on_findings``: its
  ``ansible.builtin.fail`` after a scan) leaves the host ``covered``, not failed;
- a remediation (``playbooks/remediate.yml``: the lock, the change-window guard or the removal
  module): the records are replayed, as the events they were, into the campaign's
  :class:`~ripreplace.campaign.StateTracker`; a host the change-window guard refused is
  ``deferred`` with the window's reason; a run without ``playbook-end`` was interrupted.

Then :func:`ripreplace.records.build_summary` makes ``summary.json``'s shape and exit code. Only the
records of the manifest's run are read (a log may hold several runs), streamed one at a time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ripreplace import audit, auditlog, collection, records, rundir
from ripreplace.campaign import state as campaign_state
from ripreplace.exceptions import InputFileError
from ripreplace.report.documents import RunDocuments, check_summary
from ripreplace.runner import PlaybookResult

GUARD_ACTION = f"{collection.FQCN}.change_window"
DETECT_ROLE = f"{collection.FQCN}.detect"
#: What a report and ``runs`` say the outcome came from.
SOURCE = f"{rundir.AUDIT_LOG} (a playbook run without the ripreplace command: rebuilt from its records)"
_CAMPAIGN_ACTIONS = frozenset({records.LOCK_ACTION, records.REMOVE_ACTION, GUARD_ACTION})


class _Replay:
    """One pass over the records of a run: both judgements are kept up to date, record by record (the
    mode is known only at the end), so memory grows with the hosts, never with the log."""

    def __init__(self, run_id: str) -> None:
        self.scans: dict[str, audit.HostScan] = {}
        self.tracker = campaign_state.StateTracker(run_id, {})
        self.refused: set[str] = set()  # hosts the change-window guard refused
        self.actions: set[str] = set()
        self.playbooks: list[str] = []
        self.end: dict[str, Any] | None = None  # the last playbook-end
        self.finished: str | None = None  # the run-end's time

    def host(self, name: str) -> None:
        if name not in self.scans:
            self.scans[name] = audit.HostScan()
            self.tracker.hosts[name] = campaign_state.HostProgress()

    def take(self, record: Mapping[str, Any]) -> None:
        rtype, data = record.get("type"), record.get("data")
        if not isinstance(data, dict):
            return
        if rtype == auditlog.TASK and isinstance(data.get("host"), str):
            self.host(data["host"])
            self.actions.add(str(data.get("action")))
            _scan(self.scans[data["host"]], data)
            self._step(data)
        elif rtype == "playbook-start" and isinstance(data.get("playbook"), str):
            self.playbooks.append(os.path.basename(data["playbook"]))
        elif rtype == "playbook-end":
            self.end = data
            for name in data.get("stats") or {}:
                self.host(str(name))
        elif rtype == auditlog.RUN_END:
            self.finished = str(record.get("ts") or "") or None

    def _step(self, task: Mapping[str, Any]) -> None:
        host = task["host"]
        if host in self.refused:
            return
        if task.get("action") == GUARD_ACTION and task.get("status") == "failed":
            self.refused.add(host)  # never started: the window's reason, as the command's deferred hosts
            reason = f"not started: {task.get('msg') or 'refused'}"
            self.tracker.set(host, campaign_state.HostState.DEFERRED, reason, save=False)
            return
        self.tracker(_event(task))

    @property
    def mode(self) -> str | None:
        if "remediate.yml" in self.playbooks or self.actions & _CAMPAIGN_ACTIONS:
            return "remediate"
        if records.DETECT_ACTION in self.actions:
            return "audit"
        return None

    def audit_hosts(self) -> dict[str, records.HostOutcome]:
        return {h: audit.host_outcome(s) for h, s in self.scans.items()}

    def remediate_hosts(self) -> dict[str, records.HostOutcome]:
        end = self.end or {}
        status = str(end.get("status") or "failed")
        rc = 0 if status == "successful" else 2
        result = PlaybookResult(status=status, rc=rc, stats=dict(end.get("stats") or {}))
        pending = [h for h in self.tracker.hosts if h not in self.refused]
        self.tracker.finish_batch(pending, canceled=self.end is None, result=result)
        return {h: campaign_state.host_outcome(p, targeted=True) for h, p in self.tracker.hosts.items()}


def _message(task: Mapping[str, Any]) -> str:
    msg = " ".join(str(task.get("msg") or "").split())[:500]
    return f"'{task.get('task') or task.get('action') or 'a task'}' failed" + (f": {msg}" if msg else "")


def _scan(scan: audit.HostScan, task: Mapping[str, Any]) -> None:
    """What one task record tells of a host's scan (as ``audit.EventCollector`` reads an event)."""
    status = task.get("status")
    covered = (task.get("facts") or {}).get("covered_software")
    if status == "unreachable":
        scan.unreachable = scan.unreachable or f"unreachable during '{task.get('task')}': {task.get('msg') or ''}"
    elif status == "failed" and not task.get("ignore_errors"):
        gate = task.get("role") == DETECT_ROLE and task.get("action") == "ansible.builtin.fail"
        gate = gate and scan.facts is not None  # detect_fail_on_findings after a scan: the host stays covered
        if not gate and scan.failed is None:
            scan.failed = _message(task)
    elif task.get("action") == records.DETECT_ACTION and isinstance(covered, dict) and scan.facts is None:
        scan.facts = dict(covered)


def _event(task: Mapping[str, Any]) -> dict[str, Any]:
    """A task record as the ansible-runner event it was (what the campaign's tracker reads)."""
    kind = {"unreachable": "runner_on_unreachable", "failed": "runner_on_failed", "skipped": "runner_on_skipped"}
    res: dict[str, Any] = {"ansible_facts": dict(task.get("facts") or {})}
    for key in ("msg", "locked"):
        if key in task:
            res[key] = task[key]
    data = {"host": task["host"], "task": task.get("task"), "task_action": task.get("action"), "res": res}
    data["ignore_errors"] = bool(task.get("ignore_errors"))
    return {"event": kind.get(str(task.get("status")), "runner_on_ok"), "event_data": data}


def build(log: Path, run_id: str | None) -> records.Summary | None:
    """summary.json's content for the run ``run_id`` of ``log``; None when its records show no scan.
    Records that do not describe hosts as the callback writes them: one :class:`InputFileError` line."""
    rid = run_id or "?"
    replay = _Replay(rid)
    try:
        for record in auditlog.iter_records(log):
            if run_id is None or record.get("run") == run_id:
                replay.take(record)
        mode = replay.mode
        if mode is None:
            return None
        hosts = replay.remediate_hosts() if mode == "remediate" else replay.audit_hosts()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problem = f"{exc.__class__.__name__}: {exc}"
        raise InputFileError(f"{log}: its records do not describe the run's hosts ({problem})") from None
    summary = records.build_summary(run_id=rid, mode=mode, hosts=hosts)
    if replay.finished:
        summary["finished"] = replay.finished
    check_summary(log, summary)  # what every reader relies on, as for a summary.json on disk
    return summary


def with_summary(docs: RunDocuments) -> tuple[RunDocuments, bool]:
    """The run's documents, with a summary rebuilt from its log when the run has neither ``summary.json``
    nor ``state.json`` (a plain playbook run); and whether it was rebuilt."""
    if docs.summary is not None or docs.state is not None:
        return docs, False
    log = docs.path / rundir.AUDIT_LOG
    if not log.is_file():
        return docs, False
    run_id = docs.manifest.get("run")
    try:
        summary = build(log, run_id if isinstance(run_id, str) else None)
    except (OSError, auditlog.AuditChainError):  # unreadable: the verdict says why, the run has no outcome
        return docs, False
    if summary is None:
        return docs, False
    return dataclasses.replace(docs, summary=dict(summary)), True
