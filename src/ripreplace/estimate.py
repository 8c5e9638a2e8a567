# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""How long a campaign should take, before it starts: the capacity model of docs/capacity.md.

A campaign is a fixed start cost plus, for each batch, one ``ansible-playbook`` run::

    batch = batch_s + max(waves x host_slot_s, hosts x cpu_host_s / controller CPUs)
    waves = ceil(hosts / forks)

``host_slot_s`` is the wall time one fork slot spends on one host (Ansible's linear strategy moves
a batch through its tasks in waves of ``forks`` hosts); the second term is the controller's own
bound: every host costs the controller ``cpu_host_s`` CPU seconds (ansible-playbook, its forks, SSH,
the wrapper's event handling), so past a few forks per CPU more forks no longer help. The constants
come from ``bench/bench_scale.py`` (lab light hosts, see docs/performance.md "Scale"); they are
deliberately the measured figures, not best cases, and a site whose hosts are slower (package
mirrors, real AV signature sets) should expect more. The running campaign refines its own estimate
batch by batch (:class:`ripreplace.campaign.Estimator`); this one is for the plan, before any host is
touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Costs:
    """The measured cost of one kind of run (see docs/capacity.md for where each figure comes from)."""

    start_s: float  # once per command: Python start, inventory, validation, run directory, manifest
    batch_s: float  # once per playbook run: ansible-playbook start, first SSH connections, state writes
    host_slot_s: float  # wall seconds a fork slot spends on one host
    cpu_host_s: float  # controller CPU seconds per host


#: ``ripreplace audit`` (covered_facts on each host, audit log): bench_scale.py, light lab hosts.
AUDIT = Costs(start_s=3.0, batch_s=2.0, host_slot_s=3.0, cpu_host_s=0.5)
#: ``ripreplace remediate`` (detect, ClamAV installed and proven healthy, removal, verification).
REMEDIATE = Costs(start_s=3.0, batch_s=6.0, host_slot_s=90.0, cpu_host_s=12.0)


@dataclasses.dataclass(frozen=True)
class Estimate:
    seconds: float
    hosts: int
    forks: int
    batches: int
    cpu_bound: bool  # the controller's CPUs, not the forks, set the pace of the largest batch
    closes_in: dt.timedelta | None = None  # time left in the window when the campaign starts

    @property
    def fits(self) -> bool | None:
        """Whether the campaign should end before the window closes (None: no window given)."""
        if self.closes_in is None:
            return None
        return self.seconds <= self.closes_in.total_seconds()

    def as_dict(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds),
            "hosts": self.hosts,
            "forks": self.forks,
            "batches": self.batches,
            "bound": "controller CPU" if self.cpu_bound else "forks",
            "window_left_seconds": None if self.closes_in is None else int(self.closes_in.total_seconds()),
            "fits": self.fits,
        }


def _cpus(cpus: int | None) -> int:
    return max(1, cpus if cpus is not None else (os.cpu_count() or 1))


def batch_seconds(hosts: int, forks: int, costs: Costs, cpus: int | None = None) -> tuple[float, bool]:
    """Wall seconds of one batch of ``hosts``, and whether the controller's CPUs bound it."""
    if hosts <= 0:
        return 0.0, False
    waves = math.ceil(hosts / max(1, forks)) * costs.host_slot_s
    cpu = hosts * costs.cpu_host_s / _cpus(cpus)
    return costs.batch_s + max(waves, cpu), cpu > waves


def estimate(
    batches: Sequence[int],
    forks: int,
    costs: Costs = REMEDIATE,
    *,
    cpus: int | None = None,
    closes_in: dt.timedelta | None = None,
) -> Estimate:
    """The campaign's expected wall time for batches of the given sizes (empty batches cost nothing)."""
    sizes = [n for n in batches if n > 0]
    total = costs.start_s if sizes else 0.0
    cpu_bound = False
    for n in sizes:
        seconds, bound = batch_seconds(n, forks, costs, cpus)
        total += seconds
        cpu_bound = cpu_bound or bound
    return Estimate(total, sum(sizes), forks, len(sizes), cpu_bound, closes_in)


def hosts_per_hour(forks: int, costs: Costs = REMEDIATE, cpus: int | None = None) -> int:
    """Steady-state hosts per hour of one controller (one large batch; start costs left out)."""
    per_host = max(costs.host_slot_s / max(1, forks), costs.cpu_host_s / _cpus(cpus))
    return int(3600 / per_host)


def human(seconds: float) -> str:
    """``~40 s``, ``~14 min``, ``~2 h 10 min``: an estimate, rounded up, for people."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"~{whole} s"
    minutes = math.ceil(whole / 60)
    if minutes < 60:
        return f"~{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"~{hours} h" + (f" {rest} min" if rest else "")


def _left(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def describe(est: Estimate) -> str:
    """One line for the plan: ``~14 min for 120 hosts at forks 20 (window closes in 2 h 10 min: fits)``."""
    if est.hosts == 0:
        return "nothing to run now (no targeted host's window is open)"
    text = f"{human(est.seconds)} for {est.hosts} host{'s' if est.hosts != 1 else ''} at forks {est.forks}"
    if est.batches > 1:
        text += f" in {est.batches} batches"
    if est.cpu_bound:
        text += ", bound by the controller's CPUs"
    if est.closes_in is not None:
        verdict = "fits" if est.fits else "does NOT fit: expect hosts deferred to the next window"
        text += f" (window closes in {_left(est.closes_in)}: {verdict})"
    return text


def plan_line(batches: Sequence[Sequence[str]], forks: int, now: dt.datetime, closes: Sequence[dt.datetime]) -> str:
    """The plan's estimate line for the batches about to run; ``closes`` are the open windows' closes
    (the earliest counts: a host whose window closes first is the one that may be deferred)."""
    closes_in = (min(closes) - now) if closes else None
    return describe(estimate([len(b) for b in batches], forks, REMEDIATE, closes_in=closes_in))
