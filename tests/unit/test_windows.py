# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Change windows: ISO 8601 intervals, windows files (RRULE in IANA zones, blackouts), DST, next window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ripreplace import recurrence, windows
from ripreplace.exceptions import InputFileError, UsageError

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def z(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- --window
@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-12-05T01:00:00-05:00/2026-12-05T04:00:00-05:00", z(2026, 12, 5, 6), z(2026, 12, 5, 9)),
        ("2026-12-05T01:00:00-05:00/PT3H", z(2026, 12, 5, 6), z(2026, 12, 5, 9)),
        ("2026-12-05T06:00:00Z/PT90M", z(2026, 12, 5, 6), z(2026, 12, 5, 7, 30)),
        ("now/PT2H", NOW, NOW + dt.timedelta(hours=2)),
        ("NOW/P1DT2H", NOW, NOW + dt.timedelta(days=1, hours=2)),
    ],
)
def test_interval_forms(text, start, end):
    sched = windows.parse_interval(text, now=NOW)
    assert (sched.start, sched.end) == (start, end)
    assert windows.open_at(sched, {"any"}, start).closes == end
    assert windows.open_at(sched, {"any"}, end) is None  # the end is excluded
    assert windows.open_at(sched, {"any"}, start - dt.timedelta(seconds=1)) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-12-05T01:00:00/PT3H", "has no UTC offset"),
        ("2026-12-05T01:00:00Z/2026-12-05T04:00:00", "--window end"),
        ("garbage", "not an ISO 8601 interval"),
        ("now", "not an ISO 8601 interval"),
        ("now/PT", "duration"),
        ("now/P1M", "months or years"),
        ("now/PT0S", "longer than zero"),
        ("PT3H/2026-12-05T04:00:00Z", "not a duration"),
        ("2026-12-05T04:00:00Z/2026-12-05T01:00:00Z", "before it starts"),
        ("2026-13-05T01:00:00Z/PT1H", "not an ISO 8601 date-time"),
        ("now/P99999999D", "ends after the year 9999"),
        ("now/P9999999999D", "is too long"),
        ("now/PT99999999999999999999H", "is too long"),
        ("9999-12-31T23:00:00Z/PT2H", "ends after the year 9999"),
        ("9999-12-31T23:00:00-05:00/PT1H", "outside the years 1 to 9999 in UTC"),
        ("0001-01-01T00:00:00+01:00/PT1H", "outside the years 1 to 9999 in UTC"),
        ("now/0001-01-01T00:00:00+01:00", "--window end"),
    ],
)
def test_bad_intervals_are_one_line_usage_errors(text, words):
    with pytest.raises(UsageError) as info:
        windows.parse_interval(text, now=NOW)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_next_open_of_a_future_interval():
    sched = windows.parse_interval("2026-12-06T01:00:00Z/PT1H", now=NOW)
    assert windows.open_at(sched, set(), NOW) is None
    nxt = windows.next_open(sched, set(), NOW)
    assert nxt is not None and nxt.opens == z(2026, 12, 6, 1) and nxt.closes == z(2026, 12, 6, 2)
    assert windows.next_open(sched, set(), z(2026, 12, 6, 3)) is None


# --------------------------------------------------------------------------- --window-file
FILE = """\
format: ripreplace-windows/1
timezone: America/New_York
windows:
  - name: web-saturday
    groups: [web]
    rrule: FREQ=WEEKLY;BYDAY=SA
    start: "01:00"
    duration: PT3H
  - name: db-sunday
    groups: [db]
    rrule: "RRULE:FREQ=WEEKLY;BYDAY=SU"
    start: "23:00"
    duration: PT2H
    timezone: Europe/Berlin
  - name: nightly-batch
    groups: [batch]
    rrule: FREQ=DAILY
    start: "03:30"
    duration: PT30M
    timezone: UTC
    from: 2026-12-01
blackouts:
  - reason: year-end change freeze
    start: 2026-12-19
    end: 2027-01-02
  - reason: db migration
    date: 2026-12-13
    groups: [db]
"""


@pytest.fixture
def wfile(tmp_path: Path) -> windows.WindowFile:
    path = tmp_path / "windows.yml"
    path.write_text(FILE)
    return windows.load_window_file(path)


def test_window_per_group_in_its_zone(wfile):
    sat = z(2026, 12, 5, 7)  # Saturday 02:00 in New York (EST, -05:00)
    ow = windows.open_at(wfile, {"web", "all"}, sat)
    assert ow is not None and ow.name == "web-saturday"
    assert (ow.opens, ow.closes) == (z(2026, 12, 5, 6), z(2026, 12, 5, 9))
    assert windows.open_at(wfile, {"db", "all"}, sat) is None
    # Berlin Sunday 23:00 CET = 22:00Z
    ow = windows.open_at(wfile, {"db"}, z(2026, 12, 6, 22, 30))
    assert ow is not None and ow.name == "db-sunday" and ow.closes == z(2026, 12, 7, 0)


