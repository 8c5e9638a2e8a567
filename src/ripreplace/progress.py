# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What an operator sees while a campaign runs: a live display on a terminal, plain lines otherwise.

Both implement :class:`ripreplace.campaign.Progress` and tell the same story in the same words:

- :class:`PlainProgress` (a pipe, a log file, a CI job, ``--output json`` on stderr): one line per
  batch start and end, per host reaching an end state, and per decision, each with its clock time.
- :class:`LiveProgress` (stdout is a terminal): a rich ``Live`` block that says at any moment the
  batch (n of N), every host in flight with its current step (host and task, from the events of
  this batch), hosts done / failed / remaining, the clock and the time left in the window. A
  refresh thread redraws it twice a second, so the clock and the time left tick while a long task
  sends no event. The lines of the plain form are printed above the block, so the scrollback keeps
  every finished host with its clock time and outcome. The block is transient: :meth:`close`
  removes it and the command prints the final summary in its place.

The campaign calls the display from the thread that reads ansible-runner's events; the refresh
thread only reads a snapshot taken under :attr:`LiveProgress._lock`. Nothing is printed while
that lock is held (rich's own lock is taken by the refresh thread before ours: the order stays one way).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from ripreplace import rundir, textout, windows
from ripreplace.campaign import HostProgress, HostState

END_STATES = frozenset(
    {
        HostState.VERIFIED,
        HostState.FAILED,
        HostState.UNREACHABLE,
        HostState.DEFERRED,
        HostState.INTERRUPTED,
        HostState.LOCKED,
    }
)
#: Styles of the states on a terminal.
STATE_STYLE = {
    "verified": "green",
    "failed": "bold red",
    "unreachable": "bold yellow",
    "deferred": "yellow",
    "interrupted": "yellow",
    "locked": "yellow",
    "replaced": "cyan",
    "removed": "cyan",
}
#: Host names shown in a batch-start line before "and N more".
SHOWN_HOSTS = 8


class _Counts:
    def __init__(self, total: int) -> None:
        self.total = total
        self.states: dict[str, str] = {}

    def update(self, host: str, record: HostProgress) -> None:
        self.states[host] = str(record.state)

    def count(self, *states: str) -> int:
        return sum(1 for s in self.states.values() if s in states)

    @property
    def done(self) -> int:
        return self.count("verified")

    @property
    def failed(self) -> int:
        return self.count("failed", "unreachable")

    @property
    def deferred(self) -> int:
        return self.count("deferred", "interrupted", "locked")

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed - self.deferred)


# --------------------------------------------------------------------------- the words, shared
def stamp(when: dt.datetime) -> str:
    """The clock time of a line: ``13:02:05Z`` (UTC, as every time the command prints)."""
    return when.astimezone(dt.UTC).strftime("%H:%M:%SZ")


