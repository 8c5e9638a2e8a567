# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The per-host plan (issue 11 item 10, issue 13 Deliver 2): what each host gets, from the plan scan's events.

The events are of the shape ansible-runner streams (event, event_data.host/task/task_action/
resolved_action/res); the lab test (tests/integration/test_remediate_rerun_lab.py) runs the real scan.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.remediate_site import make_site

from ripreplace import campaign, remediate
from ripreplace.campaign import hostplan
from ripreplace.commands import remediate as command
from ripreplace.records import DETECT_ACTION

KESL = {
    "catalog_id": "kaspersky-kesl",
    "vendor": "Kaspersky",
    "product": "Kaspersky Endpoint Security for Linux",
    "state": "installed",
    "confidence": "high",
    "review": False,
    "evidence": [],
}
PLAN = {
    "packages": [{"name": "kesl", "manager": "deb", "catalog_id": "kaspersky-kesl", "status": "installed"}],
    "services": [{"name": "kesl", "manager": "sysv"}],
    "processes": [{"pid": 82, "exe": "/opt/kaspersky/kesl/libexec/kesl"}],
    "paths": [{"path": "/opt/kaspersky", "root": "/opt/kaspersky"}],
    "kernel_modules": [],
    "repo_files": [],
    "repo_keys": [],
    "refused": [],
}
ALL_IN = {"clamav": "ii", "clamav-daemon": "ii", "clamdscan": "ii"}
NONE_IN = {"clamav": "absent", "clamav-daemon": "absent", "clamdscan": "absent"}


def ok(host: str, action: str, res: dict[str, Any]) -> dict[str, Any]:
    data = {"host": host, "task": "a task", "task_action": action, "resolved_action": action, "res": res}
    return {"event": "runner_on_ok", "event_data": data}


def scanned(
    collector: hostplan.PlanCollector, host: str, *, covered: bool, installed, healthy: bool, path: str, wanted=True
):
    facts = {"findings": [KESL] if covered else [], "excepted": [], "removal_plan": PLAN if covered else {}}
    collector(ok(host, DETECT_ACTION, {"ansible_facts": {"covered_software": facts}}))
    collector(ok(host, hostplan.PROBE_ACTION, {"installed": installed, "version": "1.4.3", "healthy": healthy}))
    decision = {
        "verify_path": path,
        "verify_replacement_wanted": wanted,
        "ripreplace_replacement": {"product": "clamav"},
    }
    collector(ok(host, "ansible.builtin.set_fact", {"ansible_facts": decision}))


def collected() -> hostplan.PlanCollector:
    c = hostplan.PlanCollector()
    scanned(c, "covered-new", covered=True, installed=NONE_IN, healthy=False, path="full")
    scanned(c, "covered-have", covered=True, installed=ALL_IN, healthy=True, path="full")
    scanned(c, "done1", covered=False, installed=ALL_IN, healthy=True, path="already")
    scanned(c, "done2", covered=False, installed=ALL_IN, healthy=True, path="already")
    scanned(c, "clean", covered=False, installed=NONE_IN, healthy=False, path="verify", wanted=False)
    scanned(c, "clean-asked", covered=False, installed=NONE_IN, healthy=False, path="full", wanted=True)
    scanned(c, "sick", covered=False, installed=ALL_IN, healthy=False, path="full")
    c({"event": "runner_on_unreachable", "event_data": {"host": "down", "task": "DETECT | SCAN", "res": {"msg": "x"}}})
    return c


HOSTS = ["covered-new", "covered-have", "done1", "done2", "clean", "clean-asked", "sick", "down"]


def test_each_host_gets_its_action_what_is_removed_and_what_is_installed():
    plans = hostplan.plans(HOSTS, collected(), "clamav")
    assert {h: p.action for h, p in plans.items()} == {
        "covered-new": "remediate",
        "covered-have": "remediate",
        "done1": "already",
        "done2": "already",
        "clean": "skip",
        "clean-asked": "install",
        "sick": "repair",
        "down": "unreachable",
    }
    new = plans["covered-new"]
    assert new.remove == {
        "packages": ("kesl",),
        "services": ("kesl (sysv)",),
        "processes": ("/opt/kaspersky/kesl/libexec/kesl (pid 82)",),
        "paths": ("/opt/kaspersky",),
    }
    assert new.install == ("clamav", "clamav-daemon", "clamdscan") and new.note == "covered: kaspersky-kesl"
    assert plans["covered-have"].install == () and plans["clean"].install == ()
    assert plans["clean-asked"].install == ("clamav", "clamav-daemon", "clamdscan")
    assert hostplan.detail(plans["covered-have"]).endswith(
        "clamav already installed: proven healthy first [covered: kaspersky-kesl]"
    )
    assert "--install-on-clean" in hostplan.detail(plans["clean"])
    assert plans["down"].as_dict()["note"].startswith("unreachable during 'DETECT | SCAN'")


def test_the_plan_lists_every_host_and_groups_identical_ones(tmp_path: Path):
    site = make_site(tmp_path)
    request = remediate.RemediateRequest(
        inventory=site / "inv.yml", ticket="CHG-1", window="now/PT1H", window_file=None, runs_dir=site / "runs"
    )
    inputs = remediate.validate(request)
    opening = remediate.open_window(inputs, dt.datetime.now(dt.UTC))
    scan = hostplan.PlanScan(
        "20261203T000000Z-audit-000000", str(site), hostplan.plans(HOSTS, collected(), "clamav"), "successful"
    )
    lines = command.plan_lines(inputs, opening, scan)
    assert "  replacement clamav; not on clean hosts" in lines
    assert "  per host    (read-only scan, run 20261203T000000Z-audit-000000):" in lines
    per_host = [line for line in lines if line.startswith("    ")]
    assert per_host[0].startswith("    covered-new: remediate: remove packages kesl; services kesl (sysv);")
    assert (
        "    done1, done2: already: already verified clean and protected: nothing to do "
        "[nothing covered; clamav 1.4.3 healthy now]" in per_host
    )
    assert sum(line.count(h) for line in per_host for h in ["clean-asked"]) == 1
    assert len(per_host) == 7  # eight hosts, done1 and done2 share a line
    without = command.plan_lines(inputs, opening, None)
    assert any("decided on each host when its batch runs" in line for line in without)
    assert isinstance(opening, campaign.Opening)
