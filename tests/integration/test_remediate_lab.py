# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""playbooks/remediate.yml end to end on lab hosts (issue 4): replacement first, then removal,
then verification; check mode changes nothing; a second run changes nothing; an unhealthy
replacement leaves the covered product in place and running; the protection gap is recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.integration.hoststate import listing, package_states, running_executables

from ripreplace import collection, records
from ripreplace.lab import fakeapproved

pytestmark = pytest.mark.lab

COVERED = ("kesl", "kesl-gui", "klnagent64")
KESL = "/opt/kaspersky/kesl/libexec/kesl"
AGENT = "/opt/kaspersky/klnagent64/sbin/klnagent"

# remediate.yml, then a play that hands each host's outcome facts back to the controller.
WRAPPER = """\
- name: Remediate
  ansible.builtin.import_playbook: {remediate}

- name: Collect the outcome facts
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the facts of each host on the controller
      ansible.builtin.copy:
        content: "{{{{ {{'verify': verify_outcome | default(none), 'remove': remove_outcome | default(none),
                       'replacement': ripreplace_replacement | default(none)}} | to_json }}}}"
        dest: "{{{{ fact_dir }}}}/{{{{ inventory_hostname }}}}.json"
        mode: "0600"
      delegate_to: localhost
      changed_when: false  # the test's own bookkeeping, not a change to the host
      check_mode: false  # it writes on the controller, also when the hosts run in check mode
"""


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("remediate")
    path = directory / "remediate-and-collect.yml"
    path.write_text(WRAPPER.format(remediate=collection.playbook("remediate")))
    (directory / "facts").mkdir()
    return path


def lab_vars(lab, **more: object) -> dict[str, object]:
    return {
        "replacement_clamav_signatures_url": lab.lab.state["repo_url"] + "clamav/",
        "replacement_clamav_official_databases": False,
        "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
        "fact_dir": "",
        # remediate.yml's change-window guard: a ticket and an open window (tests/integration/test_awx_lab.py
        # runs it outside its window)
        "ripreplace_ticket": "CHG-LAB",
        "ripreplace_window": "now/PT2H",
        **more,
    }


def remediate(lab, wrapper: Path, hosts: list[str], *args: str, **more: object):
    variables = lab_vars(lab, **more)
    variables["fact_dir"] = str(wrapper.parent / "facts")
    result = lab.ansible_playbook(wrapper, "--limit", ",".join(hosts), "-e", json.dumps(variables), *args)
    facts = {}
    for host in hosts:
        path = wrapper.parent / "facts" / f"{host}.json"
        if path.exists():
            facts[host] = json.loads(path.read_text())
            path.unlink()
    return result, facts


def changed_tasks(stdout: str, host: str) -> list[str]:
    """The names of the tasks that reported a change on host (for a readable failure)."""
    names, task = [], ""
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith((f"changed: [{host}]", f"changed: [{host} ->")):
            names.append(task)
    return names


def outcomes(facts: dict[str, object]) -> list[tuple[str, str]]:
    """(step, outcome) of each role outcome fact a host published, through the campaign's own reader."""
    named = {"ripreplace_replacement": facts["replacement"], "remove_outcome": facts["remove"]}
    named["verify_outcome"] = facts["verify"]
    return [(s.step, s.outcome) for s in records.step_outcomes(named)]


def recap(stdout: str, host: str) -> dict[str, int]:
    line = next(ln for ln in stdout.splitlines() if re.match(rf"^{host}\s+:", ln))
    return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}


