# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The remove role and covered_remove module on lab hosts: the failure cases of issue 4, and the
safety cases of issue 11 (purge roots by proof; containers are not the host).

These run the remove role with ``remove_require_replacement: false`` so each failure is the
removal's own; the full flow with the replacement is in test_remediate_lab.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from tests.integration.hoststate import listing, package_states, running_executables

pytestmark = pytest.mark.lab

PLAYBOOK = """\
- name: Remove covered software (test)
  hosts: all
  gather_facts: false
  vars:
    remove_require_replacement: false
  roles:
    - ripreplace.remediation.detect
    - ripreplace.remediation.remove
"""

KESL = "/opt/kaspersky/kesl/libexec/kesl"
AGENT = "/opt/kaspersky/klnagent64/sbin/klnagent"


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    path = tmp_path / "remove.yml"
    path.write_text(PLAYBOOK)
    return path


@pytest.fixture
def playbook_keeping_outcome(tmp_path: Path) -> Path:
    """The detect and remove roles; whatever happens, remove_outcome is kept in a controller file (outcome_file)."""
    path = tmp_path / "remove-keep.yml"
    path.write_text(
        """\
- name: Remove covered software, keeping the outcome (test)
  hosts: all
  gather_facts: false
  vars:
    remove_require_replacement: false
  tasks:
    - name: Detect and remove
      block:
        - name: Detect
          ansible.builtin.include_role:
            name: ripreplace.remediation.detect
        - name: Remove
          ansible.builtin.include_role:
            name: ripreplace.remediation.remove
      always:
        - name: Keep the outcome
          ansible.builtin.copy:
            content: "{{ remove_outcome | default({}) | to_json }}"
            dest: "{{ outcome_file }}"
            mode: "0600"
          delegate_to: localhost
"""
    )
    return path


