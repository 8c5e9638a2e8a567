# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Batches and duration estimates of a campaign.

- :func:`parse_batches` / :func:`plan_batches`: ``--batches 1,10%,50%,100%`` with Ansible ``serial``
  semantics: each entry is the size of one batch, an absolute number or a percentage of the
  targeted hosts (rounded down, at least 1, as ansible's ``pct_to_int``); the last entry repeats
  until every host has a batch; a batch never holds more hosts than are left.
- :class:`Estimator`: a batch's expected duration from the batches so far (seconds per wave of
  ``--forks`` hosts, the slowest wave seen), never below ``--batch-estimate``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence

from ripreplace.exceptions import UsageError


@dataclasses.dataclass(frozen=True)
class BatchSpec:
    value: int
    percent: bool

    def size(self, total: int) -> int:
        if not self.percent:
            return self.value
        return max(1, int(self.value / 100.0 * total))

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


#: ASCII digits only (``\d`` would take any Unicode digit), at most 6 of them: a batch of a million hosts.
_BATCH = re.compile(r"^\s*([0-9]{1,6})\s*(%?)\s*$", re.ASCII)


def parse_batches(text: str) -> tuple[BatchSpec, ...]:
    """``1,10%,100%`` -> batch specs; a bad entry is one :class:`UsageError` line."""
    specs = []
    for part in text.split(","):
        match = _BATCH.match(part)
        if not match:
            raise UsageError(
                f"--batches {text!r}: {part.strip()!r} is not a host count or a percentage (e.g. 1,10%,100%)"
            )
        value, percent = int(match.group(1)), bool(match.group(2))
        if value < 1:
            raise UsageError(f"--batches {text!r}: a batch holds at least one host, got {part.strip()!r}")
        if percent and value > 100:
            raise UsageError(f"--batches {text!r}: {part.strip()!r} is more than 100%")
        specs.append(BatchSpec(value, percent))
    return tuple(specs)


def plan_batches(specs: Sequence[BatchSpec], hosts: Sequence[str]) -> list[list[str]]:
    """Split ``hosts`` (in order) into batches: Ansible ``serial`` semantics, the last spec repeats."""
    out: list[list[str]] = []
    left = list(hosts)
    total = len(hosts)
    n = 0
    while left:
        spec = specs[min(n, len(specs) - 1)]
        size = min(spec.size(total), len(left))
        out.append(left[:size])
        left = left[size:]
        n += 1
    return out


_PERCENT = re.compile(r"^\s*([0-9]{1,3}(?:\.[0-9]{1,3})?)\s*%?\s*$", re.ASCII)


def parse_percent(text: str) -> float:
    """``--max-fail``: a plain decimal from 0 to 100, ``%`` optional (no ``1_0``, ``1e1``, ``-0``, ``nan``)."""
    match = _PERCENT.match(str(text))
    if not match:
        raise UsageError(f"--max-fail {text!r} is not a percentage (0 to 100, e.g. 10 or 12.5%)")
    value = float(match.group(1))
    if value > 100:
        raise UsageError(f"--max-fail {text!r} must be between 0 and 100")
    return value


# --------------------------------------------------------------------------- duration estimates
@dataclasses.dataclass
class Estimator:
    """Expected wall time of a batch: the slowest wave of ``forks`` hosts seen so far, times the waves
    of the batch; never less than ``floor`` (``--batch-estimate``). None when nothing is known."""

    forks: int
    floor: dt.timedelta | None = None
    per_wave: list[float] = dataclasses.field(default_factory=list)

    def waves(self, hosts: int) -> int:
        return max(1, math.ceil(hosts / max(1, self.forks)))

    def record(self, hosts: int, seconds: float) -> None:
        if hosts > 0 and seconds >= 0:
            self.per_wave.append(seconds / self.waves(hosts))

    def estimate(self, hosts: int) -> dt.timedelta | None:
        measured = dt.timedelta(seconds=max(self.per_wave) * self.waves(hosts)) if self.per_wave else None
        candidates = [d for d in (measured, self.floor) if d is not None]
        return max(candidates) if candidates else None

    def basis(self) -> str:
        parts = []
        if self.per_wave:
            parts.append(f"slowest wave so far {max(self.per_wave):.1f} s x waves of {self.forks}")
        if self.floor is not None:
            parts.append(f"--batch-estimate {int(self.floor.total_seconds())} s")
        return " and ".join(parts) or "no estimate yet (first batch, no --batch-estimate)"