def test_full_remediation_on_light_and_systemd_hosts_then_second_run_changes_nothing(lab, wrapper):
    hosts = [lab.light_hosts[0], lab.systemd_hosts[0]]
    lab.reset(*hosts)
    for host in hosts:
        lab.plant(host, "kesl-gui", "klnagent64")
    result, facts = remediate(lab, wrapper, hosts)
    assert result.returncode == 0, result.stdout[-4000:]
    for host in hosts:
        assert package_states(lab, host, *COVERED) == dict.fromkeys(COVERED, "absent"), host
        assert not {KESL, AGENT} & running_executables(lab, host)
        assert "/usr/sbin/clamd" in running_executables(lab, host)
        fact = json.loads(lab.sh(host, "cat", "/etc/ansible/facts.d/ripreplace.fact").stdout)
        assert fact["outcome"] == "verified" and fact["remaining"] == []
        assert fact["replacement"]["product"] == "clamav" and fact["replacement"]["healthy"] is True
        assert facts[host]["verify"]["outcome"] == "verified"
        # Replacement first: healthy before the covered services were stopped, so no gap.
        assert facts[host]["verify"]["protection_gap_seconds"] == 0
        verify = facts[host]["verify"]
        stopped = facts[host]["remove"]["timings"]["services"]
        assert verify["replacement_healthy_at"] < verify["covered_stopped_at"] == stopped
        # the roles' outcome facts, as the campaign reads them (records.STEP_FACTS)
        assert outcomes(facts[host]) == [("replacement", "healthy"), ("remove", "removed"), ("verify", "verified")]
        assert verify["recorded"] is True and verify["check_mode"] is False
    again, facts = remediate(lab, wrapper, hosts)
    assert again.returncode == 0, again.stdout[-4000:]
    for host in hosts:
        assert recap(again.stdout, host)["changed"] == 0, (host, changed_tasks(again.stdout, host))
        assert facts[host]["verify"]["outcome"] == "verified"
        assert outcomes(facts[host]) == [("replacement", "healthy"), ("remove", "nothing"), ("verify", "verified")]


def test_check_mode_changes_nothing_and_shows_the_plan(lab, wrapper):
    host = lab.light_hosts[1]
    lab.reset(host)
    lab.plant(host, "kesl-gui", "klnagent64")
    before = listing(lab, host)
    result, facts = remediate(lab, wrapper, [host], "--check", "--diff")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "-package deb kesl-gui 12.4.0-1225 (installed)" in result.stdout
    assert facts[host]["verify"]["outcome"] == "planned"
    assert outcomes(facts[host]) == [("replacement", "planned"), ("remove", "planned"), ("verify", "planned")]
    assert facts[host]["verify"]["recorded"] is False and facts[host]["remove"]["check_mode"] is True
    assert listing(lab, host) == before
    assert {KESL, AGENT} <= running_executables(lab, host)
    lab.reset(host)


def test_unhealthy_replacement_leaves_the_covered_product_in_place_and_running(lab, wrapper):
    host = lab.light_hosts[2]
    lab.reset(host)
    lab.plant(host, "kesl", "klnagent64")
    lab.sh(host, "sh", "-c", "mkdir -p /etc/ripreplace-lab && echo unhealthy > /etc/ripreplace-lab/health-mdatp")
    result, _facts = remediate(
        lab,
        wrapper,
        [host],
        replacement_product="mdatp",
        replacement_package_source="repo",
        replacement_apt_repo_url=lab.lab.state["repo_url"],
        replacement_apt_repo_suite="./",
        replacement_apt_repo_allow_unsigned=True,
        replacement_mdatp_onboarding_json='{"orgId": "lab"}',
        replacement_health_retries=2,
        replacement_health_delay=1,
    )
    assert result.returncode != 0
    assert "is NOT healthy on" in result.stdout and "stays in place" in result.stdout
    assert package_states(lab, host, "kesl", "klnagent64") == {"kesl": "ii", "klnagent64": "ii"}
    assert {KESL, AGENT} <= running_executables(lab, host)
    assert lab.sh(host, "test", "-e", "/etc/ansible/facts.d/ripreplace.fact", check=False).returncode != 0
    lab.reset(host)


def test_remove_first_product_measures_the_unprotected_interval(lab, wrapper):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    result, facts = remediate(lab, wrapper, [host], replacement_remove_first=True)
    assert result.returncode == 0, result.stdout[-4000:]
    gap = facts[host]["verify"]["protection_gap_seconds"]
    assert isinstance(gap, (int, float)) and gap > 0
    assert facts[host]["verify"]["replacement_healthy_at"] > facts[host]["verify"]["covered_stopped_at"]
    assert package_states(lab, host, "kesl") == {"kesl": "absent"}
    lab.reset(host)
