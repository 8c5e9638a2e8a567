# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The campaign loop: batches inside the change window, judged one by one.

:func:`open_campaign` checks every targeted host's window once, at the start, and plans the
batches of the hosts whose window is open: the :class:`Opening` is what the operator is shown and
exactly what :class:`Campaign` runs. Then, per batch, three named steps:

1. :meth:`Campaign.check_window` (one window computation per decision): is every host of the batch
   in an open window, and would the batch finish before it closes (:class:`Estimator`)? If not,
   that batch and every later one are deferred;
2. :meth:`Campaign.run_batch`: the playbook over the batch; a batch running at the close finishes,
   or with ``--hard-stop`` (or the operator's Ctrl-C/SIGTERM) is cancelled through
   ansible-runner's cancel_callback and its unfinished hosts become ``interrupted``. A host that
   came back ``unreachable`` is retried once at the batch's end (the playbook again, for those hosts
   only, attempt 2; a ``retry`` decision per host in the audit log) before the batch is judged: a
   transient connection failure is not an outcome, a host that is really down stays ``unreachable``;
3. :meth:`Campaign.judge_batch`: more failed/unreachable than ``--max-fail`` percent, or a batch
   failed as a whole, stops the campaign; so does a window that closed during the batch.

A :class:`Stop` says why and by what (:class:`StopBy`). Every decision goes into the run's audit
log. Everything that talks to the outside (the playbook run, the clock, the display) is injected, so
the loop is tested with captured events and a fake clock (tests/unit/test_campaign.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ripreplace import records, rundir, windows
from ripreplace.campaign.batches import BatchSpec, Estimator, plan_batches
from ripreplace.campaign.state import FAILING, IN_PROGRESS, HostProgress, HostState, StateTracker, host_outcome
from ripreplace.runner import CancelCallback, EventHandler, PlaybookResult


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


class RunBatch(Protocol):
    """Runs the playbook over ``hosts`` of batch ``number``; ``attempt`` 2 is the retry of its unreachable hosts."""

    def __call__(
        self, hosts: Sequence[str], number: int, on_event: EventHandler, cancel: CancelCallback, *, attempt: int = 1
    ) -> PlaybookResult: ...


#: How many times a batch's unreachable hosts are tried again at the batch's end (docs/remediate.md).
RETRIES = 1
ALL = frozenset({"all"})


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


class StopBy(enum.StrEnum):
    WINDOW = "window"
    MAX_FAIL = "max-fail"
    BATCH_FAILED = "batch-failed"
    INTERRUPT = "interrupt"


@dataclasses.dataclass(frozen=True)
class Stop:
    """Why the campaign stops, and what the hosts it never started are told."""

    by: StopBy
    reason: str
    hosts_reason: str

    @classmethod
    def not_started(cls, by: StopBy, reason: str) -> Stop:
        return cls(by, reason, f"not started: {reason}")


@dataclasses.dataclass
class CampaignResult:
    batches: list[dict[str, Any]]
    stop: Stop | None
    outside_window: bool

    @property
    def stop_reason(self) -> str | None:
        return self.stop.reason if self.stop else None

    @property
    def stopped_by(self) -> str | None:
        return str(self.stop.by) if self.stop else None


@dataclasses.dataclass
class Interrupt:
    """Set by the command's signal handlers: the running batch is cancelled, nothing new starts."""

    requested: str | None = None


# --------------------------------------------------------------------------- the start
@dataclasses.dataclass(frozen=True)
class Opening:
    """The window check at the start, computed once: the plan shown to the operator is the one that runs."""

    now: dt.datetime
    open_now: Mapping[str, windows.OpenWindow]
    closed: Mapping[str, str]  # host -> why it is deferred
    soonest: windows.OpenWindow | None  # the next opening for the closed hosts
    batches: tuple[tuple[str, ...], ...]  # the batches of the hosts whose window is open
    ended: dt.datetime | None = None  # with no next opening: when the closed hosts' last window closed

    def stop(self) -> Stop | None:
        if self.open_now:
            return None
        when = (
            f"the next window ({self.soonest.name}) opens {windows.iso(self.soonest.opens)}"
            if self.soonest
            else _no_next(self.ended)
        )
        reason = f"outside the change window: {when}"
        return Stop(StopBy.WINDOW, reason, reason)


def _no_next(ended: dt.datetime | None) -> str:
    return f"the window ended at {windows.iso(ended)}" if ended else "no window opens in the next 400 days"


def open_campaign(plan: CampaignPlan, now: dt.datetime) -> Opening:
    """Every targeted host's window at ``now`` (one computation per group set) and the batch plan."""
    open_now: dict[str, windows.OpenWindow] = {}
    closed: dict[str, str] = {}
    soonest: windows.OpenWindow | None = None
    ended: dt.datetime | None = None
    Seen = tuple[windows.OpenWindow | None, windows.OpenWindow | None, str | None, dt.datetime | None]
    cache: dict[frozenset[str], Seen] = {}
    for host in plan.targets:
        groups = plan.groups.get(host, ALL)
        if groups not in cache:
            ow = windows.open_at(plan.schedule, groups, now)
            nxt = windows.next_open(plan.schedule, groups, now) if ow is None else None
            black = windows.blackout_at(plan.schedule, groups, now)
            last = windows.last_close(plan.schedule, groups, now) if ow is None and nxt is None else None
            cache[groups] = (ow, nxt, black.reason if black else None, last)
        ow, nxt, black_reason, last = cache[groups]
        if ow is not None:
            open_now[host] = ow
            continue
        why = f"blackout: {black_reason}" if black_reason else "outside its change window"
        when = f"next window {nxt.name} opens {windows.iso(nxt.opens)}" if nxt else _no_next(last)
        closed[host] = f"not started: {why}; {when}"
        if nxt is not None and (soonest is None or nxt.opens < soonest.opens):
            soonest = nxt
        if last is not None and (ended is None or last > ended):
            ended = last
    batches = plan_batches(plan.batches, [h for h in plan.targets if h in open_now])
    return Opening(now, open_now, closed, soonest, tuple(tuple(b) for b in batches), ended)


# --------------------------------------------------------------------------- one batch
@dataclasses.dataclass(frozen=True)
class Go:
    """The window check's yes: the batch starts, inside ``window``, which closes at ``closes``."""

    window: windows.OpenWindow
    closes: dt.datetime


class _Canceller:
    """ansible-runner's cancel_callback for one batch: the operator's interrupt, or the window's close."""

    def __init__(self, campaign: Campaign, number: int, closes: dt.datetime) -> None:
        self.campaign, self.number, self.closes = campaign, number, closes
        self.closed_noted = False
        self.canceled_by: StopBy | None = None

    def __call__(self) -> bool:
        c = self.campaign
        if c.interrupt.requested:
            if self.canceled_by is None:
                self.canceled_by = StopBy.INTERRUPT
                c.log.decision("cancel", batch=self.number, reason=f"operator interrupt ({c.interrupt.requested})")
            return True
        if c.clock() < self.closes:
            return False
        hard = c.plan.hard_stop
        if not self.closed_noted:
            self.closed_noted = True
            c.log.decision(
                "window-close",
                batch=self.number,
                at=rundir.isotime(c.clock()),
                hard_stop=hard,
                action="cancel the running batch" if hard else "let the running batch finish",
            )
            c.progress.note(
                "the window closed: " + ("cancelling the batch (--hard-stop)" if hard else "the running batch finishes")
            )
        if hard:
            self.canceled_by = self.canceled_by or StopBy.WINDOW
            return True
        return False


@dataclasses.dataclass(frozen=True)
class BatchRun:
    number: int
    hosts: tuple[str, ...]
    go: Go
    started: dt.datetime
    seconds: float
    result: PlaybookResult
    canceled_by: StopBy | None  # interrupt or window (--hard-stop); None when not cancelled by us
    closed_during: bool  # the window closed while the batch ran
    retry: Mapping[str, Any] | None = None  # the retry of the batch's unreachable hosts, when one ran

    @property
    def canceled(self) -> bool:
        return self.result.status == "canceled" or self.canceled_by is not None


# --------------------------------------------------------------------------- the loop
class Campaign:
    """One campaign over the planned batches: check the window, run the batch, judge it; repeat or stop."""

    def __init__(
        self,
        plan: CampaignPlan,
        tracker: StateTracker,
        *,
        run_batch: RunBatch,
        log: AuditSink,
        progress: Progress,
        clock: Callable[[], dt.datetime] = rundir.utcnow,
        interrupt: Interrupt | None = None,
    ) -> None:
        self.plan, self.tracker, self._run_batch = plan, tracker, run_batch
        self.log, self.progress, self.clock = log, progress, clock
        self.interrupt = interrupt or Interrupt()
        self.estimator = Estimator(forks=plan.forks, floor=plan.batch_estimate)
        self.done: list[dict[str, Any]] = []

    def run(self, opening: Opening | None = None) -> CampaignResult:
        opening = opening or open_campaign(self.plan, self.clock())
        self._start(opening)
        stop = opening.stop()
        if stop is not None:
            self.log.decision("stop", reason=stop.reason, by=str(stop.by))
            self.progress.note(stop.reason)
            return CampaignResult(batches=[], stop=stop, outside_window=True)
        batches = opening.batches
        for index, batch in enumerate(batches):
            go = self.check_window(index + 1, batch)
            if isinstance(go, Stop):
                stop = go
                self._defer(batches[index:], stop.hosts_reason)
                break
            run = self.run_batch(index + 1, len(batches), batch, go)
            stop = self.judge_batch(run, last=index + 1 == len(batches))
            if stop is not None:
                self._defer(batches[index + 1 :], stop.hosts_reason)
                break
        if stop is not None:
            self.log.decision("stop", reason=stop.reason, by=str(stop.by))
            self.progress.note(f"stopped: {stop.reason}")
        return CampaignResult(batches=self.done, stop=stop, outside_window=False)

    def _start(self, opening: Opening) -> None:
        self.log.decision(
            "window-check",
            stage="start",
            ok=bool(opening.open_now),
            now=rundir.isotime(opening.now),
            window=self.plan.schedule.as_dict(),
            hosts_open=len(opening.open_now),
            hosts_closed=len(opening.closed),
            next_opens=opening.soonest.as_dict() if opening.soonest else None,
        )
        for host, reason in opening.closed.items():
            self.tracker.set(host, HostState.DEFERRED, reason, save=False)
            self.log.host_state(host, "deferred", reason=reason)
        self.tracker.save()

    def _defer(self, batches: Sequence[Sequence[str]], reason: str) -> None:
        for batch in batches:
            for host in batch:
                if self.tracker.hosts[host].state in IN_PROGRESS:
                    self.tracker.set(host, HostState.DEFERRED, reason, save=False)
                    self.log.host_state(host, "deferred", reason=reason)
        self.tracker.save()

    # -- step 1 ------------------------------------------------------------------------
    def check_window(self, number: int, batch: Sequence[str]) -> Go | Stop:
        """Before a batch: the interrupt, then every host's window, then the estimate (one check, logged)."""
        if self.interrupt.requested:
            return Stop.not_started(StopBy.INTERRUPT, f"interrupted by the operator ({self.interrupt.requested})")
        now = self.clock()
        host_windows = {h: windows.open_at(self.plan.schedule, self.plan.groups.get(h, ALL), now) for h in batch}
        open_windows = [w for w in host_windows.values() if w is not None]
        if len(open_windows) < len(batch):
            reason = f"the change window closed before batch {number} ({len(batch) - len(open_windows)} host(s))"
            self.log.decision(
                "window-check", stage="batch", batch=number, ok=False, now=rundir.isotime(now), reason=reason
            )
            return Stop.not_started(StopBy.WINDOW, reason)
        current = min(open_windows, key=lambda w: w.closes)
        estimate = self.estimator.estimate(len(batch))
        fits = estimate is None or now + estimate <= current.closes
        self.log.decision(
            "window-check",
            stage="batch",
            batch=number,
            ok=fits,
            now=rundir.isotime(now),
            window=current.name,
            closes=rundir.isotime(current.closes),
            remaining_s=round((current.closes - now).total_seconds(), 1),
            estimate_s=round(estimate.total_seconds(), 1) if estimate is not None else None,
            estimate_basis=self.estimator.basis(),
        )
        if estimate is not None and not fits:
            reason = (
                f"batch {number} of {len(batch)} host(s) would not finish before the window closes at "
                f"{windows.iso(current.closes)}: estimated {windows.human_delta(estimate)}, "
                f"{windows.human_delta(current.closes - now)} left"
            )
            return Stop(StopBy.WINDOW, reason, f"deferred: {reason}")
        return Go(window=current, closes=current.closes)

    # -- step 2 ------------------------------------------------------------------------
    def run_batch(self, number: int, total: int, batch: Sequence[str], go: Go) -> BatchRun:
        """The playbook over one batch; hosts that reach no end are settled by the tracker."""
        self.log.decision("batch-start", batch=number, of=total, hosts=list(batch), closes=rundir.isotime(go.closes))
        for host in batch:
            self.tracker.hosts[host].batch = number
        self.tracker.save()
        self.progress.batch_start(number, total, batch, go.window)
        cancel = _Canceller(self, number, go.closes)

        def on_event(event: dict[str, Any]) -> None:
            self.tracker(event)
            self.progress.event(event)

        started = self.clock()
        result = self._run_batch(batch, number, on_event, cancel)
        canceled = result.status == "canceled" or cancel.canceled_by is not None
        self.tracker.finish_batch(batch, canceled=canceled, result=result)
        retry = None if canceled else self.retry_unreachable(number, batch, on_event, cancel)
        seconds = (self.clock() - started).total_seconds()
        run = BatchRun(
            number, tuple(batch), go, started, seconds, result, cancel.canceled_by, cancel.closed_noted, retry
        )
        if not run.canceled:
            self.estimator.record(len(batch), seconds)
        return run

    def retry_unreachable(
        self, number: int, batch: Sequence[str], on_event: EventHandler, cancel: _Canceller
    ) -> dict[str, Any] | None:
        """The batch's unreachable hosts, tried once more (attempt 2) before the batch is judged.

        Not after an interrupt nor once the window has closed (nothing new starts then). Each retried
        host gets a ``retry`` decision (host, batch, the failure's reason, attempt); its state goes back
        to pending, so state.json's history shows the failure, the retry and the final outcome."""
        hosts = self.tracker.hosts
        down = [h for h in batch if hosts[h].state == HostState.UNREACHABLE]
        if not down or RETRIES < 1:
            return None
        if self.interrupt.requested or cancel.closed_noted or self.clock() >= cancel.closes:
            for host in down:
                why = "the window has closed or the operator interrupted"
                self.log.decision("host-retry-skipped", host=host, batch=number, reason=hosts[host].reason, why=why)
            return None
        first = {h: hosts[h].reason for h in down}
        attempt = 2
        for host in down:
            self.log.decision(
                "host-retry", host=host, batch=number, reason=first[host], attempt=attempt, of=1 + RETRIES
            )
            self.tracker.set(host, HostState.PENDING, f"retry (attempt {attempt}) after: {first[host]}", save=False)
        self.tracker.save()
        self.progress.note(f"batch {number}: retrying {len(down)} unreachable host(s) once: {', '.join(down)}")
        result = self._run_batch(down, number, on_event, cancel, attempt=attempt)
        canceled = result.status == "canceled" or cancel.canceled_by is not None
        self.tracker.finish_batch(down, canceled=canceled, result=result)
        for host in down:
            if hosts[host].state == HostState.UNREACHABLE:
                reason = f"{hosts[host].reason} (also on the retry at the end of batch {number})"
                self.tracker.set(host, HostState.UNREACHABLE, reason, save=False)
        self.tracker.save()
        return {
            "attempt": attempt,
            "playbook": {"status": result.status, "rc": result.rc},
            "hosts": {h: {"first": first[h], "state": str(hosts[h].state)} for h in down},
        }

    # -- step 3 ------------------------------------------------------------------------
    def judge_batch(self, run: BatchRun, *, last: bool) -> Stop | None:
        """Record the batch's outcome, then decide: go on, or stop (cancelled, failures, window closed)."""
        failing = self._record_batch(run)
        number, size, closed_at = run.number, len(run.hosts), windows.iso(run.go.closes)
        if run.canceled:
            if run.canceled_by == StopBy.INTERRUPT:
                reason = f"interrupted by the operator ({self.interrupt.requested})"
                return Stop.not_started(StopBy.INTERRUPT, reason)
            reason = f"the window closed at {closed_at} during batch {number}: cancelled (--hard-stop)"
            return Stop.not_started(StopBy.WINDOW, reason)
        pct = 100.0 * failing / size
        if failing == size and not last:
            reason = f"batch {number} failed as a whole ({failing} of {size} host(s) failed or unreachable)"
            return Stop(StopBy.BATCH_FAILED, reason, f"not started: campaign stopped: {reason}")
        if pct > self.plan.max_fail and not last:
            reason = (
                f"batch {number}: {failing} of {size} host(s) failed or unreachable ({pct:.0f}%), "
                f"more than --max-fail {self.plan.max_fail:g}%"
            )
            return Stop(StopBy.MAX_FAIL, reason, f"not started: campaign stopped: {reason}")
        if run.closed_during:
            return Stop.not_started(StopBy.WINDOW, f"the window closed at {closed_at} during batch {number}")
        return None

    def _record_batch(self, run: BatchRun) -> int:
        """batch-end and host-state records, the display; returns how many hosts failed or are unreachable."""
        hosts = self.tracker.hosts
        counts: dict[str, int] = {}
        for host in run.hosts:
            counts[str(hosts[host].state)] = counts.get(str(hosts[host].state), 0) + 1
        for host in run.hosts:
            self.log.host_state(host, str(hosts[host].state), reason=hosts[host].reason, batch=run.number)
        failing = sum(1 for h in run.hosts if hosts[h].state in FAILING)
        entry = {
            "batch": run.number,
            "hosts": list(run.hosts),
            "started": rundir.isotime(run.started),
            "seconds": round(run.seconds, 1),
            "playbook": {"status": run.result.status, "rc": run.result.rc},
            "counts": counts,
            "failed_pct": round(100.0 * failing / len(run.hosts), 1),
            "canceled": run.canceled,
        }
        if run.retry is not None:
            entry["retry"] = dict(run.retry)
        self.done.append(entry)
        self.log.decision("batch-end", **entry)
        self.progress.batch_end(run.number, counts, run.seconds)
        return failing


def run_campaign(
    plan: CampaignPlan,
    tracker: StateTracker,
    *,
    run_batch: RunBatch,
    log: AuditSink,
    progress: Progress,
    clock: Callable[[], dt.datetime] = rundir.utcnow,
    interrupt: Interrupt | None = None,
    opening: Opening | None = None,
) -> CampaignResult:
    """Run a campaign (see :class:`Campaign`); ``opening`` is the start check already shown to the operator."""
    campaign = Campaign(
        plan, tracker, run_batch=run_batch, log=log, progress=progress, clock=clock, interrupt=interrupt
    )
    return campaign.run(opening)


# --------------------------------------------------------------------------- summary.json
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
        stop={"reason": result.stop.reason, "by": str(result.stop.by)} if result.stop else None,
    )
