# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""covered_facts' scan: every backend, matched against the compiled catalog rules.

The scanner collects evidence per catalog entry, and what the removal plan needs (packages,
services, processes, kernel modules) per entry. Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import fnmatch
import os
import re

from ansible_collections.ripreplace.remediation.plugins.module_utils import fs_paths
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_backends import (
    DpkgBackend,
    KernelModuleBackend,
    RpmBackend,
    SystemdBackend,
    SysvBackend,
)
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_parsers import (
    WantedNames,
    package_name_matches,
)
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_spec import SCAN_KINDS
from ansible_collections.ripreplace.remediation.plugins.module_utils.proc_scan import ProcessScanner

MAX_READ = 1 << 20


class Scanner:
    def __init__(self, module, rules, root="/", scan=None):
        self.module = module
        self.rules = rules
        self.root = root or "/"
        self.scan = set(scan or SCAN_KINDS)
        self.scanned = {}
        self.evidence = {}  # entry id -> [evidence]
        self.packages = {}  # entry id -> [package dicts]
        self.services = {}  # entry id -> [service dicts]
        self.processes = {}
        self.modules = {}
        self.in_containers = {}  # entry id -> [process evidence seen in other mount namespaces]

    def _add(self, entry, kind, value, signal, details, *, into=None):
        (self.evidence if into is None else into).setdefault(entry["id"], []).append(
            {
                "kind": kind,
                "value": value,
                "confidence": signal["confidence"],
                "source": signal.get("source", ""),
                "details": details,
            }
        )

    def _signals(self, kind):
        for entry in self.rules.get("entries", []):
            for signal in entry.get("signals", {}).get(kind, []):
                yield entry, signal

    # -- packages
    def scan_packages(self):
        wanted = WantedNames(s["name"] for dummy, s in self._signals("packages"))
        for backend_cls in (DpkgBackend, RpmBackend):
            kind = backend_cls.kind
            if kind not in self.scan:
                self.scanned[kind] = {"available": False, "skipped": True}
                continue
            backend = backend_cls(self.module, self.root)
            if not backend.is_available():
                self.scanned[kind] = {"available": False}
                continue
            found = backend.list_installed(wanted)
            self.scanned[kind] = {"available": True, "packages": getattr(backend, "total", None)}
            for pkg in found:
                for entry, signal in self._signals("packages"):
                    if not package_name_matches(signal["name"], pkg["name"]) or kind not in signal.get(
                        "managers", ["deb", "rpm"]
                    ):
                        continue
                    if not self._package_constraint_ok(signal, pkg):
                        continue
                    details = {
                        k: pkg[k]
                        for k in ("version", "arch", "status", "maintainer", "vendor", "packager")
                        if pkg.get(k)
                    }
                    details["residue"] = pkg["residue"]
                    self._add(entry, kind, pkg["name"], signal, details)
                    self.packages.setdefault(entry["id"], []).append(pkg)

    @staticmethod
    def _package_constraint_ok(signal, pkg):
        """Name collisions: when the catalog constrains maintainer/vendor, the package must match it."""
        if pkg["manager"] == "deb" and signal.get("maintainer"):
            return bool(re.search(signal["maintainer"], pkg.get("maintainer", "")))
        if pkg["manager"] == "rpm" and signal.get("vendor"):
            text = "%s\n%s" % (pkg.get("vendor", ""), pkg.get("packager", ""))
            return bool(re.search(signal["vendor"], text))
        # A constraint for the other manager only: stay strict, never the bare name.
        return not (signal.get("maintainer") or signal.get("vendor"))

    # -- services
    def _file_contains(self, path, needle):
        try:
            with open(fs_paths.join(self.root, path), "rb") as handle:
                data = handle.read(MAX_READ)
        except OSError:
            return False
        return needle.lower().encode("utf-8") in data.lower()

    def scan_services(self):
        if "service" not in self.scan:
            self.scanned["service_manager"] = "skipped"
            return
        systemd = SystemdBackend(self.module, self.root)
        sysv = SysvBackend(self.module, self.root)
        running = systemd.systemd_running()
        self.scanned["service_manager"] = "systemd" if running else "none"
        self.scanned["systemd_units"] = systemd.is_available()
        self.scanned["sysv_scripts"] = sysv.is_available()
        candidates = []  # (entry, signal, kind, name, path)
        for entry, signal in self._signals("services"):
            kinds = signal.get("kinds", ["systemd", "sysv"])
            for kind, backend in (("systemd", systemd), ("sysv", sysv)):
                if kind not in kinds or not backend.is_available():
                    continue
                for name, path in sorted(backend.list_installed([signal["name"]]).items()):
                    if signal.get("file_contains") and not self._file_contains(path, signal["file_contains"]):
                        continue
                    candidates.append((entry, signal, kind, name, path))
        live = systemd.live_state(sorted({c[3] for c in candidates})) if candidates else {}
        for entry, signal, kind, name, path in candidates:
            state = live.get("%s.service" % name)
            details = {"manager": kind, "path": path}
            if state:
                details["active"] = state.get("ActiveState")
                details["sub"] = state.get("SubState")
                details["enabled"] = state.get("UnitFileState") or None
                if state.get("MainPID") not in (None, "", "0"):
                    details["main_pid"] = int(state["MainPID"])
            else:
                details["active"] = None  # unknown: no service manager runs (init scripts are never run to ask)
                details["enabled"] = (systemd if kind == "systemd" else sysv).enabled_on_disk(name)
            self._add(entry, "service", name, signal, details)
            self.services.setdefault(entry["id"], []).append(dict(details, name=name))

    # -- paths
    def scan_paths(self):
        if "path" not in self.scan:
            return
        for entry, signal in self._signals("paths"):
            for path in self.existing(signal["path"]):
                self._add(entry, "path", path, signal, self.path_details(path))

    def existing(self, pattern):
        return fs_paths.existing(self.root, pattern)

    def path_details(self, path):
        full = fs_paths.join(self.root, path)
        try:
            st = os.lstat(full)
        except OSError:
            return {}
        if os.path.islink(full):
            return {"type": "symlink", "target": os.readlink(full)}
        if os.path.isdir(full):
            try:
                count = len(os.listdir(full))
            except OSError:
                count = None
            return {"type": "directory", "entries": count}
        return {"type": "file", "size": st.st_size}

    # -- processes
    def scan_processes(self):
        if "process" not in self.scan:
            self.scanned["processes"] = {"available": False, "skipped": True}
            return
        backend = ProcessScanner(self.root)
        if not backend.is_available():
            self.scanned["processes"] = {"available": False}
            return
        procs = backend.processes()
        self.scanned["processes"] = {
            "available": True,
            "seen": len(procs),
            "unreadable": backend.unreadable,
            "host_mount_namespace": backend.host_namespaces()["mnt"],
        }
        for proc in procs:
            placed = False
            where = None
            for entry, signal in self._signals("processes"):
                hit = self._process_hit(proc, signal)
                if hit is None or self._seen_pid(entry, proc["pid"]):
                    continue  # one process, one piece of evidence per entry (the first, most specific, signal)
                if not placed:
                    where, placed = backend.container_of(proc["pid"], proc["exe"]), True
                if where is None:
                    self._add(entry, "process", hit, signal, {"pid": proc["pid"]})
                    self.processes.setdefault(entry["id"], []).append({"pid": proc["pid"], "exe": hit})
                else:
                    self._add(entry, "process", hit, signal, dict(where, pid=proc["pid"]), into=self.in_containers)

    @staticmethod
    def _process_hit(proc, signal):
        candidates = [proc["exe"]] + ([proc["argv0"]] if proc["argv0"] and proc["argv0"].startswith("/") else [])
        return next((c for c in candidates if c and fnmatch.fnmatchcase(c, signal["exe"])), None)

    def _seen_pid(self, entry, pid):
        return any(
            e["kind"] == "process" and e["details"].get("pid") == pid
            for found in (self.evidence, self.in_containers)
            for e in found.get(entry["id"], [])
        )

    # -- kernel modules
    def scan_kernel_modules(self):
        if "kernel_module" not in self.scan:
            self.scanned["kernel_modules"] = {"available": False, "skipped": True}
            return
        backend = KernelModuleBackend(self.module, self.root)
        if not backend.is_available():
            self.scanned["kernel_modules"] = {"available": False}
            return
        loaded = backend.list_installed()
        self.scanned["kernel_modules"] = {"available": True, "loaded": len(loaded)}
        for mod in loaded:
            for entry, signal in self._signals("kernel_modules"):
                if re.search(signal["pattern"], mod["name"]):
                    self._add(
                        entry, "kernel_module", mod["name"], signal, {"size": mod["size"], "refcount": mod["refcount"]}
                    )
                    self.modules.setdefault(entry["id"], []).append(mod)

    def run(self):
        self.scan_packages()
        self.scan_services()
        self.scan_paths()
        self.scan_processes()
        self.scan_kernel_modules()
        return self
