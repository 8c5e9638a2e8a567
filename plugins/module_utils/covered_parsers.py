# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Parsers of the tools' and the kernel's output, for covered_facts and covered_remove.

Pure functions on text (tested on captured real output). Standard library only, Python 3.9+.
"""

from __future__ import annotations

import fnmatch
import re

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
#: One line per package, tab-separated; the requirements as a comma-separated array.
RPM_QUERYFORMAT = "%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{PACKAGER}\t[%{REQUIRENAME},]\n"


class WantedNames(object):
    """Package names a catalog asks for: whole names, and ``*`` patterns (``kics4net*``: a product shipped
    as several packages with one prefix)."""

    def __init__(self, names):
        self.names = set(names)
        self.patterns = [n for n in self.names if "*" in n]

    def __contains__(self, name):
        return name in self.names or any(fnmatch.fnmatchcase(name, p) for p in self.patterns)


def package_name_matches(pattern, name):
    """A catalog's package name (whole, or with ``*``) against an installed package's name."""
    return name == pattern or ("*" in pattern and fnmatch.fnmatchcase(name, pattern))


def parse_dpkg_status(text, wanted=None):
    """Stanzas of a dpkg status file, as dicts, for packages in ``wanted`` (all when None).

    Continuation lines (leading space) belong to the field above; only the fields we use are kept.
    """
    keep = ("Package", "Status", "Version", "Architecture", "Maintainer", "Depends", "Pre-Depends", "Provides")
    if wanted is not None and not isinstance(wanted, WantedNames):
        wanted = WantedNames(wanted)
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


def _unescape_mount(text):
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 and so on)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text):
    """Mount points of ``/proc/PID/mountinfo`` (proc(5): the fifth field), unescaped."""
    points = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) >= 5 and fields[4].startswith("/"):
            points.append(_unescape_mount(fields[4]))
    return points


def parse_dpkg_search(text):
    """``dpkg-query -S`` output -> [(package names, path)].

    Lines are ``pkg1, pkg2:arch: /path``; a diversion line (``diversion by PKG from: /path``,
    ``local diversion to: /path``) counts for the diverting package (none for a local one).
    """
    out = []
    for line in text.splitlines():
        owners, sep, path = line.partition(": ")
        if not sep or not path.startswith("/"):
            continue
        if owners.startswith(("diversion by ", "local diversion")):
            words = owners.split()
            names = [words[2]] if owners.startswith("diversion by ") and len(words) > 2 else []
        else:
            names = [name.strip().split(":")[0] for name in owners.split(",") if name.strip()]
        out.append((names, path))
    return out


#: ``rpm -qa --qf`` format listing every file of every package: ``path<TAB>name`` a line.
RPM_FILES_QUERYFORMAT = "[%{FILENAMES}\t%{=NAME}\n]"


def parse_rpm_files(text):
    """Lines of ``rpm -qa --qf RPM_FILES_QUERYFORMAT`` -> [(package name, path)]."""
    out = []
    for line in text.splitlines():
        path, sep, name = line.rpartition("\t")
        if sep and path.startswith("/") and name:
            out.append((name, path))
    return out


_CONTAINER_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")
_NAMED_CONTAINER = (
    re.compile(r"/lxc(?:\.payload)?[./]([^/]+)"),
    re.compile(r"/machine\.slice/machine-([^/]+)\.scope"),
    re.compile(r"/systemd-nspawn@([^/]+)\.service"),
)


def parse_cgroup(text):
    """``/proc/PID/cgroup`` -> {cgroup, container_id}: the unified (or first) hierarchy's path and,
    where it names one, the container's id (docker, podman, containerd, CRI-O: 64 hex digits) or
    name (LXC, systemd-machined/nspawn; None otherwise)."""
    paths = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and parts[2].startswith("/"):
            paths.append((parts[0] != "0", parts[2]))
    if not paths:
        return {"cgroup": None, "container_id": None}
    cgroup = sorted(paths)[0][1]  # the unified hierarchy ("0::") first
    for _legacy, path in paths:
        found = _CONTAINER_ID.search(path)
        if found:
            return {"cgroup": cgroup, "container_id": found.group(1)}
    for _legacy, path in paths:
        for pattern in _NAMED_CONTAINER:
            found = pattern.search(path)
            if found:
                return {"cgroup": cgroup, "container_id": found.group(1).replace("\\x2d", "-")}
    return {"cgroup": cgroup, "container_id": None}
