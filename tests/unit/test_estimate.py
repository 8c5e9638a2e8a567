# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The campaign estimate (``ripreplace.estimate``): the capacity model of docs/capacity.md, and the plan's line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.remediate_site import base, make_site, runs, touched

from ripreplace import cli, estimate
from ripreplace.constants import ExitCode

# start 10 s, 5 s per playbook run, 60 s per host per fork slot, 2 CPU s per host on the controller
COSTS = estimate.Costs(start_s=10.0, batch_s=5.0, host_slot_s=60.0, cpu_host_s=2.0)


@pytest.mark.parametrize(
    ("batches", "forks", "cpus", "seconds", "cpu_bound"),
    [
        ([1], 5, 2, 10 + 5 + 60, False),  # one host, one wave
        ([5], 5, 2, 10 + 5 + 60, False),  # a full wave costs what one host costs
        ([6], 5, 2, 10 + 5 + 120, False),  # one host more: a second wave
        ([1, 10, 89], 10, 2, 10 + (5 + 60) + (5 + 60) + (5 + 9 * 60), False),  # three playbook runs
        ([100], 100, 2, 10 + 5 + 100 * 2.0 / 2, True),  # 100 forks on 2 CPUs: the controller sets the pace
        ([100], 100, 8, 10 + 5 + 60, False),  # 8 CPUs: 25 s of CPU, the one wave is longer
        ([0, 4], 5, 2, 10 + 5 + 60, False),  # an empty batch costs nothing
        ([], 5, 2, 0.0, False),  # nothing to run
    ],
)
def test_estimate_table(batches, forks, cpus, seconds, cpu_bound):
    est = estimate.estimate(batches, forks, COSTS, cpus=cpus)
    assert est.seconds == pytest.approx(seconds)
    assert est.cpu_bound is cpu_bound
    assert est.hosts == sum(batches)
    assert est.batches == len([b for b in batches if b])


@pytest.mark.parametrize(
    ("closes_in", "fits"),
    [
        (None, None),  # no window: no verdict
        (dt.timedelta(seconds=75), True),  # exactly the estimate: fits
        (dt.timedelta(seconds=74), False),
        (dt.timedelta(hours=2), True),
    ],
)
def test_fits_the_window(closes_in, fits):
    assert estimate.estimate([5], 5, COSTS, cpus=2, closes_in=closes_in).fits is fits


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "~1 s"), (0.2, "~1 s"), (40, "~40 s"), (59.5, "~1 min"), (60, "~1 min"), (61, "~2 min"), (840, "~14 min"),
     (3600, "~1 h"), (7800, "~2 h 10 min"), (7799, "~2 h 10 min")],
)  # fmt: skip
def test_human_rounds_up(seconds, text):
    assert estimate.human(seconds) == text


@pytest.mark.parametrize(
    ("batches", "forks", "closes_in", "line"),
    [
        ([5], 5, None, "~2 min for 5 hosts at forks 5"),
        ([1], 5, dt.timedelta(hours=2, minutes=10), "~2 min for 1 host at forks 5 (window closes in 2 h 10 min: fits)"),
        (
            [1, 10, 89],
            10,
            dt.timedelta(minutes=5),
            "~12 min for 100 hosts at forks 10 in 3 batches (window closes in 5 min: does NOT fit: expect hosts "
            "deferred to the next window)",
        ),
        ([100], 100, None, "~2 min for 100 hosts at forks 100, bound by the controller's CPUs"),
        ([], 5, dt.timedelta(hours=1), "nothing to run now (no targeted host's window is open)"),
    ],
)
def test_describe_is_one_line(batches, forks, closes_in, line):
    text = estimate.describe(estimate.estimate(batches, forks, COSTS, cpus=2, closes_in=closes_in))
    assert text == line and "\n" not in text


@pytest.mark.parametrize(
    ("forks", "cpus", "per_hour"),
    [(1, 2, 60), (10, 2, 600), (30, 2, 1800), (100, 2, 3600), (100, 16, 6000)],
)
def test_hosts_per_hour(forks, cpus, per_hour):
    assert estimate.hosts_per_hour(forks, COSTS, cpus=cpus) == per_hour


def test_plan_line_uses_the_earliest_close():
    now = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
    closes = [now + dt.timedelta(hours=3), now + dt.timedelta(minutes=1)]
    line = estimate.plan_line([("h1", "h2")], 5, now, closes)
    assert "for 2 hosts at forks 5" in line and "window closes in 1 min: does NOT fit" in line


def test_shipped_costs_are_sane():
    for costs in (estimate.AUDIT, estimate.REMEDIATE):
        assert all(v > 0 for v in (costs.start_s, costs.batch_s, costs.host_slot_s, costs.cpu_host_s))
    assert estimate.REMEDIATE.host_slot_s > estimate.AUDIT.host_slot_s


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


def test_dry_run_prints_the_plan_with_its_estimate_and_touches_nothing(site, capsys):
    code = cli.main([*base(site, "--window", "now/PT2H", "--batches", "1,100%", "--forks", "3"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK, out
    line = next(x for x in out.splitlines() if x.strip().startswith("estimate"))
    assert "for 4 hosts at forks 3 in 2 batches (window closes in 1 h 59 min: fits)" in line, line
    assert "batch 1: h1" in out
    assert touched(site) == [] and runs(site) == []


def test_dry_run_outside_the_window_says_so_and_touches_nothing(site, capsys):
    code = cli.main([*base(site, "--window", "2099-01-01T01:00:00Z/PT2H"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK, out
    assert "nothing to run now" in out and "outside the change window" in out
    assert touched(site) == [] and runs(site) == []
