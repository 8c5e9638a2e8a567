"""The typed core of ``ripreplace remediate``: batches, per-host state, window checks, the campaign loop.

- :func:`parse_batches` / :func:`plan_batches`: ``--batches 1,10%,50%,100%`` with Ansible ``serial``
  semantics: each entry is the size of one batch, an absolute number or a percentage of the
  targeted hosts (rounded down, at least 1, as ansible's ``pct_to_int``); the last entry repeats
  until every host has a batch; a batch never holds more hosts than are left.
- :class:`StateTracker`: per-host state from ansible-runner's streamed events (pending, replaced,
  removed, verified, failed, deferred, unreachable, interrupted), kept in ``state.json`` of the run
  directory, written atomically after every change.
- :class:`Estimator`: a batch's expected duration from the batches so far (seconds per wave of
  ``--forks`` hosts, the slowest wave seen), never below ``--batch-estimate``.
- :func:`run_campaign`: the loop. Before each batch: is every host's window open, and would the
  batch finish before it closes? If not, that batch and every later one is deferred. After each
  batch: more failed/unreachable than ``--max-fail`` percent, or a batch failed as a whole, stops
  the campaign. A batch running at the close finishes, or with ``--hard-stop`` is cancelled through
  ansible-runner's cancel_callback and its unfinished hosts become ``interrupted``. Every decision
  goes into the run's audit log.

Everything that talks to the outside (the playbook run, the clock, the display) is injected, so the
loop is tested with captured events and a fake clock (tests/unit/test_campaign.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ripreplace import records, rundir, windows
from ripreplace.exceptions import UsageError
from ripreplace.records import DETECT_ACTION, REMOVE_ACTION, STATE_FORMAT, Finding, HostOutcome
from ripreplace.runner import CancelCallback, EventHandler, PlaybookResult, result_message

ASSERT_ACTIONS = ("assert", "ansible.builtin.assert", "ansible.legacy.assert")


#: What the verify role's fact ``verify_outcome`` carries into state.json and the summary.
VERIFY_KEYS = (
    "outcome",
    "reason",
    "remaining",
    "excepted",
    "review",
    "replacement_healthy",
    "protection_gap_seconds",
    "replacement_healthy_at",
    "covered_stopped_at",
)


class HostState(enum.StrEnum):
    PENDING = "pending"
    REPLACED = "replaced"
    REMOVED = "removed"
    VERIFIED = "verified"
    FAILED = "failed"
    DEFERRED = "deferred"
    UNREACHABLE = "unreachable"
    INTERRUPTED = "interrupted"


#: States a host is in while its batch runs and it has not reached an end.
IN_PROGRESS = frozenset({HostState.PENDING, HostState.REPLACED, HostState.REMOVED})
#: States counted against --max-fail.
FAILING = frozenset({HostState.FAILED, HostState.UNREACHABLE})


# --------------------------------------------------------------------------- batches
@dataclasses.dataclass(frozen=True)
class BatchSpec:
    value: int
    percent: bool

    def size(self, total: int) -> int:
        if not self.percent:
            return self.value
        return max(1, int(self.value / 100.0 * total))

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


_BATCH = re.compile(r"^\s*(\d+)\s*(%?)\s*$")


def parse_batches(text: str) -> tuple[BatchSpec, ...]:
    """``1,10%,100%`` -> batch specs; a bad entry is one :class:`UsageError` line."""
    specs = []
    for part in text.split(","):
        match = _BATCH.match(part)
        if not match:
            raise UsageError(
                f"--batches {text!r}: {part.strip()!r} is not a host count or a percentage (e.g. 1,10%,100%)"
            )
        value, percent = int(match.group(1)), bool(match.group(2))
        if value < 1:
            raise UsageError(f"--batches {text!r}: a batch holds at least one host, got {part.strip()!r}")
        if percent and value > 100:
            raise UsageError(f"--batches {text!r}: {part.strip()!r} is more than 100%")
        specs.append(BatchSpec(value, percent))
    return tuple(specs)


def plan_batches(specs: Sequence[BatchSpec], hosts: Sequence[str]) -> list[list[str]]:
    """Split ``hosts`` (in order) into batches: Ansible ``serial`` semantics, the last spec repeats."""
    out: list[list[str]] = []
    left = list(hosts)
    total = len(hosts)
    n = 0
    while left:
        spec = specs[min(n, len(specs) - 1)]
        size = min(spec.size(total), len(left))
        out.append(left[:size])
        left = left[size:]
        n += 1
    return out


def parse_percent(text: str) -> float:
    try:
        value = float(str(text).rstrip("%"))
    except ValueError:
        raise UsageError(f"--max-fail {text!r} is not a percentage (0 to 100)") from None
    if not 0 <= value <= 100 or math.isnan(value):
        raise UsageError(f"--max-fail {text!r} must be between 0 and 100")
    return value


# --------------------------------------------------------------------------- duration estimates
@dataclasses.dataclass
class Estimator:
    """Expected wall time of a batch: the slowest wave of ``forks`` hosts seen so far, times the waves
    of the batch; never less than ``floor`` (``--batch-estimate``). None when nothing is known."""

    forks: int
    floor: dt.timedelta | None = None
    per_wave: list[float] = dataclasses.field(default_factory=list)

    def waves(self, hosts: int) -> int:
        return max(1, math.ceil(hosts / max(1, self.forks)))

    def record(self, hosts: int, seconds: float) -> None:
        if hosts > 0 and seconds >= 0:
            self.per_wave.append(seconds / self.waves(hosts))

    def estimate(self, hosts: int) -> dt.timedelta | None:
        measured = dt.timedelta(seconds=max(self.per_wave) * self.waves(hosts)) if self.per_wave else None
        candidates = [d for d in (measured, self.floor) if d is not None]
        return max(candidates) if candidates else None

    def basis(self) -> str:
        parts = []
        if self.per_wave:
            parts.append(f"slowest wave so far {max(self.per_wave):.1f} s x waves of {self.forks}")
        if self.floor is not None:
            parts.append(f"--batch-estimate {int(self.floor.total_seconds())} s")
        return " and ".join(parts) or "no estimate yet (first batch, no --batch-estimate)"


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
        if self._persist is not None:
            self._persist(self)

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
            self._on_ok(host, record, data, res, task)

    def _on_ok(
        self, host: str, record: HostProgress, data: Mapping[str, Any], res: Mapping[str, Any], task: str
    ) -> None:
        action = str(data.get("resolved_action") or data.get("task_action") or "")
        role = str(data.get("role") or "")
        facts = res.get("ansible_facts") or {}
        if not isinstance(facts, dict):
            facts = {}
        if action == DETECT_ACTION and record.findings is None:
            covered = facts.get("covered_software")
            if isinstance(covered, dict):
                record.findings = records.findings_of(covered)
                record.excepted = records.findings_of(covered, "excepted")
                self.save()
        replacement = facts.get("ripreplace_replacement")
        if isinstance(replacement, dict) and "healthy" in replacement and not replacement.get("check_mode"):
            record.replacement = {k: replacement.get(k) for k in ("product", "name", "version", "healthy", "reason")}
            if replacement.get("healthy") is True and record.state == HostState.PENDING:
                self.set(host, HostState.REPLACED)
            else:  # remove_first products are proven healthy after the removal: the host stays removed
                self.save()
        if action == REMOVE_ACTION and record.state in (HostState.PENDING, HostState.REPLACED):
            record.removed = list(res.get("actions") or [])
            self.set(host, HostState.REMOVED)
        outcome = facts.get("remove_outcome")
        if isinstance(outcome, dict) and record.state == HostState.REPLACED:
            self.set(host, HostState.REMOVED)
        verify = facts.get("verify_outcome")
        if isinstance(verify, dict):
            record.verify = {k: verify.get(k) for k in VERIFY_KEYS}
            self.save()
        in_verify = role.endswith("verify") or task.upper().startswith("VERIFY | ASSERT")
        if in_verify and action in ASSERT_ACTIONS and record.state != HostState.UNREACHABLE:
            self.set(host, HostState.VERIFIED, None)

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
    except (OSError, ValueError) as exc:
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


# --------------------------------------------------------------------------- the campaign loop
class Progress(Protocol):
    """What the campaign tells the display (rich, plain lines, or nothing)."""

    def batch_start(self, number: int, total: int, hosts: Sequence[str], window: windows.OpenWindow) -> None: ...
    def host_changed(self, host: str, record: HostProgress) -> None: ...
    def event(self, event: Mapping[str, Any]) -> None: ...
    def batch_end(self, number: int, counts: Mapping[str, int], seconds: float) -> None: ...
    def note(self, text: str) -> None: ...


class AuditSink(Protocol):
    def decision(self, kind: str, **data: Any) -> Any: ...
    def host_state(self, host: str, state: str, **data: Any) -> Any: ...


RunBatch = Callable[[Sequence[str], int, EventHandler, CancelCallback], PlaybookResult]


@dataclasses.dataclass(frozen=True)
class CampaignPlan:
    run_id: str
    targets: tuple[str, ...]
    groups: Mapping[str, frozenset[str]]
    schedule: windows.Schedule
    batches: tuple[BatchSpec, ...]
    max_fail: float
    forks: int
    batch_estimate: dt.timedelta | None
    hard_stop: bool


@dataclasses.dataclass
class CampaignResult:
    batches: list[dict[str, Any]]
    stop_reason: str | None
    stopped_by: str | None  # window | max-fail | batch-failed | interrupt | None
    outside_window: bool


@dataclasses.dataclass
class Interrupt:
    """Set by the command's signal handlers: the running batch is cancelled, nothing new starts."""

    requested: str | None = None


