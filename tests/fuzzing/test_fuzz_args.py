# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Fuzz: the command-line parsers (``--window``, ``--batches``, ``--max-fail``, ``--ticket``, ``--forks``,
``--runs-dir``, ``--limit``). Through ``cli.main`` for ``remediate`` with an inventory that does not
exist, every argument ends in exit 2 with one line: the bad ones on their own, the good ones at the
missing inventory, which is checked after them; nothing can reach a host. ``--limit`` is fuzzed
through ``inventory.load_inventory`` over a real inventory with Ansible's matching in-process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from tests import collection_code
from tests.fuzz import FUZZ, HOSTILE_STRINGS, no_hang, one_line, run_cli

from ripreplace import campaign, inventory, windows
from ripreplace.exceptions import UsageError

pytestmark = pytest.mark.fuzz

NOW = dt.datetime(2026, 12, 5, 6, tzinfo=dt.UTC)


def remediate(*extra: str) -> list[str]:
    args = {"--ticket": "CHG-1", "--window": "now/PT1H"}
    pairs = dict(zip(extra[::2], extra[1::2], strict=True))
    args.update(pairs)
    argv = ["remediate", "-i", "/nonexistent/inventory.yml", "--yes"]
    for key, value in args.items():
        argv += [key, value] if not value.startswith("-") else [f"{key}={value}"]
    return argv


def _through_remediate(option: str, value: str) -> str:
    assume("\x00" not in value)  # an argv string cannot hold a NUL
    _code, _out, err = run_cli(remediate(option, value), allowed=(2,))
    return err


# --------------------------------------------------------------------------- --window
offsets = st.sampled_from(["Z", "+00:00", "-05:00", "+14:00", "-12:00", "", "+99:99", "+05"])
date_times = st.builds(
    lambda d, off: d.isoformat() + off,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    offsets,
)
durations = st.builds(
    lambda sign, n, unit: f"{sign}P{'T' if unit in 'HMS' else ''}{n}{unit}",
    st.sampled_from(["", "", "-"]),
    st.integers(0, 10**12) | st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 3)),
    st.sampled_from(["D", "W", "H", "M", "S", "Y"]),
)
intervals = st.one_of(
    st.builds("{}/{}".format, date_times | st.just("now"), durations | date_times),
    st.text(max_size=40),
    st.sampled_from(HOSTILE_STRINGS),
    st.builds("{}/{}/{}".format, date_times, durations, durations),
)


@FUZZ
@given(intervals)
def test_window_interval(text: str) -> None:
    try:
        with no_hang():
            sched = windows.parse_interval(text, now=NOW)
    except UsageError as exc:
        one_line(str(exc))
        return
    assert sched.start < sched.end
    windows.open_at(sched, {"all"}, NOW)
    windows.next_open(sched, {"all"}, NOW)
    windows.last_close(sched, {"all"}, NOW)


@FUZZ
@given(intervals)
def test_window_interval_through_remediate(text: str) -> None:
    err = _through_remediate("--window", text)
    assert "error:" in err


# --------------------------------------------------------------------------- --batches, --max-fail, others
batch_items = st.one_of(
    st.integers(-5, 10**25).map(str),
    st.integers(-5, 500).map(lambda n: f"{n}%"),
    st.sampled_from(["", " ", "%", "1.5", "10%%", "1e3", "\u0661", "0x10", "1_0", "+1", "all", "-0"]),
)
batches = st.lists(batch_items, min_size=1, max_size=5).map(",".join) | st.text(max_size=20)
percents = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.floats(-10, 200).map(lambda f: f"{f}%"),
    st.sampled_from(["", "%", "nan", "inf", "-0", "1e2", "1e-400", "100.0000001", "\u0661\u0660", "50%%", "1_0"]),
    st.text(max_size=12),
)


@FUZZ
@given(batches)
def test_batches(text: str) -> None:
    try:
        specs = campaign.parse_batches(text)
    except UsageError as exc:
        one_line(str(exc))
        return
    assert specs and all(s.value >= 1 for s in specs)
    plan = campaign.plan_batches(specs, [f"h{n}" for n in range(37)])
    assert sum(len(b) for b in plan) == 37 and all(plan)


