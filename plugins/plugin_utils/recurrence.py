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
#: At most this much CPU time to expand a rule (the main thread only: see :func:`_time_limit`).
EXPANSION_SECONDS = 3.0


class RuleTooCostly(Exception):
    """An RRULE that cannot be expanded within :data:`MAX_OCCURRENCES` or :data:`EXPANSION_SECONDS`."""


class _Overtime(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Overtime` inside the block after ``seconds`` of this process's CPU time
    (``ITIMER_VIRTUAL``/``SIGVTALRM``, so it interrupts dateutil's own loops). CPU time, not the wall
    clock: the walk's cost is the same on a busy controller as on an idle one, so whether a window
    file loads never depends on the machine's load. Only in the main thread, and never over an outer
    CPU-time alarm due sooner (which is put back afterwards); elsewhere the block runs with the count
    bound alone. Wall-clock alarms (pytest-timeout's, say) are not touched."""
    if (
        threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "setitimer")
        or not hasattr(signal, "SIGVTALRM")
    ):
        yield
        return
    outer = signal.getsignal(signal.SIGVTALRM)
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_VIRTUAL)
    if outer is None or (outer_delay and outer_delay <= seconds):
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise _Overtime

    began = time.process_time()
    signal.signal(signal.SIGVTALRM, expire)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, outer)
        if outer_delay:
            left = max(outer_delay - (time.process_time() - began), 0.001)
            signal.setitimer(signal.ITIMER_VIRTUAL, left, outer_interval)


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
            f"cannot be expanded to {until.date()} within {EXPANSION_SECONDS:g} s of CPU time (does it ever occur?)"
        ) from None
    return starts, True
