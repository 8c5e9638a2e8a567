# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The one scanner of running processes (``/proc/PID/exe``), for covered_facts and covered_remove.

Only the pid, the executable and (for detection of script launchers) an absolute ``argv[0]`` are
read; never the rest of a command line (it may hold secrets).

Which processes are the host's: a process counts for the host only when it shares the host's mount
namespace, the one of PID 1 (the init of this PID namespace: systemd, or tini/systemd-nspawn's init
on a lab host). PID 1 rather than this module's own namespace, because the module may run in a
per-session namespace (pam_namespace, a sandboxed sshd) where every host service would look
foreign. A process in another mount namespace is still the host's when it shares the host's PID
namespace and runs the host's own executable file (same device and inode): a service the host's
init sandboxed (systemd PrivateTmp=, ProtectSystem=). Anything else runs in a container: it is
reported, never planned for removal and never signalled. When the namespaces cannot be read (an
offline image, no privilege), processes count for the host, as before namespaces were judged.
Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import errno
import os

from ansible_collections.ripreplace.remediation.plugins.module_utils import fs_paths
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_parsers import parse_cgroup

DELETED = " (deleted)"


def _readlink(path):
    try:
        return os.readlink(path), None
    except OSError as exc:
        return None, exc.errno


class ProcessScanner:
    """Processes of the host whose ``/proc`` is ``fs_root``/proc (``/`` on a live host)."""

    kind = "process"

    def __init__(self, fs_root="/"):
        self.fs_root = fs_root or "/"
        self.proc = fs_paths.join(self.fs_root, "/proc")
        self.unreadable = 0
        self._host = None

    def is_available(self):
        return os.path.isdir(self.proc) and os.path.isdir(os.path.join(self.proc, "self"))

    def _argv0(self, base):
        try:
            with open(os.path.join(base, "cmdline"), "rb") as handle:
                first = handle.read(4096).split(b"\0", 1)[0]
        except OSError:
            return None
        return first.decode("utf-8", "replace") or None

    def processes(self, with_argv0=True):
        """Running processes but this one: [{pid, exe, argv0}]; ``exe`` without ``(deleted)``.

        A process whose executable cannot be read for lack of permission is counted in
        ``unreadable``; a kernel thread or a process that just exited has none and is skipped
        unless its ``argv[0]`` is wanted and readable.
        """
        procs = []
        self.unreadable = 0
        me = os.getpid()
        for entry in os.listdir(self.proc):
            if not entry.isdigit() or int(entry) == me:
                continue
            base = os.path.join(self.proc, entry)
            exe, err = _readlink(os.path.join(base, "exe"))
            if err in (errno.EACCES, errno.EPERM):
                self.unreadable += 1
            argv0 = self._argv0(base) if with_argv0 else None
            if exe is None and argv0 is None:
                continue
            if exe and exe.endswith(DELETED):
                exe = exe[: -len(DELETED)]
            procs.append({"pid": int(entry), "exe": exe, "argv0": argv0})
        return procs

    # ------------------------------------------------------------------ namespaces
    def _ns(self, pid, kind):
        return _readlink(os.path.join(self.proc, str(pid), "ns", kind))[0]

    def host_namespaces(self):
        """{mnt, pid}: the namespaces of PID 1 (or, unreadable, this process's); None if unknown."""
        if self._host is None:
            self._host = {}
            for kind in ("mnt", "pid"):
                self._host[kind] = self._ns(1, kind) or self._ns("self", kind)
        return self._host

    def _runs_host_file(self, pid, exe):
        """Does the process run the host's own file at ``exe`` (same device and inode)?"""
        try:
            running = os.stat(os.path.join(self.proc, str(pid), "exe"))
            on_host = os.stat(fs_paths.join(self.fs_root, exe))
        except OSError:
            return False
        return (running.st_dev, running.st_ino) == (on_host.st_dev, on_host.st_ino)

    def _cgroup(self, pid):
        try:
            with open(os.path.join(self.proc, str(pid), "cgroup"), encoding="utf-8", errors="replace") as handle:
                return parse_cgroup(handle.read(65536))
        except OSError:
            return {"cgroup": None, "container_id": None}

    def container_of(self, pid, exe):
        """None when the process counts for the host; otherwise where it runs:
        {namespace: container, mnt_ns, container_id, cgroup}."""
        host = self.host_namespaces()
        mnt = self._ns(pid, "mnt")
        if host["mnt"] is None or mnt is None or mnt == host["mnt"]:
            return None
        if exe and self._ns(pid, "pid") == host["pid"] and self._runs_host_file(pid, exe):
            return None  # a service of the host's init in a sandbox of its own
        return dict(self._cgroup(pid), namespace="container", mnt_ns=mnt)