@FUZZ
@given(percents)
def test_max_fail(text: str) -> None:
    try:
        value = campaign.parse_percent(text)
    except UsageError as exc:
        one_line(str(exc))
        return
    assert 0 <= value <= 100


@FUZZ
@given(
    st.sampled_from(["--batches", "--max-fail", "--ticket", "--forks", "--runs-dir", "--batch-estimate"]),
    st.one_of(batches, percents, st.text(max_size=40), st.sampled_from(HOSTILE_STRINGS)),
)
def test_arguments_through_remediate(option: str, value: str) -> None:
    _through_remediate(option, value)


# --------------------------------------------------------------------------- --limit
INVENTORY = """\
all:
  children:
    site_a:
      children:
        web: {hosts: {light1: {}, light2: {}, "web-01.example": {}}}
    db: {hosts: {sys1: {}, "10.0.0.5": {}}}
    empty: {}
"""
NAMES = ["light1", "light2", "light", "sys1", "web", "db", "site_a", "empty", "all", "ungrouped", "10.0.0.5", "web-01"]
pattern_atoms = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(["*", "?", "[", "]", "[0]", "[1:]", "[0:1]", "[3:1]", "[-1]", "[1-2]", "[:2]", "[]", "[12]"]),
    st.sampled_from(["~", "~(", "~light\\d", "~.*", "~[", "!", "&", "@", ":", ",", " ", "\t", "::1", "\u202e"]),
    st.text(alphabet="abcdeglhist1209[]:,!&~*?@ .-_", max_size=6),
)
limits = st.lists(pattern_atoms, min_size=1, max_size=6).map("".join) | st.text(max_size=30)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[list[str], str | None], dict]]:
    """The inventory probe's evaluate() over a real InventoryManager, in this process."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    from ripreplace.inventory_probe import evaluate

    path = tmp_path_factory.mktemp("inv") / "inv.yml"
    path.write_text(INVENTORY)
    collection_code.init_ansible()
    from ansible import constants

    mismatch, constants.HOST_PATTERN_MISMATCH = constants.HOST_PATTERN_MISMATCH, "ignore"  # as the probe runs

    def run(patterns: list[str], limit: str | None) -> dict:
        return evaluate(InventoryManager(loader=DataLoader(), sources=[str(path)]), patterns, limit)

    run.path = path  # type: ignore[attr-defined]
    yield run
    constants.HOST_PATTERN_MISMATCH = mismatch


@FUZZ
@given(limits)
def test_limit_parts_split_as_ansible_does(text: str) -> None:
    from ansible.inventory.manager import split_host_pattern

    try:
        parts = inventory.limit_parts(text)
    except UsageError as exc:
        one_line(str(exc))
        assert str(exc).startswith("--limit ")
        return
    assert parts and all(p.text for p in parts)
    if "@" not in text:
        assert [p.text for p in parts] == split_host_pattern(text)


@FUZZ
@given(limits)
def test_limit_selects_only_what_every_part_matches(probe, text: str) -> None:
    """load_inventory either refuses on one line or selects hosts of which every part matched one."""
    original = inventory._probe
    inventory._probe = lambda _path, patterns, limit: probe(patterns, limit)  # type: ignore[assignment]
    try:
        with no_hang():
            result = inventory.load_inventory(probe.path, text)
    except UsageError as exc:
        one_line(str(exc))
        return
    finally:
        inventory._probe = original  # type: ignore[assignment]
    parts = inventory.limit_parts(text)
    answer = probe([p.text for p in parts], text)
    assert all(answer["matches"]) and result.hosts
    assert set(result.hosts) <= {"light1", "light2", "web-01.example", "sys1", "10.0.0.5"}


def test_the_limit_fuzz_inventory_parses(probe) -> None:
    assert set(probe([], None)["groups"]) == {"light1", "light2", "web-01.example", "sys1", "10.0.0.5"}
    assert Path(probe.path).is_file()