def initial_window_check(
    plan: CampaignPlan, now: dt.datetime
) -> tuple[dict[str, windows.OpenWindow], dict[str, str], windows.OpenWindow | None]:
    """(open window per host, deferral reason per host whose window is closed, the next opening)."""
    open_now: dict[str, windows.OpenWindow] = {}
    closed: dict[str, str] = {}
    soonest: windows.OpenWindow | None = None
    cache: dict[frozenset[str], tuple[windows.OpenWindow | None, windows.OpenWindow | None, str | None]] = {}
    for host in plan.targets:
        groups = plan.groups.get(host, frozenset({"all"}))
        if groups not in cache:
            ow = windows.open_at(plan.schedule, groups, now)
            nxt = windows.next_open(plan.schedule, groups, now) if ow is None else None
            black = windows.blackout_at(plan.schedule, groups, now)
            cache[groups] = (ow, nxt, black.reason if black else None)
        ow, nxt, black_reason = cache[groups]
        if ow is not None:
            open_now[host] = ow
            continue
        why = f"blackout: {black_reason}" if black_reason else "outside its change window"
        when = (
            f"next window {nxt.name} opens {windows.iso(nxt.opens)}" if nxt else "no window opens in the next 400 days"
        )
        closed[host] = f"not started: {why}; {when}"
        if nxt is not None and (soonest is None or nxt.opens < soonest.opens):
            soonest = nxt
    return open_now, closed, soonest


