# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Change windows: when a host may be changed. Shared by the ``change_window`` action plugin and the
``ripreplace`` command (typed facade: ``ripreplace.windows``), so both read a window the same way.

Two sources, one model:

- an interval (``--window INTERVAL``, the plugin's ``window``): one ISO 8601 interval for every
  targeted host: ``START/END``, ``START/DURATION`` or ``now/DURATION`` (durations by :mod:`isodate`,
  date-times by :mod:`dateutil`). A start or end without a UTC offset is an error: a window is never
  guessed in the machine's local time.
- a window file (``--window-file FILE``, the plugin's ``window_file``): YAML
  ``format: ripreplace-windows/1`` (schema: ``schemas/windows.schema.json``): named windows per
  inventory group, each recurring by an RFC 5545 RRULE (:mod:`dateutil.rrule`) in a named IANA time
  zone (:mod:`zoneinfo`), with a local start time and a duration, plus blackouts (dates or ranges,
  with a reason) that close every window they overlap.

A :class:`Schedule` turns a host's inventory groups into *open intervals* (``Piece``): the
occurrences of every window that applies to the host, merged where they touch or overlap, minus
the blackouts that apply to it. :func:`open_at`, :func:`next_open` and ``OpenWindow.closes`` answer
which window is open at a time, when the next opens and when the current one closes;
:func:`check_host` says it in one line for a host that is outside (``the window ended at ...``).

DST: the RRULE runs on local wall-clock time in the window's zone (``01:00`` stays ``01:00`` across
a DST change), and the duration is elapsed time added in UTC (``PT3H`` is always three real hours,
so on the night the clocks go back a 01:00 window ends at 03:00 wall time after three hours). A
start time that does not exist on a spring-forward day (02:30 in New York) resolves as zoneinfo does
with ``fold=0``: to the instant the same offset as before the change would give (03:30 local).

Errors are :class:`UsageError` (an interval, date-time or duration) or :class:`InputFileError` (a
window file), both :class:`WindowError`, whose text is one line. Imported by ansible's collection
loader and by ``ripreplace.collection.load_plugin_util``; it needs the standard library, PyYAML
(through ``catalog_files``), python-dateutil, isodate and, for window files, jsonschema.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

WINDOWS_FORMAT = "ripreplace-windows/1"
#: How far ahead :func:`next_open` looks for the next window.
HORIZON = dt.timedelta(days=400)
#: Default DTSTART date of a recurring window without ``from``.
DEFAULT_FROM = dt.date(2024, 1, 1)
UTC = dt.timezone.utc
ALL = "all"
#: A recurring window lasts at most this long (a longer one is a fixed interval: --window START/END).
MAX_RECURRING = dt.timedelta(days=366)
#: The first and last instants a window can name (datetime's range, in UTC).
EARLIEST = dt.datetime.min.replace(tzinfo=UTC)
LATEST = dt.datetime.max.replace(tzinfo=UTC)
_COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(_COLLECTION_ROOT, "schemas", "windows.schema.json")


class WindowError(ValueError):
    """A window that cannot be read; ``str()`` is one line naming the problem."""


class UsageError(WindowError):
    """A bad interval, date-time or duration (given on a command line or as a variable)."""


class InputFileError(WindowError):
    """A bad window file (unreadable, invalid, or a rule that cannot be expanded)."""


def _utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(UTC)


def _shift(when: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``when + delta``, held at the ends of datetime's range instead of overflowing."""
    try:
        return when + delta
    except OverflowError:
        return LATEST if delta > dt.timedelta(0) else EARLIEST


def iso(when: dt.datetime) -> str:
    return _utc(when).isoformat(timespec="seconds").replace("+00:00", "Z")


def human_delta(delta: dt.timedelta) -> str:
    """``1h 05m`` / ``4m 10s`` / ``12s``: time left, for people."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


# --------------------------------------------------------------------------- durations and date-times
def parse_duration(text: str, *, what: str = "duration") -> dt.timedelta:
    """An ISO 8601 duration of fixed length (``PT3H``, ``PT90M``, ``P1DT2H``). Months and years are refused:
    their length depends on the date, which a window or an estimate must not."""
    import isodate

    try:
        value = isodate.parse_duration(text.strip())
    except OverflowError:
        raise UsageError(f"{what} {text!r} is too long") from None
    except (isodate.ISO8601Error, ValueError, TypeError):
        raise UsageError(f"{what} {text!r} is not an ISO 8601 duration (e.g. PT3H, PT90M, P1DT2H)") from None
    if not isinstance(value, dt.timedelta):
        raise UsageError(f"{what} {text!r} uses months or years; give it in days, hours, minutes (e.g. P30D)")
    if value <= dt.timedelta(0):
        raise UsageError(f"{what} {text!r} must be longer than zero")
    return value


def parse_datetime(text: str, *, what: str) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset (``Z`` or ``-05:00``). No offset is an error naming it."""
    from dateutil import parser as dtparser

    try:
        value = dtparser.isoparse(text.strip())
    except (ValueError, OverflowError):
        raise UsageError(f"{what} {text!r} is not an ISO 8601 date-time (e.g. 2026-12-05T01:00:00-05:00)") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise UsageError(
            f"{what} {text!r} has no UTC offset: add one (e.g. {text.strip()}Z or {text.strip()}-05:00); "
            "a window is never read in this machine's local time"
        )
    try:
        _utc(value)
    except OverflowError:
        raise UsageError(f"{what} {text!r} lies outside the years 1 to 9999 in UTC") from None
    return value


# --------------------------------------------------------------------------- the model
@dataclasses.dataclass(frozen=True)
class Piece:
    """An interval in which a window is open (UTC, ``start`` included, ``end`` excluded)."""

    start: dt.datetime
    end: dt.datetime
    name: str


@dataclasses.dataclass(frozen=True)
class OpenWindow:
    name: str
    opens: dt.datetime
    closes: dt.datetime

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        return self.closes - now

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "opens": iso(self.opens), "closes": iso(self.closes)}


@dataclasses.dataclass(frozen=True)
class Blackout:
    start: dt.datetime
    end: dt.datetime
    reason: str
    groups: tuple[str, ...] = (ALL,)

    def applies(self, groups: frozenset[str]) -> bool:
        return ALL in self.groups or bool(groups & set(self.groups))


class Schedule(Protocol):
    """What the campaign asks of a window source."""

    @property
    def description(self) -> str:
        """One line naming the window source, for the operator."""

    def pieces(self, groups: frozenset[str], start: dt.datetime, end: dt.datetime) -> list[Piece]:
        """Open intervals for a host of these groups that overlap [start, end), merged, blackouts removed."""

    def as_dict(self) -> dict[str, Any]:
        """The window source as JSON (the manifest, the audit log's decisions, the guard's result)."""


def _merge(pieces: Iterable[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in sorted(pieces, key=lambda p: (p.start, p.end)):
        if out and piece.start <= out[-1].end:
            last = out[-1]
            if piece.end > last.end:
                name = last.name if piece.name == last.name else f"{last.name}+{piece.name}"
                out[-1] = Piece(last.start, piece.end, name)
            continue
        out.append(piece)
    return out


def _subtract(pieces: Iterable[Piece], blackouts: Sequence[Blackout]) -> list[Piece]:
    out = list(pieces)
    for black in blackouts:
        cut: list[Piece] = []
        for p in out:
            if black.end <= p.start or black.start >= p.end:
                cut.append(p)
                continue
            if p.start < black.start:
                cut.append(Piece(p.start, black.start, p.name))
            if black.end < p.end:
                cut.append(Piece(black.end, p.end, p.name))
        out = cut
    return out


def open_at(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> OpenWindow | None:
    """The window open at ``when`` for a host of ``groups`` (its close is the end of the merged piece)."""
    when = _utc(when)
    for piece in schedule.pieces(frozenset(groups), _shift(when, -dt.timedelta(days=2)), _shift(when, HORIZON)):
        if piece.start <= when < piece.end:
            return OpenWindow(piece.name, piece.start, piece.end)
    return None


def next_open(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> OpenWindow | None:
    """The next window that opens after ``when`` (strictly later), within :data:`HORIZON`; None if none."""
    when = _utc(when)
    for piece in schedule.pieces(frozenset(groups), when, _shift(when, HORIZON)):
        if piece.start > when:
            return OpenWindow(piece.name, piece.start, piece.end)
    return None


def last_close(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> dt.datetime | None:
    """When the host's last window before ``when`` closed (a fixed --window however long ago, a
    window file's within :data:`HORIZON`); None if none did. For "the window ended at ..."."""
    when = _utc(when)
    if isinstance(schedule, IntervalSchedule):
        return schedule.end if schedule.end <= when else None
    ends = [p.end for p in schedule.pieces(frozenset(groups), _shift(when, -HORIZON), when) if p.end <= when]
    return max(ends, default=None)


def blackout_at(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> Blackout | None:
    """The blackout that closes the host's windows at ``when``, if any (for the operator's message)."""
    blackouts: tuple[Blackout, ...] = tuple(getattr(schedule, "blackouts", ()))
    for black in blackouts:
        if black.applies(frozenset(groups)) and black.start <= _utc(when) < black.end:
            return black
    return None


@dataclasses.dataclass(frozen=True)
class HostCheck:
    """A host's window at one instant: open (``window``), or closed with the ``reason`` in one line."""

    window: OpenWindow | None
    reason: str | None = None
    next_window: OpenWindow | None = None
    ended: dt.datetime | None = None
    blackout: Blackout | None = None

    @property
    def is_open(self) -> bool:
        return self.window is not None


def check_host(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> HostCheck:
    """Whether a host of ``groups`` may be changed at ``when``; when not, why and until when, in one line:
    ``outside its change window: the window ended at ...`` / ``...: the next window NAME opens at ...`` /
    ``blackout: REASON: ...``."""
    groups = frozenset(groups)
    window = open_at(schedule, groups, when)
    if window is not None:
        return HostCheck(window)
    nxt = next_open(schedule, groups, when)
    black = blackout_at(schedule, groups, when)
    ended = last_close(schedule, groups, when)
    why = f"blackout: {black.reason}" if black else "outside its change window"
    if nxt is not None:
        until = f"the next window {nxt.name} opens at {iso(nxt.opens)}"
    elif ended is not None:
        until = f"the window ended at {iso(ended)}"
    else:
        until = f"no window opens in the next {HORIZON.days} days"
    return HostCheck(None, f"{why}: {until}", nxt, ended, black)


# --------------------------------------------------------------------------- --window INTERVAL
@dataclasses.dataclass(frozen=True)
class IntervalSchedule:
    """One fixed interval for every host: ``--window``."""

    start: dt.datetime
    end: dt.datetime
    text: str
    name: str = "--window"

    @property
    def description(self) -> str:
        return f"{self.text} ({iso(self.start)} to {iso(self.end)})"

    @property
    def blackouts(self) -> tuple[Blackout, ...]:
        return ()

    def pieces(self, groups: frozenset[str], start: dt.datetime, end: dt.datetime) -> list[Piece]:
        if self.end <= start:  # one known interval: reported however far ahead it lies
            return []
        return [Piece(self.start, self.end, self.name)]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "interval", "text": self.text, "start": iso(self.start), "end": iso(self.end)}


def parse_interval(text: str, *, now: dt.datetime, label: str = "--window") -> IntervalSchedule:
    """``START/END``, ``START/DURATION`` or ``now/DURATION``; one-line :class:`UsageError` otherwise. ``label``
    names the interval in messages and is the window's name (the command's option, or a variable)."""
    parts = text.strip().split("/")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"{label} {text!r} is not an ISO 8601 interval: use START/END, START/PT3H or now/PT2H")
    head, tail = (p.strip() for p in parts)
    if head.lower() == "now":
        start = _utc(now)
    elif head.upper().startswith("P"):
        raise UsageError(f"{label} {text!r}: a window starts with a date-time or 'now', not a duration")
    else:
        start = parse_datetime(head, what=f"{label} start")
    if tail.upper().startswith("P"):
        length = parse_duration(tail, what=f"{label} duration")
        try:
            end = start + length
        except OverflowError:
            raise UsageError(f"{label} {text!r} ends after the year 9999") from None
    else:
        end = parse_datetime(tail, what=f"{label} end")
    if end <= start:
        raise UsageError(f"{label} {text!r} ends ({iso(end)}) before it starts ({iso(start)})")
    return IntervalSchedule(start=_utc(start), end=_utc(end), text=text.strip(), name=label)
