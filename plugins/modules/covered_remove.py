#!/usr/bin/python
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: covered_remove
short_description: Carry out the removal plan of covered_facts on a Linux host
version_added: "0.1.0"
description:
  - Takes the removal plan that M(ripreplace.remediation.covered_facts) computed for this host
    (RV(ripreplace.remediation.covered_facts#module:ansible_facts.covered_software.removal_plan))
    and carries it out, in this order - stop and disable the covered services (systemd or SysV),
    end the covered processes that remain, remove and purge the packages in the plan's order in
    B(one) package-manager transaction, delete vendor repository files and signing keys, purge the
    leftover paths, and remove the vendor roots that are left empty.
  - Everything is checked B(before) anything is touched. A leftover path is purged only when the
    host proves it may be - it lies under its declared vendor root and contains no C(..); neither it
    nor its vendor root is a system directory of the FHS or lies above one (C(/etc/ssh),
    C(/var/lib/dpkg), C(/usr/share/doc), C(/root/.ssh) and the like); it does not resolve through a
    symlink out of its root; no filesystem is mounted at it or under it; and no package outside the
    plan owns anything under its vendor root (C(dpkg-query -S ROOT ROOT/*), C(rpm -qa) file lists;
    covered packages the plan keeps, C(kept_packages) in the plan, may share the root but own
    nothing under the path). What cannot be proven is refused.
  - A plan with a refused path, or a package transaction that would remove anything the plan does
    not name, fails the host with nothing changed. The proof is made again right before purging.
  - Processes in another mount namespace than the host's (containers) are never signalled.
  - The dpkg lock is waited for up to O(lock_timeout) seconds instead of failing at once.
  - After the change the end state is read again; a package still installed, a process still
    running or a path still present fails the module with the package manager's message.
  - In check mode nothing is changed; the module reports the exact plan and a real diff (what exists
    now, and that it would be gone).
  - The role P(ripreplace.remediation.remove#role) runs this module only once the replacement is
    proven healthy, then re-scans with covered_facts.
requirements:
  - On the target, Python 3.9 or later (standard library only), and dpkg (with apt-get when present) or rpm
author:
  - ripreplace developers (@ripreplace)
options:
  plan:
    description:
      - The removal plan, as covered_facts returns it. Keys C(packages), C(services), C(processes),
        C(kernel_modules), C(paths), C(vendor_roots), C(repo_files), C(repo_keys), C(refused).
    type: dict
    required: true
  lock_timeout:
    description:
      - Seconds to wait for the package manager's lock (dpkg frontend lock, rpm transaction lock)
        before failing.
    type: int
    default: 300
  stop_timeout:
    description:
      - Seconds to wait for covered processes to end after C(SIGTERM) before C(SIGKILL).
    type: int
    default: 15
  purge_paths:
    description:
      - Purge the leftover paths and empty vendor roots. With C(false) only services, processes,
        packages and repository files are handled.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports the plan and the diff, changes nothing.
  diff_mode:
    support: full
    description: The diff lists what exists before and what would remain after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with dpkg (Debian family) or rpm.
notes:
  - Runs on the target with the standard library only (Python 3.9 and later).
seealso:
  - module: ripreplace.remediation.covered_facts
"""

EXAMPLES = r"""
- name: REMOVE | PURGE | Carry out the removal plan
  ripreplace.remediation.covered_remove:
    plan: "{{ covered_software.removal_plan }}"
    lock_timeout: 120

- name: REMOVE | PLAN | Show what would be removed, change nothing
  ripreplace.remediation.covered_remove:
    plan: "{{ covered_software.removal_plan }}"
  check_mode: true
  diff: true
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {phase: services, target: kesl (systemd), result: stopped and disabled}
    - {phase: packages, target: "kesl-gui kesl klnagent64", result: purged (deb, one transaction)}
    - {phase: paths, target: /var/opt/kaspersky/klnagent, result: purged}
timings:
  description: UTC times (ISO 8601) at which each phase started and the removal ended.
  returned: always
  type: dict
  sample: {started: "2026-12-05T06:00:01.120Z", services: "2026-12-05T06:00:01.121Z",
           packages: "2026-12-05T06:00:01.900Z", finished: "2026-12-05T06:00:03.010Z"}
package_manager:
  description: Command and output of the package transaction, when there was one.
  returned: when packages were removed
  type: dict
  contains:
    cmd:
      description: The argv that ran.
      type: list
      elements: str
    rc:
      description: Its exit code.
      type: int
    stdout:
      description: Its standard output.
      type: str
    stderr:
      description: Its standard error.
      type: str
script_messages:
  description:
    - "When the package transaction failed, the lines that say why, each one printable line (at most six,
      240 characters each): the maintainer scripts' own output (a failing C(postrm)'s message) and the
      package manager's statement of which script failed (for dpkg the package, the action and the
      reason it gives, for rpm its C(scriptlet failed) line), without apt's and dpkg's wrapping lines."
    - C(msg) is C(package removal failed (TOOL)) followed by these lines, joined by C( | ).
  returned: when the package transaction failed
  type: list
  elements: str
  sample: ["kesl postrm: cannot unregister from the management server",
           "dpkg: kesl (--purge): installed kesl package post-removal script subprocess returned error exit status 1"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_remover import Remover


def main():
    module = AnsibleModule(
        argument_spec=dict(
            plan=dict(type="dict", required=True),
            lock_timeout=dict(type="int", default=300),
            stop_timeout=dict(type="int", default=15),
            purge_paths=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if module.params["lock_timeout"] < 0 or module.params["stop_timeout"] < 0:
        module.fail_json(msg="lock_timeout and stop_timeout must not be negative")
    module.exit_json(**Remover(module).execute(with_diff=module._diff))


if __name__ == "__main__":
    main()
