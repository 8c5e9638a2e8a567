# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Per-host state of a campaign, from ansible-runner's streamed events, kept in ``state.json``.

:class:`StateTracker` moves each host through pending, replaced, removed, verified (or failed,
unreachable; the loop adds deferred and interrupted) from what the run *declares*, never from a
task's or a role's name:

- the modules' results, by FQCN: ``covered_facts`` (the findings, kept from the first scan of the
  run) and ``covered_remove`` (removed, with its actions);
- the roles' outcome facts (:data:`ripreplace.records.STEP_FACTS`, one head: ``step``, ``outcome``,
  ``reason``, ``check_mode``): ``ripreplace_replacement`` outcome ``healthy`` -> replaced;
  ``remove_outcome`` -> removed; ``verify_outcome`` outcome ``verified`` with ``recorded: true``
  (the evidence is on the host) -> verified;
- ``covered_lock`` with ``locked: true`` (another run holds the host's lock; the playbook ends the
  host there, untouched) -> locked, reason ``locked by RUN_ID since TIME``;
- ``runner_on_failed`` (not ignored) -> failed, ``runner_on_unreachable`` -> unreachable, with the
  task's message as the reason.

``state.json`` (format :data:`ripreplace.records.STATE_FORMAT`) is written through ``persist``
after every change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ripreplace import records, rundir
from ripreplace.exceptions import UsageError
from ripreplace.records import DETECT_ACTION, LOCK_ACTION, REMOVE_ACTION, STATE_FORMAT, Finding, HostOutcome
from ripreplace.runner import PlaybookResult, result_message

#: What the verify role's fact ``verify_outcome`` carries into state.json and the summary.
VERIFY_KEYS = (
    "outcome",
    "reason",
    "recorded",
    "remaining",
    "excepted",
    "review",
    "replacement_healthy",
    "protection_gap_seconds",
    "replacement_healthy_at",
    "covered_stopped_at",
)
#: What the replacement role's fact ``ripreplace_replacement`` carries into them.
REPLACEMENT_KEYS = ("product", "name", "version", "healthy", "reason")


class HostState(enum.StrEnum):
    PENDING = "pending"
    REPLACED = "replaced"
    REMOVED = "removed"
    VERIFIED = "verified"
    FAILED = "failed"
    DEFERRED = "deferred"
    UNREACHABLE = "unreachable"
    INTERRUPTED = "interrupted"
    LOCKED = "locked"  # another run holds the host's lock: not touched


#: States a host is in while its batch runs and it has not reached an end.
IN_PROGRESS = frozenset({HostState.PENDING, HostState.REPLACED, HostState.REMOVED})
#: States counted against --max-fail.
FAILING = frozenset({HostState.FAILED, HostState.UNREACHABLE})


# --------------------------------------------------------------------------- per-host state
@dataclasses.dataclass
class HostProgress:
    state: HostState = HostState.PENDING
    reason: str | None = None
    batch: int | None = None
    task: str | None = None
    run: str | None = None
    findings: list[Finding] | None = None
    excepted: list[Finding] | None = None
    replacement: dict[str, Any] | None = None
    removed: list[Any] | None = None
    verify: dict[str, Any] | None = None
    changed: str | None = None
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "reason": self.reason,
            "batch": self.batch,
            "task": self.task,
            "run": self.run,
            "findings": self.findings,
            "excepted": self.excepted,
            "replacement": self.replacement,
            "removed": self.removed,
            "verify": self.verify,
            "changed": self.changed,
            "history": self.history,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostProgress:
        return cls(
            state=HostState(data.get("state", "pending")),
            reason=data.get("reason"),
            batch=data.get("batch"),
            task=data.get("task"),
            run=data.get("run"),
            findings=data.get("findings"),
            excepted=data.get("excepted"),
            replacement=data.get("replacement"),
            removed=data.get("removed"),
            verify=data.get("verify"),
            changed=data.get("changed"),
            history=list(data.get("history") or []),
        )


