# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""covered_remove's work: check the whole plan, then carry it out phase by phase.

Shaped like community.general's ``opkg`` module: every command is an argv list run through the
module, and the end state is read again after each change. In check mode every phase records what
it would do and marks the result changed through :meth:`Remover.would`, never by its wording.
Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import time

from ansible_collections.ripreplace.remediation.plugins.module_utils import fs_paths, package_failure
from ansible_collections.ripreplace.remediation.plugins.module_utils.fs_paths import is_under
from ansible_collections.ripreplace.remediation.plugins.module_utils.proc_scan import ProcessScanner
from ansible_collections.ripreplace.remediation.plugins.module_utils.purge_proof import PurgeProof
from ansible_collections.ripreplace.remediation.plugins.module_utils.purge_safety import (
    check_repo_file,
    check_root,
)

LOCK_MARKERS = (
    "could not get lock",
    "unable to acquire the dpkg frontend lock",
    "dpkg frontend lock",
    "dpkg status database is locked",
    "can't create transaction lock",
    "is locked by another process",
)
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}
PLAN_WORK = ("packages", "services", "processes", "paths", "vendor_roots", "repo_files", "repo_keys", "kernel_modules")
POLL = 0.1


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Remover(object):
    """One host's removal. ``fs_root`` is ``/`` on a host (another directory only in unit tests)."""

    def __init__(self, module, fs_root="/"):
        self.module = module
        self.fs_root = fs_root
        self.plan = module.params["plan"] or {}
        self.actions = []
        self.timings = {"started": _now()}
        self.changed = False
        self.pm_result = None

    # ------------------------------------------------------------------ helpers
    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, actions=self.actions, timings=self.timings, changed=self.changed, **extra)

    def act(self, phase, target, result):
        """Record something done (the phase sets ``changed`` itself) or skipped."""
        self.actions.append({"phase": phase, "target": target, "result": result})

    def would(self, phase, target, result):
        """Check mode: record what would be done; the result is changed."""
        self.act(phase, target, result)
        self.changed = True

    def run(self, argv, check_rc=False):
        return self.module.run_command(argv, check_rc=check_rc, environ_update=C_LOCALE)

    def local(self, path):
        return fs_paths.join(self.fs_root, path)

    def _repo_paths(self):
        return [*self.plan.get("repo_files", []), *self.plan.get("repo_keys", [])]

    def _packages(self, manager):
        return [p for p in self.plan.get("packages", []) if p.get("manager") == manager]

    def has_work(self):
        return any(self.plan.get(k) for k in PLAN_WORK)

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
        self.prove_paths("Nothing was changed.")
        for path in self._repo_paths():
            problem = check_repo_file(path, fs_root=self.fs_root)
            if problem:
                self.fail("refusing to delete repository file: %s. Nothing was changed." % problem)
        for item in self.plan.get("packages", []):
            if item.get("manager") not in ("deb", "rpm"):
                self.fail("unknown package manager %r for %s" % (item.get("manager"), item.get("name")))
        debs = self._packages("deb")
        if debs:
            self._simulate_apt([p["name"] for p in debs])

    def prove_paths(self, consequence):
        """The host proves every planned purge (see purge_proof), or the module fails."""
        paths = self.plan.get("paths", [])
        roots = self.plan.get("vendor_roots", [])
        if not paths and not roots:
            return
        proof = PurgeProof(self.module, self.fs_root, self.plan.get("packages", []), self.plan.get("kept_packages", []))
        refused = proof.refusals(purges=paths, roots=roots)
        for item in [*paths, *({"path": r} for r in roots)]:
            if item["path"] in refused:
                self.fail("refusing to purge: %s. %s" % (refused[item["path"]], consequence), path=item)

    def _simulate_apt(self, names):
        apt = self.module.get_bin_path("apt-get")
        if not apt:
            return  # dpkg --purge is used then; it never removes what is not named
        # A simulation must write nothing: no planner log, no package cache.
        argv = [apt, "-s", "-q", "-o", "Dir::Log::Planner=/dev/null", "-o", "Dir::Cache::pkgcache="]
        argv += ["-o", "Dir::Cache::srcpkgcache=", "purge", *names]
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

    # ------------------------------------------------------------------ services
    def services(self):
        self.timings["services"] = _now()
        systemd_runs = os.path.isdir(self.local("/run/systemd/system"))
        systemctl = self.module.get_bin_path("systemctl") if systemd_runs else None
        for svc in self.plan.get("services", []):
            name = svc.get("name")
            manager = svc.get("manager")
            target = "%s (%s)" % (name, manager)
            if manager == "systemd":
                self._stop_systemd(name, target, systemctl)
            elif manager == "sysv":
                self._stop_sysv(name, target, svc.get("path") or "/etc/init.d/%s" % name)
            else:
                self.act("services", target, "skipped: unknown service manager")

    def _stop_systemd(self, name, target, systemctl):
        if not systemctl:
            self.act("services", target, "skipped: systemd is not running")
            return
        if self.module.check_mode:
            self.would("services", target, "would stop and disable")
            return
        unit = name if "." in name else name + ".service"
        rc, out, err = self.run([systemctl, "stop", unit])
        if rc != 0 and "not loaded" not in err and "not found" not in err:
            self.fail("could not stop %s: %s" % (unit, err.strip()), rc=rc, stdout=out, stderr=err)
        self.run([systemctl, "disable", unit])
        self.changed = True
        self.act("services", target, "stopped and disabled")

    def _stop_sysv(self, name, target, script):
        if self.module.check_mode:
            self.would("services", target, "would stop (%s stop) and unregister" % script)
            return
        if os.access(self.local(script), os.X_OK):
            rc, out, err = self.run([script, "stop"])
            if rc != 0:
                self.act("services", target, "stop returned %d: %s" % (rc, (err or out).strip()[:200]))
        update_rc = self.module.get_bin_path("update-rc.d")
        if update_rc:
            self.run([update_rc, "-f", name, "remove"])
        self.changed = True
        self.act("services", target, "stopped and unregistered")

    # ------------------------------------------------------------------ processes
    def covered_pids(self):
        """{pid: exe} of the host's running processes the plan names or that run from a vendor root.

        Never PID 1, never a process in a container (another mount namespace, see proc_scan): the
        host cannot uninstall what a container runs, so it never signals it either.
        """
        roots = list(self.plan.get("vendor_roots", []))
        exes = {p.get("exe") for p in self.plan.get("processes", []) if p.get("exe")}
        scanner = ProcessScanner(self.fs_root)
        found = {}
        for proc in scanner.processes(with_argv0=False):
            exe = proc["exe"]
            if proc["pid"] == 1 or not exe or not (exe in exes or any(is_under(exe, r) for r in roots)):
                continue
            if scanner.container_of(proc["pid"], exe) is None:
                found[proc["pid"]] = exe
        return found

    def processes(self):
        self.timings["processes"] = _now()
        pids = self.covered_pids()
        if not pids:
            return
        if self.module.check_mode:
            for pid, exe in sorted(pids.items()):
                self.would("processes", "%d %s" % (pid, exe), "would end (SIGTERM, then SIGKILL)")
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.module.params["stop_timeout"]
        while time.monotonic() < deadline and self.covered_pids():
            time.sleep(POLL)
        for pid in self.covered_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                self.act("processes", "%d %s" % (pid, pids.get(pid, "")), "killed (SIGKILL)")
            except ProcessLookupError:
                pass
        time.sleep(POLL)
        left = self.covered_pids()
        if left:
            self.fail(
                "covered processes still running after SIGKILL: %s"
                % ", ".join("%d %s" % kv for kv in sorted(left.items()))
            )
        for pid, exe in sorted(pids.items()):
            self.act("processes", "%d %s" % (pid, exe), "ended")
        self.changed = True

    # ------------------------------------------------------------------ kernel modules
    def _loaded_modules(self):
        try:
            with open(self.local("/proc/modules")) as handle:
                return {line.split()[0] for line in handle if line.strip()}
        except OSError:
            return set()

    def kernel_modules(self):
        modules = [m.get("name") for m in self.plan.get("kernel_modules", []) if m.get("name")]
        if not modules:
            return
        loaded = self._loaded_modules()
        modprobe = self.module.get_bin_path("modprobe") or self.module.get_bin_path("rmmod")
        for name in modules:
            if name not in loaded:
                continue
            if self.module.check_mode:
                self.would("kernel_modules", name, "would unload")
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

    # ------------------------------------------------------------------ packages
    def _with_lock_wait(self, argv):
        timeout = self.module.params["lock_timeout"]
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            rc, out, err = self.run(argv)
            locked = rc != 0 and any(marker in (out + err).lower() for marker in LOCK_MARKERS)
            if not locked or time.monotonic() >= deadline:
                if locked:
                    err = err + "\n(waited %d s for the package manager's lock)" % timeout
                return rc, out, err, waited
            waited = True
            time.sleep(1)

    def _removal_argv(self, manager, names):
        if manager == "rpm":
            return [self.module.get_bin_path("rpm", required=True), "-e", *names]
        apt = self.module.get_bin_path("apt-get")
        if not apt:
            return [self.module.get_bin_path("dpkg", required=True), "--purge", *names]
        timeout = "DPkg::Lock::Timeout=%d" % self.module.params["lock_timeout"]
        return [apt, "purge", "-y", "-q", "-o", timeout, "-o", "APT::Get::AutomaticRemove=false", *names]

    def packages(self):
        self.timings["packages"] = _now()
        for manager in ("deb", "rpm"):
            names = [p["name"] for p in self._packages(manager)]
            if not names:
                continue
            target = " ".join(names)
            if self.module.check_mode:
                self.would("packages", target, "would purge (%s, one transaction)" % manager)
                continue
            argv = self._removal_argv(manager, names)
            rc, out, err, waited = self._with_lock_wait(argv)
            self.pm_result = {"cmd": argv, "rc": rc, "stdout": out, "stderr": err}
            self.changed = True
            if rc != 0:  # the maintainer script's own message, not only "dpkg returned an error code (1)"
                self.fail(
                    package_failure.reason(os.path.basename(argv[0]), out, err),
                    rc=rc,
                    stdout=out,
                    stderr=err,
                    cmd=argv,
                    package_manager=self.pm_result,
                    script_messages=package_failure.messages(out, err),
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

    # ------------------------------------------------------------------ files
    def repo_files(self):
        for path in self._repo_paths():
            if not os.path.lexists(self.local(path)):
                continue
            if self.module.check_mode:
                self.would("repositories", path, "would delete")
                continue
            os.unlink(self.local(path))
            self.changed = True
            self.act("repositories", path, "deleted")

    def paths(self):
        self.timings["paths"] = _now()
        if not self.module.params["purge_paths"]:
            return
        # Proven again right before deleting: the package transaction may have changed the tree.
        self.prove_paths("Nothing was purged; the packages are already removed.")
        for item in self.plan.get("paths", []):
            self._purge(item)
        for root in sorted(self.plan.get("vendor_roots", []), key=len, reverse=True):
            local = self.local(root)
            if os.path.isdir(local) and not os.path.islink(local) and not os.listdir(local):
                if self.module.check_mode:
                    self.would("paths", root, "would remove (empty vendor root)")
                    continue
                os.rmdir(local)
                self.changed = True
                self.act("paths", root, "removed (empty vendor root)")
        if not self.module.check_mode:
            left = [i["path"] for i in self.plan.get("paths", []) if os.path.lexists(self.local(i["path"]))]
            if left:
                self.fail("paths still present after purge: %s" % ", ".join(left))

    def _purge(self, item):
        path = item["path"]
        local = self.local(path)
        if not os.path.lexists(local):
            return
        if self.module.check_mode:
            self.would("paths", path, "would purge")
            return
        if os.path.isdir(local) and not os.path.islink(local):
            shutil.rmtree(local)
        else:
            os.unlink(local)
        self.changed = True
        self.act("paths", path, "purged")

    # ------------------------------------------------------------------ diff and the whole run
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
        for pid, exe in sorted(self.covered_pids().items()):
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

    def execute(self, with_diff=False):
        """Validate, then every phase in order; the module's result."""
        self.validate()
        diff = self.diff() if with_diff and self.has_work() else None
        self.services()
        self.processes()
        self.kernel_modules()
        self.packages()
        self.repo_files()
        self.paths()
        self.timings["finished"] = _now()
        result = {"changed": self.changed, "actions": self.actions, "timings": self.timings}
        if self.pm_result:
            result["package_manager"] = self.pm_result
        if diff is not None:
            result["diff"] = diff
        return result
