# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The lab itself: real hosts, real SSH, the network rule, plant, and a clean teardown."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ripreplace.lab import net
from ripreplace.lab.fleet import Lab

pytestmark = pytest.mark.lab

PLAYBOOK = """\
- name: Lab smoke test
  hosts: all
  gather_facts: false
  tasks:
    - name: Gather the service manager fact
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Write a marker over SSH
      ansible.builtin.copy:
        content: "{{ inventory_hostname }}\\n"
        dest: /var/tmp/ripreplace-smoke
        mode: "0644"
    - name: Report
      ansible.builtin.debug:
        msg: "{{ inventory_hostname }} {{ ansible_facts.service_mgr }} {{ ansible_facts.hostname }}"
"""


def _ip_route_get(addr: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "route", "get", addr], capture_output=True, text=True, check=False)


def test_guard_route_is_there_while_the_lab_is_up(lab):
    fleet: Lab = lab.lab
    assert net.guard_route_present(fleet.slot)
    for host in fleet.hosts.values():
        # From the root namespace a lab address is unreachable: it can never leave the machine.
        result = _ip_route_get(host.addr)
        assert result.returncode != 0, result.stdout
        # EHOSTUNREACH from the guard route, not a route via the machine's own network.
        assert "no route to host" in result.stderr.lower(), result.stdout + result.stderr


def test_hosts_have_no_default_route_and_no_resolver(lab):
    for host in lab.hosts:
        routes = lab.sh(host, "ip", "route", "show").stdout
        assert "default" not in routes, f"{host} has a default route: {routes}"
        assert lab.sh(host, "cat", "/etc/resolv.conf").stdout.strip() == ""


def test_each_host_has_its_own_identity(lab):
    seen_ids, seen_keys = set(), set()
    for host in lab.hosts:
        assert lab.sh(host, "hostname").stdout.strip() == host
        seen_ids.add(lab.sh(host, "cat", "/etc/machine-id").stdout.strip())
        seen_keys.add(lab.sh(host, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1])
    assert len(seen_ids) == len(lab.hosts)
    assert len(seen_keys) == len(lab.hosts)


def test_real_playbook_over_ssh_on_light_and_systemd_hosts(lab, tmp_path):
    playbook = tmp_path / "smoke.yml"
    playbook.write_text(PLAYBOOK)
    result = lab.ansible_playbook(playbook)
    assert result.returncode == 0, result.stdout + result.stderr
    for host in lab.light_hosts:
        assert f"{host} service" not in result.stdout  # sanity of the format below
        assert f'"msg": "{host} ' in result.stdout
        assert lab.sh(host, "cat", "/var/tmp/ripreplace-smoke").stdout.strip() == host
    for host in lab.systemd_hosts:
        assert f'"msg": "{host} systemd {host}"' in result.stdout
        assert lab.sh(host, "systemctl", "is-system-running", check=False).stdout.strip() in (
            "running",
            "degraded",
            "starting",
        )