def test_window_in_utc_and_its_first_day(wfile):
    assert windows.open_at(wfile, {"batch"}, z(2026, 12, 3, 3, 45)).name == "nightly-batch"
    assert windows.open_at(wfile, {"batch"}, z(2026, 11, 30, 3, 45)) is None  # before 'from'
    assert windows.next_open(wfile, {"batch"}, z(2026, 11, 30, 12)).opens == z(2026, 12, 1, 3, 30)
    assert windows.next_open(wfile, {"elsewhere"}, z(2026, 11, 30, 12)) is None  # no window for its groups


def test_next_window_and_current_close(wfile):
    nxt = windows.next_open(wfile, {"web"}, z(2026, 12, 5, 10))
    assert nxt is not None and nxt.name == "web-saturday" and nxt.opens == z(2026, 12, 12, 6)
    assert nxt.closes == z(2026, 12, 12, 9)


def test_blackout_closes_windows_and_next_open_skips_it(wfile):
    # Saturdays 19 and 26 Dec, 2 Jan fall into the freeze (2 Jan is included: the end date is a whole day)
    assert windows.open_at(wfile, {"web"}, z(2026, 12, 19, 7)) is None
    black = windows.blackout_at(wfile, {"web"}, z(2026, 12, 19, 7))
    assert black is not None and black.reason == "year-end change freeze"
    nxt = windows.next_open(wfile, {"web"}, z(2026, 12, 13, 0))
    assert nxt.opens == z(2027, 1, 9, 6)
    # the db-only blackout on Sunday 13 Dec (Berlin window 22:00Z that day is in New York's 13 Dec)
    assert windows.open_at(wfile, {"db"}, z(2026, 12, 13, 22, 30)) is None
    assert windows.open_at(wfile, {"db"}, z(2026, 12, 6, 22, 30)) is not None


