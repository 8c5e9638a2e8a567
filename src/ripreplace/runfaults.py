# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Faults of the run directory: a full disk, permission denied, a read-only file system.

A run file that cannot be written ends the run cleanly (docs/remediate.md, "Faults"):

- **at the start**, before any host is touched (the run directory, ``manifest.json``, the audit log's
  run-start, the first ``state.json``): one line naming the file and the cause, exit 2
  (:class:`RunDirUnusable`), and the run directory is removed again when it recorded nothing;
- **mid-run** (``state.json``, an audit-log record, ``summary.json``, ansible-runner's artifacts): the
  running batch is cancelled (nothing more is changed on a host while its changes cannot be recorded),
  hosts in flight become ``interrupted``, a ``stop`` record and run-end close the log as far as the disk
  takes them, and the command ends with one line and exit 1 (:class:`RunDirFault`). Nothing already
  written is lost: every JSON file is replaced atomically (the last good ``state.json`` stays), the
  log is only appended to, and no temporary file is left. ``remediate --resume RUN_ID`` continues the
  campaign once the disk is fixed.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ripreplace.exceptions import RunDirFault, RunDirUnusable
from ripreplace.runner import CancelCallback, EventHandler, PlaybookResult

if TYPE_CHECKING:
    from ripreplace.campaign.loop import RunBatch

#: errno values of a run file that cannot be written (a fault of the place, not a bug).
WRITE_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EFBIG,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
    }
)

#: What the audit_log callback prints (as an Ansible error, which reaches the runner's events) when it
#: cannot write the log: the playbook would go on changing hosts with no record of it.
CALLBACK_FAULT_MARKERS = ("[ripreplace.remediation.audit_log] cannot write", "the audit log is NOT being written")


def fault_of(exc: BaseException | None) -> OSError | None:
    """The write fault behind ``exc``: itself, or an OSError it was raised from (its cause or context)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def describe(fault: OSError) -> str:
    """``cannot write /runs/X/state.json: No space left on device``."""
    what = fault.strerror or str(fault)
    where = os.fspath(fault.filename) if fault.filename is not None else None
    return f"cannot write {where}: {what}" if where else f"cannot write the run directory: {what}"


class _Closable(Protocol):
    @property
    def run_id(self) -> str: ...
    @property
    def manifest_path(self) -> Path: ...


class _Run(_Closable, Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def audit_log_path(self) -> Path: ...


def _log_is_open(log: Any, run_id: str) -> bool:
    try:
        return bool(log.writer.open_run() == run_id)
    except Exception:  # a log that cannot even be read back takes no more records
        return False


def close_log(log: Any, run: _Closable, reason: str) -> None:
    """A ``stop`` record (by ``error``) and run-end with status ``error``, as far as the disk takes them."""
    if not _log_is_open(log, run.run_id):
        return
    with contextlib.suppress(Exception):
        log.decision("stop", reason=reason, by="error")
    with contextlib.suppress(Exception):
        log.run_end(status="error", stats={}, manifest_path=run.manifest_path, reason=reason)


def error_reason(exc: BaseException) -> str:
    fault = fault_of(exc)
    text = describe(fault) if fault else f"the wrapper stopped on an error: {exc.__class__.__name__}: {exc}"
    return text[:500]


def discard(run: _Run) -> bool:
    """Remove a run directory that recorded nothing (no audit-log record): what the start left, nothing else.

    Returns True when it is gone. A directory holding anything but the start's own files is kept."""
    log = run.audit_log_path
    try:
        if log.exists() and log.stat().st_size > 0:
            return False
    except OSError:
        return False
    own = {"manifest.json", "audit.jsonl", "state.json", ".lock", "artifacts"}
    try:
        names = os.listdir(run.path)
    except OSError:
        return False
    for name in names:
        path = run.path / name
        if name == "artifacts":
            with contextlib.suppress(OSError):
                path.rmdir()  # only when empty
        elif name in own or (name.startswith(".") and name.endswith(".tmp")):
            with contextlib.suppress(OSError):
                path.unlink()
    with contextlib.suppress(OSError):
        run.path.rmdir()
    return not run.path.exists()


@contextlib.contextmanager
def starting(run: _Run | None, log: Any = None) -> Iterator[None]:
    """The start of a run, before any host is touched: a write fault is one line and exit 2.

    A run directory that recorded nothing is removed; one whose log took run-start is closed (``stop``,
    run-end) and kept."""
    try:
        yield
    except BaseException as exc:
        fault = fault_of(exc)
        if fault is None:
            raise
        kept = ""
        if run is not None:
            if log is not None:
                close_log(log, run, describe(fault))
            if not discard(run):
                kept = f" (run {run.run_id} stopped before touching any host)"
        raise RunDirUnusable(f"{describe(fault)}{kept}: nothing was done on any host") from exc


def after_error(exc: BaseException, run: _Run, *, resume_hint: str) -> BaseException:
    """What the command raises after a run stopped on ``exc``: for a write fault, :class:`RunDirUnusable`
    (exit 2) when the run recorded nothing (its directory is removed), else :class:`RunDirFault` (exit 1);
    any other error is ``exc`` itself."""
    fault = fault_of(exc)
    if fault is None:
        return exc
    if discard(run):
        return RunDirUnusable(f"{describe(fault)}: nothing was done on any host")
    return RunDirFault(f"{describe(fault)}: run {run.run_id} stopped and was closed; {resume_hint}")


class FaultWatch:
    """Watches a batch for write faults: a ``state.json`` that cannot be written (the tracker's ``fault``) or
    an audit log the callback cannot write. Either cancels the running batch (ansible-playbook gets SIGINT,
    then is killed), and the fault is raised once the batch has stopped."""

    def __init__(self, tracker: Any, log_path: Path) -> None:
        self.tracker = tracker
        self.log_path = log_path
        self.callback_fault: OSError | None = None

    def fault(self) -> OSError | None:
        return getattr(self.tracker, "fault", None) or self.callback_fault

    def _seen(self, event: Mapping[str, Any]) -> None:
        text = event.get("stdout")
        if self.callback_fault is None and isinstance(text, str):
            line = " ".join(text.split())  # ansible-core before 2.19 wraps an error at 80 columns
            if not any(m in line for m in CALLBACK_FAULT_MARKERS):
                return
            line = line[:300]
            why = f"the audit_log callback could not record: {line}"
            self.callback_fault = OSError(errno.EIO, why, str(self.log_path))

    def wrap(self, run_batch: RunBatch) -> RunBatch:
        def guarded(
            hosts: Sequence[str], number: int, on_event: EventHandler, cancel: CancelCallback, *, attempt: int = 1
        ) -> PlaybookResult:
            def seen(event: dict[str, Any]) -> None:
                self._seen(event)
                on_event(event)

            def cancelled() -> bool:
                return self.fault() is not None or bool(cancel())

            result = run_batch(hosts, number, seen, cancelled, attempt=attempt)
            fault = self.fault()
            if fault is not None:
                raise fault
            return result

        return guarded
