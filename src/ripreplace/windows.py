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

from ripreplace.exceptions import InputFileError, UsageError

WINDOWS_FORMAT = "ripreplace-windows/1"
#: How far ahead :func:`next_open` looks for the next window.
HORIZON = dt.timedelta(days=400)
#: Default DTSTART date of a recurring window without ``from``.
DEFAULT_FROM = dt.date(2024, 1, 1)
UTC = dt.UTC
ALL = "all"


def _utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(UTC)


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
    for piece in schedule.pieces(frozenset(groups), when - dt.timedelta(days=2), when + HORIZON):
        if piece.start <= when < piece.end:
            return OpenWindow(piece.name, piece.start, piece.end)
    return None


def next_open(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> OpenWindow | None:
    """The next window that opens after ``when`` (strictly later), within :data:`HORIZON`; None if none."""
    when = _utc(when)
    for piece in schedule.pieces(frozenset(groups), when, when + HORIZON):
        if piece.start > when:
            return OpenWindow(piece.name, piece.start, piece.end)
    return None


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
        end = start + parse_duration(tail, what="--window duration")
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

    def applies(self, groups: frozenset[str]) -> bool:
        return ALL in self.groups or bool(groups & set(self.groups))

    @functools.cached_property
    def _rule(self) -> Any:
        from dateutil import rrule

        dtstart = dt.datetime.combine(self.first, self.start, tzinfo=ZoneInfo(self.tz))
        return rrule.rrulestr(self.rrule, dtstart=dtstart, cache=True)

    def occurrences(self, start: dt.datetime, end: dt.datetime) -> list[Piece]:
        zone = ZoneInfo(self.tz)
        lo = (start - self.duration).astimezone(zone)
        hi = end.astimezone(zone)
        out = []
        for occ in self._rule.between(lo, hi, inc=True):
            begin = _utc(occ)
            out.append(Piece(begin, begin + self.duration, self.name))
        return out


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
    except (ZoneInfoNotFoundError, ValueError):
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
        day = value + dt.timedelta(days=1) if end else value
        return _utc(dt.datetime.combine(day, dt.time(0), tzinfo=zone))
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


def _load_window(entry: Mapping[str, Any], default_tz: str, where: str) -> RecurringWindow:
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
    try:
        _ = window._rule
    except (ValueError, TypeError) as exc:
        raise InputFileError(f"{where}/rrule: {rule_text!r} is not an RFC 5545 RRULE: {exc}") from None
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


def load_window_file(path: Path) -> WindowFile:
    """Read and validate a windows file; every problem is one :class:`InputFileError` line naming the place."""
    import hashlib

    import jsonschema
    import yaml

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: window file not found") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the window file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputFileError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, Mapping):
        raise InputFileError(f"{path}: a window file is a mapping with format: {WINDOWS_FORMAT}")
    if data.get("format") != WINDOWS_FORMAT:
        raise InputFileError(f"{path}: format must be {WINDOWS_FORMAT!r}, got {data.get('format')!r}")
    # YAML reads bare dates as date objects: the schema sees them as ISO strings.
    plain = json.loads(json.dumps(data, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o)))
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(plain), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        raise InputFileError(f"{path}: {where}: {err.message}")
    default_tz = _zone(str(data.get("timezone", "UTC")), f"{path}: timezone")
    windows: list[RecurringWindow] = []
    for n, entry in enumerate(data["windows"]):
        window = _load_window(entry, default_tz, f"{path}: windows/{n}")
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
