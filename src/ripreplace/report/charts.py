# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Chart geometry for the HTML report: hosts by status, and batches against the change window.

Only numbers and short labels are computed here; the template draws them. Every horizontal
coordinate is a **percentage** of the plot's width, so an inline SVG drawn at ``width="100%"``
fills its column at any page width (1280 px or a 390 px phone) while its text keeps its size:
no viewBox scaling, nothing to measure in a browser (the page runs no script).

Time axes tick at round times (whole seconds, minutes, 5, 15, 30 minutes, hours...), chosen so
that at most :data:`MAX_TICKS` ticks fit; on a narrow page only every other one is labelled (CSS).
A label near either end is anchored inward so it stays inside the plot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ripreplace.report.model import STATUS_ORDER, Batch, RunInfo

STATUS_COLORS = {
    "covered": "#c62828",
    "failed": "#ef6c00",
    "unreachable": "#8d6e63",
    "locked": "#455a64",
    "deferred": "#6a1b9a",
    "review": "#f9a825",
    "excepted": "#0277bd",
    "remediated": "#2e7d32",
    "clean": "#66bb6a",
}

#: Round tick steps, seconds: 1 s ... 1 day.
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_TICKS = 6
_EDGE = 7.0  # a tick label within this many percent of an end is anchored inward


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "not recorded"
    if value < 120:
        return f"{value:g} s"
    return f"{value / 60:.1f} min ({value:g} s)"


def short_seconds(value: float | None) -> str:
    """``41 s``, ``2.1 min``, ``1.5 h``: for chart labels."""
    if value is None:
        return "?"
    if value < 120:
        return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


# --------------------------------------------------------------------------- hosts by status
@dataclasses.dataclass(frozen=True)
class StatusBar:
    status: str
    count: int
    pct: float  # bar length, percent of the plot
    color: str


def status_bars(counts: dict[str, int]) -> list[StatusBar]:
    """One bar per status present, most urgent first; the longest bar fills 100 % of its plot."""
    rows = [(s, counts[s]) for s in STATUS_ORDER if counts.get(s)]
    rows += [(s, n) for s, n in counts.items() if s not in STATUS_ORDER and n]
    top = max((n for _s, n in rows), default=1)
    return [StatusBar(s, n, round(max(0.5, 100.0 * n / top), 2), STATUS_COLORS.get(s, "#9e9e9e")) for s, n in rows]


# --------------------------------------------------------------------------- time axis
@dataclasses.dataclass(frozen=True)
class Tick:
    pct: float
    label: str
    anchor: str  # start, middle or end (SVG text-anchor)
    major: bool = True  # on a narrow page only every other tick (the major ones) is labelled


