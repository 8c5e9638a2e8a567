# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Where covered_facts looks for installed things: one small backend per source.

Shaped like ansible-core's ``module_utils/facts/packages.py``: ``is_available()`` says whether the
backend applies to this host, ``list_installed()`` lists what it holds. Processes are scanned by
:mod:`proc_scan`, shared with covered_remove. Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import fnmatch
import os

from ansible_collections.ripreplace.remediation.plugins.module_utils import fs_paths
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_parsers import (
    DPKG_PRESENT_STATES,
    DPKG_RESIDUE_STATES,
    RPM_QUERYFORMAT,
    WantedNames,
    dpkg_relation_names,
    parse_dpkg_status,
    parse_proc_modules,
    parse_rpm_qa,
    parse_systemctl_show,
)

SYSTEMD_UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/run/systemd/generator",
    "/run/systemd/generator.late",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)
C_LOCALE = {"LANG": "C", "LC_ALL": "C"}


class Backend:
    """A source of installed things. ``is_available()`` says if it applies to this host."""

    kind = "base"

    def __init__(self, module, root):
        self.module = module
        self.root = root

    def is_available(self):
        raise NotImplementedError

    def list_installed(self, wanted):
        raise NotImplementedError


class DpkgBackend(Backend):
    kind = "deb"

    @property
    def status_path(self):
        return fs_paths.join(self.root, "/var/lib/dpkg/status")

    def is_available(self):
        return os.path.isfile(self.status_path)

    def list_installed(self, wanted):
        with open(self.status_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        self.total = text.count("\nPackage: ") + (1 if text.startswith("Package: ") else 0)
        out = []
        for fields in parse_dpkg_status(text, wanted):
            status = fields.get("Status", "")
            state = status.split(" ")[-1] if status else ""
            if state not in DPKG_PRESENT_STATES and state not in DPKG_RESIDUE_STATES:
                continue
            depends = dpkg_relation_names(fields.get("Depends")) + dpkg_relation_names(fields.get("Pre-Depends"))
            out.append(
                {
                    "manager": "deb",
                    "name": fields["Package"],
                    "version": fields.get("Version", ""),
                    "arch": fields.get("Architecture", ""),
                    "status": status,
                    "residue": state in DPKG_RESIDUE_STATES,
                    "maintainer": fields.get("Maintainer", ""),
                    "depends": depends,
                }
            )
        return out


class RpmBackend(Backend):
    kind = "rpm"

    def is_available(self):
        # Ask rpm itself whenever it is installed: its database may be anywhere (%_dbpath), and an
        # empty or missing database simply lists nothing.
        self.rpm = self.module.get_bin_path("rpm")
        return bool(self.rpm)

    def list_installed(self, wanted):
        argv = [self.rpm]
        if not fs_paths.is_live(self.root):
            argv += ["--root", self.root]
        argv += ["-qa", "--qf", RPM_QUERYFORMAT]
        rc, out, err = self.module.run_command(argv, environ_update=C_LOCALE)
        if rc != 0:
            self.module.fail_json(msg="rpm could not list installed packages", rc=rc, stdout=out, stderr=err, cmd=argv)
        packages = parse_rpm_qa(out)
        self.total = len(packages)
        wanted = wanted if isinstance(wanted, WantedNames) else WantedNames(wanted)
        result = []
        for pkg in packages:
            if pkg["name"] not in wanted:
                continue
            version = "%s-%s" % (pkg["version"], pkg["release"])
            if pkg["epoch"]:
                version = "%s:%s" % (pkg["epoch"], version)
            result.append(
                {
                    "manager": "rpm",
                    "name": pkg["name"],
                    "version": version,
                    "arch": pkg["arch"],
                    "status": "installed",
                    "residue": False,
                    "vendor": pkg["vendor"],
                    "packager": pkg["packager"],
                    "depends": pkg["requires"],
                }
            )
        return result


class ServiceBackend(Backend):
    """Unit files / init scripts on disk; the live state from systemctl when systemd runs."""

    def __init__(self, module, root):
        super().__init__(module, root)
        self._listings = {}

    def _listdir(self, path):
        if path not in self._listings:
            try:
                self._listings[path] = sorted(os.listdir(fs_paths.join(self.root, path)))
            except OSError:
                self._listings[path] = []
        return self._listings[path]

    def systemd_running(self):
        return fs_paths.is_live(self.root) and os.path.isdir("/run/systemd/system")


class SystemdBackend(ServiceBackend):
    kind = "systemd"

    def is_available(self):
        return any(os.path.isdir(fs_paths.join(self.root, d)) for d in SYSTEMD_UNIT_DIRS)

    def list_installed(self, wanted):
        """wanted: unit name patterns without '.service'. Returns {unit: path} of the first dir holding it."""
        found = {}
        for directory in SYSTEMD_UNIT_DIRS:
            for filename in self._listdir(directory):
                if not filename.endswith(".service"):
                    continue
                base = filename[: -len(".service")]
                if any(fnmatch.fnmatchcase(base, pattern) for pattern in wanted) and base not in found:
                    found[base] = os.path.join(directory, filename)
        return found

    def enabled_on_disk(self, unit):
        """Without a service manager: is a *.wants/ or *.requires/ symlink present for it?"""
        base = "/etc/systemd/system"
        for sub in self._listdir(base):
            if sub.endswith((".wants", ".requires")) and unit + ".service" in self._listdir(os.path.join(base, sub)):
                return True
        return False

    def live_state(self, units):
        if not units or not self.systemd_running():
            return {}
        systemctl = self.module.get_bin_path("systemctl")
        if not systemctl:
            return {}
        argv = [
            systemctl,
            "show",
            "--no-pager",
            "--property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID,FragmentPath,SourcePath",
            "--",
        ]
        argv += ["%s.service" % u for u in units]
        rc, out, err = self.module.run_command(argv, environ_update=dict(C_LOCALE, SYSTEMD_PAGER=""))
        if rc != 0:
            self.module.fail_json(
                msg="systemctl could not show the state of %s" % ", ".join(units),
                rc=rc,
                stdout=out,
                stderr=err,
                cmd=argv,
            )
        return parse_systemctl_show(out)


class SysvBackend(ServiceBackend):
    kind = "sysv"

    def is_available(self):
        return os.path.isdir(fs_paths.join(self.root, "/etc/init.d"))

    def list_installed(self, wanted):
        found = {}
        for filename in self._listdir("/etc/init.d"):
            if any(fnmatch.fnmatchcase(filename, pattern) for pattern in wanted):
                found[filename] = os.path.join("/etc/init.d", filename)
        return found

    def enabled_on_disk(self, name):
        for level in ("2", "3", "4", "5"):
            for link in self._listdir("/etc/rc%s.d" % level):
                if link.startswith("S") and link.lstrip("S0123456789") == name:
                    return True
        return False


class KernelModuleBackend(Backend):
    kind = "kernel_module"

    @property
    def path(self):
        return fs_paths.join(self.root, "/proc/modules")

    def is_available(self):
        return os.path.isfile(self.path)

    def list_installed(self, wanted=None):
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            return parse_proc_modules(handle.read())