def countdown(delta: dt.timedelta) -> str:
    """Time left, to the second: ``1:59:58``, ``2d 03:04:05``; never negative."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}" if days else clock


def elapsed(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def window_label(window: windows.OpenWindow) -> str:
    """``window night`` for a named window of a window file; ``window`` for the one of ``--window``."""
    return "window" if window.name.startswith("-") else f"window {textout.printable(window.name)}"


def batch_start_line(
    number: int, total: int, hosts: Sequence[str], window: windows.OpenWindow, now: dt.datetime
) -> str:
    left = windows.human_delta(window.closes - now)
    shown = ", ".join(hosts[:SHOWN_HOSTS]) + (
        f" and {len(hosts) - SHOWN_HOSTS} more" if len(hosts) > SHOWN_HOSTS else ""
    )
    return f"batch {number}/{total}: {len(hosts)} host(s): {shown} ({window_label(window)}: {left} left)"


def host_line(host: str, record: HostProgress) -> str:
    why = f": {record.reason}" if record.reason and record.state != HostState.VERIFIED else ""
    return f"{host}: {record.state}{why}"


def batch_end_line(number: int, counts: Mapping[str, int], seconds: float, campaign: _Counts) -> str:
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (
        f"batch {number} done in {seconds:.0f} s: {parts} "
        f"(campaign: {campaign.done} verified, {campaign.failed} failed, {campaign.remaining} remaining)"
    )


# --------------------------------------------------------------------------- plain lines
class PlainProgress:
    """One line per happening, with its clock time, flushed: for pipes, log files and --output json (on stderr)."""

    def __init__(self, total: int, stream: TextIO | None = None, clock: Callable[[], dt.datetime] = rundir.utcnow):
        self.stream = stream or sys.stdout
        self.counts = _Counts(total)
        self.clock = clock

    def _line(self, text: str) -> None:
        self.stream.write(f"{stamp(self.clock())} {textout.printable(text)}\n")
        self.stream.flush()

    def batch_start(self, number: int, total: int, hosts: Sequence[str], window: windows.OpenWindow) -> None:
        self._line(batch_start_line(number, total, hosts, window, self.clock()))

    def host_changed(self, host: str, record: HostProgress) -> None:
        self.counts.update(host, record)
        if record.state in END_STATES:
            self._line(f"  {host_line(host, record)}")

    def event(self, event: Mapping[str, Any]) -> None:
        return

    def batch_end(self, number: int, counts: Mapping[str, int], seconds: float) -> None:
        self._line(batch_end_line(number, counts, seconds, self.counts))

    def note(self, text: str) -> None:
        self._line(text)

    def close(self) -> None:
        return


# --------------------------------------------------------------------------- the live display
@dataclasses.dataclass
class _Step:
    task: str
    since: dt.datetime


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    now: dt.datetime
    batch: tuple[int, int, int] | None  # number, of, hosts
    batch_started: dt.datetime | None
    window: windows.OpenWindow | None
    done: int
    failed: int
    deferred: int
    remaining: int
    total: int
    running: tuple[tuple[str, str, _Step], ...]  # host, state, step
    waiting: tuple[str, ...]


class LiveProgress:
    """A rich Live block (transient) over a scrollback of plain lines; see the module's docstring."""

    def __init__(
        self,
        total: int,
        console: Any = None,
        clock: Callable[[], dt.datetime] = rundir.utcnow,
        *,
        refresh_per_second: float = 2.0,
    ) -> None:
        from rich.live import Live

        self.console = console or textout.console()
        self.counts = _Counts(total)
        self.clock = clock
        self._lock = threading.Lock()
        self._batch: tuple[int, int, int] | None = None
        self._batch_started: dt.datetime | None = None
        self._window: windows.OpenWindow | None = None
        self._batch_hosts: tuple[str, ...] = ()
        self._steps: dict[str, _Step] = {}
        self._deferred: dict[str, list[str]] = {}  # reason -> hosts, printed as one line per reason
        self.live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=refresh_per_second,
            transient=True,
            redirect_stderr=False,
        )
        self.live.start()

    # -- the scrollback -----------------------------------------------------------------
    def _print(self, text: str, style: str = "") -> None:
        """A line above the live block: clock time, then the text (never markup, controls escaped)."""
        from rich.text import Text

        line = Text(stamp(self.clock()) + " ", style="dim")
        line.append(textout.printable(text), style=style)
        self.console.print(line, overflow="fold")

    def _flush_deferred(self) -> None:
        with self._lock:
            groups, self._deferred = self._deferred, {}
        for reason, hosts in groups.items():
            shown = ", ".join(hosts[:SHOWN_HOSTS]) + (
                f" and {len(hosts) - SHOWN_HOSTS} more" if len(hosts) > SHOWN_HOSTS else ""
            )
            self._print(f"  {len(hosts)} host(s) deferred ({shown}): {reason}", STATE_STYLE["deferred"])

    # -- Progress -----------------------------------------------------------------------
    def batch_start(self, number: int, total: int, hosts: Sequence[str], window: windows.OpenWindow) -> None:
        now = self.clock()
        with self._lock:
            self._batch = (number, total, len(hosts))
            self._batch_started = now
            self._window = window
            self._batch_hosts = tuple(hosts)
            self._steps = {}  # never the previous batch's last task
        self._flush_deferred()
        self._print(batch_start_line(number, total, hosts, window, now), "bold")

    def host_changed(self, host: str, record: HostProgress) -> None:
        with self._lock:
            self.counts.update(host, record)
            if record.state == HostState.DEFERRED:
                self._deferred.setdefault(record.reason or "deferred", []).append(host)
                return
        if record.state in END_STATES:
            self._print(f"  {host_line(host, record)}", STATE_STYLE.get(str(record.state), ""))

    def event(self, event: Mapping[str, Any]) -> None:
        if event.get("event") != "runner_on_start":
            return
        data = event.get("event_data") or {}
        host = data.get("host")
        if not host:
            return
        task = str(data.get("task") or data.get("task_action") or "a task")
        with self._lock:
            if host in self._batch_hosts:
                self._steps[str(host)] = _Step(task=task, since=self.clock())

    def batch_end(self, number: int, counts: Mapping[str, int], seconds: float) -> None:
        with self._lock:
            line = batch_end_line(number, counts, seconds, self.counts)
            self._batch_hosts = ()
            self._steps = {}
        self._print(line, "bold")

    def note(self, text: str) -> None:
        self._flush_deferred()
        self._print(text, "bold")

    def close(self) -> None:
        self._flush_deferred()
        self.live.stop()  # transient: the block goes; the command prints the final summary in its place

    # -- the live block -----------------------------------------------------------------
    def snapshot(self) -> _Snapshot:
        now = self.clock()
        with self._lock:
            c = self.counts
            running = []
            waiting = []
            for host in self._batch_hosts:
                state = c.states.get(host, "pending")
                if state in END_STATES:
                    continue
                step = self._steps.get(host)
                if step is None:
                    waiting.append(host)
                else:
                    running.append((host, state, step))
            return _Snapshot(
                now=now,
                batch=self._batch,
                batch_started=self._batch_started,
                window=self._window,
                done=c.done,
                failed=c.failed,
                deferred=c.deferred,
                remaining=c.remaining,
                total=c.total,
                running=tuple(running),
                waiting=tuple(waiting),
            )

    def _render(self) -> Any:
        return render_block(self.snapshot(), width=self.console.width, height=self.console.height)