def test_ansible_adhoc_ping_with_the_lab_inventory(lab, ansible_env):
    from tests.conftest import BIN

    result = subprocess.run(
        [str(BIN / "ansible"), "-i", str(lab.inventory), "all", "-m", "ansible.builtin.ping"],
        capture_output=True,
        text=True,
        env=ansible_env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count('"ping": "pong"') == len(lab.hosts)


def test_plant_then_dpkg_remove_leaves_residue(lab):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl-gui", "klnagent64")
    status = lab.sh(
        host, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n", "kesl", "kesl-gui", "klnagent64"
    ).stdout
    assert "kesl ii" in status and "kesl-gui ii" in status and "klnagent64 ii" in status
    exes = lab.sh(host, "sh", "-c", "readlink /proc/[0-9]*/exe 2>/dev/null | sort -u").stdout.split()
    assert "/opt/kaspersky/kesl/libexec/kesl" in exes
    assert "/opt/kaspersky/klnagent64/sbin/klnagent" in exes
    log = lab.sh(host, "cat", "/var/log/kaspersky/kesl-maint.log").stdout
    assert "kesl postinst configure" in log

    lab.sh(host, "dpkg", "-r", "kesl-gui", "kesl")
    status = lab.sh(host, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n", "kesl").stdout
    assert status.split() == ["kesl", "rc"]
    assert lab.sh(host, "test", "-e", "/var/opt/kaspersky/kesl/common/.created", check=False).returncode == 0
    exes = lab.sh(host, "sh", "-c", "readlink /proc/[0-9]*/exe 2>/dev/null | sort -u").stdout.split()
    assert "/opt/kaspersky/kesl/libexec/kesl" not in exes  # prerm stopped the daemon
    assert "kesl prerm remove" in lab.sh(host, "cat", "/var/log/kaspersky/kesl-maint.log").stdout
    lab.reset(host)
    assert lab.sh(host, "test", "-e", "/var/opt/kaspersky", check=False).returncode != 0


def test_plant_on_systemd_host_runs_the_unit(lab):
    host = lab.systemd_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl", "klnagent64", "kics")
    assert lab.sh(host, "systemctl", "is-active", "kesl.service", "klnagent64.service").stdout.split() == [
        "active",
        "active",
    ]
    assert lab.sh(host, "systemctl", "is-enabled", "kesl.service").stdout.strip() == "enabled"
    maint = lab.sh(host, "dpkg-query", "-W", "-f", "${Maintainer}", "kics").stdout
    assert "Checkmarx" in maint and "Kaspersky" not in maint
    lab.sh(host, "dpkg", "-P", "kesl")
    assert lab.sh(host, "systemctl", "is-active", "kesl.service", check=False).stdout.strip() != "active"
    assert lab.sh(host, "test", "-e", "/var/opt/kaspersky/kesl", check=False).returncode != 0  # purged
    lab.reset(host)


def test_plant_rpm_installs_rpm_first(lab):
    host = lab.light_hosts[1]
    lab.reset(host)
    lab.plant(host, "rpm:kesl")
    assert lab.sh(host, "rpm", "-q", "kesl").stdout.startswith("kesl-12.4.0-1225")
    exes = lab.sh(host, "sh", "-c", "readlink /proc/[0-9]*/exe 2>/dev/null | sort -u").stdout.split()
    assert "/opt/kaspersky/kesl/libexec/kesl" in exes
    lab.reset(host)


def test_plant_rejects_unknown_host_and_file(lab):
    result = lab.ripreplace("lab", "plant", "nosuchhost", "kesl", "--dir", str(lab.dir))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nosuchhost" in result.stderr
    result = lab.ripreplace("lab", "plant", lab.hosts[0], "/nonexistent/x.deb", "--dir", str(lab.dir))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_status_lists_every_host_up(lab):
    result = lab.ripreplace("lab", "status", "--output", "json", "--dir", str(lab.dir))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["guard_route"] is True
    assert {row["host"]: row["state"] for row in data["hosts"]} == dict.fromkeys(lab.hosts, "up")


def _lab_traces(fleet_prefix: str, directory: Path) -> dict[str, list[str]]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    mounts = Path("/proc/mounts").read_text()
    routes = subprocess.run(
        ["ip", "route", "show", "type", "unreachable"], capture_output=True, text=True, check=True
    ).stdout
    return {
        "netns": [line for line in netns.splitlines() if line.startswith(f"{fleet_prefix}-")],
        "mounts": [line for line in mounts.splitlines() if str(directory) in line],
        "routes": [line for line in routes.splitlines() if f"10.250.{fleet_prefix[3:]}." in line],
    }


def test_lab_up_and_down_leaves_nothing_behind():
    directory = Path(tempfile.mkdtemp(prefix="ripreplace-updown-", dir="/var/tmp"))
    fleet = Lab(directory)
    try:
        fleet.up(light=1, systemd=1)
        prefix = fleet.slot.prefix
        pids = [h.proc for h in fleet.hosts.values() if h.proc]
        children = []
        for proc in pids:
            children += [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        server = fleet.state["repo_server"]["pid"]
        traces = _lab_traces(prefix, directory)
        assert len(traces["netns"]) == 3 and traces["mounts"] and traces["routes"]
        fleet.down()
        assert _lab_traces(prefix, directory) == {"netns": [], "mounts": [], "routes": []}
        for proc in pids:
            assert not proc.alive()
        for pid in [*children, server]:
            stat = Path(f"/proc/{pid}/stat")
            assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        assert not (directory / "lab.json").exists()
        assert not (directory / "inventory.yml").exists()
    finally:
        fleet.down(quiet=True)
        shutil.rmtree(directory, ignore_errors=True)


def test_a_stale_lab_going_down_leaves_the_lab_that_took_its_slot_alone():
    """A lab whose directory outlived it (a reboot, a lab taken down by hand) names namespaces, a slot and a
    route that a newer lab may have taken since: its down removes its own files and nothing of the other."""
    old_dir = Path(tempfile.mkdtemp(prefix="ripreplace-stale-", dir="/var/tmp"))
    new_dir = Path(tempfile.mkdtemp(prefix="ripreplace-taker-", dir="/var/tmp"))
    stale, taker = Lab(old_dir), Lab(new_dir)
    try:
        stale.up(light=1, systemd=0)
        state = (old_dir / "lab.json").read_text()
        stale.down()
        (old_dir / "lab.json").write_text(state)  # the directory says the lab is up: it is not
        taker.up(light=1, systemd=0)
        if taker.slot.index != Lab(old_dir).slot.index:
            pytest.skip("another lab took the freed slot first (a concurrent test run)")
        before = _lab_traces(taker.slot.prefix, new_dir)
        assert before["netns"] and before["routes"], before
        Lab(old_dir).down()
        assert _lab_traces(taker.slot.prefix, new_dir) == before  # namespaces, mounts, guard route: untouched
        assert taker.sh("light1", "true").returncode == 0  # and the newer lab's host still answers
        assert not (old_dir / "lab.json").exists()
    finally:
        for fleet, directory in ((taker, new_dir), (Lab(old_dir), old_dir)):
            fleet.down(quiet=True)
            shutil.rmtree(directory, ignore_errors=True)


def test_plant_says_what_it_installed(lab):
    host = lab.light_hosts[0]
    lab.reset(host)
    first = lab.ripreplace("lab", "plant", host, "kesl-gui", "--dir", str(lab.dir))
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"installed on {host}: kesl 12.4.0-1225 (deb), kesl-gui 12.4.0-1225 (deb)\n"
    again = lab.ripreplace("lab", "plant", host, "kesl-gui", "--dir", str(lab.dir))
    assert again.returncode == 0 and again.stdout == f"nothing new on {host}: kesl-gui already installed\n"
    rpm = lab.ripreplace("lab", "plant", host, "rpm:kesl", "--dir", str(lab.dir))
    assert rpm.returncode == 0 and "kesl 12.4.0-1225 (rpm)" in rpm.stdout and " rpm " in rpm.stdout
    lab.reset(host)
