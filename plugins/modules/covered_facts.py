#!/usr/bin/python
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: covered_facts
short_description: Find FCC Covered List software on a Linux host (read-only)
version_added: "0.1.0"
description:
  - Looks on the target for every signal of the covered-software catalog (C(catalog/covered.yml)
    of the C(ripreplace.remediation) collection, plus site catalogs) and reports what it finds as
    the fact C(covered_software).
  - "Signals: dpkg packages, read directly from the dpkg status database, including packages
    removed but not purged (state C(config-files)); rpm packages when C(rpm) is installed (one
    C(rpm -qa --qf) call); systemd unit files and SysV init scripts with their enabled and active
    state (C(systemctl) is asked only when systemd runs, that is C(/run/systemd/system) exists);
    paths; running processes by the executable of C(/proc/PID/exe); loaded kernel modules from
    C(/proc/modules)."
  - "A process counts for the host only when it shares the mount namespace of the host's PID 1
    (or is a service of the host's init in a sandbox of its own: the host's PID namespace and the
    host's executable file). A covered process in any other mount namespace (a container, an
    nspawn or LXC guest) is reported as a finding in state C(container), with the container id or
    cgroup read from C(/proc/PID/cgroup), and is never planned for removal."
  - A package name that another vendor also uses (Checkmarx C(kics)) only counts when the package's
    maintainer (deb) or vendor (rpm) matches the catalog's constraint; a service name that collides
    only counts when its unit file or init script mentions the vendor's path.
  - Each finding has the catalog id, vendor, product, the Covered List entry, a state (C(installed),
    C(residue) for what an uninstall left behind, or C(container)), a confidence (the highest of its
    evidence) and the evidence itself. Signals with confidence C(low) come from unconfirmed facts;
    findings made only of them, and container findings, are marked C(review) and never enter the
    removal plan.
  - The module also returns the removal plan remediation would carry out on this host (packages
    in dependency order, services, processes, kernel modules, leftover paths under declared vendor
    roots, vendor repository files and keys). Every path in it is proven on the host - not a system
    directory nor above one, no symlink out of its vendor root, no mount point at or under it, and
    no package outside the plan owning anything under its vendor root (asked of C(dpkg-query -S)
    and C(rpm)) - or listed under C(refused) with the reason.
  - The catalogs are read, validated and compiled on the controller by the action plugin of the
    same name, which also applies exceptions (host or group, with expiry) for the host. Targets need
    no catalog file. The module changes nothing on the target.
  - Module code runs on the target with the standard library only (Python 3.9 and later).
requirements:
  - On the controller, the Python package C(jsonschema) 4.18 or later (the action plugin validates
    the catalogs with it), as listed in the collection's C(requirements.txt)
  - On the target, Python 3.9 or later (standard library only)
author:
  - ripreplace developers (@ripreplace)
options:
  catalogs:
    description:
      - Site catalog files on the controller, added to the bundled catalog. Same format as
        C(catalog/covered.yml), validated against C(catalog/covered.schema.json).
      - An entry id that is already defined is an error.
      - Read on the controller by the action plugin; never sent to the host.
    type: list
    elements: path
    default: []
  bundled_catalog:
    description:
      - Use the catalog bundled with the collection. Set to C(false) to scan only for the
        entries of O(catalogs).
      - Read on the controller by the action plugin; never sent to the host.
    type: bool
    default: true
  exceptions:
    description:
      - Exceptions files on the controller (format C(ripreplace-exceptions/1), validated against
        C(catalog/exceptions.schema.json)).
      - An exception for this host (by inventory hostname) or one of its groups moves the findings
        of its catalog id to RV(ansible_facts.covered_software.excepted) and out of the removal
        plan, up to and including its C(expires) day (UTC).
      - An expired exception no longer applies; it is listed under
        RV(ansible_facts.covered_software.exceptions_expired) and warned about.
      - Read on the controller by the action plugin; never sent to the host.
    type: list
    elements: path
    default: []
  today:
    description:
      - The day, C(YYYY-MM-DD), against which exception expiry is judged. Defaults to today (UTC)
        on the controller. For tests and for re-judging a past run.
      - Read on the controller by the action plugin; never sent to the host.
    type: str
  scan:
    description:
      - Which kinds of signal to look for. All by default.
    type: list
    elements: str
    choices: [deb, rpm, service, path, process, kernel_module]
    default: [deb, rpm, service, path, process, kernel_module]
  root:
    description:
      - The root of the filesystem to inspect. C(/) for the running host. Another directory (a
        mounted image) is inspected offline; then services have no active state, and only
        processes and kernel modules of a C(proc) directory inside it are seen.
    type: path
    default: /
  lock_path:
    description:
      - The campaign lock of ripreplace.remediation.covered_lock on the host, only read (under O(root)), in
        the same call as the scan (no extra round trip). When a campaign holds it, the result says so in
        RV(ansible_facts.covered_software.campaign_lock) and C(ripreplace audit) warns that a remediation is
        in progress on the host.
    type: path
    default: /var/lib/ripreplace/lock
  compiled_rules:
    description:
      - Set by the action plugin from the catalogs. Do not set it by hand.
    type: dict
  active_exceptions:
    description:
      - Set by the action plugin from O(exceptions). Do not set it by hand.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode is the same run.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  action:
    support: full
    description: An action plugin of the same name loads the catalogs on the controller.
  facts:
    support: full
    description: Sets the fact C(covered_software).
  platform:
    support: full
    platforms: posix
    description: Linux hosts (dpkg or rpm based).