class StateTracker:
    """Per-host state from ansible-runner events. ``persist`` is called after every state change."""

    def __init__(
        self,
        run_id: str,
        hosts: Mapping[str, HostProgress],
        *,
        persist: Callable[[StateTracker], None] | None = None,
        clock: Callable[[], dt.datetime] = rundir.utcnow,
        on_change: Callable[[str, HostProgress], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.hosts: dict[str, HostProgress] = dict(hosts)
        self._persist = persist
        self._clock = clock
        self._on_change = on_change
        self.current_task: str | None = None
        #: the first state.json write that failed (a full disk, a read-only file system): the campaign stops
        self.fault: OSError | None = None

    # -- transitions -------------------------------------------------------------------
    def set(self, host: str, state: HostState, reason: str | None = None, *, save: bool = True) -> None:
        record = self.hosts.setdefault(host, HostProgress())
        if record.state == state and record.reason == reason:
            return
        now = rundir.isotime(self._clock())
        record.state = state
        record.reason = reason
        record.run = self.run_id
        record.changed = now
        entry: dict[str, Any] = {"state": str(state), "at": now, "run": self.run_id}
        if reason:
            entry["reason"] = reason
        record.history.append(entry)
        if self._on_change is not None:
            self._on_change(host, record)
        if save:
            self.save()

    def save(self) -> None:
        """Write state.json (atomically: its last good version stays when this fails, and the error is raised).

        A failure is kept in :attr:`fault`: ansible-runner swallows errors of its event handler, so the
        campaign's fault watch (``runfaults.FaultWatch``) cancels the running batch from it."""
        if self._persist is None:
            return
        try:
            self._persist(self)
        except OSError as exc:
            if self.fault is None:
                self.fault = exc
            raise

    def as_dict(self, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": STATE_FORMAT,
            "run": self.run_id,
            "updated": rundir.isotime(self._clock()),
            "hosts": {h: r.as_dict() for h, r in sorted(self.hosts.items())},
        }
        out.update(extra)
        return out

    # -- events ------------------------------------------------------------------------
    def __call__(self, event: dict[str, Any]) -> None:
        kind = str(event.get("event", ""))
        data = event.get("event_data") or {}
        if kind == "playbook_on_task_start":
            self.current_task = data.get("task") or data.get("name")
            return
        host = data.get("host")
        if not host or host not in self.hosts or not kind.startswith("runner_on_"):
            return
        record = self.hosts[host]
        task = str(data.get("task") or data.get("task_action") or "a task")
        if kind == "runner_on_start":
            record.task = task
            return
        res = data.get("res") or {}
        if not isinstance(res, dict):
            res = {}
        if kind == "runner_on_unreachable":
            if not data.get("ignore_unreachable"):
                self.set(host, HostState.UNREACHABLE, f"unreachable during '{task}': {result_message(res)}")
            return
        if kind == "runner_on_failed":
            if not data.get("ignore_errors") and record.state != HostState.UNREACHABLE:
                self.set(host, HostState.FAILED, f"'{task}' failed: {result_message(res)}")
            return
        if kind == "runner_on_ok":
            self._on_ok(host, record, data, res)

    def _on_ok(self, host: str, record: HostProgress, data: Mapping[str, Any], res: Mapping[str, Any]) -> None:
        """Read the detection and removal modules' results (by FQCN) and the roles' outcome facts."""
        action = str(data.get("resolved_action") or data.get("task_action") or "")
        facts = res.get("ansible_facts")
        if action == DETECT_ACTION and record.findings is None and isinstance(facts, dict):
            covered = facts.get("covered_software")
            if isinstance(covered, dict):
                record.findings = records.findings_of(covered)
                record.excepted = records.findings_of(covered, "excepted")
                self.save()
        if action == LOCK_ACTION and res.get("locked") and record.state == HostState.PENDING:
            self.set(host, HostState.LOCKED, str(res.get("reason") or "locked by another run"))
            return
        if action == REMOVE_ACTION and record.state in (HostState.PENDING, HostState.REPLACED):
            record.removed = list(res.get("actions") or [])
            self.set(host, HostState.REMOVED)
        for step in records.step_outcomes(facts if isinstance(facts, dict) else {}):
            self._on_step(host, record, step)

    def _on_step(self, host: str, record: HostProgress, step: records.StepOutcome) -> None:
        """One role outcome fact (records.STEP_FACTS): the only way a role moves a host's state."""
        if step.step == "replacement":
            if step.check_mode:
                return
            record.replacement = {k: step.data.get(k) for k in REPLACEMENT_KEYS}
            if step.outcome == "healthy" and record.state == HostState.PENDING:
                self.set(host, HostState.REPLACED)
            else:  # remove_first products are proven healthy after the removal: the host stays removed
                self.save()
        elif step.step == "remove":
            # outcome failed: the role fails the host next, with this reason (runner_on_failed sets it)
            if step.outcome != "failed" and not step.check_mode and record.state == HostState.REPLACED:
                self.set(host, HostState.REMOVED)
        else:
            record.verify = {k: step.data.get(k) for k in VERIFY_KEYS}
            if step.outcome == "verified" and step.recorded and record.state != HostState.UNREACHABLE:
                self.set(host, HostState.VERIFIED, None)
            else:
                self.save()

    # -- end of a batch ----------------------------------------------------------------
    def finish_batch(self, batch_hosts: Iterable[str], *, canceled: bool, result: PlaybookResult | None) -> None:
        """Hosts of the batch that reached no end: verified by their verify_outcome, else interrupted or failed."""
        for host in batch_hosts:
            record = self.hosts[host]
            if record.state not in IN_PROGRESS:
                continue
            last = f" (last task: '{record.task}')" if record.task else ""
            if record.verify and record.verify.get("outcome") == "verified" and not canceled:
                self.set(host, HostState.VERIFIED, None, save=False)
            elif canceled:
                self.set(
                    host,
                    HostState.INTERRUPTED,
                    f"interrupted in state {record.state}{last}: resume the run to finish it",
                    save=False,
                )
            else:
                why = f"playbook {result.status}, rc {result.rc}" if result is not None else "the playbook did not run"
                self.set(
                    host,
                    HostState.FAILED,
                    f"the playbook ended before the host was verified ({why}; state {record.state}{last})",
                    save=False,
                )
        self.save()


def load_state(path: Path) -> dict[str, Any]:
    """A run's state.json, in the current format (a ripreplace-state/1 file's findings are re-nested)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path.parent.name}: no {rundir.STATE}: not a remediate run") from None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise UsageError(f"{path}: unreadable run state: {exc}") from None
    formats = records.STATE_FORMATS_READ
    if not isinstance(data, dict) or data.get("format") not in formats or not isinstance(data.get("hosts"), dict):
        raise UsageError(f"{path}: not a state file of a format this version reads ({', '.join(formats)})")
    if data["format"] != STATE_FORMAT:
        for host in data["hosts"].values():
            for key in ("findings", "excepted"):
                if isinstance(host, dict) and isinstance(host.get(key), list):
                    host[key] = [records.finding_from_v1(f) for f in host[key] if isinstance(f, Mapping)]
        data["format"] = STATE_FORMAT
    return data


# --------------------------------------------------------------------------- a host in summary.json
def host_status(record: HostProgress) -> tuple[str, str | None]:
    """summary.json status and reason of one host (statuses of docs/contracts.md)."""
    state = record.state
    if state == HostState.VERIFIED:
        actionable = [f for f in record.findings or [] if not f.get("review")]
        if actionable:
            ids = ", ".join(sorted({f["catalog_id"] for f in actionable}))
            product = (record.replacement or {}).get("product") or "the replacement"
            return "remediated", f"removed {ids}; {product} healthy; verified clean"
        if record.excepted:
            ids = ", ".join(sorted({f["catalog_id"] for f in record.excepted}))
            return "excepted", f"verified; excepted products stay: {ids}"
        # why a clean host is clean: already verified (the quick step), or not given the replacement
        why = record.reason or (record.verify or {}).get("reason") or (record.replacement or {}).get("reason")
        return "clean", why or None
    if state in (HostState.FAILED, HostState.UNREACHABLE, HostState.LOCKED):
        return str(state), record.reason
    return "deferred", record.reason or f"not finished (state {state})"


def host_outcome(record: HostProgress, *, targeted: bool) -> HostOutcome:
    status, reason = host_status(record)
    return {
        "status": status,
        "state": str(record.state),
        "reason": reason,
        "findings": record.findings or [],
        "excepted": record.excepted or [],
        "batch": record.batch,
        "targeted": targeted,
        "run": record.run,
        "replacement": record.replacement,
        "verify": record.verify,
    }
