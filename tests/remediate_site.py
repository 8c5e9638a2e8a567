# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Shared by the ``ripreplace remediate`` CLI tests: a stand-in playbook on local-connection hosts.

The stand-in (written into the test's tmp_path) publishes the facts the campaign state machine reads
from playbooks/remediate.yml, and touches a marker file per host: "no host touched" means no marker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ripreplace import collection

BIN = Path(sys.executable).parent

#: The replacement role's outcome fact (the contract of ripreplace.records.STEP_FACTS).
_REPLACED = """\
    - name: Publish the replacement's outcome
      ansible.builtin.set_fact:
        ripreplace_replacement: {step: replacement, outcome: healthy, product: clamav, name: ClamAV, version: "1.0",
                                 healthy: true, reason: "", check_mode: false, times: {}}
"""


def _indent(text: str) -> str:
    return "".join(f"    {line}" if line.strip() else line for line in text.splitlines(keepends=True))


#: The stand-in's steps; between the collection's own lock tasks (role ripreplace.remediation.lock, as
#: playbooks/remediate.yml takes and releases them), each host's lock a file under the site (lock_path).
_STEPS = (
    """\
    - name: Touch the host
      ansible.builtin.file:
        path: "{{ marker_dir }}/{{ inventory_hostname }}.touched"
        state: touch
        mode: "0600"
"""
    + _REPLACED
    + """\
    - name: Take a while
      ansible.builtin.command: sleep {{ pause | default(0) }}
      changed_when: false
    - name: Wait for the test to open the gate
      ansible.builtin.wait_for:
        path: "{{ gate }}"
        timeout: 600
      when: gate is defined
    - name: Fail a host on request
      ansible.builtin.fail:
        msg: "postrm of kesl failed"
      when: fail_me | default(false)
    - name: Publish the removal's outcome
      ansible.builtin.set_fact:
        remove_outcome: {step: remove, outcome: removed, reason: "", check_mode: false, ran: true}
    - name: Publish the verification's outcome, recorded on the host
      ansible.builtin.set_fact:
        verify_outcome: {step: verify, outcome: verified, reason: "", check_mode: false, recorded: true}
"""
)

STANDIN = (
    """\
- name: Stand-in remediate
  hosts: all
  gather_facts: false
  tasks:
    - name: Take the host's campaign lock (the collection's lock role)
      ansible.builtin.include_role:
        name: ripreplace.remediation.lock
    - name: Under the lock
      block:
"""
    + _indent(_STEPS)
    + """\
      always:
        - name: Release the host's campaign lock
          ansible.builtin.include_role:
            name: ripreplace.remediation.lock
            tasks_from: release.yml
"""
)

#: The real verify role (of the collection copy next to the playbook) after stand-in replacement and
#: removal facts; each host waits for its gate file (if it has one) before the verify role.
STANDIN_VERIFY = (
    """\
- name: Stand-in remediate around the collection's verify role
  hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - name: Touch the host
      ansible.builtin.file:
        path: "{{ marker_dir }}/{{ inventory_hostname }}.touched"
        state: touch
        mode: "0600"
"""
    + _REPLACED
    + """\
    - name: Publish the removal's outcome
      ansible.builtin.set_fact:
        remove_outcome: {step: remove, outcome: removed, reason: "", check_mode: false, ran: true}
    - name: Wait for the test to open the gate
      ansible.builtin.wait_for:
        path: "{{ gate }}"
        timeout: 600
      when: gate is defined
    - name: Verify with the role
      ansible.builtin.include_role:
        name: "ripreplace.remediation.{{ verify_role }}"
      vars:
        verify_check_replacement: false
        verify_become: false
        detect_become: false
        # not processes: those of lab hosts (other namespaces on this machine) would be seen
        detect_scan: [deb, rpm, service, path]
        verify_fact_dir: "{{ marker_dir }}/../facts/{{ inventory_hostname }}"
"""
)

COLLECTION_PARTS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "catalog", "schemas")


def _rename_tasks(tasks: list[dict[str, object]], prefix: str) -> None:
    for n, task in enumerate(tasks):
        task["name"] = f"{prefix} {n}"
        for key in ("block", "rescue", "always"):
            inner = task.get(key)
            if isinstance(inner, list):
                _rename_tasks(inner, f"{prefix} {n} {key}")


def collection_copy(site: Path, *, verify_role: str = "verify", rename_tasks: bool = False) -> Path:
    """A copy of the collection next to the site's playbooks (ansible prefers it to the configured path),
    its verify role under ``verify_role`` and, with ``rename_tasks``, every task of it renamed."""
    import yaml

    root = collection.collection_root()
    dest = site / "collections" / "ansible_collections" / "ripreplace" / "remediation"
    dest.mkdir(parents=True)
    for part in COLLECTION_PARTS:
        if (root / part).is_dir():
            shutil.copytree(root / part, dest / part, ignore=shutil.ignore_patterns("molecule", "__pycache__"))
        else:
            shutil.copy2(root / part, dest / part)
    if verify_role != "verify":
        (dest / "roles" / "verify").rename(dest / "roles" / verify_role)
    if rename_tasks:
        for path in sorted((dest / "roles" / verify_role / "tasks").glob("*.yml")):
            tasks = yaml.safe_load(path.read_text())
            _rename_tasks(tasks, "renamed task")
            path.write_text(yaml.safe_dump(tasks, sort_keys=False, width=1000))
    return dest


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
                # each host's campaign lock: its own file (the hosts are all this machine)
                "lock_path": str(site / "locks") + "/{{ inventory_hostname }}.lock",
                "lock_become": False,
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