def _header(snap: _Snapshot) -> list[Any]:
    from rich.text import Text

    if snap.batch is None:
        batch = Text("preparing the first batch", style="bold")
    else:
        number, of, size = snap.batch
        batch = Text(f"batch {number} of {of}", style="bold")
        batch.append(f" · {size} host(s)")
        if snap.batch_started is not None:
            batch.append(f" · running {elapsed((snap.now - snap.batch_started).total_seconds())}")
    clock = Text(stamp(snap.now), style="bold")
    if snap.window is not None:
        clock.append(f" · {window_label(snap.window)} closes {windows.iso(snap.window.closes)} · ")
        clock.append(f"{countdown(snap.window.closes - snap.now)} left", style="bold")
    hosts = Text("hosts ")
    hosts.append(f"{snap.done} verified", style="green")
    hosts.append(" · ")
    hosts.append(f"{snap.failed} failed", style="red" if snap.failed else "")
    if snap.deferred:
        hosts.append(" · ")
        hosts.append(f"{snap.deferred} deferred", style="yellow")
    hosts.append(f" · {snap.remaining} remaining of {snap.total}")
    return [batch, clock, hosts]


def render_block(snap: _Snapshot, *, width: int, height: int) -> Any:
    """The live block: three header lines, then one line per host in flight (as many as the terminal holds)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    lines = _header(snap)
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
    room = max(1, height - len(lines) - 2)  # the cursor line and one spare
    rows = list(snap.running)
    shown = rows if len(rows) + (1 if snap.waiting else 0) <= room else rows[: max(0, room - 1)]
    if rows:
        cells = [
            (
                textout.printable(host),
                state,
                textout.printable(step.task),
                elapsed((snap.now - step.since).total_seconds()),
            )
            for host, state, step in shown
        ]
        host_w = min(max(len(c[0]) for c in cells), max(8, width // 3))
        state_w = max(len(c[1]) for c in cells)
        time_w = max(len(c[3]) for c in cells)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=host_w, no_wrap=True, overflow="ellipsis")
        grid.add_column(width=state_w, no_wrap=True)
        grid.add_column(width=max(4, width - host_w - state_w - time_w - 3), no_wrap=True, overflow="ellipsis")
        grid.add_column(width=time_w, no_wrap=True, justify="right")
        for host, state, task, spent in cells:
            grid.add_row(
                Text(host, style="bold"),
                Text(state, style=STATE_STYLE.get(state, "")),
                Text(task),
                Text(spent, style="dim"),
            )
        lines.append(grid)
    rest = []
    if len(shown) < len(rows):
        rest.append(f"{len(rows) - len(shown)} more running")
    if snap.waiting:
        names = ", ".join(snap.waiting[:SHOWN_HOSTS]) + (" ..." if len(snap.waiting) > SHOWN_HOSTS else "")
        rest.append(f"{len(snap.waiting)} waiting to start: {textout.printable(names)}")
    if rest:
        lines.append(Text(" · ".join(rest), style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*lines)
