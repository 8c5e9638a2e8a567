#!/usr/bin/python
# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)

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
  - A package name that another vendor also uses (Checkmarx C(kics)) only counts when the package's
    maintainer (deb) or vendor (rpm) matches the catalog's constraint; a service name that collides
    only counts when its unit file or init script mentions the vendor's path.
  - Each finding has the catalog id, vendor, product, the Covered List entry, a state (C(installed),
    or C(residue) for what an uninstall left behind), a confidence (the highest of its evidence) and
    the evidence itself. Signals with confidence C(low) come from unconfirmed facts; findings made
    only of them are marked C(review) and never enter the removal plan.
  - The module also returns the removal plan remediation would carry out on this host (packages
    in dependency order, services, processes, kernel modules, leftover paths under declared vendor
    roots, vendor repository files and keys).
  - The catalogs are read, validated and compiled on the controller by the action plugin of the
    same name, which also applies exceptions (host or group, with expiry) for the host. Targets need
    no catalog file. The module changes nothing on the target.
  - Module code runs on the target with the standard library only (Python 3.9 and later).
author:
  - ripreplace developers (!UNKNOWN)
options:
  catalogs:
    description:
      - Site catalog files on the controller, added to the bundled catalog. Same format as
        C(catalog/covered.yml), validated against C(catalog/covered.schema.json).
      - An entry id that is already defined is an error.
    type: list
    elements: path
    default: []
  bundled_catalog:
    description:
      - Use the catalog bundled with the collection. Set to C(false) to scan only for the
        entries of O(catalogs).
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
    type: list
    elements: path
    default: []
  today:
    description:
      - The day, C(YYYY-MM-DD), against which exception expiry is judged. Defaults to today (UTC)
        on the controller. For tests and for re-judging a past run.
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
              type: str
              choices: [installed, residue]
            confidence:
              description: The highest confidence of its evidence.
              type: str
              choices: [high, medium, low]
            review:
              description: True when all evidence is low-confidence (unconfirmed facts). Never removed automatically.
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
                    manager (systemd or sysv), path, enabled, active (services); type (paths); pid (processes); size and
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
              description: Paths not planned for removal and why (for example a symlink leading out of its vendor root).
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
        catalog:
          description: The catalog files used (path, sha256, version) and the number of rules.
          returned: always
          type: dict
"""

import errno
import fnmatch
import glob
import os
import re

from ansible.module_utils.basic import AnsibleModule

FACTS_FORMAT = "ripreplace-covered-facts/1"
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
# dpkg "Status:" third word -> files present?  (dpkg(1) "package states")
DPKG_PRESENT_STATES = (
    "installed",
    "half-installed",
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
)
DPKG_RESIDUE_STATES = ("config-files",)
SYSTEMD_UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/run/systemd/generator",
    "/run/systemd/generator.late",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)
RPM_QUERYFORMAT = (
    "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{PACKAGER}\\t[%{REQUIRENAME},]\\n"
)
ACTIVE_STATES = ("active", "activating", "reloading", "deactivating")
ENABLED_STATES = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated")
MAX_READ = 1 << 20


def _join(root, path):
    if root in ("", "/"):
        return path
    return os.path.join(root, path.lstrip("/"))


def _has_glob(text):
    return any(ch in text for ch in "*?[")


# --------------------------------------------------------------------------- parsers (pure)
def parse_dpkg_status(text, wanted=None):
    """Stanzas of a dpkg status file, as dicts, for packages in ``wanted`` (all when None).

    Continuation lines (leading space) belong to the field above; only the fields we use are kept.
    """
    keep = ("Package", "Status", "Version", "Architecture", "Maintainer", "Depends", "Pre-Depends", "Provides")
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        if not stanza.strip():
            continue
        fields = {}
        last = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t"):
                if last in fields:
                    fields[last] += "\n" + line.strip()
                continue
            key, sep, value = line.partition(":")
            if not sep:
                continue
            last = key
            if key in keep:
                fields[key] = value.strip()
        name = fields.get("Package")
        if not name or (wanted is not None and name not in wanted):
            continue
        out.append(fields)
    return out


def dpkg_relation_names(value):
    """Package names in a Depends-style field: 'a (>= 1), b | c:any' -> ['a', 'b', 'c']."""
    names = []
    for part in (value or "").replace("|", ",").split(","):
        token = part.strip().split(" ")[0].split("(")[0].strip()
        token = token.split(":")[0]
        if token:
            names.append(token)
    return names


def parse_rpm_qa(text):
    """Lines of ``rpm -qa --qf RPM_QUERYFORMAT`` -> list of dicts."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 7:
            continue
        name, epoch, version, release, arch, vendor, packager = parts[:7]
        requires = parts[7] if len(parts) > 7 else ""
        out.append(
            {
                "name": name,
                "epoch": None if epoch in ("(none)", "", "0") else epoch,
                "version": version,
                "release": release,
                "arch": arch,
                "vendor": "" if vendor == "(none)" else vendor,
                "packager": "" if packager == "(none)" else packager,
                "requires": [r.split(" ")[0] for r in requires.split(",") if r and not r.startswith("rpmlib(")],
            }
        )
    return out


