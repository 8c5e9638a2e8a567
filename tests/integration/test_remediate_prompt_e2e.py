# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Issue 11 item 10, through the command: the confirmation accepts only the word it asks for, and a window
in the past says when it ended (not "no window opens in the next 400 days"). The stand-in campaign of
tests/remediate_site.py; the answer is typed into a real pseudo-terminal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pexpect
import pytest
from tests.remediate_site import BIN, base, make_site, ripreplace, runs, touched

from ripreplace import collection
from ripreplace.constants import ExitCode

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


@pytest.mark.parametrize("answer", ["y", "Y", "yes please", "", "ja"])
def test_the_prompt_starts_nothing_unless_the_answer_is_yes(site, answer):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()), TERM="dumb")
    child = pexpect.spawn(
        str(BIN / "ripreplace"),
        base(site, "--window", "now/PT1H"),
        cwd=str(site),
        env=env,
        encoding="utf-8",
        timeout=120,
    )
    try:
        child.expect_exact("Type 'yes' to start: ")
        child.sendline(answer)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == ExitCode.USAGE, child.before
    assert "ripreplace: error: not confirmed: nothing was started" in child.before
    assert touched(site) == [] and runs(site) == []


def test_a_window_in_the_past_says_when_it_ended(site):
    result = ripreplace(site, *base(site, "--window", "2020-01-01T00:00:00Z/PT1H", "--yes", "--output", "json"))
    assert result.returncode == ExitCode.WINDOW, result.stderr
    summary = json.loads(result.stdout)["result"]
    ended = "outside the change window: the window ended at 2020-01-01T01:00:00Z"
    assert summary["stop"] == {"by": "window", "reason": ended}
    assert {h["status"] for h in summary["hosts"].values()} == {"deferred"}
    assert "400 days" not in result.stdout + result.stderr
    assert touched(site) == []
