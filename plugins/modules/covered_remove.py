#!/usr/bin/python
# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)

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
  - Everything is checked B(before) anything is touched. A leftover path is purged only when it lies
    under its declared vendor root, contains no C(..), is not a system directory (C(/), C(/etc),
    C(/usr), C(/var), C(/opt) and the like) and does not resolve through a symlink out of its root.
    A plan with a refused path, a vendor root that is a system directory, or a package transaction
    that would remove anything the plan does not name fails the host with nothing changed.
  - The dpkg lock is waited for up to O(lock_timeout) seconds instead of failing at once.
  - After the change the end state is read again; a package still installed, a process still
    running or a path still present fails the module with the package manager's message.
  - In check mode nothing is changed; the module reports the exact plan and a real diff (what exists
    now, and that it would be gone).
  - The role M(ripreplace.remediation.remove) runs this module only once the replacement is
    proven healthy, then re-scans with covered_facts.
author:
  - ripreplace developers (!UNKNOWN)
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
"""

import contextlib
import datetime
import os
import shutil
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ripreplace.remediation.plugins.module_utils.purge_safety import (
    check_path,
    check_repo_file,
    check_root,
    is_under,
)

LOCK_MARKERS = (
    "could not get lock",
    "unable to acquire the dpkg frontend lock",
    "dpkg frontend lock",
    "dpkg status database is locked",
    "can't create transaction lock",
    "is locked by another process",
)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Remover(object):
    def __init__(self, module):
        self.module = module
        self.plan = module.params["plan"] or {}
        self.actions = []
        self.timings = {"started": _now()}
        self.changed = False
        self.pm_result = None

    # ------------------------------------------------------------------ helpers
    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, actions=self.actions, timings=self.timings, changed=self.changed, **extra)

    def act(self, phase, target, result):
        self.actions.append({"phase": phase, "target": target, "result": result})

    def run(self, argv, check_rc=False):
        return self.module.run_command(argv, check_rc=check_rc, environ_update={"LC_ALL": "C", "LANG": "C"})

    def _repo_paths(self):
        return [*self.plan.get("repo_files", []), *self.plan.get("repo_keys", [])]

    def _packages(self, manager):
        return [p for p in self.plan.get("packages", []) if p.get("manager") == manager]

    # ------------------------------------------------------------------ validation
    def validate(self):
        """Every check, before anything is touched."""
        refused = self.plan.get("refused") or []
        if refused:
            first = refused[0]
            self.fail(
                "refusing to remediate: the plan refused %d path(s); first: %s (%s). Nothing was changed."
                % (len(refused), first.get("path"), first.get("reason")),
                refused=refused,
            )
        for root in self.plan.get("vendor_roots", []):
            problem = check_root(root)
            if problem:
                self.fail("refusing to remediate: %s. Nothing was changed." % problem)
        for item in self.plan.get("paths", []):
            problem = check_path(item.get("path"), item.get("vendor_root") or "")
            if problem:
                self.fail("refusing to purge: %s. Nothing was changed." % problem, path=item)
        for path in self._repo_paths():
            problem = check_repo_file(path)
            if problem:
                self.fail("refusing to delete repository file: %s. Nothing was changed." % problem)
        for item in self.plan.get("packages", []):
            if item.get("manager") not in ("deb", "rpm"):
                self.fail("unknown package manager %r for %s" % (item.get("manager"), item.get("name")))
        debs = self._packages("deb")
        if debs:
            self._simulate_apt([p["name"] for p in debs])

    def _simulate_apt(self, names):
        apt = self.module.get_bin_path("apt-get")
        if not apt:
            return  # dpkg --purge is used then; it never removes what is not named
        # A simulation must write nothing: no planner log, no package cache.
        argv = [
            apt,
            "-s",
            "-q",
            "-o",
            "Dir::Log::Planner=/dev/null",
            "-o",
            "Dir::Cache::pkgcache=",
            "-o",
            "Dir::Cache::srcpkgcache=",
            "purge",
            *names,
        ]
        rc, out, err = self.run(argv)
        if rc != 0:
            self.fail(
                "the package transaction would fail: %s" % (err.strip() or out.strip()).splitlines()[-1:],
                rc=rc,
                stdout=out,
                stderr=err,
                cmd=argv,
            )
        touched = set()
        for line in out.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("Remv", "Purg", "Inst", "Conf"):
                if words[0] in ("Inst", "Conf"):
                    self.fail(
                        "refusing to remediate: removing %s would install %s. Nothing was changed."
                        % (" ".join(names), words[1]),
                        stdout=out,
                    )
                touched.add(words[1].split(":")[0])
        extra = sorted(touched - set(names))
        if extra:
            self.fail(
                "refusing to remediate: the package transaction would also remove %s, which the plan does "
                "not name (they depend on covered packages). Nothing was changed." % ", ".join(extra),
                stdout=out,
            )

    # ------------------------------------------------------------------ phases
    def services(self):
        self.timings["services"] = _now()
        systemd_runs = os.path.isdir("/run/systemd/system")
        systemctl = self.module.get_bin_path("systemctl") if systemd_runs else None
        for svc in self.plan.get("services", []):
            name = svc.get("name")
            manager = svc.get("manager")
            target = "%s (%s)" % (name, manager)
            if manager == "systemd":
                if not systemctl:
                    self.act("services", target, "skipped: systemd is not running")
                    continue
                if self.module.check_mode:
                    self.act("services", target, "would stop and disable")
                    continue
                unit = name if "." in name else name + ".service"
                rc, out, err = self.run([systemctl, "stop", unit])
                if rc != 0 and "not loaded" not in err and "not found" not in err:
                    self.fail("could not stop %s: %s" % (unit, err.strip()), rc=rc, stdout=out, stderr=err)
                self.run([systemctl, "disable", unit])
                self.changed = True
                self.act("services", target, "stopped and disabled")
            elif manager == "sysv":
                script = svc.get("path") or "/etc/init.d/%s" % name
                if self.module.check_mode:
                    self.act("services", target, "would stop (%s stop) and unregister" % script)
                    continue
                if os.access(script, os.X_OK):
                    rc, out, err = self.run([script, "stop"])
                    if rc != 0:
                        self.act("services", target, "stop returned %d: %s" % (rc, (err or out).strip()[:200]))
                update_rc = self.module.get_bin_path("update-rc.d")
                if update_rc:
                    self.run([update_rc, "-f", name, "remove"])
                self.changed = True
                self.act("services", target, "stopped and unregistered")
            else:
                self.act("services", target, "skipped: unknown service manager")

    def _covered_pids(self):
        roots = list(self.plan.get("vendor_roots", []))
        exes = set(p.get("exe") for p in self.plan.get("processes", []) if p.get("exe"))
        me = os.getpid()
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (1, me):
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % entry)
            except OSError:
                continue
            exe = exe[: -len(" (deleted)")] if exe.endswith(" (deleted)") else exe
            if exe in exes or any(is_under(exe, r) for r in roots):
                found[int(entry)] = exe
        return found

    def processes(self):
        self.timings["processes"] = _now()
        pids = self._covered_pids()
        if not pids:
            return
        if self.module.check_mode:
            for pid, exe in sorted(pids.items()):
                self.act("processes", "%d %s" % (pid, exe), "would end (SIGTERM, then SIGKILL)")
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.module.params["stop_timeout"]
        while time.monotonic() < deadline and self._covered_pids():
            time.sleep(0.1)
        for pid in self._covered_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                self.act("processes", "%d %s" % (pid, pids.get(pid, "")), "killed (SIGKILL)")
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        left = self._covered_pids()
        if left:
            self.fail(
                "covered processes still running after SIGKILL: %s"
                % ", ".join("%d %s" % kv for kv in sorted(left.items()))
            )
        for pid, exe in sorted(pids.items()):
            self.act("processes", "%d %s" % (pid, exe), "ended")
        self.changed = True

    def kernel_modules(self):
        modules = [m.get("name") for m in self.plan.get("kernel_modules", []) if m.get("name")]
        if not modules:
            return
        loaded = set()
        try:
            with open("/proc/modules") as handle:
                loaded = set(line.split()[0] for line in handle if line.strip())
        except (IOError, OSError):
            pass
        modprobe = self.module.get_bin_path("modprobe") or self.module.get_bin_path("rmmod")
        for name in modules:
            if name not in loaded:
                continue
            if self.module.check_mode:
                self.act("kernel_modules", name, "would unload")
                continue
            if not modprobe:
                self.fail("cannot unload kernel module %s: neither modprobe nor rmmod is installed" % name)
            argv = [modprobe, "-r", name] if modprobe.endswith("modprobe") else [modprobe, name]
            rc, out, err = self.run(argv)
            if rc != 0:
                self.fail(
                    "could not unload kernel module %s: %s" % (name, (err or out).strip()),
                    rc=rc,
                    stdout=out,
                    stderr=err,
                    cmd=argv,
                )
            self.changed = True
            self.act("kernel_modules", name, "unloaded")

    def _with_lock_wait(self, argv):
        deadline = time.monotonic() + self.module.params["lock_timeout"]
        waited = False
        while True:
            rc, out, err = self.run(argv)
            text = (out + err).lower()
            if rc == 0 or not any(marker in text for marker in LOCK_MARKERS) or time.monotonic() >= deadline:
                if rc != 0 and any(marker in text for marker in LOCK_MARKERS):
                    err = err + "\n(waited %d s for the package manager's lock)" % self.module.params["lock_timeout"]
                return rc, out, err, waited
            waited = True
            time.sleep(1)

    def packages(self):
        self.timings["packages"] = _now()
        for manager in ("deb", "rpm"):
            items = self._packages(manager)
            if not items:
                continue
            names = [p["name"] for p in items]
            target = " ".join(names)
            if self.module.check_mode:
                self.act("packages", target, "would purge (%s, one transaction)" % manager)
                continue
            if manager == "deb":
                apt = self.module.get_bin_path("apt-get")
                if apt:
                    timeout = "DPkg::Lock::Timeout=%d" % self.module.params["lock_timeout"]
                    argv = [apt, "purge", "-y", "-q", "-o", timeout, "-o", "APT::Get::AutomaticRemove=false", *names]
                else:
                    argv = [self.module.get_bin_path("dpkg", required=True), "--purge", *names]
            else:
                argv = [self.module.get_bin_path("rpm", required=True), "-e", *names]
            rc, out, err, waited = self._with_lock_wait(argv)
            self.pm_result = {"cmd": argv, "rc": rc, "stdout": out, "stderr": err}
            self.changed = True
            if rc != 0:
                lines = [line for line in (err or out).strip().splitlines() if line.strip()]
                self.fail(
                    "package removal failed (%s): %s" % (os.path.basename(argv[0]), " | ".join(lines[-3:])),
                    rc=rc,
                    stdout=out,
                    stderr=err,
                    cmd=argv,
                    package_manager=self.pm_result,
                )
            waited_note = ", after waiting for the lock" if waited else ""
            self.act("packages", target, "purged (%s, one transaction%s)" % (manager, waited_note))
            self._confirm_gone(manager, names)

    def _confirm_gone(self, manager, names):
        if manager == "deb":
            query = self.module.get_bin_path("dpkg-query", required=True)
            out = self.run([query, "-W", "-f", "${Package} ${db:Status-Abbrev}\\n", *names])[1]
            left = [
                line.split()[0]
                for line in out.splitlines()
                if len(line.split()) > 1 and line.split()[1] not in ("un", "pn")
            ]
        else:
            rpm = self.module.get_bin_path("rpm", required=True)
            left = [n for n in names if self.run([rpm, "-q", n])[0] == 0]
        if left:
            self.fail("packages still present after removal: %s" % ", ".join(left), package_manager=self.pm_result)

    def repo_files(self):
        for path in self._repo_paths():
            if not os.path.lexists(path):
                continue
            if self.module.check_mode:
                self.act("repositories", path, "would delete")
                continue
            os.unlink(path)
            self.changed = True
            self.act("repositories", path, "deleted")

    def paths(self):
        self.timings["paths"] = _now()
        if not self.module.params["purge_paths"]:
            return
        for item in self.plan.get("paths", []):
            path = item["path"]
            if not os.path.lexists(path):
                continue
            # Checked again right before deleting: the package transaction may have changed the tree.
            problem = check_path(path, item.get("vendor_root") or "")
            if problem:
                self.fail("refusing to purge: %s" % problem, path=item)
            if self.module.check_mode:
                self.act("paths", path, "would purge")
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            self.changed = True
            self.act("paths", path, "purged")
        for root in sorted(self.plan.get("vendor_roots", []), key=len, reverse=True):
            if os.path.isdir(root) and not os.path.islink(root) and not os.listdir(root):
                if self.module.check_mode:
                    self.act("paths", root, "would remove (empty vendor root)")
                    continue
                os.rmdir(root)
                self.changed = True
                self.act("paths", root, "removed (empty vendor root)")
        if not self.module.check_mode:
            left = [i["path"] for i in self.plan.get("paths", []) if os.path.lexists(i["path"])]
            if left:
                self.fail("paths still present after purge: %s" % ", ".join(left))

    # ------------------------------------------------------------------ diff
    def diff(self):
        before = []
        for p in self.plan.get("packages", []):
            before.append(
                "package %s %s %s (%s)"
                % (p.get("manager"), p.get("name"), p.get("version", ""), p.get("status", "installed"))
            )
        for s in self.plan.get("services", []):
            before.append(
                "service %s (%s, enabled=%s, active=%s)"
                % (s.get("name"), s.get("manager"), s.get("enabled"), s.get("active"))
            )
        for pid, exe in sorted(self._covered_pids().items()):
            before.append("process %d %s" % (pid, exe))
        for path in self._repo_paths():
            before.append("repository file %s" % path)
        for item in self.plan.get("paths", []):
            before.append("path %s (under %s)" % (item["path"], item.get("vendor_root")))
        for root in self.plan.get("vendor_roots", []):
            before.append("vendor root %s" % root)
        text = "\n".join(before) + ("\n" if before else "")
        return {
            "before": text,
            "after": "",
            "before_header": "covered software present",
            "after_header": "after removal",
        }


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
    remover = Remover(module)
    remover.validate()
    diff = remover.diff()
    remover.services()
    remover.processes()
    remover.kernel_modules()
    remover.packages()
    remover.repo_files()
    remover.paths()
    remover.timings["finished"] = _now()
    nothing = not any(
        remover.plan.get(k)
        for k in (
            "packages",
            "services",
            "processes",
            "paths",
            "vendor_roots",
            "repo_files",
            "repo_keys",
            "kernel_modules",
        )
    )
    changed = any(a["result"].startswith("would") for a in remover.actions) if module.check_mode else remover.changed
    result = dict(changed=changed, actions=remover.actions, timings=remover.timings)
    if remover.pm_result:
        result["package_manager"] = remover.pm_result
    if module._diff and not nothing:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
