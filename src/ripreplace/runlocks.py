# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Locks on the controller's side of a campaign: the run's own ``.lock``, the lock of a run being resumed, and
which runs of a runs directory have ended (so a host lock naming one of them is stale).

The host-side lock (one campaign per host, taken on the host itself) is the ``lock`` role and the
``covered_lock`` module; this module decides what the wrapper tells them (docs/remediate.md, "Locks").
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ripreplace import rundir
from ripreplace.exceptions import UsageError

LOCK_FILE = ".lock"
#: Beside a run being resumed (in the runs directory: the run's own directory is never written again), held
#: (flock) by the wrapper resuming it, so a second --resume of the same run is refused.
RESUME_LOCK = ".{run}.resume.lock"
#: Host locks older than this are stale (seconds; the lock role's lock_max_age): longer than any window.
LOCK_MAX_AGE = 86400


def validate_break_lock(run_id: str | None) -> None:
    if run_id is not None and not RUN_ID.fullmatch(run_id):
        raise UsageError(f"--break-lock {run_id!r}: not a run id (letters, digits, '-', '_', '.')")


def lock_held(path: Path, name: str = LOCK_FILE) -> bool:
    """True when another process holds the run's lock (the run is still going), or ``name`` of it."""
    lock = path / name
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


#: What a run id may look like (rundir.new_run_id makes them): never ``.``, ``..`` or a path.
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", re.ASCII)


def lock_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[:40] or "?"
    except OSError:
        return "?"


def chain(runs_dir: Path, run_id: str, manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The run being resumed and the runs it resumed in turn (at most 100): their host locks are ours."""
    chain = [run_id]
    while len(chain) < 100:
        resumes = manifest.get("resumes") if isinstance(manifest, Mapping) else None
        earlier = resumes.get("run") if isinstance(resumes, Mapping) else None
        if not isinstance(earlier, str) or earlier in chain or not RUN_ID.fullmatch(earlier):
            break
        chain.append(earlier)
        try:
            manifest = json.loads((runs_dir / earlier / rundir.MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            break
    return tuple(chain)


def dead_runs(runs_dir: Path, now: float) -> list[str]:
    """Remediate runs of this runs directory that have ended (their .lock is free), of the last LOCK_MAX_AGE:
    a host lock naming one of them (and this controller and runs directory) is stale."""
    dead = []
    try:
        entries = list(os.scandir(runs_dir))
    except OSError:
        return []
    for entry in entries:
        lock = Path(entry.path) / LOCK_FILE
        try:
            if "-remediate-" not in entry.name or now - lock.stat().st_mtime > LOCK_MAX_AGE:
                continue
        except OSError:
            continue
        if not lock_held(Path(entry.path)):
            dead.append(entry.name)
    return sorted(dead)


def refuse_if_being_resumed(runs_dir: Path, run_id: str) -> None:
    resume_lock = RESUME_LOCK.format(run=run_id)
    if lock_held(runs_dir, resume_lock):
        pid = lock_holder(runs_dir / resume_lock)
        raise UsageError(f"--resume {run_id}: that run is already being resumed (pid {pid}); wait for it or stop it")


def hold_resume_lock(previous: Any) -> int:
    """Held for the whole resumed run: a second --resume of the same run is refused (a dead process releases it)."""
    path = previous.path.parent / RESUME_LOCK.format(run=previous.run)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock_holder(path)
        os.close(fd)
        raise UsageError(
            f"--resume {previous.run}: that run is already being resumed (pid {holder}); wait for it or stop it"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def hold_lock(run: rundir.RunDir) -> int:
    """The run's own lock, held (flock) for as long as the run goes: a dead process releases it."""
    fd = os.open(run.path / LOCK_FILE, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
