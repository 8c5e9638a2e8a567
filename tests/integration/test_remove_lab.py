"""The remove role and covered_remove module on lab hosts: the failure cases of issue 4.

These run the remove role with ``remove_require_replacement: false`` so each failure is the
removal's own; the full flow with the replacement is in test_remediate_lab.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
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


def test_failing_postrm_fails_the_host_with_the_package_managers_message(lab, playbook):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    lab.sh(host, "mkdir", "-p", "/etc/ripreplace-lab")
    lab.sh(host, "touch", "/etc/ripreplace-lab/fail-postrm-kesl")
    result = lab.ansible_playbook(playbook, "--limit", host)
    assert result.returncode != 0
    assert "package removal failed" in result.stdout
    assert "kesl postrm: cannot unregister from the management server" in result.stdout
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
