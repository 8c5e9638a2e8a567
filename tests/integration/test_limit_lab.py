# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``--limit`` on the lab (issue 11, item 2): a broken or partly-unknown pattern exits 2 naming the part,
for ``audit`` and ``remediate``, and touches nothing: no run directory, no host changed.

Before the fix ``'['``, ``'[[['``, ``','`` and ``' '`` selected every host (``--limit '[[['`` ran a
campaign on every host) and ``'light1,ligth2'`` audited light1 alone and exited 0 while the host
meant by ``ligth2`` had covered software.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.hoststate import listing, package_states

pytestmark = pytest.mark.lab

COVERED = ("kesl",)


def broken_limits(lab: Any) -> list[tuple[str, str]]:
    """(limit, what the one error line must say)."""
    first, second = lab.light_hosts[0], lab.light_hosts[1]
    typo = second[:-2] + second[-1] + second[-2]  # light2 -> ligth2-like: swap the last two characters
    return [
        ("[", "--limit '[' is not a host pattern"),
        ("[[[", "--limit '[[[' is not a host pattern"),
        (",", "has an empty part"),
        (" ", "--limit ' ' is empty"),
        (f"{first},{typo}", f"{typo!r} matches no host in"),
        (f"{first},", "has an empty part (part 2 of 2"),
        (f"{first}:", "has an empty part"),
        ("~(", "is not a valid regular expression"),
        (f"{first},light[3:1]", "whose end comes before its start"),
        ("light[9]", "No hosts matched the subscripted pattern"),
        (f"{first},!nosuchhost", "'!nosuchhost' matches no host"),
        (f"{first}\u202e", "contains a control or invisible character"),
    ]


def run(lab: Any, workdir: Path, command: str, limit: str) -> Any:
    args = ["-i", str(lab.inventory), "--limit", limit, "--runs-dir", str(workdir / "runs")]
    if command == "remediate":
        args += ["--ticket", "CHG-4711", "--window", "now/PT2H", "--yes", "--output", "json"]
    else:
        args += ["--output", "json"]
    return lab.ripreplace(command, *args, cwd=workdir)


def test_broken_or_partly_unknown_limits_exit_2_and_touch_nothing(lab, workdir):
    hosts = lab.light_hosts[:2]
    lab.reset(*hosts)
    lab.plant(hosts[1], *COVERED)  # the host a typo of its name must not silently skip
    before = {h: listing(lab, h) for h in hosts}
    for command in ("audit", "remediate"):
        for limit, words in broken_limits(lab):
            result = run(lab, workdir, command, limit)
            assert result.returncode == 2, (command, limit, result.stdout, result.stderr)
            assert result.stderr.count("\n") == 1 and words in result.stderr, (command, limit, result.stderr)
            assert "Traceback" not in result.stderr and result.stdout == ""
            assert not (workdir / "runs").exists(), (command, limit)  # no run directory: nothing started
    assert {h: listing(lab, h) for h in hosts} == before
    assert package_states(lab, hosts[1], *COVERED) == {"kesl": "ii"}


def test_a_valid_limit_targets_exactly_its_hosts(lab, workdir):
    first, second = lab.light_hosts[0], lab.light_hosts[1]
    lab.reset(first, second)
    lab.plant(second, *COVERED)
    result = run(lab, workdir, "audit", f"{first},{second}")
    assert result.returncode == 3, result.stderr
    envelope = json.loads(result.stdout)
    assert sorted(envelope["result"]["hosts"]) == sorted([first, second])
    assert envelope["result"]["hosts"][second]["status"] == "covered"
    lab.reset(second)
