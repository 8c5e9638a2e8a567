"""What an operator sees while a campaign runs: a live rich display on a terminal, plain lines otherwise.

Both implement :class:`ripreplace.campaign.Progress`. The live display shows the batch, hosts
done / failed / remaining, the current task and the time left in the window; the plain form prints
one line per batch start and end, per host reaching an end state, and per decision, so a log file
or a CI job reads the same story.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from ripreplace import rundir, windows
from ripreplace.campaign import HostProgress, HostState

END_STATES = frozenset(
    {HostState.VERIFIED, HostState.FAILED, HostState.UNREACHABLE, HostState.DEFERRED, HostState.INTERRUPTED}
)


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
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed - self.count("deferred", "interrupted"))


class PlainProgress:
    """One line per happening, flushed: for pipes, log files and --output json (on stderr)."""

    def __init__(self, total: int, stream: TextIO | None = None, clock: Callable[[], dt.datetime] = rundir.utcnow):
        self.stream = stream or sys.stdout
        self.counts = _Counts(total)
        self.clock = clock
        self.closes: dt.datetime | None = None

    def _line(self, text: str) -> None:
        stamp = self.clock().astimezone(dt.UTC).strftime("%H:%M:%SZ")
        self.stream.write(f"{stamp} {text}\n")
        self.stream.flush()

    def batch_start(self, number: int, total: int, hosts: Sequence[str], window: windows.OpenWindow) -> None:
        self.closes = window.closes
        left = windows.human_delta(window.closes - self.clock())
        shown = ", ".join(hosts[:8]) + (f" and {len(hosts) - 8} more" if len(hosts) > 8 else "")
        self._line(f"batch {number}/{total}: {len(hosts)} host(s): {shown} (window {window.name}: {left} left)")

    def host_changed(self, host: str, record: HostProgress) -> None:
        self.counts.update(host, record)
        if record.state in END_STATES:
            why = f": {record.reason}" if record.reason and record.state != HostState.VERIFIED else ""
            self._line(f"  {host}: {record.state}{why}")

    def event(self, event: Mapping[str, Any]) -> None:
        return

    def batch_end(self, number: int, counts: Mapping[str, int], seconds: float) -> None:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        c = self.counts
        self._line(
            f"batch {number} done in {seconds:.0f} s: {parts} "
            f"(campaign: {c.done} verified, {c.failed} failed, {c.remaining} remaining)"
        )

    def note(self, text: str) -> None:
        self._line(text)

    def close(self) -> None:
        return


class LiveProgress:
    """A rich Live panel: batch, hosts done/failed/remaining, current task, time left in the window."""

    def __init__(self, total: int, console: Any = None, clock: Callable[[], dt.datetime] = rundir.utcnow) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(highlight=False)
        self.counts = _Counts(total)
        self.clock = clock
        self.batch = "-"
        self.window: windows.OpenWindow | None = None
        self.task = ""
        self.batch_hosts: Sequence[str] = ()
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        c = self.counts
        table.add_row("batch", self.batch)
        table.add_row(
            "hosts",
            f"[green]{c.done} verified[/]  [red]{c.failed} failed[/]  {c.remaining} remaining  of {c.total}",
        )
        table.add_row("task", self.task or "-")
        if self.window is not None:
            left = windows.human_delta(self.window.closes - self.clock())
            table.add_row("window", f"{self.window.name}: closes {windows.iso(self.window.closes)} ({left} left)")
        return table

    def _refresh(self) -> None:
        self.live.update(self._render())

    def batch_start(self, number: int, total: int, hosts: Sequence[str], window: windows.OpenWindow) -> None:
        self.batch = f"{number}/{total} ({len(hosts)} host(s))"
        self.window = window
        self.batch_hosts = hosts
        self._refresh()

    def host_changed(self, host: str, record: HostProgress) -> None:
        self.counts.update(host, record)
        if record.state in END_STATES and record.state != HostState.VERIFIED:
            self.console.print(f"{host}: {record.state}: {record.reason}", markup=False)
        self._refresh()

    def event(self, event: Mapping[str, Any]) -> None:
        if event.get("event") == "playbook_on_task_start":
            data = event.get("event_data") or {}
            self.task = str(data.get("task") or data.get("name") or "")
            self._refresh()

    def batch_end(self, number: int, counts: Mapping[str, int], seconds: float) -> None:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        self.console.print(f"batch {number} done in {seconds:.0f} s: {parts}", markup=False)
        self._refresh()

    def note(self, text: str) -> None:
        self.console.print(text, markup=False)
        self._refresh()

    def close(self) -> None:
        self._refresh()
        self.live.stop()
