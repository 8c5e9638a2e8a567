# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The audit log's writer (:class:`AuditWriter`) and the wrapper's API over it (:class:`AuditLog`).

Writers append with ``O_APPEND`` one full line per ``write()``, under ``fcntl.flock``, so the
callback inside ``ansible-playbook`` and the ``ripreplace`` wrapper can share one file: a writer
re-reads the chain tail under the lock whenever the file grew behind its back. Records are fsynced
in groups by a timer thread, so the thread that writes (ansible's controller) never waits for the disk.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .audit_record import (
    DECISION,
    FORMAT,
    GENESIS,
    HOST_STATE,
    RECORD_TYPES,
    RUN_END,
    RUN_START,
    TRUNCATION,
    VERSION,
    AuditChainError,
    AuditLogClosed,
    PathLike,
    parse_line,
    seal,
)
from .audit_redact import Redactor
from .audit_sign import ALGORITHM, Signer
from .run_files import digests, isotime, name_fault, utcnow, write_json_atomic

DEFAULT_FSYNC_INTERVAL = 1.0
_DECISION_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

Clock = Callable[[], datetime.datetime]
Monotonic = Callable[[], float]


class Appended:
    """What :meth:`AuditWriter.append` wrote: its sequence number, hash and type."""

    __slots__ = ("hash", "seq", "ts", "type")

    def __init__(self, seq: int, hash_: str, type_: str, ts: str) -> None:
        self.seq = seq
        self.hash = hash_
        self.type = type_
        self.ts = ts

    @property
    def count(self) -> int:
        """Records in the file up to and including this one."""
        return self.seq + 1

    def __repr__(self) -> str:
        return f"Appended(seq={self.seq}, type={self.type!r}, hash={self.hash[:12]}...)"


class _Tail:
    """What a writer knows of the end of the file: last seq, hash and type, the open run, its size."""

    __slots__ = ("hash", "last_type", "open_run", "seq", "size")

    def __init__(self) -> None:
        self.reset()
        self.size = -1  # file size after our last look: any other size means someone else wrote

    def reset(self) -> None:
        self.seq = -1
        self.hash = GENESIS
        self.last_type: str | None = None
        self.open_run: str | None = None  # run id of the open run (after run-start, before run-end)

    def take(self, fields: Mapping[str, Any], hash_: str) -> None:
        self.seq = int(fields.get("seq", -1))
        self.hash = hash_
        self.last_type = fields.get("type")
        if self.last_type == RUN_END:
            self.open_run = None
        elif self.last_type == TRUNCATION:
            self.open_run = (fields.get("data") or {}).get("open_run")
        else:
            self.open_run = fields.get("run")


def read_tail(fd: int, size: int) -> tuple[bytes | None, bytes]:
    """Return (last complete line or None, trailing partial fragment) of the first ``size`` bytes."""
    chunk = 65536
    pos = size
    buf = b""
    while True:
        n = min(chunk, pos)
        pos -= n
        buf = os.pread(fd, n, pos) + buf
        last_nl = buf.rfind(b"\n")
        if last_nl == -1:
            if pos == 0:
                return None, buf
            chunk *= 2
            continue
        prev_nl = buf.rfind(b"\n", 0, last_nl)
        if prev_nl == -1 and pos > 0:
            chunk *= 2
            continue
        return buf[prev_nl + 1 : last_nl], buf[last_nl + 1 :]