def _hold_dpkg_lock(lab, host: str, seconds: int) -> None:
    """Hold dpkg's frontend lock (the fcntl lock apt and dpkg take) in the background on the host."""
    code = (
        "import fcntl,time,os;f=open('/var/lib/dpkg/lock-frontend','w');fcntl.lockf(f,fcntl.LOCK_EX);"
        f"open('/run/lock-held','w').close();time.sleep({seconds});os.unlink('/run/lock-held')"
    )
    lab.sh(host, "sh", "-c", f'nohup python3 -c "{code}" >/dev/null 2>&1 &')
    for _ in range(50):
        if lab.sh(host, "test", "-e", "/run/lock-held", check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the lock holder did not start")


def test_check_mode_reports_the_plan_with_a_diff_and_changes_nothing(lab, playbook):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl-gui", "klnagent64")
    before = listing(lab, host)
    result = lab.ansible_playbook(playbook, "--limit", host, "--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "-package deb kesl-gui 12.4.0-1225 (installed)" in result.stdout
    assert "-path /var/opt/kaspersky (under /var/opt/kaspersky)" in result.stdout
    assert "-process " in result.stdout and KESL in result.stdout
    assert listing(lab, host) == before
    assert {KESL, AGENT} <= running_executables(lab, host)


def test_removal_in_order_then_second_run_changes_nothing(lab, playbook):
    host = lab.systemd_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl-gui", "klnagent64", "kics")
    result = lab.ansible_playbook(playbook, "--limit", host, "-v")
    assert result.returncode == 0, result.stdout[-3000:]
    assert package_states(lab, host, "kesl", "kesl-gui", "klnagent64") == dict.fromkeys(
        ("kesl", "kesl-gui", "klnagent64"), "absent"
    )
    assert package_states(lab, host, "kics")["kics"] == "ii"  # the decoy stays
    assert not {KESL, AGENT} & running_executables(lab, host)
    for path in ("/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky"):
        assert lab.sh(host, "test", "-e", path, check=False).returncode != 0, path
    # One transaction, in dependency order: the GUI before the product, the agent last.
    log = lab.sh(host, "cat", "/var/log/dpkg.log").stdout
    removes = [line.split()[3] for line in log.splitlines() if " remove " in line]
    assert [r.split(":")[0] for r in removes] == ["kesl-gui", "kesl", "klnagent64"]
    again = lab.ansible_playbook(playbook, "--limit", host)
    assert again.returncode == 0, again.stdout[-3000:]
    assert f"{host}" in again.stdout and "changed=0" in again.stdout
    lab.reset(host)


def test_failing_postrm_fails_the_host_with_the_package_managers_message(lab, playbook_keeping_outcome, tmp_path):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    lab.sh(host, "mkdir", "-p", "/etc/ripreplace-lab")
    lab.sh(host, "touch", "/etc/ripreplace-lab/fail-postrm-kesl")
    kept = tmp_path / "remove_outcome.json"
    result = lab.ansible_playbook(playbook_keeping_outcome, "--limit", host, "-e", f"outcome_file={kept}")
    assert result.returncode != 0
    assert "package removal failed" in result.stdout
    assert "kesl postrm: cannot unregister from the management server" in result.stdout
    # the role publishes why, in the script's words (not "dpkg returned an error code (1)"), and fails the host so
    outcome = json.loads(kept.read_text())
    script = "kesl postrm: cannot unregister from the management server (lab failure knob)"
    assert outcome["step"] == "remove" and outcome["outcome"] == "failed" and outcome["ran"] is True
    assert outcome["reason"].startswith(f"package removal failed (apt-get): {script} | dpkg: kesl (--")
    assert "post-removal script subprocess returned error exit status 1" in outcome["reason"]
    assert "returned an error code" not in outcome["reason"]
    assert outcome["script_messages"][0] == script
    assert f'fatal: [{host}]: FAILED! => {{"changed": false, "msg": "{outcome["reason"]}"}}' in result.stdout
    lab.reset(host)


def test_dpkg_lock_held_briefly_is_waited_out(lab, playbook):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    _hold_dpkg_lock(lab, host, 4)
    started = time.monotonic()
    result = lab.ansible_playbook(playbook, "--limit", host, "-e", "remove_lock_timeout=60")
    assert result.returncode == 0, result.stdout[-3000:]
    assert time.monotonic() - started >= 3
    assert package_states(lab, host, "kesl")["kesl"] == "absent"
    lab.reset(host)


def test_dpkg_lock_held_past_the_timeout_fails_clearly(lab, playbook):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    _hold_dpkg_lock(lab, host, 60)
    result = lab.ansible_playbook(playbook, "--limit", host, "-e", "remove_lock_timeout=3")
    assert result.returncode != 0
    assert "package removal failed" in result.stdout
    assert "lock" in result.stdout.lower() and "waited 3 s" in result.stdout
    assert package_states(lab, host, "kesl")["kesl"] == "ii"
    lab.reset(host)


def test_purge_path_escaping_its_root_is_refused_before_anything_is_touched(lab, playbook):
    host = lab.light_hosts[1]
    lab.reset(host)
    lab.plant(host, "klnagent64")
    # The agent's leftover directory becomes a symlink out of the vendor root (to /usr/share/doc).
    lab.sh(host, "sh", "-c", "rm -rf /var/opt/kaspersky/klnagent && ln -s /usr/share/doc /var/opt/kaspersky/klnagent")
    before = listing(lab, host)
    result = lab.ansible_playbook(playbook, "--limit", host)
    assert result.returncode != 0
    assert "refus" in result.stdout and "outside its vendor root" in result.stdout
    assert listing(lab, host) == before
    assert AGENT in running_executables(lab, host)
    assert lab.sh(host, "test", "-d", "/usr/share/doc/dpkg", check=False).returncode == 0
    lab.reset(host)


# --------------------------------------------------------------------------- purge roots by proof
SITE_DOC = {
    "format": "ripreplace-covered-catalog/1",
    "entries": [
        {
            "id": "site-doc-viewer",
            "vendor": "AO Kaspersky Lab",
            "product": "Documentation viewer (a site entry gone wrong)",
            "platform": "linux",
            "covered_list": {
                "entry": "AO Kaspersky Lab information security products",
                "added": "2022-03-25",
                "sources": ["https://docs.fcc.gov/public/attachments/DA-22-320A1.txt"],
            },
            "signals": {
                "paths": [
                    {"path": "/usr/share/doc/dpkg", "confidence": "high", "source": {"grade": "site", "ref": "r"}}
                ]
            },
            "removal": {
                "vendor_roots": ["/usr/share/doc"],
                "leftover_paths": ["/usr/share/doc"],
                "source": {"grade": "site", "ref": "site runbook"},
            },
        }
    ],
}

DIRECT_REMOVE = """\
- name: Call covered_remove with a plan no catalog validation ever saw (test)
  hosts: all
  gather_facts: false
  tasks:
    - name: REMOVE | PURGE | Forged plan
      ripreplace.remediation.covered_remove:
        plan: {plan}
"""


def _direct_remove(tmp_path: Path, plan: dict) -> Path:
    path = tmp_path / "direct-remove.yml"
    path.write_text(DIRECT_REMOVE.format(plan=json.dumps(plan)))
    return path


def test_system_directory_roots_refused_at_validation_and_on_the_host(lab, playbook, workdir, tmp_path):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    site = tmp_path / "site.yml"
    site.write_text(yaml.safe_dump(SITE_DOC))
    # 1. Validation: the catalog command and the audit refuse it, one line, exit 2, no host touched.
    result = lab.ripreplace("catalog", "validate", str(site))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "entry site-doc-viewer: removal.vendor_roots /usr/share/doc is a system directory" in result.stderr
    result = lab.ripreplace(
        "audit", "-i", str(lab.inventory), "--catalog", str(site), "--runs-dir", str(workdir / "runs"), cwd=workdir
    )
    assert result.returncode == 2 and "is a system directory" in result.stderr
    result = lab.ripreplace(
        "remediate",
        "-i",
        str(lab.inventory),
        "--catalog",
        str(site),
        "--ticket",
        "CHG-1",
        "--window",
        "now/PT1H",
        "--yes",
        "--limit",
        host,
        "--runs-dir",
        str(workdir / "runs"),
        cwd=workdir,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "is a system directory" in result.stderr
    assert not (workdir / "runs").exists()
    before = listing(lab, host)
    # 2. Past the command line, as host var detect_catalogs: the action plugin validates it on the
    #    controller and the host fails before covered_remove runs.
    host_vars = tmp_path / "host-vars.yml"
    host_vars.write_text(yaml.safe_dump({"all": {"hosts": {host: {"detect_catalogs": [str(site)]}}}}))
    result = lab.ansible_playbook(playbook, "-i", str(host_vars), "--limit", host)
    assert result.returncode != 0
    assert "catalog error" in result.stdout and "is a system directory" in result.stdout
    assert listing(lab, host) == before
    # 3. Past every validation: covered_remove given the plan such a catalog would make. The host
    #    refuses before touching anything.
    forged = {
        "paths": [{"path": "/usr/share/doc", "vendor_root": "/usr/share/doc"}],
        "vendor_roots": ["/usr/share/doc"],
    }
    result = lab.ansible_playbook(_direct_remove(tmp_path, forged), "--limit", host)
    assert result.returncode != 0
    assert "vendor root '/usr/share/doc' is a system directory. Nothing was changed." in result.stdout
    # 4. A root the deny-list does not name (below /etc/ssh) but a package outside the plan owns:
    #    the host's own proof (dpkg-query -S) refuses it.
    forged = {
        "paths": [{"path": "/etc/ssh/sshd_config.d", "vendor_root": "/etc/ssh/sshd_config.d"}],
        "vendor_roots": ["/etc/ssh/sshd_config.d"],
    }
    result = lab.ansible_playbook(_direct_remove(tmp_path, forged), "--limit", host)
    assert result.returncode != 0
    assert (
        "vendor root /etc/ssh/sshd_config.d holds files of packages outside the removal plan: openssh-server"
        in result.stdout
    )
    assert listing(lab, host) == before
    assert lab.sh(host, "test", "-f", "/usr/share/doc/dpkg/copyright", check=False).returncode == 0
    assert lab.sh(host, "test", "-f", "/etc/ssh/sshd_config.d/hostkey.conf", check=False).returncode == 0
    assert package_states(lab, host, "kesl")["kesl"] == "ii"
    lab.reset(host)


# --------------------------------------------------------------------------- containers
CONTAINER_ID = "5d2f0c3b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4"
# A container as docker makes one: its own mount and PID namespaces, a root of its own (a tmpfs
# with the host's /usr bound in), pivot_root into it, and a copy of a binary at the path the
# catalog knows. Seen from the host, /proc/PID/exe reads /opt/kaspersky/kesl/libexec/kesl.
CONTAINER_SCRIPT = """\
set -e
mount --make-rprivate /
mount -t tmpfs -o size=16m tmpfs /mnt
mkdir -p /mnt/usr /mnt/opt/kaspersky/kesl/libexec /mnt/old
mount --rbind /usr /mnt/usr
for d in bin sbin lib lib64; do ln -s usr/$d /mnt/$d; done
cp /usr/bin/sleep /mnt/opt/kaspersky/kesl/libexec/kesl
cd /mnt
pivot_root . old
exec chroot . /opt/kaspersky/kesl/libexec/kesl 3600
"""
FIND_CONTAINER = (
    "host=$(readlink /proc/1/ns/mnt); for p in /proc/[0-9]*; do "
    '[ "$(readlink $p/exe 2>/dev/null)" = /opt/kaspersky/kesl/libexec/kesl ] && '
    '[ "$(readlink $p/ns/mnt)" != "$host" ] && echo ${p#/proc/}; done; true'
)


def _start_container(lab, host: str) -> int:
    lab.lab.sh(host, "sh", "-c", "cat > /run/ctr.sh", input_text=CONTAINER_SCRIPT)
    lab.sh(
        host,
        "sh",
        "-c",
        f"setsid -f systemd-run --quiet --scope --unit=docker-{CONTAINER_ID} "
        "unshare --mount --pid --fork sh /run/ctr.sh >/run/ctr.log 2>&1 </dev/null",
    )
    for _ in range(100):
        pids = lab.sh(host, "sh", "-c", FIND_CONTAINER).stdout.split()
        if pids:
            return int(pids[0])
        time.sleep(0.1)
    raise AssertionError("the container did not start: " + lab.sh(host, "cat", "/run/ctr.log").stdout)


def _audit(lab, workdir: Path, host: str) -> tuple[int, dict]:
    result = lab.ripreplace(
        "audit",
        "-i",
        str(lab.inventory),
        "--limit",
        host,
        "--runs-dir",
        str(workdir / "runs"),
        "--output",
        "json",
        cwd=workdir,
    )
    assert result.returncode in (0, 3), result.stderr
    return result.returncode, json.loads(result.stdout)["result"]["hosts"][host]


def test_covered_process_in_another_mount_namespace_is_reported_not_removed(lab, playbook, workdir):
    host = lab.systemd_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    cpid = _start_container(lab, host)
    try:
        rc, entry = _audit(lab, workdir, host)
        assert rc == 3 and entry["status"] == "covered"  # the host's own kesl
        kesl = [f for f in entry["findings"] if f["catalog_id"] == "kaspersky-kesl"]
        assert [f["state"] for f in kesl] == ["installed", "container"]
        host_pids = {e["details"]["pid"] for e in kesl[0]["evidence"] if e["kind"] == "process"}
        assert cpid not in host_pids and host_pids
        container = kesl[1]
        assert container["review"] is True
        [ev] = container["evidence"]
        assert ev["kind"] == "process" and ev["value"] == KESL
        assert ev["details"]["pid"] == cpid and ev["details"]["namespace"] == "container"
        assert ev["details"]["container_id"] == CONTAINER_ID
        assert ev["details"]["cgroup"].endswith(f"docker-{CONTAINER_ID}.scope")
        plan = entry["removal_plan"]
        assert {p["pid"] for p in plan["processes"]} == host_pids
        # Remediation removes the host's kesl and never signals the container's.
        result = lab.ansible_playbook(playbook, "--limit", host)
        assert result.returncode == 0, result.stdout[-3000:]
        assert package_states(lab, host, "kesl")["kesl"] == "absent"
        assert lab.sh(host, "test", "-d", f"/proc/{cpid}", check=False).returncode == 0, (
            "the container's process was killed"
        )
        assert str(cpid) in lab.sh(host, "sh", "-c", FIND_CONTAINER).stdout.split()
        # Afterwards the host is not covered; the container is still reported, for review.
        rc, entry = _audit(lab, workdir, host)
        assert rc == 0 and entry["status"] != "covered"
        assert [(f["catalog_id"], f["state"]) for f in entry["findings"]] == [("kaspersky-kesl", "container")]
        assert entry["removal_plan"]["processes"] == []
    finally:
        lab.sh(host, "kill", str(cpid), check=False)
        lab.reset(host)