def test_a_blackout_cuts_a_window_short(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(
        "format: ripreplace-windows/1\nwindows:\n  - {name: w, groups: [all], rrule: FREQ=DAILY, start: '01:00',"
        " duration: PT4H}\nblackouts:\n  - {reason: maintenance of the mirror, start: '2026-12-05T03:00:00Z',"
        " end: '2026-12-05T04:00:00Z'}\n"
    )
    sched = windows.load_window_file(path)
    ow = windows.open_at(sched, {"all"}, z(2026, 12, 5, 2))
    assert ow is not None and ow.closes == z(2026, 12, 5, 3)
    assert windows.open_at(sched, {"all"}, z(2026, 12, 5, 3, 30)) is None
    assert windows.next_open(sched, {"all"}, z(2026, 12, 5, 3, 30)).opens == z(2026, 12, 5, 4)


def test_dst_fall_back_window_keeps_local_start_and_elapsed_duration(tmp_path):
    """New York falls back on Sunday 1 Nov 2026 at 02:00 EDT. A 01:00 local window of PT3H:
    31 Oct 01:00 EDT = 05:00Z; 1 Nov 01:00 EDT (first occurrence of 01:00) = 05:00Z, ends 08:00Z = 03:00 EST
    (three real hours, two on the wall clock); 2 Nov 01:00 EST = 06:00Z."""
    path = tmp_path / "w.yml"
    path.write_text(
        "format: ripreplace-windows/1\ntimezone: America/New_York\nwindows:\n"
        "  - {name: night, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: PT3H}\n"
    )
    sched = windows.load_window_file(path)
    assert windows.open_at(sched, {"all"}, z(2026, 10, 31, 5, 30)).opens == z(2026, 10, 31, 5)
    ow = windows.open_at(sched, {"all"}, z(2026, 11, 1, 7, 30))
    assert ow is not None and ow.opens == z(2026, 11, 1, 5) and ow.closes == z(2026, 11, 1, 8)
    nxt = windows.next_open(sched, {"all"}, z(2026, 11, 1, 9))
    assert nxt.opens == z(2026, 11, 2, 6)


def test_dst_spring_forward_nonexistent_start(tmp_path):
    """8 Mar 2026 02:30 does not exist in New York: zoneinfo (fold=0) resolves it with the EST offset
    (07:30Z = 03:30 EDT). The next day's 02:30 EDT is 06:30Z."""
    path = tmp_path / "w.yml"
    path.write_text(
        "format: ripreplace-windows/1\ntimezone: America/New_York\nwindows:\n"
        "  - {name: night, groups: [all], rrule: FREQ=DAILY, start: '02:30', duration: PT1H}\n"
    )
    sched = windows.load_window_file(path)
    assert windows.next_open(sched, {"all"}, z(2026, 3, 8, 0)).opens == z(2026, 3, 8, 7, 30)
    assert windows.next_open(sched, {"all"}, z(2026, 3, 8, 12)).opens == z(2026, 3, 9, 6, 30)


def test_overlapping_windows_merge(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(
        "format: ripreplace-windows/1\nwindows:\n"
        "  - {name: a, groups: [web], rrule: FREQ=DAILY, start: '01:00', duration: PT2H}\n"
        "  - {name: b, groups: [all], rrule: FREQ=DAILY, start: '02:00', duration: PT2H}\n"
    )
    sched = windows.load_window_file(path)
    ow = windows.open_at(sched, {"web", "all"}, z(2026, 12, 5, 1, 30))
    assert ow.closes == z(2026, 12, 5, 4) and ow.name == "a+b"
    assert windows.open_at(sched, {"all"}, z(2026, 12, 5, 1, 30)) is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("format: ripreplace-windows/2\nwindows: []\n", "format must be"),
        ("- just a list\n", "a window file is a mapping"),
        ("format: ripreplace-windows/1\nwindows: [\n", "not valid YAML"),
        ("format: ripreplace-windows/1\nwindows: []\n", "windows"),
        (
            "format: ripreplace-windows/1\ntimezone: Mars/Olympus\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: PT1H}\n",
            "unknown time zone",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=SOMETIMES, start: '01:00', duration: PT1H}\n",
            "not an RFC 5545",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '25:00', duration: PT1H}\n",
            "windows/0/start",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: P1M}\n",
            "months or years",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: PT1H, colour: red}\n",
            "colour",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: PT1H}\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '02:00', duration: PT1H}\n",
            "used twice",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: PT1H}\n"
            "blackouts:\n  - {reason: x, start: '2026-12-05T01:00:00', end: 2026-12-06}\n",
            "no UTC offset",
        ),
        (
            "format: ripreplace-windows/1\nwindows:\n"
            "  - {name: a, groups: [all], rrule: FREQ=DAILY, start: '01:00', duration: PT1H}\n"
            "blackouts:\n  - {start: 2026-12-05, end: 2026-12-06}\n",
            "reason",
        ),
    ],
)
def test_bad_window_files_are_one_line_errors(tmp_path, content, words):
    path = tmp_path / "w.yml"
    path.write_text(content)
    with pytest.raises(InputFileError) as info:
        windows.load_window_file(path)
    assert words in str(info.value) and "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_window_file(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        windows.load_window_file(tmp_path / "nope.yml")


def test_human_delta():
    assert windows.human_delta(dt.timedelta(seconds=12)) == "12s"
    assert windows.human_delta(dt.timedelta(minutes=4, seconds=10)) == "4m 10s"
    assert windows.human_delta(dt.timedelta(hours=1, minutes=5)) == "1h 05m"
    assert windows.human_delta(dt.timedelta(seconds=-5)) == "0s"


