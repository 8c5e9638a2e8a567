# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The proof, on the host itself, that a path may be purged: asked of the host, not of a list.

A path may be purged only when
- the static rules of :mod:`purge_safety` hold (a declared vendor root, no system directory of the
  FHS at or below it, no symlink leading out of the root on the way);
- no filesystem is mounted at it or anywhere under it (``/proc/self/mountinfo``);
- no package outside the removal plan owns anything under its vendor root (asked of dpkg with
  ``dpkg-query -S ROOT ROOT/*`` and of rpm with one file listing), except covered packages that
  stay on purpose (an exception, a finding under review), and those own nothing under the path;
- whatever cannot be asked (a tool missing while its database exists, a query that fails) is a
  refusal, never a pass.
covered_facts builds its plan with it and covered_remove proves it again before anything is
touched and once more right before purging. Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import os

from .covered_parsers import RPM_FILES_QUERYFORMAT, parse_dpkg_search, parse_mountinfo, parse_rpm_files
from .fs_paths import is_live, is_under, join, unjoin
from .purge_safety import check_path, check_root

C_LOCALE = {"LANG": "C", "LC_ALL": "C"}
DPKG_NO_MATCH = "no path found matching pattern"
MAX_NAMES = 5


def _names(owners):
    names = sorted("%s (%s)" % (name, manager) if manager == "rpm" else name for manager, name in owners)
    more = len(names) - MAX_NAMES
    return ", ".join(names[:MAX_NAMES]) + (" (+%d more)" % more if more > 0 else "")


class PurgeProof(object):
    """Refusals for the purges of one plan, on the host whose filesystem is at ``fs_root``.

    ``plan_packages`` and ``kept_packages``: iterables of ``{manager, name}``: the packages the plan
    removes, and covered packages that stay (their files may share the vendor root).
    """

    def __init__(self, module, fs_root="/", plan_packages=(), kept_packages=()):
        self.module = module
        self.fs_root = fs_root or "/"
        self.removed = {(p.get("manager"), p.get("name")) for p in plan_packages}
        self.kept = {(p.get("manager"), p.get("name")) for p in kept_packages}

    # ------------------------------------------------------------------ what the host says
    def mount_points(self):
        """Host paths where a filesystem is mounted (this host's mount namespace)."""
        own = join(self.fs_root, "/proc/self/mountinfo")
        source = own if os.path.isfile(own) else "/proc/self/mountinfo"
        try:
            with open(source, encoding="utf-8", errors="replace") as handle:
                points = parse_mountinfo(handle.read())
        except OSError:
            return None
        if source == own or is_live(self.fs_root):
            return points
        base = os.path.realpath(self.fs_root)
        return [unjoin(base, p) for p in points if is_under(p, base)]

    def _dpkg_owners(self, roots):
        if not os.path.isfile(join(self.fs_root, "/var/lib/dpkg/status")):
            return [], None
        query = self.module.get_bin_path("dpkg-query")
        if not query:
            return None, "dpkg-query is not installed (the dpkg database is)"
        argv = [query] + ([] if is_live(self.fs_root) else ["--root=%s" % self.fs_root]) + ["-S"]
        for root in roots:
            argv += [root, root + "/*"]
        rc, out, err = self.module.run_command(argv, environ_update=C_LOCALE)
        errors = [line for line in err.splitlines() if line.strip() and DPKG_NO_MATCH not in line]
        if rc not in (0, 1) or errors:
            return None, "dpkg-query -S failed (rc %d): %s" % (rc, " | ".join(errors[-2:]) or out.strip()[-200:])
        return [("deb", name, path) for names, path in parse_dpkg_search(out) for name in names], None

    def _rpm_owners(self, roots):
        rpm = self.module.get_bin_path("rpm")
        if not rpm:
            return [], None
        argv = [rpm] + ([] if is_live(self.fs_root) else ["--root", self.fs_root])
        rc, out, err = self.module.run_command([*argv, "-qa", "--qf", RPM_FILES_QUERYFORMAT], environ_update=C_LOCALE)
        if rc != 0:
            return None, "rpm could not list the files of installed packages (rc %d): %s" % (rc, err.strip()[-200:])
        return [("rpm", n, p) for n, p in parse_rpm_files(out) if any(is_under(p, r) for r in roots)], None

    def owners(self, roots):
        """([(manager, name, path)] owned at or under ``roots``, None) or (None, why it is unknown)."""
        owned = []
        for query in (self._dpkg_owners, self._rpm_owners):
            found, problem = query(roots)
            if problem:
                return None, problem
            owned.extend(found)
        return owned, None

    # ------------------------------------------------------------------ the proof
    def refusals(self, purges=(), roots=()):
        """{path: why it must not be purged (or removed when empty)}; empty when all is proven.

        ``purges``: [{path, vendor_root}] to delete recursively; ``roots``: vendor roots to remove
        when empty at the end.
        """
        refused = {}
        for item in purges:
            problem = check_path(item.get("path"), item.get("vendor_root") or "", fs_root=self.fs_root)
            if problem:
                refused[item.get("path")] = problem
        for root in roots:
            problem = check_root(root)
            if problem:
                refused[root] = problem
        pending = [i for i in purges if i.get("path") not in refused]
        pending_roots = [r for r in roots if r not in refused]
        if not pending and not pending_roots:
            return refused
        refused.update(self._mounted(pending, pending_roots))
        pending = [i for i in pending if i["path"] not in refused]
        pending_roots = [r for r in pending_roots if r not in refused]
        refused.update(self._owned(pending, pending_roots))
        return refused

    def _mounted(self, purges, roots):
        points = self.mount_points()
        if points is None:
            why = "cannot read the mount table (/proc/self/mountinfo) to prove no filesystem is mounted there"
            return dict.fromkeys([i["path"] for i in purges] + list(roots), why)
        refused = {}
        for item in purges:
            inside = sorted(p for p in points if is_under(p, item["path"]))
            if inside:
                refused[item["path"]] = "%r is a mount point or holds one (%s)" % (item["path"], inside[0])
        for root in roots:
            if root in points:
                refused[root] = "vendor root %r is a mount point" % root
        return refused

    def _owned(self, purges, roots):
        all_roots = sorted({i["vendor_root"] for i in purges} | set(roots))
        if not all_roots:
            return {}
        owned, problem = self.owners(all_roots)
        if problem:
            why = "cannot prove that no other package owns files there: %s" % problem
            return dict.fromkeys([i["path"] for i in purges] + list(roots), why)
        refused = {}
        for root in all_roots:
            foreign = {(m, n) for m, n, p in owned if is_under(p, root)} - self.removed - self.kept
            if foreign:
                why = "vendor root %s holds files of packages outside the removal plan: %s" % (root, _names(foreign))
                refused.update({i["path"]: why for i in purges if i["vendor_root"] == root})
                if root in roots:
                    refused[root] = why
        for item in purges:
            if item["path"] in refused:
                continue
            kept = {(m, n) for m, n, p in owned if is_under(p, item["path"])} - self.removed
            if kept:
                refused[item["path"]] = "%r holds files of packages that stay on the host: %s" % (
                    item["path"],
                    _names(kept),
                )
        return refused