def run_campaign(  # noqa: PLR0912, PLR0915 - the loop reads top to bottom, one decision per step
    plan: CampaignPlan,
    tracker: StateTracker,
    *,
    run_batch: RunBatch,
    log: AuditSink,
    progress: Progress,
    clock: Callable[[], dt.datetime] = rundir.utcnow,
    interrupt: Interrupt | None = None,
) -> CampaignResult:
    interrupt = interrupt or Interrupt()
    now = clock()
    open_now, closed, soonest = initial_window_check(plan, now)
    log.decision(
        "window-check",
        stage="start",
        ok=bool(open_now),
        now=rundir.isotime(now),
        window=plan.schedule.as_dict(),
        hosts_open=len(open_now),
        hosts_closed=len(closed),
        next_opens=soonest.as_dict() if soonest else None,
    )
    for host, reason in closed.items():
        tracker.set(host, HostState.DEFERRED, reason, save=False)
        log.host_state(host, "deferred", reason=reason)
    tracker.save()
    if not open_now:
        reason = "outside the change window: " + (
            f"the next window ({soonest.name}) opens {windows.iso(soonest.opens)}"
            if soonest
            else "no window opens in the next 400 days"
        )
        log.decision("stop", reason=reason, by="window")
        progress.note(reason)
        return CampaignResult(batches=[], stop_reason=reason, stopped_by="window", outside_window=True)

    targets = [h for h in plan.targets if h in open_now]
    batches = plan_batches(plan.batches, targets)
    estimator = Estimator(forks=plan.forks, floor=plan.batch_estimate)
    done: list[dict[str, Any]] = []
    stop_reason: str | None = None
    stopped_by: str | None = None

    def defer_rest(start: int, reason: str) -> None:
        for later in batches[start:]:
            for host in later:
                if tracker.hosts[host].state in IN_PROGRESS:
                    tracker.set(host, HostState.DEFERRED, reason, save=False)
                    log.host_state(host, "deferred", reason=reason)
        tracker.save()

    for index, batch in enumerate(batches):
        number = index + 1
        if interrupt.requested:
            stop_reason, stopped_by = f"interrupted by the operator ({interrupt.requested})", "interrupt"
            defer_rest(index, f"not started: {stop_reason}")
            break
        now = clock()
        host_windows = {h: windows.open_at(plan.schedule, plan.groups.get(h, frozenset({"all"})), now) for h in batch}
        shut = sorted(h for h, w in host_windows.items() if w is None)
        estimate = estimator.estimate(len(batch))
        if shut:
            stop_reason, stopped_by = f"the change window closed before batch {number} ({len(shut)} host(s))", "window"
            log.decision(
                "window-check", stage="batch", batch=number, ok=False, now=rundir.isotime(now), reason=stop_reason
            )
            defer_rest(index, f"not started: {stop_reason}")
            break
        closes = min(w.closes for w in host_windows.values() if w is not None)
        current = next(w for w in host_windows.values() if w is not None and w.closes == closes)
        fits = estimate is None or now + estimate <= closes
        log.decision(
            "window-check",
            stage="batch",
            batch=number,
            ok=fits,
            now=rundir.isotime(now),
            window=current.name,
            closes=rundir.isotime(closes),
            remaining_s=round((closes - now).total_seconds(), 1),
            estimate_s=round(estimate.total_seconds(), 1) if estimate is not None else None,
            estimate_basis=estimator.basis(),
        )
        if not fits:
            assert estimate is not None
            stop_reason = (
                f"batch {number} of {len(batch)} host(s) would not finish before the window closes at "
                f"{windows.iso(closes)}: estimated {windows.human_delta(estimate)}, "
                f"{windows.human_delta(closes - now)} left"
            )
            stopped_by = "window"
            defer_rest(index, f"deferred: {stop_reason}")
            break

        log.decision("batch-start", batch=number, of=len(batches), hosts=list(batch), closes=rundir.isotime(closes))
        for host in batch:
            tracker.hosts[host].batch = number
        tracker.save()
        progress.batch_start(number, len(batches), batch, current)
        state = {"closed_noted": False, "canceled_by": None}

        def cancel(closes: dt.datetime = closes, number: int = number, state: dict[str, Any] = state) -> bool:
            if interrupt.requested:
                if state["canceled_by"] is None:
                    state["canceled_by"] = "interrupt"
                    log.decision("cancel", batch=number, reason=f"operator interrupt ({interrupt.requested})")
                return True
            if clock() < closes:
                return False
            if not state["closed_noted"]:
                state["closed_noted"] = True
                log.decision(
                    "window-close",
                    batch=number,
                    at=rundir.isotime(clock()),
                    hard_stop=plan.hard_stop,
                    action="cancel the running batch" if plan.hard_stop else "let the running batch finish",
                )
                progress.note(
                    "the window closed: "
                    + ("cancelling the batch (--hard-stop)" if plan.hard_stop else "the running batch finishes")
                )
            if plan.hard_stop:
                state["canceled_by"] = state["canceled_by"] or "window"
                return True
            return False

        def on_event(event: dict[str, Any]) -> None:
            tracker(event)
            progress.event(event)

        started = clock()
        result = run_batch(batch, number, on_event, cancel)
        seconds = (clock() - started).total_seconds()
        canceled = result.status == "canceled" or state["canceled_by"] is not None
        tracker.finish_batch(batch, canceled=canceled, result=result)
        if not canceled:
            estimator.record(len(batch), seconds)
        counts: dict[str, int] = {}
        for host in batch:
            st = str(tracker.hosts[host].state)
            counts[st] = counts.get(st, 0) + 1
        for host in batch:
            record = tracker.hosts[host]
            log.host_state(host, str(record.state), reason=record.reason, batch=number)
        failing = sum(1 for h in batch if tracker.hosts[h].state in FAILING)
        pct = 100.0 * failing / len(batch)
        entry = {
            "batch": number,
            "hosts": list(batch),
            "started": rundir.isotime(started),
            "seconds": round(seconds, 1),
            "playbook": {"status": result.status, "rc": result.rc},
            "counts": counts,
            "failed_pct": round(pct, 1),
            "canceled": canceled,
        }
        done.append(entry)
        log.decision("batch-end", **entry)
        progress.batch_end(number, counts, seconds)
        if canceled:
            if state["canceled_by"] == "interrupt":
                stop_reason, stopped_by = f"interrupted by the operator ({interrupt.requested})", "interrupt"
            else:
                stop_reason = (
                    f"the window closed at {windows.iso(closes)} during batch {number}: cancelled (--hard-stop)"
                )
                stopped_by = "window"
            defer_rest(index + 1, f"not started: {stop_reason}")
            break
        last = index + 1 == len(batches)
        if failing == len(batch) and not last:
            stop_reason = f"batch {number} failed as a whole ({failing} of {len(batch)} host(s) failed or unreachable)"
            stopped_by = "batch-failed"
        elif pct > plan.max_fail and not last:
            stop_reason = (
                f"batch {number}: {failing} of {len(batch)} host(s) failed or unreachable ({pct:.0f}%), "
                f"more than --max-fail {plan.max_fail:g}%"
            )
            stopped_by = "max-fail"
        if stop_reason:
            defer_rest(index + 1, f"not started: campaign stopped: {stop_reason}")
            break
        if state["closed_noted"]:
            stop_reason, stopped_by = f"the window closed at {windows.iso(closes)} during batch {number}", "window"
            defer_rest(index + 1, f"not started: {stop_reason}")
            break
    if stop_reason:
        log.decision("stop", reason=stop_reason, by=stopped_by)
        progress.note(f"stopped: {stop_reason}")
    return CampaignResult(batches=done, stop_reason=stop_reason, stopped_by=stopped_by, outside_window=False)


# --------------------------------------------------------------------------- summary and exit code
def host_status(record: HostProgress) -> tuple[str, str | None]:
    """summary.json status and reason of one host (DESIGN.md statuses)."""
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
        return "clean", record.reason
    if state in (HostState.FAILED, HostState.UNREACHABLE):
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


def build_summary(
    *,
    run_id: str,
    tracker: StateTracker,
    targets: Sequence[str],
    result: CampaignResult,
    window: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
) -> records.Summary:
    hosts = {h: host_outcome(tracker.hosts[h], targeted=h in targets) for h in sorted(tracker.hosts)}
    return records.build_summary(
        run_id=run_id,
        mode="remediate",
        hosts=hosts,
        window=dict(window),
        previous=dict(previous) if previous else None,
        batches=result.batches,
        stop={"reason": result.stop_reason, "by": result.stopped_by} if result.stop_reason else None,
    )
