# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Commands with their own time limit through ``AnsibleModule.run_command`` (stdlib only: runs on
target hosts).

``run_command`` has no timeout: each command runs under coreutils ``timeout``, which ends the
command's whole process group when the limit passes. ``run_command`` also raises when feeding a
command's stdin meets a pipe the command already closed (``clamdscan -`` closes it once it has judged
the stream, or at once when clamd does not answer): the command still ran, so its exit status and
output are collected from the process ``run_command`` started and are the check's result, instead of
the broken pipe failing the whole probe.
"""

from __future__ import annotations

import contextlib
import errno

#: seconds granted after the limit's TERM before ``timeout`` sends KILL
KILL_AFTER = 5
#: exit statuses of coreutils ``timeout``: the limit passed (TERM, then KILL); it could not run the command
TIMED_OUT = (124, 137)
CANNOT_RUN = (125, 126, 127)


def _finish(proc, timeout):
    """rc, stdout, stderr (bytes) of a process whose stdin broke: the rest of its output, then its status."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()  # the data it did not read is dropped (closing flushes it: the pipe breaks again)
        proc.stdin = None
    try:
        out, err = proc.communicate(timeout=timeout + KILL_AFTER + 1)
    except Exception as exc:  # it outlived its own timeout: end it
        proc.kill()
        proc.wait()
        return None, b"", ("did not end: %s" % exc).encode("utf-8")
    return proc.returncode, out or b"", err or b""


def runner(module):
    """``run(argv, stdin=None, timeout=60)`` -> (rc, stdout, stderr) for ``module`` (an AnsibleModule);
    rc is None when the command timed out or could not run, and stderr then says why."""

    def run(argv, stdin=None, timeout=60):
        timeout = max(1, int(timeout))
        limited = ["timeout", "--kill-after=%d" % KILL_AFTER, str(timeout), *argv]
        started = []
        try:
            rc, out, err = module.run_command(
                limited,
                data=stdin,
                binary_data=True,  # the sample exactly as given: no newline added
                handle_exceptions=False,
                before_communicate_callback=started.append,
            )
        except OSError as exc:
            if exc.errno != errno.EPIPE or not started:
                return None, "", "%s: cannot run: %s" % (argv[0], exc.strerror or exc)
            rc, b_out, b_err = _finish(started[0], timeout)
            out, err = b_out.decode("utf-8", "replace"), b_err.decode("utf-8", "replace")
        if rc in TIMED_OUT:
            return None, out, "%s: timed out after %d s" % (argv[0], timeout)
        if rc in CANNOT_RUN and not out:
            return None, out, err.strip() or "%s: cannot run" % argv[0]
        return rc, out, err

    return run
