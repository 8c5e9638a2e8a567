# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""A host unreachable in a batch is retried once at the batch's end (issue 13, Deliver 1): real
ansible-runner runs of the stand-in playbook (tests/remediate_site.py), no lab.

The flaky host is deterministic, not timed: its ``ansible_connection`` is SSH to a closed loopback
port on attempt 1 (``ripreplace_attempt``, the extra var the wrapper sets for each attempt) and the
local connection on the retry. The host that stays down is SSH to the closed port on every attempt.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from tests.remediate_site import base, make_site, ripreplace, runs, touched, write_inventory

from ripreplace import records
from ripreplace.constants import ExitCode

pytestmark = pytest.mark.e2e


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): ssh gets 'connection refused' at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def down(first_attempt_only: bool) -> dict[str, object]:
    ssh = {"ansible_host": "127.0.0.1", "ansible_port": closed_port(), "ansible_ssh_retries": 0}
    if first_attempt_only:
        ssh["ansible_connection"] = "{{ 'local' if (ripreplace_attempt | default(1) | int) > 1 else 'ssh' }}"
    else:
        ssh["ansible_connection"] = "ssh"
    return ssh


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


def run_campaign(site: Path) -> tuple[int, dict[str, Any], list[dict[str, Any]], Path]:
    result = ripreplace(
        site, *base(site, "--window", "now/PT1H", "--batches", "100%", "--max-fail", "50", "--yes", "--output", "json")
    )
    assert result.returncode in (0, 4), result.stderr
    envelope = json.loads(result.stdout)
    (run,) = runs(site)
    log = [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]
    return result.returncode, envelope, log, run


def decisions(log: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r["data"] for r in log if r["type"] == "decision" and r["data"].get("kind") == kind]


def test_a_host_unreachable_on_the_first_attempt_is_retried_and_verified(site):
    write_inventory(site, {"h2": down(first_attempt_only=True)}, count=3)
    code, envelope, log, run = run_campaign(site)
    assert code == ExitCode.OK, envelope
    result = envelope["result"]
    assert {h: e["status"] for h, e in result["hosts"].items()} == {"h1": "clean", "h2": "clean", "h3": "clean"}
    (retry,) = decisions(log, "host-retry")
    assert retry["host"] == "h2" and retry["batch"] == 1 and retry["attempt"] == 2
    assert retry["reason"].startswith("unreachable during ") and "127.0.0.1" in retry["reason"]
    # the retry ran the playbook for h2 alone, before the batch was judged
    assert (run / "batch-1.retry1.hosts").read_text() == "h2\n"
    kinds = [d["kind"] for d in decisions(log, "host-retry") + decisions(log, "batch-end")]
    assert kinds == ["host-retry", "batch-end"]
    assert log.index(next(r for r in log if r["data"].get("kind") == "host-retry")) < log.index(
        next(r for r in log if r["data"].get("kind") == "batch-end")
    )
    batch = result["batches"][0]
    assert batch["counts"] == {"verified": 3} and batch["failed_pct"] == 0.0
    assert batch["retry"]["hosts"] == {"h2": {"first": retry["reason"], "state": "verified"}}
    state = json.loads((run / "state.json").read_text())
    history = [h["state"] for h in state["hosts"]["h2"]["history"]]
    assert history[:2] == ["unreachable", "pending"] and history[-1] == "verified"
    assert touched(site) == ["h1", "h2", "h3"]
    assert records.validate(result, "summary") == [] and records.validate(state, "state") == []
    assert ripreplace(site, "verify-log", str(run)).returncode == 0


def test_a_host_that_stays_down_is_retried_once_and_ends_unreachable(site):
    write_inventory(site, {"h2": down(first_attempt_only=False)}, count=3)
    code, envelope, log, run = run_campaign(site)
    assert code == ExitCode.HOSTS_FAILED
    result = envelope["result"]
    assert result["hosts"]["h2"]["status"] == "unreachable"
    assert "also on the retry at the end of batch 1" in result["hosts"]["h2"]["reason"]
    assert [d["host"] for d in decisions(log, "host-retry")] == ["h2"]  # one extra attempt, no more
    assert sorted(p.name for p in run.glob("batch-1*.hosts")) == ["batch-1.hosts", "batch-1.retry1.hosts"]
    assert result["batches"][0]["retry"]["hosts"]["h2"]["state"] == "unreachable"
    assert result["hosts"]["h1"]["status"] == result["hosts"]["h3"]["status"] == "clean"
    assert touched(site) == ["h1", "h3"]
    assert ripreplace(site, "verify-log", str(run)).returncode == 0