notes:
  - Run it as root (C(become)) to see every process executable; without root, processes of other
    users are not seen and the result says so in RV(ansible_facts.covered_software.scanned).
  - Evidence never carries process command lines beyond the executable (they may hold secrets).
  - The catalog format is described in C(docs/catalog.md) of the ripreplace repository.
seealso:
  - module: ansible.builtin.package_facts
  - module: ansible.builtin.service_facts
"""

EXAMPLES = r"""
- name: DETECT | SCAN | Find covered software
  ripreplace.remediation.covered_facts:
  become: true

- name: DETECT | SCAN | Find covered software, with a site catalog and exceptions
  ripreplace.remediation.covered_facts:
    catalogs:
      - "{{ inventory_dir }}/covered-site.yml"
    exceptions:
      - "{{ inventory_dir }}/exceptions.yml"
  become: true

- name: DETECT | REPORT | Show what was found
  ansible.builtin.debug:
    msg: "{{ item.catalog_id }} ({{ item.state }}, {{ item.confidence }})"
  loop: "{{ ansible_facts.covered_software.findings }}"

- name: DETECT | SCAN | Inspect a mounted disk image offline
  ripreplace.remediation.covered_facts:
    root: /mnt/image
    scan: [deb, rpm, service, path]
"""

RETURN = r"""
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: complex
  contains:
    covered_software:
      description: What was found, what is excepted and what remediation would remove.
      returned: always
      type: complex
      contains:
        format:
          description: Version of this structure.
          returned: always
          type: str
          sample: ripreplace-covered-facts/1
        findings:
          description:
            - One item per catalog entry with evidence on this host, exceptions applied.
            - An entry marked C(fallback) in the catalog (the bare vendor directories) is only
              reported when no other entry of the same vendor matched.
          returned: always
          type: list
          elements: dict
          contains:
            catalog_id:
              description: Stable id of the catalog entry.
              type: str
              sample: kaspersky-kesl
            vendor:
              description: Vendor of the product.
              type: str
              sample: AO Kaspersky Lab
            product:
              description: Product name.
              type: str
              sample: Kaspersky Endpoint Security for Linux
            covered_list:
              description: The Covered List entry the product falls under (entry, added, sources).
              type: dict
            state:
              description:
                - C(installed) when a package is installed, a process runs, a kernel module is
                  loaded, a service is active or enabled, or (for a product that is not packaged)
                  its files are present.
                - C(residue) when only leftovers remain, such as a package in state C(config-files)
                  or files under the vendor's directories.
                - C(container) when it only runs in another mount namespace than the host's (a
                  container); such a finding is always C(review) and never removed.
              type: str
              choices: [installed, residue, container]
            confidence:
              description: The highest confidence of its evidence.
              type: str
              choices: [high, medium, low]
            review:
              description:
                - True when all evidence is low-confidence (unconfirmed facts), or the finding is in a
                  container. Never removed automatically.
              type: bool
            evidence:
              description: What was seen.
              type: list
              elements: dict
              contains:
                kind:
                  description: Kind of signal.
                  type: str
                  choices: [deb, rpm, service, path, process, kernel_module]
                value:
                  description: Package name, unit or script name, path, executable or module name.
                  type: str
                confidence:
                  description: Confidence of the catalog signal that matched.
                  type: str
                source:
                  description: The grade and reference of the fact the signal comes from.
                  type: str
                details:
                  description: >-
                    Kind-specific: version, arch, status, maintainer/vendor, residue (packages);
                    manager (systemd or sysv), path, enabled, active (services); type (paths); pid, and
                    for a container namespace, mnt_ns, container_id and cgroup (processes); size and
                    refcount (kernel modules).
                  type: dict
          sample:
            - catalog_id: kaspersky-kesl
              vendor: AO Kaspersky Lab
              product: Kaspersky Endpoint Security for Linux
              state: installed
              confidence: high
              review: false
              evidence:
                - kind: deb
                  value: kesl
                  confidence: high
                  details: {version: 12.4.0-1225, arch: amd64, status: install ok installed}
                - kind: process
                  value: /opt/kaspersky/kesl/libexec/kesl
                  confidence: high
                  details: {pid: 812}
        excepted:
          description:
            - Findings hidden by an active exception.
            - Each has an C(exception) dict (id, scope, reason, ticket, expires).
          returned: always
          type: list
          elements: dict
        exceptions_expired:
          description: Exceptions for this host that expired and no longer apply, each with a C(message).
          returned: always
          type: list
          elements: dict
        removal_plan:
          description:
            - What remediation would do on this host, from the non-excepted findings that are not
              C(review). Only existing things are listed.
          returned: always
          type: complex
          contains:
            packages:
              description:
                - In removal order. Dependents come first (from the dpkg C(Depends)/C(Pre-Depends)
                  fields and rpm requirements), then the catalog order (C(kesl-gui) before C(kesl),
                  the Network Agent last).
                - C(status) is C(installed) (remove then purge) or C(config-files) (purge only).
              type: list
              elements: dict
              sample:
                - {name: kesl-gui, manager: deb, catalog_id: kaspersky-kesl-gui, status: installed, version: 12.4.0-1}
                - {name: kesl, manager: deb, catalog_id: kaspersky-kesl, status: installed, version: 12.4.0-1225}
            services:
              description: Services to stop and disable (name, manager systemd or sysv, path, enabled, active).
              type: list
              elements: dict
            processes:
              description: Processes still running (pid, exe) to be gone after the services stop.
              type: list
              elements: dict
            kernel_modules:
              description: Loaded kernel modules to unload (medium or high confidence only).
              type: list
              elements: dict
            paths:
              description: Existing leftover paths, each with the declared vendor root it lies under.
              type: list
              elements: dict
            vendor_roots:
              description: Existing vendor roots, to remove if empty once everything else is gone.
              type: list
              elements: str
            repo_files:
              description: Existing vendor package repository definitions.
              type: list
              elements: str
            repo_keys:
              description: Existing vendor package signing keys.
              type: list
              elements: str
            refused:
              description:
                - Paths not planned for removal and why (for example a symlink leading out of its vendor
                  root, a mount point, a vendor root another package owns files under).
                - covered_remove fails the host with nothing changed while this is not empty.
              type: list
              elements: dict
            kept_packages:
              description:
                - Covered packages the plan leaves on the host (excepted or under review), each with
                  name, manager and catalog_id. They may own files under a vendor root the plan purges
                  from, never under a purged path.
              type: list
              elements: dict
        scanned:
          description: Which backends ran and what they saw (counts), so a clean result can be trusted.
          returned: always
          type: dict
          sample:
            deb: {available: true, packages: 412}
            rpm: {available: false}
            service_manager: systemd
            processes: {available: true, seen: 37, unreadable: 0}
            kernel_modules: {available: true, loaded: 58}
        campaign_lock:
          description:
            - The campaign holding the host's lock (O(lock_path)) when the scan ran - C(run), C(started),
              C(controller), C(operator) - or null. A remediation is then in progress on the host.
          returned: always
          type: dict
          sample: {run: 20261205T060000Z-remediate-3fa2c1, started: "2026-12-05T06:00:04Z", controller: ctl1,
                   operator: alice}
        catalog:
          description: The catalog files used (path, sha256, version) and the number of rules.
          returned: always
          type: dict
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_plan import (
    build_findings,
    build_plan,
    split_exceptions,
)
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_scan import Scanner
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_spec import (
    FACTS_FORMAT,
    controller_options_given,
    module_argument_spec,
)


