#!/usr/bin/python
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: replacement_probe
short_description: Is the approved replacement installed and healthy right now - one round trip, read-only
version_added: "0.1.0"
description:
  - Reads, in one module run, what the replacement role's health check proves in several tasks -
    which of the product's packages are installed (C(dpkg-query)) and the installed version, whether
    its service is active (C(systemctl is-active) or the SysV init script's C(status)), and the
    product's own checks (each an argv, optionally fed a sample on stdin, that must exit with the
    expected code and print something matching a regular expression).
  - With O(fact_path) it also returns the content of the outcome an earlier run recorded on the
    host (the verify role's local fact file), so a remediation rerun can recognise a host that is
    already verified clean with a healthy replacement without the install, remove and verify paths.
  - Each check runs once, without retries, and the commands run side by side (the probe takes as
    long as the slowest of them). A host that is not healthy B(now) is not taken as verified, and
    the caller takes the full path (install, configure, start, prove healthy with retries).
  - Changes nothing on the host.
author:
  - ripreplace developers (!UNKNOWN)
options:
  packages:
    description: The product's packages (Debian package names); each must be installed (C(ii)).
    type: list
    elements: str
    required: true
  version_package:
    description: The package whose version is reported as the product's version.
    type: str
    required: true
  service:
    description: The service that must be active for the product to be healthy.
    type: str
    required: true
  service_manager:
    description: How the service is asked; C(auto) uses systemd when it is running (C(/run/systemd/system)).
    type: str
    choices: [auto, systemd, sysvinit]
    default: auto
  service_pidfile:
    description:
      - Under sysvinit, the pid file the service's init script keeps. When it names a live process called
        O(service_process), the service counts as active without running the init script (the test
        C(start-stop-daemon --status) makes; Debian's C(clamav-daemon) script parses C(clamd.conf) with
        hundreds of processes on every C(status)). Any other answer runs C(/etc/init.d/SERVICE status),
        which decides. Ignored under systemd.
    type: path
    default: ""
  service_process:
    description: The process name (C(/proc/PID/comm)) O(service_pidfile) must name; empty turns the shortcut off.
    type: str
    default: ""
  checks:
    description:
      - The product's own health checks, run beside the service check; they count only when every
        package is installed.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: What the check proves (reported with its result).
        type: str
        required: true
      argv:
        description: The command, as an argv list (never a shell string).
        type: list
        elements: str
        required: true
      stdin:
        description: Data streamed to the command's stdin (no newline added).
        type: str
      rc:
        description: The exit code that means healthy.
        type: int
        default: 0
      expect:
        description: A Python regular expression searched (multi-line) in stdout; empty accepts any output.
        type: str
        default: ""
      sensitive:
        description: The check's output may name a secret; its detail is not returned.
        type: bool
        default: false
  timeout:
    description: Seconds each command may take before it counts as failed.
    type: int
    default: 60
  fact_path:
    description:
      - A JSON file an earlier run recorded on the host (its content is returned as RV(fact)); empty reads none.
    type: path
    default: ""
attributes:
  check_mode:
    support: full
    description: Reads only; the same result in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
  platform:
    support: full
    platforms: posix
    description: Debian-family Linux hosts (dpkg).
notes:
  - Runs on the target with the standard library only (Python 3.9 and later).
seealso:
  - module: ripreplace.remediation.covered_facts
"""

EXAMPLES = r"""
- name: Is ClamAV installed and healthy now?
  ripreplace.remediation.replacement_probe:
    packages: [clamav, clamav-daemon, clamdscan]
    version_package: clamav-daemon
    service: clamav-daemon
    checks:
      - name: clamdscan answers
        argv: [clamdscan, --version]
        expect: '^ClamAV \d'
    fact_path: /etc/ansible/facts.d/ripreplace.fact
  register: probe
"""

RETURN = r"""
installed:
  description: Each package of O(packages) and its dpkg state (C(ii) installed; C(absent) when dpkg does not know it).
  returned: always
  type: dict
all_installed:
  description: Every package of O(packages) is installed.
  returned: always
  type: bool
version:
  description: The installed version of O(version_package) (empty when it is not installed).
  returned: always
  type: str
healthy:
  description: Every package installed, the service active and every check passed.
  returned: always
  type: bool
checks:
  description: Each check run, with C(name), C(ok) and C(detail) (the last line of its output, or why it failed).
  returned: always
  type: list
  elements: dict
reason:
  description: Why the product is not healthy (empty when it is).
  returned: always
  type: str
fact:
  description: The parsed content of O(fact_path), or null when it is absent or not JSON.
  returned: always
  type: dict
"""

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ripreplace.remediation.plugins.module_utils.timed_command import runner

_SENSITIVE = "output not logged (sensitive)"


def _last_line(*texts):
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _packages(run, packages, version_package, timeout):
    fmt = "${Package} ${db:Status-Abbrev} ${Version}\n"
    wanted = list(dict.fromkeys([*packages, version_package]))
    _rc, out, _err = run(["dpkg-query", "-W", "-f", fmt, *wanted], timeout=timeout)
    states = {name: "absent" for name in wanted}
    versions = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in states:
            states[parts[0]] = parts[1]
            versions[parts[0]] = parts[2] if len(parts) > 2 else ""
    installed = {name: states[name] for name in packages}
    version = versions.get(version_package, "") if states.get(version_package) == "ii" else ""
    return installed, version


def _sysv_pid(pidfile, process):
    """The pid in ``pidfile`` when it is a live (not zombie) process named ``process``, else None."""
    try:
        with open(pidfile, "r", encoding="ascii") as handle:
            pid = int(handle.read(32).split()[0])
        with open("/proc/%d/stat" % pid, "r", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except (OSError, ValueError, IndexError):
        return None
    # /proc/PID/stat: "PID (COMM) STATE ...": COMM may hold spaces and parentheses, the last ")" ends it
    comm, _sep, rest = stat[stat.find("(") + 1 :].rpartition(")")
    state = rest.split()[0] if rest.split() else ""
    if pid <= 0 or comm != process[:15] or state in ("Z", "X", "x"):
        return None
    return pid


def _service(run, name, manager, timeout, shortcut=("", "")):
    """``shortcut``: (pid file, process name) for sysvinit, or empty."""
    pidfile, process = shortcut
    if manager == "auto":
        manager = "systemd" if os.path.isdir("/run/systemd/system") else "sysvinit"
    if manager == "sysvinit" and pidfile and process:
        pid = _sysv_pid(pidfile, process)
        if pid is not None:
            detail = "%s is running (pid %d in %s)" % (process, pid, pidfile)
            return {"name": name + " service active", "ok": True, "detail": detail}
    argv = ["systemctl", "is-active", name] if manager == "systemd" else ["/etc/init.d/" + name, "status"]
    rc, out, err = run(argv, timeout=timeout)
    return {"name": name + " service active", "ok": rc == 0, "detail": _last_line(out, err) or "rc %s" % rc}


def _check(run, spec, timeout):
    rc, out, err = run(spec["argv"], stdin=spec.get("stdin"), timeout=timeout)
    expect = spec.get("expect") or ""
    ok = rc == spec.get("rc", 0) and (not expect or re.search(expect, out, re.MULTILINE) is not None)
    detail = _SENSITIVE if spec.get("sensitive") else (_last_line(out, err) or "rc %s" % rc)
    return {"name": spec["name"], "ok": ok, "detail": detail}


def _fact(path):
    if not path:
        return None
    try:
        with open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def probe(params, run):
    """Every command at once (threads): the probe costs the slowest command, not their sum.

    ``run`` is timed_command.runner(module): run(argv, stdin, timeout) -> (rc, stdout, stderr)."""
    timeout = params["timeout"]
    with ThreadPoolExecutor(max_workers=2 + len(params["checks"])) as pool:
        packages = pool.submit(_packages, run, params["packages"], params["version_package"], timeout)
        service = pool.submit(
            _service,
            run,
            params["service"],
            params["service_manager"],
            timeout,
            (params.get("service_pidfile") or "", params.get("service_process") or ""),
        )
        checks = [pool.submit(_check, run, spec, timeout) for spec in params["checks"]]
        installed, version = packages.result()
        results = [service.result()] + [c.result() for c in checks]
    missing = sorted(name for name, state in installed.items() if state != "ii")
    if missing:
        results = []  # nothing of a product that is not installed is reported as its health
    failed = [c for c in results if not c["ok"]]
    if missing:
        reason = "not installed: " + ", ".join(missing)
    else:
        reason = "; ".join("%s: %s" % (c["name"], c["detail"]) for c in failed)
    return {
        "changed": False,
        "installed": installed,
        "all_installed": not missing,
        "version": version,
        "healthy": not missing and not failed,
        "checks": results,
        "reason": reason,
        "fact": _fact(params["fact_path"]),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", required=True),
            version_package=dict(type="str", required=True),
            service=dict(type="str", required=True),
            service_manager=dict(type="str", choices=["auto", "systemd", "sysvinit"], default="auto"),
            service_pidfile=dict(type="path", default=""),
            service_process=dict(type="str", default=""),
            checks=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    argv=dict(type="list", elements="str", required=True),
                    stdin=dict(type="str"),
                    rc=dict(type="int", default=0),
                    expect=dict(type="str", default=""),
                    sensitive=dict(type="bool", default=False),
                ),
            ),
            timeout=dict(type="int", default=60),
            fact_path=dict(type="path", default=""),
        ),
        supports_check_mode=True,
    )
    for spec in module.params["checks"]:
        if not spec["argv"]:
            module.fail_json(msg="checks: %s has an empty argv" % spec["name"])
        try:
            re.compile(spec["expect"] or "")
        except re.error as exc:
            module.fail_json(msg="checks: %s: expect is not a regular expression: %s" % (spec["name"], exc))
    module.exit_json(**probe(module.params, runner(module)))


if __name__ == "__main__":
    main()
