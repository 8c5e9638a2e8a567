"""Shared by the ``ripreplace remediate`` CLI tests: a stand-in playbook on local-connection hosts.

The stand-in (written into the test's tmp_path) publishes the facts the campaign state machine reads
from playbooks/remediate.yml, and touches a marker file per host: "no host touched" means no marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ripreplace import collection

BIN = Path(sys.executable).parent

STANDIN = """\
- name: Stand-in remediate
  hosts: all
  gather_facts: false
  tasks:
    - name: Touch the host
      ansible.builtin.file:
        path: "{{ marker_dir }}/{{ inventory_hostname }}.touched"
        state: touch
        mode: "0600"
    - name: REPLACEMENT | HEALTH | Record the outcome in ripreplace_replacement
      ansible.builtin.set_fact:
        ripreplace_replacement: {product: clamav, name: ClamAV, version: "1.0", healthy: true, reason: "",
                                 check_mode: false}
    - name: Take a while
      ansible.builtin.command: sleep {{ pause | default(0) }}
      changed_when: false
    - name: Fail a host on request
      ansible.builtin.fail:
        msg: "postrm of kesl failed"
      when: fail_me | default(false)
    - name: REMOVE | RECORD | Keep what was removed and when
      ansible.builtin.set_fact:
        remove_outcome: {ran: true}
    - name: VERIFY | OUTCOME | Decide the host's outcome
      ansible.builtin.set_fact:
        verify_outcome: {outcome: verified, reason: ""}
    - name: VERIFY | ASSERT | The host is verified
      ansible.builtin.assert:
        that: [verify_outcome.outcome == 'verified']
        quiet: true
"""


def make_site(tmp_path: Path) -> Path:
    os.chmod(tmp_path, 0o700)
    (tmp_path / "markers").mkdir()
    (tmp_path / "standin.yml").write_text(STANDIN)
    write_inventory(tmp_path, {})
    return tmp_path


def write_inventory(site: Path, hostvars: dict[str, dict[str, object]], count: int = 4) -> None:
    hosts = {f"h{i}": dict(hostvars.get(f"h{i}", {})) for i in range(1, count + 1)}
    inv = {
        "all": {
            "children": {"web": {"hosts": hosts}},
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "marker_dir": str(site / "markers"),
            },
        }
    }
    (site / "inv.yml").write_text(json.dumps(inv))


def base(site: Path, *extra: str) -> list[str]:
    return [
        "remediate",
        "-i",
        str(site / "inv.yml"),
        "--ticket",
        "CHG-1",
        "--playbook",
        str(site / "standin.yml"),
        "--runs-dir",
        str(site / "runs"),
        *extra,
    ]


def ripreplace(site: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()))
    return subprocess.run(
        [str(BIN / "ripreplace"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
        cwd=site,
        stdin=subprocess.DEVNULL,
    )


def touched(site: Path) -> list[str]:
    return sorted(p.stem for p in (site / "markers").iterdir())


def runs(site: Path) -> list[Path]:
    return sorted((site / "runs").iterdir()) if (site / "runs").exists() else []