def campaign_lock(root, lock_path):
    """Who holds the host's campaign lock (covered_lock's JSON), read only; None when nobody does."""
    path = os.path.join(root, (lock_path or "").lstrip("/"))
    try:
        with open(path, "rb") as handle:
            raw = handle.read(4096)
    except (OSError, ValueError):
        return None
    try:
        holder = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        holder = None
    if not isinstance(holder, dict):
        return {"run": "unknown", "started": None, "controller": None, "operator": None, "unreadable": True}
    return {k: (str(holder[k])[:128] if holder.get(k) is not None else None) for k in _LOCK_KEYS}


_LOCK_KEYS = ("run", "started", "controller", "operator")


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(), supports_check_mode=True)
    stray = controller_options_given(module.params)
    if stray:
        module.fail_json(
            msg="covered_facts: %s are read by the action plugin on the controller and never reach the "
            "module; run it as ripreplace.remediation.covered_facts from a playbook" % ", ".join(stray)
        )
    rules = module.params["compiled_rules"]
    if not rules or not isinstance(rules.get("entries"), list):
        module.fail_json(
            msg="covered_facts needs its action plugin: run it as ripreplace.remediation.covered_facts "
            "from a playbook (the controller compiles the catalog into compiled_rules)"
        )
    root = module.params["root"] or "/"
    if not os.path.isdir(root):
        module.fail_json(msg="root %s is not a directory" % root)
    scanner = Scanner(module, rules, root=root, scan=module.params["scan"]).run()
    findings = build_findings(rules, scanner)
    kept, excepted = split_exceptions(findings, module.params["active_exceptions"])
    plan = build_plan(rules, scanner, kept, root=root, excepted=excepted)
    facts = {
        "format": FACTS_FORMAT,
        "findings": [dict(f) for dummy, f in kept],
        "excepted": [dict(f) for dummy, f in excepted],
        "exceptions_expired": [],
        "removal_plan": plan,
        "scanned": dict(scanner.scanned, root=root, rules=len(rules["entries"])),
        "catalog": {},
        "campaign_lock": campaign_lock(root, module.params["lock_path"]),
    }
    module.exit_json(changed=False, ansible_facts={"covered_software": facts})


if __name__ == "__main__":
    main()