def tick_step(seconds: float, max_ticks: int = MAX_TICKS) -> int:
    """The smallest round step giving at most ``max_ticks`` ticks over ``seconds`` (both ends may tick)."""
    for step in TICK_STEPS:
        if seconds / step < max_ticks:
            return step
    days = int(seconds // (86400 * max_ticks)) + 1
    return 86400 * days


def ticks(t0: dt.datetime, t1: dt.datetime, max_ticks: int = MAX_TICKS) -> list[Tick]:
    """Round-time ticks in [t0, t1] (UTC), as percentages of the span."""
    total = (t1 - t0).total_seconds()
    if total <= 0:
        return []
    step = tick_step(total, max_ticks)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    first = -(-int((t0 - epoch).total_seconds()) // step) * step  # ceil to a multiple of step
    fmt = "%H:%M" if step >= 60 else "%H:%M:%S"
    out = []
    day0 = t0.astimezone(dt.UTC).date()
    at = first
    while True:
        when = epoch + dt.timedelta(seconds=at)
        if when > t1:
            break
        pct = round(100.0 * (when - t0).total_seconds() / total, 2)
        label = when.strftime(fmt) if when.date() == day0 else when.strftime("%m-%d " + fmt)
        anchor = "start" if pct < _EDGE else "end" if pct > 100 - _EDGE else "middle"
        out.append(Tick(pct, label, anchor, major=(at // step) % 2 == 0))
        at += step
    if len(out) <= 3:
        out = [dataclasses.replace(t, major=True) for t in out]
    return out


# --------------------------------------------------------------------------- batches against the window
@dataclasses.dataclass(frozen=True)
class BatchBar:
    batch: int
    label: str  # "batch 2"
    text: str  # "14 hosts, 2.1 min"
    title: str  # the tooltip: everything known about the batch
    x: float  # percent
    w: float  # percent
    color: str


@dataclasses.dataclass(frozen=True)
class WindowBand:
    x: float
    w: float
    start: str | None
    end: str | None
    opens: str | None  # "opens 06:00" when the window's start is inside the plot
    closes: str | None  # "closes 07:00" when its end is inside the plot


@dataclasses.dataclass(frozen=True)
class Timeline:
    rows: list[BatchBar]
    window: WindowBand | None
    ticks: list[Tick]
    day: str
    zoom: bool


def _batch_title(b: Batch) -> str:
    return (
        f"batch {b.batch}: {len(b.hosts)} host(s), {fmt_seconds(b.seconds)}, started {b.started}"
        + (f", checked against close {b.closes}" if b.closes else "")
        + (", canceled" if b.canceled else "")
        + (", " + ", ".join(f"{n} {s}" for s, n in sorted(b.counts.items())) if b.counts else "")
    )


def _hhmm(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%H:%M" if when.second == 0 else "%H:%M:%S")


def _window_band(run: RunInfo, t0: dt.datetime, t1: dt.datetime, pct: dict[str, float | None]) -> WindowBand | None:
    w_start, w_end = parse_time(run.window_start), parse_time(run.window_end)
    if not (w_start or w_end):
        return None
    start_in = w_start is not None and t0 <= w_start <= t1
    end_in = w_end is not None and t0 <= w_end <= t1
    x0 = pct["start"] if start_in and pct["start"] is not None else 0.0
    x1 = pct["end"] if end_in and pct["end"] is not None else 100.0
    return WindowBand(
        x=x0,
        w=round(max(0.2, x1 - x0), 2),
        start=run.window_start,
        end=run.window_end,
        opens=f"opens {_hhmm(w_start)}" if start_in and w_start else None,
        closes=f"closes {_hhmm(w_end)}" if end_in and w_end else None,
    )


def timeline(run: RunInfo, *, zoom: bool = False) -> Timeline | None:
    """Batches (rows) against the change window (a band). None when no batch has a start time.

    ``zoom``: the span is the batches' own, not the window's (when batches are slivers in it).
    """
    spans = []
    for b in run.batches:
        start = parse_time(b.started)
        if start is not None:
            spans.append((b, start, start + dt.timedelta(seconds=b.seconds or 0)))
    if not spans:
        return None
    w_start, w_end = parse_time(run.window_start), parse_time(run.window_end)
    t0, t1 = min(s for _b, s, _e in spans), max(e for _b, _s, e in spans)
    if not zoom:
        t0 = min(x for x in (w_start, t0) if x is not None)
        t1 = max(x for x in (w_end, t1) if x is not None)
    pad = dt.timedelta(seconds=max((t1 - t0).total_seconds(), 1.0) * 0.02)
    t0, t1 = t0 - pad, t1 + pad
    total = (t1 - t0).total_seconds()

    def x(when: dt.datetime) -> float:
        return round(100.0 * (when - t0).total_seconds() / total, 2)

    rows = []
    for b, start, end in spans:
        x0 = x(start)
        rows.append(
            BatchBar(
                batch=b.batch,
                label=f"batch {b.batch}",
                text=f"{len(b.hosts)} host{'s' if len(b.hosts) != 1 else ''}, {short_seconds(b.seconds)}",
                title=_batch_title(b),
                x=x0,
                w=round(max(0.4, x(end) - x0), 2),
                color="#c62828" if b.counts.get("failed") or b.canceled else "#1565c0",
            )
        )
    band = _window_band(run, t0, t1, {"start": x(w_start) if w_start else None, "end": x(w_end) if w_end else None})
    day = t0.astimezone(dt.UTC).strftime("%Y-%m-%d")
    return Timeline(rows=rows, window=band, ticks=ticks(t0, t1), day=day, zoom=zoom)


def timelines(run: RunInfo) -> list[Timeline]:
    """The run's batches against its window, plus a view zoomed to the batches when they are slivers."""
    main = timeline(run)
    if main is None:
        return []
    out = [main]
    if main.window is not None:
        busy = sum(r.w for r in main.rows) / max(1, len(main.rows))
        if busy < 10.0:  # batches are slivers against the window: add a zoomed view
            zoomed = timeline(run, zoom=True)
            if zoomed is not None:
                out.append(zoomed)
    return out
