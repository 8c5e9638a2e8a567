# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Campaign guarantees in the collection alone (issue 12, deliverable 3): plain ``ansible-playbook`` over
real SSH to lab hosts, no ripreplace wrapper.

- ``playbooks/remediate.yml`` outside its change window changes nothing on the host (a listing of its
  whole filesystem before and after) and fails with the window's reason; without a ticket, the same.
- With ``ripreplace_serial`` it runs in batches, the guard judging each batch at its start (a window
  file closes one host's window by a blackout of its group); ``ripreplace_max_fail_percentage`` stops
  the batches after a failed one.
- ``playbooks/audit.yml`` fails the hosts with covered software when ``detect_fail_on_findings`` is
  set, and publishes the counts with set_stats.
- The roles' tags reach their tasks: ``--tags remove --list-tasks`` lists the removal step, and at run
  time ``--tags replacement`` / ``--tags remove`` run the roles' own tasks (``apply``; the test fails
  without it), the removal refusing until the replacement is proven healthy in the same run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.hoststate import listing, package_states

from ripreplace import collection
from ripreplace.lab import fakeapproved

pytestmark = pytest.mark.lab

REMEDIATE = collection.playbook("remediate")
AUDIT = collection.playbook("audit")
PAST = "2020-01-01T00:00:00Z/PT1H"


def callback_env(runs: Path) -> dict[str, str]:
    return {"ANSIBLE_CALLBACKS_ENABLED": "ripreplace.remediation.audit_log", "RIPREPLACE_RUNS_DIR": str(runs)}


def records(runs: Path) -> list[dict[str, Any]]:
    (run,) = runs.iterdir()
    return [json.loads(line) for line in (run / "audit.jsonl").read_text().splitlines()]


