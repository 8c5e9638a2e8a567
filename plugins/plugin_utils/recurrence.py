# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Bounded expansion of an RFC 5545 RRULE (:mod:`dateutil.rrule`), for change windows.

dateutil walks a rule from its DTSTART, and a rule can make it walk for a very long time without
yielding anything (``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`` walks every day to the year 9999) or yield
without end (``FREQ=SECONDLY``). :func:`expand` stops at :data:`MAX_OCCURRENCES` occurrences or after
:data:`EXPANSION_SECONDS` and says so with :class:`RuleTooCostly`, which the window-file loader
(``windows.py`` beside it) turns into one line naming the rule.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

#: At most this many occurrences from a rule's first day up to the end asked for.
MAX_OCCURRENCES = 50_000
#: At most this long to expand a rule (the main thread only: see :func:`_time_limit`).
EXPANSION_SECONDS = 3.0


class RuleTooCostly(Exception):
    """An RRULE that cannot be expanded within :data:`MAX_OCCURRENCES` or :data:`EXPANSION_SECONDS`."""


class _Overtime(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Overtime` inside the block after ``seconds`` (SIGALRM, so it interrupts dateutil's
    own loops). Only in the main thread, and never over an outer alarm due sooner (pytest-timeout's, say,
    which is put back afterwards); elsewhere the block runs with the count bound alone."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    outer = signal.getsignal(signal.SIGALRM)
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer is None or (outer_delay and outer_delay <= seconds):
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise _Overtime

    began = time.monotonic()
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer)
        if outer_delay:
            left = max(outer_delay - (time.monotonic() - began), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


def expand(rule: Iterable[dt.datetime], until: dt.datetime) -> tuple[list[dt.datetime], bool]:
    """(occurrence starts in UTC up to ``until``, whether the rule ended before it), or
    :class:`RuleTooCostly`. Occurrences outside datetime's range in UTC are left out."""
    starts: list[dt.datetime] = []
    try:
        with _time_limit(EXPANSION_SECONDS):
            for occ in rule:
                try:
                    begin = occ.astimezone(dt.timezone.utc)
                except OverflowError:
                    if occ.year == 1:
                        continue  # before the year 1 in UTC
                    return starts, True  # after the year 9999 in UTC: nothing later exists
                if begin > until:
                    return starts, False
                starts.append(begin)
                if len(starts) > MAX_OCCURRENCES:
                    raise RuleTooCostly(
                        f"has more than {MAX_OCCURRENCES} occurrences from its first day to {until.date()}: "
                        "give a later 'from' or a coarser FREQ"
                    )
    except _Overtime:
        raise RuleTooCostly(
            f"cannot be expanded to {until.date()} within {EXPANSION_SECONDS:g} s (does it ever occur?)"
        ) from None
    return starts, True
