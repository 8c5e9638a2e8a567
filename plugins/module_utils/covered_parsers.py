# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""Parsers of the tools' and the kernel's output, for covered_facts and covered_remove.

Pure functions on text (tested on captured real output). Standard library only, Python 3.9+.
"""

from __future__ import annotations

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
