# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Run lab commands as argv lists (failures become one-line LabErrors), and the processes the lab starts.

A started process is identified by pid and start time, so the lab never signals a pid that was reused."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ripreplace.exceptions import LabError

#: A locale that keeps tool output parsable, and no inherited apt front-end prompts.
_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}

#: ssh's own messages for a connection it could not set up: the remote command never started.
SSH_SETUP_FAILED = re.compile(
    # only messages of the set-up; a session cut mid-command says "Read from remote host ...: Connection reset by
    # peer", "Connection to X closed by remote host" or "client_loop: ...", and is never tried again
    r"connect to host .*: |kex_exchange_identification: |ssh_exchange_identification: |during banner exchange"
)
#: seconds between the tries of a connection ssh could not set up
SSH_RETRY_DELAYS = (1.0, 2.0, 4.0)


def run(
    argv: Sequence[str | Path],
    *,
    check: bool = True,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 600,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(_ENV)
    if env:
        full_env.update(env)
    args = [str(a) for a in argv]
    try:
        proc = subprocess.run(
            args,
            # never the caller's stdin: ssh sets O_NONBLOCK on the stdin it gets (and a killed ssh leaves
            # it so), which makes every later ansible-playbook sharing that stdin refuse to start
            **({"input": input_text} if input_text is not None else {"stdin": subprocess.DEVNULL}),
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{args[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(args[:3])}... did not finish in {timeout} s") from exc
    if check and proc.returncode != 0:
        raise LabError(_failed(args, proc))
    return proc


def _failed(args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> str:
    detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return f"{' '.join(args[:4])} failed (rc={proc.returncode}): {detail[-1] if detail else 'no output'}"


def run_ssh(
    argv: Sequence[str | Path],
    *,
    check: bool = True,
    timeout: float = 300,
    input_text: str | None = None,
    rerun: bool = False,
) -> subprocess.CompletedProcess[str]:
    """:func:`run` of an ssh command line. A connection ssh could not set up (its exit 255 with one of its
    own connection messages: a loaded machine's connect or banner timeout) is tried again, up to 3 times,
    1, 2 and 4 s apart; a command that started is never run twice, unless the caller says it only reads
    (``rerun``): then any exit 255 (ssh's own failure, a session cut mid-command) is tried again alike."""
    for delay in (*SSH_RETRY_DELAYS, None):
        proc = run(argv, check=False, timeout=timeout, input_text=input_text)
        if delay is None or proc.returncode != 255 or not (rerun or SSH_SETUP_FAILED.search(proc.stderr)):
            break
        time.sleep(delay)
    if check and proc.returncode != 0:
        raise LabError(_failed([str(a) for a in argv], proc))
    return proc


#: Popen objects of the processes this Python process started, so they are reaped (and not
#: reported as still running when collected) when the lab stops them.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def succeeds(argv: Sequence[str], timeout: float) -> bool:
    """True when argv exits 0 within ``timeout``; a slower run is False, not an error (the caller retries)."""
    try:
        return run(argv, check=False, timeout=timeout).returncode == 0
    except LabError:
        return False


def spawn(argv: list[str], log: Path) -> Proc:
    """Start a lab process in its own session, its output to ``log``; remembered so it is reaped."""
    with log.open("ab") as handle:
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=handle, start_new_session=True)
    _STARTED[popen.pid] = popen
    return Proc.of(popen.pid)


def _proc_starttime(pid: int) -> int | None:
    """Start time of a live process (None when gone or a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@dataclasses.dataclass
class Proc:
    """A process the lab started, identified by pid and start time (guards against pid reuse)."""

    pid: int
    start: int | None

    @classmethod
    def of(cls, pid: int) -> Proc:
        return cls(pid=pid, start=_proc_starttime(pid))

    def alive(self) -> bool:
        return self.start is not None and _proc_starttime(self.pid) == self.start

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            popen = _STARTED.get(self.pid)  # our own child (lab up and down in one process): reap it
            if popen is not None and popen.poll() is not None:
                _STARTED.pop(self.pid, None)
            if not self.alive():
                return True
            time.sleep(0.05)
        return not self.alive()