# --------------------------------------------------------------------------- hostile window files
def _one(rrule: str, extra: str = "", blackouts: str = "") -> str:
    return (
        "format: ripreplace-windows/1\nwindows:\n"
        f"  - {{name: a, groups: [all], rrule: '{rrule}', start: '23:00', duration: PT2H{extra}}}\n" + blackouts
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (_one("FREQ=SECONDLY"), "windows/0/rrule: 'FREQ=SECONDLY': a change window recurs at most hourly"),
        (_one("FREQ=MINUTELY;INTERVAL=90"), "recurs at most hourly, not MINUTELY"),
        (_one("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), "never occurs (from 2024-01-01)"),
        (_one("FREQ=DAILY", ", from: 1800-01-01"), "has more than 50000 occurrences from its first day"),
        (_one("FREQ=DAILY;BYSETPOS=400"), "is not an RFC 5545 RRULE"),
        (_one("FREQ=DAILY").replace("PT2H", "P99999999D"), "windows/0/duration: 'P99999999D': a recurring window"),
        (_one("FREQ=DAILY").replace("PT2H", "P367D"), "lasts at most P366D"),
        (_one("FREQ=DAILY").replace("PT2H", "P9999999999D"), "is too long"),
        (
            _one(
                "FREQ=DAILY",
                blackouts="blackouts:\n  - {reason: x, start: '9999-12-31T23:00:00-05:00', end: 2027-01-01}\n",
            ),
            "blackouts/0/start '9999-12-31T23:00:00-05:00' lies outside the years 1 to 9999 in UTC",
        ),
        (_one("FREQ=DAILY", ", timezone: Europe"), "unknown time zone 'Europe'"),
        (_one("FREQ=DAILY", ", timezone: " + "x" * 300), "is too long"),
        ("format: ripreplace-windows/1\n\xff\n", "not UTF-8 text"),
        ("a: &a [*a]\n", "a YAML alias refers to a node that contains it"),
        (
            "format: ripreplace-windows/1\n1: x\n2027-01-01: y\nwindows: 3\n",
            "(top): Additional properties are not allowed ('1', '2027-01-01' were unexpected)",
        ),
    ],
)
def test_hostile_window_files_are_one_line_errors(tmp_path, content, words):
    path = tmp_path / "w.yml"
    path.write_bytes(content.encode("latin-1") if "\xff" in content else content.encode())
    with pytest.raises(InputFileError) as info:
        windows.load_window_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message


def test_an_alias_bomb_window_file_is_refused(tmp_path):
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]" for p, n in zip("abcdefg", "bcdefgh", strict=True)]
    path = tmp_path / "w.yml"
    path.write_text("format: ripreplace-windows/1\n" + "\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match="once aliases are expanded"):
        windows.load_window_file(path)


def test_a_rule_that_walks_without_yielding_is_stopped_by_the_time_bound(tmp_path, monkeypatch):
    """dateutil walks FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30 day by day to the year 9999 (seconds) without
    yielding: the CPU-time bound (SIGVTALRM) interrupts it."""
    monkeypatch.setattr(recurrence.core, "EXPANSION_SECONDS", 0.2)
    path = tmp_path / "w.yml"
    path.write_text(_one("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30"))
    with pytest.raises(InputFileError, match=r"cannot be expanded to \d{4}-\d\d-\d\d within 0.2 s of CPU time"):
        windows.load_window_file(path)


def _spin():
    """A rule that walks for ever without yielding anything."""
    while True:
        pass
    yield  # pragma: no cover


def test_the_time_bound_interrupts_a_walk_and_puts_an_outer_alarm_back(monkeypatch):
    import signal

    monkeypatch.setattr(recurrence.core, "EXPANSION_SECONDS", 0.05)
    fired = []

    def outer(*_):
        fired.append(1)

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with pytest.raises(recurrence.RuleTooCostly, match=r"within 0.05 s"):
            recurrence.expand(_spin(), z(2027, 1, 1))
        left, _interval = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30 and not fired
        assert signal.getsignal(signal.SIGALRM) is outer
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(("which", "timer"), [("SIGALRM", "ITIMER_REAL"), ("SIGVTALRM", "ITIMER_VIRTUAL")])
def test_an_outer_alarm_due_sooner_is_left_alone(monkeypatch, which, timer):
    """A wall-clock alarm is never touched; an outer CPU-time alarm due sooner than the bound wins."""
    import signal

    sig, itimer = getattr(signal, which), getattr(signal, timer)
    monkeypatch.setattr(recurrence.core, "EXPANSION_SECONDS", 5)
    previous = signal.signal(sig, lambda *_: (_ for _ in ()).throw(TimeoutError("outer")))
    try:
        signal.setitimer(itimer, 0.05)
        with pytest.raises(TimeoutError, match="outer"):
            recurrence.expand(_spin(), z(2027, 1, 1))
    finally:
        signal.setitimer(itimer, 0)
        signal.signal(sig, previous)


def test_the_count_bound(monkeypatch):
    monkeypatch.setattr(recurrence.core, "MAX_OCCURRENCES", 10)
    hourly = (z(2026, 1, 1) + dt.timedelta(hours=n) for n in range(100))
    with pytest.raises(recurrence.RuleTooCostly, match=r"more than 10 occurrences"):
        recurrence.expand(hourly, z(2027, 1, 1))
    assert recurrence.expand(iter([z(2026, 1, 1)]), z(2027, 1, 1)) == ([z(2026, 1, 1)], True)
    assert recurrence.expand(iter([z(2026, 1, 1), z(2028, 1, 1)]), z(2027, 1, 1)) == ([z(2026, 1, 1)], False)


def test_a_blackout_to_the_end_of_the_calendar_holds_there(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(
        _one("FREQ=DAILY", blackouts="blackouts:\n  - {reason: forever, start: 2027-01-01, end: 9999-12-31}\n")
    )
    sched = windows.load_window_file(path)
    assert sched.blackouts[0].end == windows.LATEST
    assert windows.open_at(sched, {"all"}, z(2026, 12, 30, 23, 30)) is not None
    assert windows.open_at(sched, {"all"}, z(2027, 6, 1, 23, 30)) is None
    assert windows.next_open(sched, {"all"}, z(2027, 6, 1)) is None


def test_a_window_at_the_end_of_the_calendar_is_never_open_now(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(_one("FREQ=DAILY", ", from: 9999-12-31"))
    sched = windows.load_window_file(path, now=NOW)
    assert windows.open_at(sched, {"all"}, NOW) is None and windows.next_open(sched, {"all"}, NOW) is None
    assert windows.next_open(sched, {"all"}, dt.datetime(9999, 12, 1, tzinfo=UTC)).opens.year == 9999


def test_occurrences_are_expanded_once_and_extended_when_asked_further(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(_one("FREQ=WEEKLY;BYDAY=SA", ", timezone: UTC, from: 2026-01-03"))
    sched = windows.load_window_file(path, now=NOW)
    window = sched.windows[0]
    starts, ended = window.starts(NOW)
    assert not ended and starts[0] == z(2026, 1, 3, 23) and starts[-1] >= NOW + windows.HORIZON
    far = z(2031, 1, 1)
    assert windows.open_at(sched, {"all"}, far + dt.timedelta(days=3, hours=23, minutes=30)) is not None  # a Saturday
    assert window.starts(far)[0][-1] >= far


# --------------------------------------------------------------------------- last_close
def test_last_close_of_an_interval_however_long_ago():
    sched = windows.parse_interval("2020-01-01T00:00:00Z/PT2H", now=NOW)
    assert windows.last_close(sched, {"all"}, NOW) == z(2020, 1, 1, 2)
    assert windows.last_close(sched, {"all"}, z(2020, 1, 1, 1)) is None  # still open


def test_last_close_of_a_window_file(wfile):
    # web-saturday closes at 09:00Z each Saturday; at Monday 7 Dec the last close is Saturday 5 Dec
    assert windows.last_close(wfile, {"web"}, z(2026, 12, 7, 12)) == z(2026, 12, 5, 9)
    assert windows.last_close(wfile, {"nobody"}, z(2026, 12, 7, 12)) is None


def test_last_close_of_a_rule_that_ended(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text(_one("FREQ=DAILY;UNTIL=20261130T000000Z", ", timezone: UTC, from: 2026-11-25"))
    sched = windows.load_window_file(path, now=NOW)
    assert windows.next_open(sched, {"all"}, NOW) is None
    assert windows.last_close(sched, {"all"}, NOW) == z(2026, 11, 30, 1)


def test_a_query_past_what_was_checked_is_one_line_naming_the_window(tmp_path, monkeypatch):
    path = tmp_path / "w.yml"
    path.write_text(_one("FREQ=DAILY", ", timezone: UTC, from: 2026-01-01"))
    sched = windows.load_window_file(path, now=NOW)
    monkeypatch.setattr(recurrence.core, "MAX_OCCURRENCES", 2000)  # enough to 2029, not to 2040
    assert windows.open_at(sched, {"all"}, z(2027, 6, 1, 23, 30)) is not None  # within what load expanded
    with pytest.raises(UsageError, match=r"^window a: rrule 'FREQ=DAILY' has more than 2000 occurrences"):
        windows.open_at(sched, {"all"}, z(2040, 1, 1))


# --------------------------------------------------------------------------- what the campaign says
def _plan(schedule):
    from ripreplace import campaign

    return campaign.CampaignPlan(
        run_id="r",
        targets=("h1", "h2"),
        groups={"h1": frozenset({"all"}), "h2": frozenset({"all", "web"})},
        schedule=schedule,
        batches=campaign.parse_batches("100%"),
        max_fail=0.0,
        forks=5,
        batch_estimate=None,
        hard_stop=False,
    )


def test_a_window_in_the_past_says_when_it_ended():
    from ripreplace import campaign

    opening = campaign.open_campaign(_plan(windows.parse_interval("2026-12-01T01:00:00Z/PT2H", now=NOW)), NOW)
    assert opening.closed["h1"] == "not started: outside its change window; the window ended at 2026-12-01T03:00:00Z"
    assert opening.stop().reason == "outside the change window: the window ended at 2026-12-01T03:00:00Z"


def test_a_window_far_ahead_still_names_its_opening(wfile):
    from ripreplace import campaign

    opening = campaign.open_campaign(_plan(wfile), z(2026, 12, 13, 0))
    assert "next window web-saturday opens 2027-01-09T06:00:00Z" in opening.closed["h2"]
    assert opening.closed["h1"].endswith("no window opens in the next 400 days")  # no window for group 'all'