def recap(stdout: str) -> dict[str, dict[str, int]]:
    """host -> the numbers of its PLAY RECAP line."""
    out = {}
    for match in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", stdout, re.MULTILINE):
        out[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return out


def test_outside_its_window_remediate_changes_nothing_and_fails_with_the_reason(lab, tmp_path):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    before = listing(lab, host)
    cases = [
        ({"ripreplace_ticket": "CHG-7", "ripreplace_window": PAST}, "the window ended at 2020-01-01T01:00:00Z"),
        (
            {"ripreplace_ticket": "CHG-7", "ripreplace_window": "2099-01-01T00:00:00Z/PT1H"},
            "the next window ripreplace_window opens at 2099-01-01T00:00:00Z",
        ),
        ({"ripreplace_window": "now/PT1H"}, "no change ticket: set ripreplace_ticket"),
    ]
    for n, (variables, reason) in enumerate(cases):
        runs = tmp_path / f"runs-{n}"
        result = lab.ansible_playbook(
            REMEDIATE, "--limit", host, "-e", json.dumps(variables), env=callback_env(runs), cwd=tmp_path
        )
        assert result.returncode == 2, result.stdout[-3000:]
        assert reason in result.stdout, result.stdout[-3000:]
        assert recap(result.stdout)[host] == {
            "ok": 0,
            "changed": 0,
            "unreachable": 0,
            "failed": 1,
            "skipped": 0,
            "rescued": 0,
            "ignored": 0,
        }
        # the trail shows the guard and nothing after it: no lock, no scan, no change was tried
        tasks = [r["data"] for r in records(runs) if r["type"] in ("task", "item") and r["data"].get("host") == host]
        assert [(t["action"], t["status"]) for t in tasks] == [("ripreplace.remediation.change_window", "failed")]
        assert reason in tasks[0]["msg"]
        check = lab.ripreplace("verify-log", str(next(runs.iterdir())))
        assert check.returncode == 0, check.stdout + check.stderr
        # ripreplace runs reads the plain run: the host was deferred with the window's reason
        show = lab.ripreplace("runs", "show", next(runs.iterdir()).name, "--runs-dir", str(runs), "--output", "json")
        assert show.returncode == 0, show.stderr
        shown = json.loads(show.stdout)["result"]
        assert shown["mode"] == "remediate" and shown["hosts"][host]["status"] == "deferred"
        assert reason in shown["hosts"][host]["reason"] and shown["exit_code"] == 5
        assert shown.get("ticket") == variables.get("ripreplace_ticket")  # the guard's ticket is the manifest's
    after = listing(lab, host)
    assert sorted(set(before) ^ set(after)) == [], "the host changed outside its window"
    assert package_states(lab, host, "kesl") == {"kesl": "ii"}
    assert lab.sh(host, "test", "-e", "/var/lib/ripreplace/lock", check=False).returncode == 1


def _frozen_site(lab, tmp_path: Path, frozen: str) -> tuple[Path, Path]:
    """A second inventory source putting ``frozen`` in group frozen, and a window file: open all day every
    day for every host, with a blackout of group frozen over yesterday, today and tomorrow (UTC)."""
    groups = tmp_path / "groups.yml"
    groups.write_text(yaml.safe_dump({"all": {"children": {"frozen": {"hosts": {frozen: {}}}}}}))
    today = dt.datetime.now(dt.UTC).date()
    windows = {
        "format": "ripreplace-windows/1",
        "timezone": "UTC",
        "windows": [{"name": "always", "groups": ["all"], "rrule": "FREQ=DAILY", "start": "00:00", "duration": "P1D"}],
        "blackouts": [
            {
                "start": (today - dt.timedelta(days=1)).isoformat(),
                "end": (today + dt.timedelta(days=1)).isoformat(),
                "reason": "change freeze",
                "groups": ["frozen"],
            }
        ],
    }
    path = tmp_path / "windows.yml"
    path.write_text(yaml.safe_dump(windows, sort_keys=False))
    return groups, path


def _batches(trail: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
    """(host, guard status) of each play-start's batch, from the trail: one play-start a batch."""
    batches: list[list[tuple[str, str]]] = []
    for record in trail:
        if record["type"] == "play-start":
            batches.append([])
        elif record["type"] == "task" and record["data"]["action"] == "ripreplace.remediation.change_window":
            batches[-1].append((record["data"]["host"], record["data"]["status"]))
    return batches


def test_serial_batches_each_judged_by_the_guard_and_max_fail_stops_them(lab, tmp_path):
    hosts = lab.light_hosts[:3]
    frozen = hosts[1]
    lab.reset(*hosts)
    groups, window_file = _frozen_site(lab, tmp_path, frozen)
    variables = {"ripreplace_ticket": "CHG-8", "ripreplace_window_file": str(window_file), "ripreplace_serial": 2}
    # --tags detect: the guard, the lock, detection and the plan (tagged always) and nothing that installs or removes
    common = ("-i", str(groups), "--limit", ",".join(hosts), "--tags", "detect")

    runs = tmp_path / "runs-serial"
    result = lab.ansible_playbook(REMEDIATE, *common, "-e", json.dumps(variables), env=callback_env(runs), cwd=tmp_path)
    assert result.returncode == 2, result.stdout[-3000:]
    assert result.stdout.count("PLAY [REMEDIATE | Replace, remove and verify covered software]") == 2
    assert "blackout: change freeze: the next window always opens at " in result.stdout
    batches = _batches(records(runs))
    assert [len(b) for b in batches] == [2, 1]  # serial 2 over 3 hosts, each batch opened by its own guard
    assert sorted(h for b in batches for h, _ in b) == sorted(hosts)
    statuses = {h: status for b in batches for h, status in b}
    assert statuses == {h: "failed" if h == frozen else "ok" for h in hosts}
    numbers = recap(result.stdout)
    assert numbers[frozen]["failed"] == 1 and numbers[frozen]["ok"] == 0
    assert all(numbers[h]["failed"] == 0 and numbers[h]["ok"] > 0 for h in hosts if h != frozen)
    # the frozen host is in the first batch (ansible's host order), so max-fail has a batch to stop
    (later,) = batches[1]
    assert frozen in {h for h, _ in batches[0]}, batches

    variables["ripreplace_max_fail_percentage"] = 0
    runs = tmp_path / "runs-max-fail"
    result = lab.ansible_playbook(REMEDIATE, *common, "-e", json.dumps(variables), env=callback_env(runs), cwd=tmp_path)
    assert result.returncode == 2, result.stdout[-3000:]
    assert result.stdout.count("PLAY [REMEDIATE | Replace, remove and verify covered software]") == 1
    assert later[0] not in recap(result.stdout)  # the batch after the failed one never started
    assert not [r for r in records(runs) if r["type"] == "task" and r["data"].get("host") == later[0]]
    for host in hosts:  # every lock taken was released
        assert lab.sh(host, "test", "-e", "/var/lib/ripreplace/lock", check=False).returncode == 1


def test_the_audit_play_fails_on_findings_when_asked_and_publishes_counts(lab, tmp_path):
    covered, clean = lab.light_hosts[0], lab.light_hosts[1]
    lab.reset(covered, clean)
    lab.plant(covered, "kesl")
    env = {"ANSIBLE_SHOW_CUSTOM_STATS": "1"}
    limit = ("--limit", f"{covered},{clean}")

    default = lab.ansible_playbook(AUDIT, *limit, env=env, cwd=tmp_path)
    assert default.returncode == 0, default.stdout[-3000:]
    stats = re.search(r"RUN: (\{.*\})", default.stdout)
    assert stats, default.stdout[-2000:]
    assert json.loads(stats.group(1)) == {
        "ripreplace_hosts_clean": 1,
        "ripreplace_hosts_covered": 1,
        "ripreplace_hosts_review": 0,
    }

    gate = lab.ansible_playbook(AUDIT, *limit, "-e", '{"detect_fail_on_findings": true}', env=env, cwd=tmp_path)
    assert gate.returncode == 2, gate.stdout[-3000:]
    assert f"covered software on {covered}: kaspersky-kesl" in gate.stdout
    numbers = recap(gate.stdout)
    assert numbers[covered]["failed"] == 1 and numbers[clean]["failed"] == 0
    assert package_states(lab, covered, "kesl") == {"kesl": "ii"}  # an audit changes nothing, failing or not


def test_role_tags_reach_their_tasks(lab, tmp_path):
    listed = lab.ansible_playbook(REMEDIATE, "--tags", "remove", "--list-tasks", cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    names = [line.strip().split("\t")[0].strip() for line in listed.stdout.splitlines() if "TAGS:" in line]
    assert any(n.startswith("REMEDIATE | REMOVE |") for n in names), listed.stdout
    assert any(n.startswith("REMEDIATE | WINDOW |") for n in names)  # the guard always runs
    assert not any(n.startswith(("REMEDIATE | VERIFY |", "REMEDIATE | REPLACE |")) for n in names), listed.stdout
    skipped = lab.ansible_playbook(REMEDIATE, "--skip-tags", "remove", "--list-tasks", cwd=tmp_path)
    assert "REMEDIATE | REMOVE |" not in skipped.stdout and "REMEDIATE | VERIFY |" in skipped.stdout


def test_tags_select_the_roles_steps_when_they_run(lab, tmp_path):
    """The tags reach the roles' own tasks at run time (include_role's ``apply``), not only the listing.
    ``--tags replacement`` installs the replacement and proves it healthy, and removes nothing.
    ``--tags remove`` runs the remove role's own tasks (without ``apply`` it would run the include and
    none of them), which refuse: the replacement was not proven healthy in this run. ``--tags
    replacement,remove`` proves it again and removes the covered package. None runs the verify step."""
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    variables = {
        "ripreplace_ticket": "CHG-9",
        "ripreplace_window": "now/PT2H",
        "replacement_clamav_signatures_url": lab.lab.state["repo_url"] + "clamav/",
        "replacement_clamav_official_databases": False,
        "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
    }

    def run(tags: str) -> tuple[Any, list[dict[str, Any]]]:
        runs = tmp_path / f"runs-{tags}"
        result = lab.ansible_playbook(
            REMEDIATE,
            "--limit",
            host,
            "--tags",
            tags,
            "-e",
            json.dumps(variables),
            env=callback_env(runs),
            cwd=tmp_path,
        )
        tasks = [r["data"] for r in records(runs) if r["type"] == "task" and r["data"].get("host") == host]
        assert not [t for t in tasks if str(t["task"]).startswith("VERIFY | RESCAN")], tasks  # no verify step
        return result, tasks

    def ran(tasks: list[dict[str, Any]], prefix: str) -> list[tuple[str, str]]:
        return [
            (t["task"], t["status"]) for t in tasks if str(t["task"]).startswith(prefix) and t["status"] != "skipped"
        ]

    result, tasks = run("replacement")
    assert result.returncode == 0, result.stdout[-3000:]
    assert ("REPLACEMENT | INSTALL | Install the packages from apt: ClamAV (Debian packages)", "changed") in ran(
        tasks, "REPLACEMENT | INSTALL"
    )
    assert not ran(tasks, "REMOVE | ") and package_states(lab, host, "kesl") == {"kesl": "ii"}

    result, tasks = run("remove")
    assert result.returncode == 2, result.stdout[-3000:]
    refused = ("REMOVE | PREFLIGHT | Refuse to remove before the replacement protects the host", "failed")
    assert ran(tasks, "REMOVE | ")[-1] == refused and not ran(tasks, "REPLACEMENT | INSTALL")
    assert "the replacement is not proven healthy" in result.stdout
    assert package_states(lab, host, "kesl") == {"kesl": "ii"}

    result, tasks = run("replacement,remove")
    assert result.returncode == 0, result.stdout[-3000:]
    assert [s for _, s in ran(tasks, "REMOVE | ") if s == "failed"] == []
    assert any(t["action"] == "ripreplace.remediation.covered_remove" and t["status"] == "changed" for t in tasks)
    assert package_states(lab, host, "kesl")["kesl"] != "ii"