def parse_systemctl_show(text):
    """``systemctl show -p ... unit...`` output: blocks of key=value separated by blank lines."""
    units = []
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        units.append(current)
    return {u.get("Id", ""): u for u in units if u.get("Id")}


def parse_proc_modules(text):
    """/proc/modules: 'name size refcount deps state address' per line."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        out.append({"name": parts[0], "size": int(parts[1]) if parts[1].isdigit() else None, "refcount": parts[2]})
    return out


# --------------------------------------------------------------------------- backends
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
        return _join(self.root, "/var/lib/dpkg/status")

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
        if self.root not in ("", "/"):
            argv += ["--root", self.root]
        argv += ["-qa", "--qf", RPM_QUERYFORMAT.replace("\\t", "\t").replace("\\n", "\n")]
        rc, out, err = self.module.run_command(argv, environ_update={"LANG": "C", "LC_ALL": "C"})
        if rc != 0:
            self.module.fail_json(msg="rpm could not list installed packages", rc=rc, stdout=out, stderr=err, cmd=argv)
        packages = parse_rpm_qa(out)
        self.total = len(packages)
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
                self._listings[path] = sorted(os.listdir(_join(self.root, path)))
            except OSError:
                self._listings[path] = []
        return self._listings[path]

    def systemd_running(self):
        return self.root in ("", "/") and os.path.isdir("/run/systemd/system")


class SystemdBackend(ServiceBackend):
    kind = "systemd"

    def is_available(self):
        return any(os.path.isdir(_join(self.root, d)) for d in SYSTEMD_UNIT_DIRS)

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
        rc, out, err = self.module.run_command(argv, environ_update={"LANG": "C", "LC_ALL": "C", "SYSTEMD_PAGER": ""})
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
        return os.path.isdir(_join(self.root, "/etc/init.d"))

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


class ProcBackend(Backend):
    kind = "process"

    @property
    def proc(self):
        return _join(self.root, "/proc")

    def is_available(self):
        return os.path.isdir(self.proc) and os.path.isdir(os.path.join(self.proc, "self"))

    def list_installed(self, wanted=None):
        """Running processes: [{pid, exe, argv0}]. Unreadable ones (no permission) are counted."""
        procs = []
        self.unreadable = 0
        me = os.getpid()
        for entry in os.listdir(self.proc):
            if not entry.isdigit() or int(entry) == me:
                continue
            base = os.path.join(self.proc, entry)
            exe = None
            try:
                exe = os.readlink(os.path.join(base, "exe"))
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM):
                    self.unreadable += 1
                # ENOENT: a kernel thread or a process that just exited
            argv0 = None
            try:
                with open(os.path.join(base, "cmdline"), "rb") as handle:
                    first = handle.read(4096).split(b"\0", 1)[0]
                argv0 = first.decode("utf-8", "replace") or None
            except OSError:
                pass
            if exe is None and argv0 is None:
                continue
            if exe and exe.endswith(" (deleted)"):
                exe = exe[: -len(" (deleted)")]
            procs.append({"pid": int(entry), "exe": exe, "argv0": argv0})
        return procs


class KernelModuleBackend(Backend):
    kind = "kernel_module"

    @property
    def path(self):
        return _join(self.root, "/proc/modules")

    def is_available(self):
        return os.path.isfile(self.path)

    def list_installed(self, wanted=None):
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            return parse_proc_modules(handle.read())


# --------------------------------------------------------------------------- matching
class Scanner:
    def __init__(self, module, rules, root="/", scan=None):
        self.module = module
        self.rules = rules
        self.root = root or "/"
        self.scan = set(scan or ("deb", "rpm", "service", "path", "process", "kernel_module"))
        self.scanned = {}
        self.evidence = {}  # entry id -> [evidence]
        self.packages = {}  # entry id -> [package dicts]
        self.services = {}  # entry id -> [service dicts]
        self.processes = {}
        self.modules = {}

    def _add(self, entry, kind, value, signal, details):
        self.evidence.setdefault(entry["id"], []).append(
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
        wanted = {s["name"] for dummy, s in self._signals("packages")}
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
                    if signal["name"] != pkg["name"] or kind not in signal.get("managers", ["deb", "rpm"]):
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
            with open(_join(self.root, path), "rb") as handle:
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
            for path in self._existing(signal["path"]):
                self._add(entry, "path", path, signal, self._path_details(path))

    def _existing(self, pattern):
        if _has_glob(pattern):
            prefix = _join(self.root, "/").rstrip("/")
            return sorted(p[len(prefix) :] if prefix else p for p in glob.glob(_join(self.root, pattern)))
        try:
            os.lstat(_join(self.root, pattern))
        except OSError:
            return []
        return [pattern]

    def _path_details(self, path):
        full = _join(self.root, path)
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
        backend = ProcBackend(self.module, self.root)
        if not backend.is_available():
            self.scanned["processes"] = {"available": False}
            return
        procs = backend.list_installed()
        self.scanned["processes"] = {"available": True, "seen": len(procs), "unreadable": backend.unreadable}
        for proc in procs:
            for entry, signal in self._signals("processes"):
                candidates = [proc["exe"]] + (
                    [proc["argv0"]] if proc["argv0"] and proc["argv0"].startswith("/") else []
                )
                hit = next((c for c in candidates if c and fnmatch.fnmatchcase(c, signal["exe"])), None)
                if hit is None:
                    continue
                already = [
                    e
                    for e in self.evidence.get(entry["id"], [])
                    if e["kind"] == "process" and e["details"].get("pid") == proc["pid"]
                ]
                if already:
                    continue  # one process, one piece of evidence per entry (the first, most specific, signal)
                self._add(entry, "process", hit, signal, {"pid": proc["pid"]})
                self.processes.setdefault(entry["id"], []).append({"pid": proc["pid"], "exe": hit})

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


# --------------------------------------------------------------------------- findings and plan
def _is_live(evidence, entry):
    kind = evidence["kind"]
    details = evidence["details"]
    if kind in ("deb", "rpm"):
        return not details.get("residue")
    if kind in ("process", "kernel_module"):
        return True
    if kind == "service":
        if details.get("active") in ACTIVE_STATES:
            return True
        # An enabled unit or init-script link of a packaged product whose package is gone is a
        # leftover (dpkg keeps /etc/init.d conffiles and rc links until purge).
        packaged = bool(entry.get("signals", {}).get("packages"))
        return not packaged and details.get("enabled") in (True, *ENABLED_STATES)
    if kind == "path":
        # A product that is not packaged is installed when its files are; a packaged one's files
        # without the package are leftovers.
        # The bare vendor directories (a fallback entry) are leftovers by definition.
        return not entry.get("signals", {}).get("packages") and not entry.get("fallback")
    return False


def build_findings(rules, scanner):
    findings = []
    by_vendor = {}
    for entry in rules.get("entries", []):
        evidence = scanner.evidence.get(entry["id"])
        if not evidence:
            continue
        confidence = max((e["confidence"] for e in evidence), key=lambda c: CONFIDENCE_RANK[c])
        finding = {
            "catalog_id": entry["id"],
            "vendor": entry["vendor"],
            "product": entry["product"],
            "covered_list": entry["covered_list"],
            "state": "installed" if any(_is_live(e, entry) for e in evidence) else "residue",
            "confidence": confidence,
            "review": confidence == "low",
            "evidence": evidence,
        }
        findings.append((entry, finding))
        if not entry.get("fallback"):
            by_vendor.setdefault(entry["vendor"], []).append(entry["id"])
    # A fallback entry (the bare vendor directories) only when nothing more specific explains them.
    return [(e, f) for e, f in findings if not (e.get("fallback") and by_vendor.get(e["vendor"]))]


def split_exceptions(findings, exceptions):
    by_id = {}
    for item in exceptions or []:
        by_id.setdefault(item["catalog_id"], item)
    kept, excepted = [], []
    for entry, finding in findings:
        if finding["catalog_id"] in by_id:
            excepted.append((entry, dict(finding, exception=by_id[finding["catalog_id"]])))
        else:
            kept.append((entry, finding))
    return kept, excepted


def _under(path, root):
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/")


def order_packages(items, entry_order, after):
    """Dependency order for removal: a package goes before what it depends on.

    items: [{name, manager, catalog_id, depends}]; entry_order: catalog ids in catalog order;
    after: {catalog_id: [ids removed before it]}. Ties keep catalog order, then the entry's own
    removal.packages order (carried by the items' order). A dependency cycle is broken in that order.
    """
    index = {id(item): n for n, item in enumerate(items)}
    rank = {cid: n for n, cid in enumerate(entry_order)}
    before = {id(i): set() for i in items}  # item -> items that must be removed before it
    by_name = {}
    for item in items:
        by_name.setdefault((item["manager"], item["name"]), []).append(item)
    for item in items:
        for dep in item.get("depends", []):
            for target in by_name.get((item["manager"], dep), []):
                if target is not item:
                    before[id(target)].add(id(item))  # item depends on target: item first
        for other in items:
            ordered_after = other["catalog_id"] in after.get(item["catalog_id"], [])
            hinted = other["catalog_id"] == item["catalog_id"] and other.get("hint", 0) < item.get("hint", 0)
            if ordered_after or hinted:
                before[id(item)].add(id(other))
    remaining = list(items)
    ordered = []
    while remaining:
        done = {id(i) for i in ordered}
        ready = [i for i in remaining if before[id(i)] <= done]
        if not ready:  # cycle: take the first in catalog order
            ready = remaining
        ready.sort(key=lambda i: (rank.get(i["catalog_id"], 1 << 20), i.get("hint", 0), index[id(i)]))
        ordered.append(ready[0])
        remaining.remove(ready[0])
    return ordered


def build_plan(rules, scanner, findings, root="/", excepted=()):
    plan = {
        "packages": [],
        "services": [],
        "processes": [],
        "kernel_modules": [],
        "paths": [],
        "vendor_roots": [],
        "repo_files": [],
        "repo_keys": [],
        "refused": [],
    }
    actionable = [(e, f) for e, f in findings if not f["review"]]
    # When a vendor's product is removed, so are the vendor's bare directories (its fallback entry):
    # otherwise they would only show up, and need a second removal, after the first.
    # Never when anything else of that vendor must stay: an excepted product, or a review-only
    # signal nobody has looked at yet (its files live under the same roots).
    keep = set(e["vendor"] for e, _f in excepted) | set(e["vendor"] for e, f in findings if f["review"])
    vendors = set(e["vendor"] for e, _f in actionable) - keep
    listed = set(e["id"] for e, _f in actionable)
    for entry in rules.get("entries", []):
        if entry.get("fallback") and entry["vendor"] in vendors and entry["id"] not in listed:
            actionable.append((entry, {"evidence": [], "review": False}))
    entry_order = [e["id"] for e in rules.get("entries", [])]
    after = {e["id"]: e.get("removal", {}).get("after", []) for e in rules.get("entries", [])}
    seen = set()
    pkg_items = []
    for entry, _finding in actionable:
        hints = entry.get("removal", {}).get("packages", [])
        for pkg in scanner.packages.get(entry["id"], []):
            key = (pkg["manager"], pkg["name"], pkg.get("arch"))
            if key in seen:
                continue
            seen.add(key)
            pkg_items.append(
                {
                    "name": pkg["name"],
                    "manager": pkg["manager"],
                    "arch": pkg.get("arch"),
                    "version": pkg.get("version"),
                    "status": "config-files" if pkg["residue"] else "installed",
                    "catalog_id": entry["id"],
                    "depends": pkg.get("depends", []),
                    "hint": hints.index(pkg["name"]) if pkg["name"] in hints else len(hints),
                }
            )
    for item in order_packages(pkg_items, entry_order, after):
        plan["packages"].append({k: v for k, v in item.items() if k not in ("depends", "hint")})
    seen_services = set()
    seen_pids = set()
    for entry, finding in actionable:
        for svc in scanner.services.get(entry["id"], []):
            if (svc["manager"], svc["name"]) not in seen_services:
                seen_services.add((svc["manager"], svc["name"]))
                plan["services"].append(dict(svc, catalog_id=entry["id"]))
        for proc in scanner.processes.get(entry["id"], []):
            if proc["pid"] not in seen_pids:
                seen_pids.add(proc["pid"])
                plan["processes"].append(dict(proc, catalog_id=entry["id"]))
        for mod in scanner.modules.get(entry["id"], []):
            ev = [e for e in finding["evidence"] if e["kind"] == "kernel_module" and e["value"] == mod["name"]]
            if ev and ev[0]["confidence"] != "low":
                plan["kernel_modules"].append({"name": mod["name"], "catalog_id": entry["id"]})
        removal = entry.get("removal", {})
        roots = removal.get("vendor_roots", [])
        for leftover in removal.get("leftover_paths", []):
            for path in scanner._existing(leftover):
                root_of = next((r for r in roots if _under(path, r)), None)
                real = os.path.realpath(_join(root, path))
                real_rel = real if root in ("", "/") else "/" + os.path.relpath(real, root)
                real_root = None
                if root_of:
                    rr = os.path.realpath(_join(root, root_of))
                    real_root = rr if root in ("", "/") else "/" + os.path.relpath(rr, root)
                if not root_of or not real_root or not _under(real_rel, real_root):
                    plan["refused"].append(
                        {
                            "path": path,
                            "catalog_id": entry["id"],
                            "reason": "resolves to %s, outside its vendor root %s" % (real_rel, root_of),
                        }
                    )
                    continue
                if all(p["path"] != path for p in plan["paths"]):
                    plan["paths"].append(
                        {
                            "path": path,
                            "vendor_root": root_of,
                            "catalog_id": entry["id"],
                            "details": scanner._path_details(path),
                        }
                    )
        for vroot in roots:
            if scanner._existing(vroot) and vroot not in plan["vendor_roots"]:
                plan["vendor_roots"].append(vroot)
        for key in ("repo_files", "repo_keys"):
            for pattern in removal.get(key, []):
                for path in scanner._existing(pattern):
                    if path not in plan[key]:
                        plan[key].append(path)
    # Nested paths: keep only the outermost one under the same root (rm -r of it covers the rest).
    outer = []
    for item in sorted(plan["paths"], key=lambda p: p["path"]):
        if not any(_under(item["path"], o["path"]) for o in outer):
            outer.append(item)
    plan["paths"] = outer
    return plan


def _public(finding):
    return dict(finding.items())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            catalogs=dict(type="list", elements="path", default=[]),
            bundled_catalog=dict(type="bool", default=True),
            exceptions=dict(type="list", elements="path", default=[]),
            today=dict(type="str"),
            scan=dict(
                type="list",
                elements="str",
                default=["deb", "rpm", "service", "path", "process", "kernel_module"],
                choices=["deb", "rpm", "service", "path", "process", "kernel_module"],
            ),
            root=dict(type="path", default="/"),
            compiled_rules=dict(type="dict"),
            active_exceptions=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
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
        "findings": [_public(f) for dummy, f in kept],
        "excepted": [_public(f) for dummy, f in excepted],
        "exceptions_expired": [],
        "removal_plan": plan,
        "scanned": dict(scanner.scanned, root=root, rules=len(rules["entries"])),
        "catalog": {},
    }
    module.exit_json(changed=False, ansible_facts={"covered_software": facts})


if __name__ == "__main__":
    main()