class AuditWriter:
    """Append records to one audit log, continuing its chain; safe for threads and processes.

    ``clock`` returns an aware ``datetime`` for record timestamps, ``monotonic`` seconds for the
    fsync schedule: both injectable for tests. Records are fsynced in groups: at most
    ``fsync_interval`` seconds of records are at risk on a power loss (a timer syncs a quiet log),
    and :meth:`sync` / :meth:`close` / a run-end always fsync. ``fsync_interval=0`` syncs every record.
    ``signer``: signs the body bytes of every run-end (Ed25519, see ``audit_sign``).
    ``on_line``: called with every line this writer wrote (without its newline), outside the locks:
    the callback prints them into the job's events under ansible-runner (``audit_engine``).
    """

    def __init__(
        self,
        path: PathLike,
        *,
        run_id: str | None = None,
        key: bytes | None = None,
        source: str = "callback",
        clock: Clock | None = None,
        monotonic: Monotonic | None = None,
        fsync_interval: float = DEFAULT_FSYNC_INTERVAL,
        redactor: Redactor | None = None,
        signer: Signer | None = None,
        on_line: Callable[[bytes], None] | None = None,
    ) -> None:
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._on_line = on_line
        self._written: list[bytes] = []
        self.run_id = run_id
        self.source = source
        self._key = key
        self._signer = signer
        self._clock = clock or utcnow
        self._monotonic = monotonic or time.monotonic
        self._interval = float(fsync_interval)
        self.redactor = redactor or Redactor()
        self._lock = threading.RLock()
        self._synced = threading.Condition(self._lock)
        self._syncing = 0
        self._timer: threading.Timer | None = None
        self._dirty = False
        self._last_sync = self._monotonic()
        self._tail = _Tail()
        self._pid = os.getpid()
        self._fd: int | None = self._open()

    def _open(self) -> int:
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise AuditChainError(f"cannot open the audit log {self.path}: {exc.strerror or exc}") from exc
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        except OSError:
            pass  # not ours: leave its mode, the owner decided
        return fd

    # -- context manager ------------------------------------------------------------------
    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tail -----------------------------------------------------------------------------
    def _fd_or_raise(self) -> int:
        if self._fd is None:
            raise AuditChainError("the audit log is closed")
        return self._fd

    def _load_tail_locked(self) -> None:
        fd = self._fd_or_raise()
        size = os.fstat(fd).st_size
        tail = self._tail
        if size == tail.size:
            return
        last, fragment = read_tail(fd, size) if size else (None, b"")
        if last is None:
            tail.reset()
        else:
            parsed = parse_line(last)
            if parsed is None:
                raise AuditChainError(
                    f"cannot continue the audit log {self.path}: its last line is not a valid record "
                    "(run `ripreplace verify-log` on it)"
                )
            tail.take(parsed.fields, parsed.hash)
        tail.size = size
        if fragment:
            # A writer died mid-line (SIGKILL, disk full). End the fragment and say so in the chain:
            # the verifier accepts the fragment only when this record names its length and sha256.
            data = {
                "offset": size - len(fragment),
                "bytes": len(fragment),
                "sha256": hashlib.sha256(fragment).hexdigest(),
                "open_run": tail.open_run,
            }
            run = tail.open_run or self.run_id or "unknown"
            line, appended = self._build(TRUNCATION, data, run)
            self._write_locked(b"\n" + line, appended)

    # -- writing --------------------------------------------------------------------------
    def _build(self, rtype: str, data: dict[str, Any], run: str, ts: str | None = None) -> tuple[bytes, Appended]:
        tail = self._tail
        seq = tail.seq + 1
        ts = ts or isotime(self._clock())
        if rtype == RUN_END:
            data = dict(data)
            data["count"] = seq + 1
            data["chain_head"] = tail.hash
            if self._signer is not None:
                data["signature"] = {"alg": ALGORITHM, "key_id": self._signer.key_id}
        body = {
            "data": data,
            "prev": tail.hash,
            "run": run,
            "seq": seq,
            "src": self.source,
            "ts": ts,
            "type": rtype,
            "v": VERSION,
        }
        line, digest = seal(body, self._key, self._signer if rtype == RUN_END else None)
        return line, Appended(seq, digest, rtype, ts)

    def _write_locked(self, line: bytes, appended: Appended) -> None:
        fd = self._fd_or_raise()
        view = memoryview(line)
        written = 0
        while written < len(line):  # a regular file takes it in one write(); a full disk may not
            try:
                written += os.write(fd, view[written:])
            except InterruptedError:
                continue
            except OSError as exc:  # a full disk, a read-only file system: say which file
                name_fault(exc, self.path)
                raise
        if self._on_line is not None:
            self._written.append(line.strip(b"\n"))
        tail = self._tail
        tail.size += len(line)
        tail.seq = appended.seq
        tail.hash = appended.hash
        tail.last_type = appended.type
        if appended.type == RUN_START:
            tail.open_run = self.run_id
        elif appended.type == RUN_END:
            tail.open_run = None
        self._dirty = True

    def _run_for(self, rtype: str) -> str:
        """The run a new record of ``rtype`` belongs to (raises when it cannot be written now)."""
        if rtype == RUN_START:
            if not self.run_id:
                raise AuditChainError("run-start needs a run id")
            return self.run_id
        open_run = self._tail.open_run
        if open_run is None:
            raise AuditLogClosed(f"no run is open in {self.path}: write run-start first")
        if self.run_id and open_run != self.run_id:
            raise AuditChainError(f"the open run in {self.path} is {open_run}, not {self.run_id}")
        return open_run

    def append(self, rtype: str, data: Mapping[str, Any] | None = None, ts: str | None = None) -> Appended:
        """Append one record of type ``rtype`` with payload ``data`` (cleaned by the redactor).

        run-start opens a run (``run_id`` is required); every other record needs an open run in the
        log, else :class:`AuditLogClosed`. Returns :class:`Appended`.
        """
        if rtype not in RECORD_TYPES or rtype == TRUNCATION:
            raise AuditChainError(f"unknown record type {rtype!r}")
        if os.getpid() != self._pid:
            raise AuditChainError("an AuditWriter cannot be used in a forked child: open a new one")
        clean, redacted = self.redactor.clean(data or {}, exempt=("manifest.sha256",))
        if redacted:
            clean["redacted"] = sorted(set(clean.get("redacted") or []) | set(redacted))
        with self._lock:
            fd = self._fd_or_raise()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self._load_tail_locked()
                line, appended = self._build(rtype, clean, self._run_for(rtype), ts)
                self._write_locked(line, appended)
                if rtype == RUN_END or self._interval <= 0:
                    self._sync_locked()
                else:
                    self._schedule_locked()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._emit()
        return appended

    def _emit(self) -> None:
        """Hand the lines written to ``on_line``, in the order written (under this writer's lock)."""
        if self._on_line is None:
            return
        with self._lock:
            lines, self._written = self._written, []
            for line in lines:
                self._on_line(line)

    def open_run(self) -> str | None:
        """The run id of the run open in the log (run-start written, no run-end yet), or None."""
        with self._lock:
            fd = self._fd_or_raise()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                self._load_tail_locked()
                open_run = self._tail.open_run
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._emit()
        return open_run

    # -- durability -----------------------------------------------------------------------
    def _sync_locked(self) -> None:
        """fsync in the caller's thread (run-end, sync(), close(), fsync_interval=0)."""
        if self._dirty and self._fd is not None:
            self._last_sync = self._monotonic()
            self._dirty = False
            try:
                os.fsync(self._fd)
            except OSError as exc:
                name_fault(exc, self.path)
                raise

    def _schedule_locked(self) -> None:
        """Arm the timer that fsyncs this group of records, at most ``fsync_interval`` after the last sync.

        The fsync itself runs in the timer's thread, outside the locks: the thread that writes
        records (ansible's controller) never waits for the disk.
        """
        if self._timer is None:
            due = max(0.0, self._last_sync + self._interval - self._monotonic())
            self._timer = threading.Timer(due, self._timed_sync)
            self._timer.daemon = True
            self._timer.start()

    def _timed_sync(self) -> None:
        with self._lock:
            self._timer = None
            fd = self._fd
            if fd is None or not self._dirty:
                return
            self._dirty = False
            self._last_sync = self._monotonic()
            self._syncing += 1
        try:
            with contextlib.suppress(OSError):  # the next sync() or close() reports a failing disk
                os.fsync(fd)
        finally:
            with self._lock:
                self._syncing -= 1
                self._synced.notify_all()

    def sync(self) -> None:
        """fsync now whatever was written."""
        with self._lock:
            if self._fd is not None:
                self._dirty = True  # whatever a background sync may be doing, sync again here
                self._sync_locked()

    def close(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            if timer.is_alive() and timer is not threading.current_thread():
                timer.join()
        with self._lock:
            while self._syncing:
                self._synced.wait()
            if self._fd is not None:
                try:
                    self._sync_locked()
                finally:
                    os.close(self._fd)
                    self._fd = None

    @property
    def last(self) -> tuple[int, str]:
        """(seq, hash) of the last record this writer knows of."""
        return self._tail.seq, self._tail.hash


class AuditLog:
    """The small API through which the ``ripreplace`` wrapper writes into a run's log.

    ::

        log = AuditLog(run.audit_log_path, run_id=run.run_id, key=hmac_key, signer=signer,
                       tracked=[run.state_path])
        log.run_start(manifest)                       # once, before the first playbook
        log.decision("window-check", ok=True, window="...", now="...")
        log.decision("batch-start", batch=1, hosts=[...])
        ...  # playbooks run; the callback (RIPREPLACE_WRAPPED=1) adds playbook-start/tasks/playbook-end
        log.decision("batch-end", batch=1, failed=[...])
        log.decision("stop", reason="max-fail exceeded")
        run.write_summary(summary)                    # before run-end: run-end covers it
        end = log.run_end(status="failed", stats={...}, summary_path=run.summary_path,
                          manifest_path=run.manifest_path)
        end.hash, end.count                           # also written into manifest.json["audit_log"]
        log.close()

    ``tracked``: run files (state.json) whose sha256 every decision and the run-end record, under
    ``files``. run-end also records summary.json and manifest.json (``summary_path``,
    ``manifest_path``); the verifier checks the files against the last run-end's ``files``.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        run_id: str,
        key: bytes | None = None,
        source: str = "wrapper",
        clock: Clock | None = None,
        monotonic: Monotonic | None = None,
        fsync_interval: float = DEFAULT_FSYNC_INTERVAL,
        signer: Signer | None = None,
        tracked: Iterable[PathLike] = (),
    ) -> None:
        self.writer = AuditWriter(
            path,
            run_id=run_id,
            key=key,
            source=source,
            clock=clock,
            monotonic=monotonic,
            fsync_interval=fsync_interval,
            signer=signer,
        )
        self.tracked = list(tracked)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_start(self, manifest: Mapping[str, Any], **data: Any) -> Appended:
        payload = dict(data)
        payload["manifest"] = dict(manifest)
        payload.setdefault("format", FORMAT)
        return self.writer.append(RUN_START, payload)

    def decision(self, kind: str, **data: Any) -> Appended:
        """Record one decision of the wrapper: ``kind`` like window-check, batch-start, batch-end, stop.

        The sha256 of every tracked file is added under ``files`` (state.json at each batch end).
        """
        if not isinstance(kind, str) or not _DECISION_KIND.match(kind):
            raise AuditChainError(f"a decision kind is a short lower-case word, not {kind!r}")
        payload = dict(data)
        payload["kind"] = kind
        if self.tracked:
            payload["files"] = digests(self.tracked)
        return self.writer.append(DECISION, payload)

    def host_state(self, host: str, state: str, **data: Any) -> Appended:
        payload = dict(data)
        payload.update(host=host, state=state)
        return self.writer.append(HOST_STATE, payload)

    def run_end(
        self,
        status: str,
        stats: Mapping[str, Any] | None = None,
        manifest_path: PathLike | None = None,
        *,
        summary_path: PathLike | None = None,
        **data: Any,
    ) -> Appended:
        """Close the run: record the sha256 of the run's files, fsync, repeat the final hash into the manifest.

        Write summary.json (and the last manifest.json) first: run-end covers what exists now, and a
        file edited after it fails verification.
        """
        payload = dict(data)
        payload["status"] = status
        payload["stats"] = dict(stats or {})
        covered = [*self.tracked, *(p for p in (summary_path, manifest_path) if p is not None)]
        if covered:
            payload["files"] = digests(covered)
        appended = self.writer.append(RUN_END, payload)
        if manifest_path is not None:
            record_final_hash(manifest_path, appended, log_path=self.writer.path, run_id=self.writer.run_id)
        return appended

    def close(self) -> None:
        self.writer.close()


def record_final_hash(
    manifest_path: PathLike, appended: Appended, log_path: PathLike | None = None, run_id: str | None = None
) -> dict[str, Any]:
    """Repeat a run-end's hash and count under ``manifest.json["audit_log"]``, rewriting atomically.

    Every other key of the manifest is kept as it is; a missing manifest is created.
    """
    manifest: Any
    try:
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if not isinstance(manifest, dict):
            manifest = {"previous_content": manifest}
    except FileNotFoundError:
        manifest = {"format": "ripreplace-manifest/1", "run": run_id}
    manifest["audit_log"] = {
        "format": FORMAT,
        "file": os.path.basename(os.fspath(log_path)) if log_path else "audit.jsonl",
        "final_hash": appended.hash,
        "records": appended.count,
        "ended": appended.ts,
    }
    write_json_atomic(manifest_path, manifest)
    return dict(manifest)
