# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Change windows: when a host may be changed.

Two sources, one model:

- ``--window INTERVAL``: one ISO 8601 interval for every targeted host: ``START/END``,
  ``START/DURATION`` or ``now/DURATION`` (durations by :mod:`isodate`, date-times by
  :mod:`dateutil`). A start or end without a UTC offset is an error: a window is never guessed in
  the machine's local time.
- ``--window-file FILE``: YAML ``format: ripreplace-windows/1`` (schema:
  ``schemas/windows.schema.json``): named windows per inventory group, each recurring by an
  RFC 5545 RRULE (:mod:`dateutil.rrule`) in a named IANA time zone (:mod:`zoneinfo`), with a local
  start time and a duration, plus blackouts (dates or ranges, with a reason) that close every window
  they overlap.

A :class:`Schedule` turns a host's inventory groups into *open intervals* (``Piece``): the
occurrences of every window that applies to the host, merged where they touch or overlap, minus
the blackouts that apply to it. :func:`open_at`, :func:`next_open` and ``OpenWindow.closes`` answer
which window is open at a time, when the next opens and when the current one closes.

DST: the RRULE runs on local wall-clock time in the window's zone (``01:00`` stays ``01:00`` across
a DST change), and the duration is elapsed time added in UTC (``PT3H`` is always three real hours,
so on the night the clocks go back a 01:00 window ends at 03:00 wall time after three hours). A
start time that does not exist on a spring-forward day (02:30 in New York) resolves as zoneinfo does
with ``fold=0``: to the instant the same offset as before the change would give (03:30 local).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ripreplace import catalogs
from ripreplace.exceptions import InputFileError, UsageError
from ripreplace.recurrence import RuleTooCostly, expand

WINDOWS_FORMAT = "ripreplace-windows/1"
#: How far ahead :func:`next_open` looks for the next window.
HORIZON = dt.timedelta(days=400)
#: Default DTSTART date of a recurring window without ``from``.
DEFAULT_FROM = dt.date(2024, 1, 1)
UTC = dt.UTC
ALL = "all"
#: A recurring window lasts at most this long (a longer one is a fixed interval: --window START/END).
MAX_RECURRING = dt.timedelta(days=366)
#: The first and last instants a window can name (datetime's range, in UTC).
EARLIEST = dt.datetime.min.replace(tzinfo=UTC)
LATEST = dt.datetime.max.replace(tzinfo=UTC)


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
    def description(self) -> str: ...

    def pieces(self, groups: frozenset[str], start: dt.datetime, end: dt.datetime) -> list[Piece]:
        """Open intervals for a host of these groups that overlap [start, end), merged, blackouts removed."""
        ...

    def as_dict(self) -> dict[str, Any]: ...


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


def parse_interval(text: str, *, now: dt.datetime) -> IntervalSchedule:
    """``START/END``, ``START/DURATION`` or ``now/DURATION``; one-line :class:`UsageError` otherwise."""
    parts = text.strip().split("/")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"--window {text!r} is not an ISO 8601 interval: use START/END, START/PT3H or now/PT2H")
    head, tail = (p.strip() for p in parts)
    if head.lower() == "now":
        start = _utc(now)
    elif head.upper().startswith("P"):
        raise UsageError(f"--window {text!r}: a window starts with a date-time or 'now', not a duration")
    else:
        start = parse_datetime(head, what="--window start")
    if tail.upper().startswith("P"):
        length = parse_duration(tail, what="--window duration")
        try:
            end = start + length
        except OverflowError:
            raise UsageError(f"--window {text!r} ends after the year 9999") from None
    else:
        end = parse_datetime(tail, what="--window end")
    if end <= start:
        raise UsageError(f"--window {text!r} ends ({iso(end)}) before it starts ({iso(start)})")
    return IntervalSchedule(start=_utc(start), end=_utc(end), text=text.strip())


# --------------------------------------------------------------------------- --window-file
@dataclasses.dataclass(frozen=True)
class RecurringWindow:
    name: str
    groups: tuple[str, ...]
    rrule: str
    start: dt.time
    duration: dt.timedelta
    tz: str
    first: dt.date
    #: Occurrence starts expanded so far: {"until": datetime, "starts": [UTC datetimes], "ended": bool}.
    _expanded: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def applies(self, groups: frozenset[str]) -> bool:
        return ALL in self.groups or bool(groups & set(self.groups))

    @functools.cached_property
    def _rule(self) -> Any:
        from dateutil import rrule

        dtstart = dt.datetime.combine(self.first, self.start, tzinfo=ZoneInfo(self.tz))
        return rrule.rrulestr(self.rrule, dtstart=dtstart)

    def starts(self, until: dt.datetime) -> tuple[list[dt.datetime], bool]:
        """Occurrence starts (UTC, sorted) from the first day to at least ``until``, and whether the rule
        ends before it; expanded a horizon further than asked, so later queries reuse it. Bounded:
        one :class:`UsageError` line naming the window beyond :data:`MAX_OCCURRENCES` or
        :data:`EXPANSION_SECONDS` (checked at load time up to two horizons ahead)."""
        done = self._expanded
        if not done or (done["until"] < until and not done["ended"]):
            target = _shift(until, HORIZON)
            try:
                starts, ended = expand(self._rule, target)
            except RuleTooCostly as exc:  # asked far past what the file was checked for at load time
                raise UsageError(f"window {self.name}: rrule {self.rrule!r} {exc}") from None
            done.update(until=target, starts=starts, ended=ended)
        return done["starts"], done["ended"]

    def occurrences(self, start: dt.datetime, end: dt.datetime) -> list[Piece]:
        starts, _ended = self.starts(end)
        first = bisect.bisect_left(starts, _shift(start, -self.duration))
        last = bisect.bisect_right(starts, end)
        return [Piece(begin, _shift(begin, self.duration), self.name) for begin in starts[first:last]]


