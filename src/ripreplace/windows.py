# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Change windows for the wrapper: a typed facade over the collection's window parser.

The parser lives once, in ``plugins/plugin_utils/windows.py`` (the model, ``--window INTERVAL``) and
``plugins/plugin_utils/window_file.py`` (``--window-file FILE``), because the collection's
``change_window`` action plugin must read a window exactly as ``ripreplace remediate`` does, where
this package may not be installed (plain ansible-playbook, AWX). This module loads those files at run
time (``collection.load_plugin_util``) and, for mypy, imports the very same files as the package
``plugin_utils`` (as :mod:`ripreplace.auditlog` does), so every call is type-checked.

The parser's errors are translated into the wrapper's: a bad interval, date-time or duration is a
:class:`~ripreplace.exceptions.UsageError`, a bad window file an
:class:`~ripreplace.exceptions.InputFileError` (both exit 2, one line).

See ``plugins/plugin_utils/windows.py`` for the model: open intervals (``Piece``) per host from its
inventory groups, DST handling, blackouts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ripreplace import collection
from ripreplace.exceptions import InputFileError, UsageError

if TYPE_CHECKING:
    from plugin_utils import window_file as _file
    from plugin_utils import windows as _core
else:
    _core = collection.load_plugin_util("windows")
    _file = collection.load_plugin_util("window_file")

WINDOWS_FORMAT: str = _core.WINDOWS_FORMAT
#: How far ahead :func:`next_open` looks for the next window.
HORIZON: dt.timedelta = _core.HORIZON
#: Default DTSTART date of a recurring window without ``from``.
DEFAULT_FROM: dt.date = _core.DEFAULT_FROM
UTC: dt.tzinfo = _core.UTC
ALL: str = _core.ALL
#: A recurring window lasts at most this long (a longer one is a fixed interval: --window START/END).
MAX_RECURRING: dt.timedelta = _core.MAX_RECURRING
#: The first and last instants a window can name (datetime's range, in UTC).
EARLIEST: dt.datetime = _core.EARLIEST
LATEST: dt.datetime = _core.LATEST

Piece = _core.Piece
OpenWindow = _core.OpenWindow
Blackout = _core.Blackout
Schedule = _core.Schedule
HostCheck = _core.HostCheck
IntervalSchedule = _core.IntervalSchedule
RecurringWindow = _file.RecurringWindow
WindowFile = _file.WindowFile
#: The parser's own errors (what the facade translates).
WindowError = _core.WindowError

iso = _core.iso
human_delta = _core.human_delta


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """The parser's errors as the wrapper's: one line, exit 2."""
    try:
        yield
    except _core.InputFileError as exc:
        raise InputFileError(str(exc)) from None
    except _core.UsageError as exc:
        raise UsageError(str(exc)) from None


def parse_duration(text: str, *, what: str = "duration") -> dt.timedelta:
    """An ISO 8601 duration of fixed length (``PT3H``, ``PT90M``, ``P1DT2H``); months and years refused."""
    with _translated():
        return _core.parse_duration(text, what=what)


def parse_datetime(text: str, *, what: str) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset (``Z`` or ``-05:00``). No offset is an error naming it."""
    with _translated():
        return _core.parse_datetime(text, what=what)


def parse_interval(text: str, *, now: dt.datetime) -> IntervalSchedule:
    """``START/END``, ``START/DURATION`` or ``now/DURATION``; one-line :class:`UsageError` otherwise."""
    with _translated():
        return _core.parse_interval(text, now=now)


def load_window_file(path: Path, *, now: dt.datetime | None = None) -> WindowFile:
    """Read and validate a windows file; every problem is one :class:`InputFileError` line naming the place."""
    with _translated():
        return _file.load_window_file(path, now=now)


def schema() -> dict[str, Any]:
    """The window file's JSON Schema (``schemas/windows.schema.json`` of the collection)."""
    return _file.schema()


def open_at(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> OpenWindow | None:
    """The window open at ``when`` for a host of ``groups`` (its close is the end of the merged piece)."""
    with _translated():
        return _core.open_at(schedule, groups, when)


def next_open(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> OpenWindow | None:
    """The next window that opens after ``when`` (strictly later), within :data:`HORIZON`; None if none."""
    with _translated():
        return _core.next_open(schedule, groups, when)


def last_close(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> dt.datetime | None:
    """When the host's last window before ``when`` closed; None if none did (within :data:`HORIZON`)."""
    with _translated():
        return _core.last_close(schedule, groups, when)


def blackout_at(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> Blackout | None:
    """The blackout that closes the host's windows at ``when``, if any (for the operator's message)."""
    with _translated():
        return _core.blackout_at(schedule, groups, when)


def check_host(schedule: Schedule, groups: Iterable[str], when: dt.datetime) -> HostCheck:
    """Open or not at ``when``, and when not, why in one line (the change_window guard's words)."""
    with _translated():
        return _core.check_host(schedule, groups, when)
