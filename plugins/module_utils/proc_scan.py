# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""The one scanner of running processes (``/proc/PID/exe``), for covered_facts and covered_remove.

Only the pid, the executable and (for detection of script launchers) an absolute ``argv[0]`` are
read; never the rest of a command line (it may hold secrets). Standard library only, Python 3.9+.
"""

from __future__ import annotations

import errno
import os

from ansible_collections.ripreplace.remediation.plugins.module_utils import fs_paths

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