@dataclasses.dataclass(frozen=True)
class WindowFile:
    path: Path
    windows: tuple[RecurringWindow, ...]
    blackouts: tuple[Blackout, ...]
    sha256: str

    @property
    def description(self) -> str:
        names = ", ".join(w.name for w in self.windows)
        return f"{self.path} (windows: {names}; {len(self.blackouts)} blackout(s))"

    def pieces(self, groups: frozenset[str], start: dt.datetime, end: dt.datetime) -> list[Piece]:
        raw: list[Piece] = []
        for window in self.windows:
            if window.applies(groups):
                raw.extend(window.occurrences(start, end))
        merged = _merge(raw)
        return _subtract(merged, [b for b in self.blackouts if b.applies(groups)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "file",
            "path": str(self.path),
            "sha256": self.sha256,
            "windows": [
                {
                    "name": w.name,
                    "groups": list(w.groups),
                    "rrule": w.rrule,
                    "start": w.start.isoformat(timespec="minutes"),
                    "duration_s": int(w.duration.total_seconds()),
                    "timezone": w.tz,
                    "from": w.first.isoformat(),
                }
                for w in self.windows
            ],
            "blackouts": [
                {"start": iso(b.start), "end": iso(b.end), "reason": b.reason, "groups": list(b.groups)}
                for b in self.blackouts
            ],
        }


def schema() -> dict[str, Any]:
    text = resources.files("ripreplace").joinpath("schemas/windows.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _zone(name: str, where: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputFileError(f"{where}: unknown time zone {name!r} (an IANA name such as Europe/Berlin)") from None
    return name


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _local_bound(value: Any, zone: ZoneInfo, *, end: bool, where: str) -> dt.datetime:
    """A blackout bound: a date (whole local day; an end date is included) or a date-time with offset."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InputFileError(f"{where}: {value.isoformat()} has no UTC offset; add one or give a date")
        return _utc(value)
    if isinstance(value, dt.date):
        try:
            day = value + dt.timedelta(days=1) if end else value
            return _utc(dt.datetime.combine(day, dt.time(0), tzinfo=zone))
        except OverflowError:  # a day at the end of the calendar: the bound is that end
            return LATEST if end else EARLIEST
    text = str(value)
    if "T" in text or " " in text.strip():
        try:
            return _utc(parse_datetime(text, what=where))
        except UsageError as exc:
            raise InputFileError(str(exc)) from None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InputFileError(f"{where}: {text!r} is not a date (YYYY-MM-DD) or a date-time with offset") from None
    return _local_bound(day, zone, end=end, where=where)


_SUBHOURLY = re.compile(r"FREQ\s*=\s*(SECONDLY|MINUTELY)\b", re.IGNORECASE)


def _check_rule(window: RecurringWindow, where: str, now: dt.datetime) -> None:
    """The rule parses, recurs at most hourly, expands within the bounds of :mod:`ripreplace.recurrence`
    to a horizon past ``now``, and occurs at least once."""
    text = window.rrule
    sub = _SUBHOURLY.search(text)
    if sub:
        raise InputFileError(f"{where}/rrule: {text!r}: a change window recurs at most hourly, not {sub.group(1)}")
    try:
        _ = window._rule
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise InputFileError(f"{where}/rrule: {text!r} is not an RFC 5545 RRULE: {exc}") from None
    try:
        starts, ended = expand(window._rule, _shift(now, 2 * HORIZON))
    except RuleTooCostly as exc:
        raise InputFileError(f"{where}/rrule: {text!r} {exc}") from None
    window._expanded.update(until=_shift(now, 2 * HORIZON), starts=starts, ended=ended)
    if ended and not starts:
        raise InputFileError(f"{where}/rrule: {text!r} never occurs (from {window.first.isoformat()})")


def _load_window(entry: Mapping[str, Any], default_tz: str, where: str, now: dt.datetime) -> RecurringWindow:
    tz = _zone(str(entry.get("timezone", default_tz)), f"{where}/timezone")
    start_text = str(entry["start"])
    match = _TIME.match(start_text)
    if not match:
        raise InputFileError(f"{where}/start: {start_text!r} is not a local time HH:MM")
    start = dt.time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    try:
        duration = parse_duration(str(entry["duration"]), what="duration")
    except UsageError as exc:
        raise InputFileError(f"{where}/duration: {exc}") from None
    if duration > MAX_RECURRING:
        raise InputFileError(
            f"{where}/duration: {entry['duration']!r}: a recurring window lasts at most P{MAX_RECURRING.days}D "
            "(for a longer one use --window START/END)"
        )
    first_raw = entry.get("from", DEFAULT_FROM.isoformat())
    try:
        first = first_raw if isinstance(first_raw, dt.date) else dt.date.fromisoformat(str(first_raw))
    except ValueError:
        raise InputFileError(f"{where}/from: {first_raw!r} is not a date (YYYY-MM-DD)") from None
    rule_text = str(entry["rrule"]).strip()
    if rule_text.upper().startswith("RRULE:"):
        rule_text = rule_text[len("RRULE:") :]
    if "DTSTART" in rule_text.upper():
        raise InputFileError(f"{where}/rrule: give the first day as 'from' and the time as 'start', not DTSTART")
    window = RecurringWindow(
        name=str(entry["name"]),
        groups=tuple(str(g) for g in entry["groups"]),
        rrule=rule_text,
        start=start,
        duration=duration,
        tz=tz,
        first=first,
    )
    _check_rule(window, where, now)
    return window


def _load_blackout(entry: Mapping[str, Any], default_tz: str, where: str) -> Blackout:
    zone = ZoneInfo(_zone(str(entry.get("timezone", default_tz)), f"{where}/timezone"))
    if "date" in entry:
        lo = _local_bound(entry["date"], zone, end=False, where=f"{where}/date")
        hi = _local_bound(entry["date"], zone, end=True, where=f"{where}/date")
    else:
        lo = _local_bound(entry["start"], zone, end=False, where=f"{where}/start")
        hi = _local_bound(entry["end"], zone, end=True, where=f"{where}/end")
    if hi <= lo:
        raise InputFileError(f"{where}: ends before it starts")
    return Blackout(lo, hi, str(entry["reason"]), tuple(str(g) for g in entry.get("groups", [ALL])))


def _plain(value: Any) -> Any:
    """YAML data as JSON types for the schema: dates as ISO strings, keys as strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _error_order(error: Any) -> list[tuple[int, int, str]]:
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path]


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    """The file's YAML mapping and its bytes, through the catalog's bounded reader (size, UTF-8, aliases)."""
    try:
        text = catalogs.read_text(path, "window file")
        data = catalogs.parse_yaml(str(path), text)
    except catalogs.CatalogError as exc:
        if catalogs.problem(exc) == "no such file":
            raise InputFileError(f"{path}: window file not found") from None
        if catalogs.problem(exc).startswith("expected a YAML mapping"):
            raise InputFileError(f"{path}: a window file is a mapping with format: {WINDOWS_FORMAT}") from None
        raise InputFileError(str(exc)) from None
    return data, text.encode("utf-8")


def load_window_file(path: Path, *, now: dt.datetime | None = None) -> WindowFile:
    """Read and validate a windows file; every problem is one :class:`InputFileError` line naming the place.
    Each window's RRULE is expanded (bounded) to a horizon past ``now`` (default: the current time)."""
    import hashlib

    import jsonschema

    data, raw = _read(path)
    if data.get("format") != WINDOWS_FORMAT:
        raise InputFileError(f"{path}: format must be {WINDOWS_FORMAT!r}, got {str(data.get('format'))[:80]!r}")
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(_plain(data)), key=_error_order)
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        message, shown = err.message, repr(err.instance)
        if len(shown) > 60:  # the value quoted in the message: its head is enough
            message = message.replace(shown, shown[:40] + "...")
        message = message if len(message) <= 300 else message[:297] + "..."
        raise InputFileError(f"{path}: {where}: {message}")
    now = _utc(now or dt.datetime.now(UTC))
    default_tz = _zone(str(data.get("timezone", "UTC")), f"{path}: timezone")
    windows: list[RecurringWindow] = []
    for n, entry in enumerate(data["windows"]):
        window = _load_window(entry, default_tz, f"{path}: windows/{n}", now)
        if any(w.name == window.name for w in windows):
            raise InputFileError(f"{path}: windows/{n}: window name {window.name!r} is used twice")
        windows.append(window)
    blackouts = [
        _load_blackout(entry, default_tz, f"{path}: blackouts/{n}")
        for n, entry in enumerate(data.get("blackouts") or [])
    ]
    return WindowFile(
        path=path, windows=tuple(windows), blackouts=tuple(blackouts), sha256=hashlib.sha256(raw).hexdigest()
    )
