# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""One command with its own time limit, safe to run from several threads at once (stdlib only: runs
on target hosts).

``AnsibleModule.run_command`` has no timeout and fails the module when writing a command's stdin
meets a closed pipe (``clamdscan -`` may close it as soon as it has judged the stream); the health
probe runs its checks side by side in threads, each bounded, and judges a check that could not run
as failed rather than failing the whole probe.
"""

from __future__ import annotations

import subprocess


def run(argv, stdin=None, timeout=60):
    """(rc, stdout, stderr) of ``argv`` (a list, never a shell string); rc None when it could not run
    or did not end within ``timeout`` seconds (then it is killed)."""
    try:
        proc = subprocess.run(
            argv,
            input=stdin.encode("utf-8") if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, "", str(exc)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
