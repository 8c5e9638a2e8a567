"""Change windows: ISO 8601 intervals, windows files (RRULE in IANA zones, blackouts), DST, next window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ripreplace import windows
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
