# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Window files (``format: ripreplace-windows/1``): recurring windows per inventory group and blackouts.

The model (open intervals, :func:`windows.open_at`, :func:`windows.check_host`) is in ``windows.py``
beside this file; this reads and validates the file (schema ``schemas/windows.schema.json``, bounded
YAML through ``catalog_files``, RRULEs expanded within the bounds of ``recurrence.py``). Every problem
is one :class:`windows.InputFileError` line naming the file and the place in it.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .catalog_files import CatalogError, parse_yaml, read_text
from .recurrence import RuleTooCostly, expand
from .windows import (
    ALL,
    DEFAULT_FROM,
    EARLIEST,
    HORIZON,
    LATEST,
    MAX_RECURRING,
    SCHEMA,
    UTC,
    WINDOWS_FORMAT,
    Blackout,
    InputFileError,
    Piece,
    UsageError,
    _merge,
    _shift,
    _subtract,
    _utc,
    iso,
    parse_datetime,
    parse_duration,
)


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
    with open(SCHEMA, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
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
    """The rule parses, recurs at most hourly, expands within the bounds of :mod:`recurrence` (beside this file)
    to a horizon past ``now``, and occurs at least once."""
    text = window.rrule
    sub = _SUBHOURLY.search(text)
    if sub:
        raise InputFileError(f"{where}/rrule: {text!r}: a change window recurs at most hourly, not {sub.group(1)}")
    try:
        rule = window._rule
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise InputFileError(f"{where}/rrule: {text!r} is not an RFC 5545 RRULE: {exc}") from None
    try:
        starts, ended = expand(rule, _shift(now, 2 * HORIZON))
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
        text: str = read_text(path, "window file")
        data: dict[str, Any] = parse_yaml(str(path), text)
    except CatalogError as exc:
        problem = str(getattr(exc, "problem", exc))
        if problem == "no such file":
            raise InputFileError(f"{path}: window file not found") from None
        if problem.startswith("expected a YAML mapping"):
            raise InputFileError(f"{path}: a window file is a mapping with format: {WINDOWS_FORMAT}") from None
        raise InputFileError(str(exc)) from None
    return data, text.encode("utf-8")


def load_window_file(path: Path, *, now: dt.datetime | None = None) -> WindowFile:
    """Read and validate a windows file; every problem is one :class:`InputFileError` line naming the place.
    Each window's RRULE is expanded (bounded) to a horizon past ``now`` (default: the current time)."""
    import jsonschema  # pylint: disable=import-outside-toplevel  # only when a window file is read

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
