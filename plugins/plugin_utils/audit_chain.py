# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""The tamper-evident audit log of a ripreplace run: writer, verifier and redaction.

Pure standard library and no relative imports: ansible's loader imports this file for the
``audit_log`` callback (``ansible_collections.ripreplace.remediation.plugins.plugin_utils.audit_chain``)
and the ``ripreplace`` package loads it as a plain module from its path
(``ripreplace.collection.load_plugin_util("audit_chain")``). The format is documented in
``docs/audit-log.md``; in short, one JSON object a line::

    {"data":{...},"prev":"<64 hex>","run":"<run id>","seq":7,"src":"callback","ts":"...Z","type":"task","v":1,
     "hash":"<64 hex>","hmac":"<64 hex>"}

Everything before ``"hash"`` is the *body*: the canonical serialisation of the record (keys sorted,
compact separators, UTF-8, no NaN). ``hash`` is sha256 over exactly those body bytes (with the
closing brace), ``hmac`` (present when a key is configured) HMAC-SHA256 over the same bytes. The
body carries ``seq`` (0, 1, 2, ... over the whole file) and ``prev`` (the ``hash`` of the record
before it; 64 zeros for the first), so any change, deletion, insertion or reordering breaks the chain.

Writers append with ``O_APPEND`` one full line per ``write()``, under ``fcntl.flock``, so the
callback inside ``ansible-playbook`` and the ``ripreplace`` wrapper can share one file: a writer
re-reads the chain tail under the lock whenever the file grew behind its back.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import hmac
import json
import math
import os
import re
import threading
import time

FORMAT = "ripreplace-audit/1"
VERSION = 1
GENESIS = "0" * 64

RUN_START = "run-start"
RUN_END = "run-end"
PLAYBOOK_START = "playbook-start"
PLAYBOOK_END = "playbook-end"
PLAY_START = "play-start"
TASK = "task"
ITEM = "item"
RETRY = "retry"
HOST_STATE = "host-state"
DECISION = "decision"
TRUNCATION = "truncation"
RECORD_TYPES = (
    RUN_START,
    RUN_END,
    PLAYBOOK_START,
    PLAYBOOK_END,
    PLAY_START,
    TASK,
    ITEM,
    RETRY,
    HOST_STATE,
    DECISION,
    TRUNCATION,
)

#: Verdict statuses of :func:`verify`.
OK = "ok"
INCOMPLETE = "incomplete"
TAMPERED = "tampered"

DEFAULT_KEY_ENV = "RIPREPLACE_AUDIT_KEY"
DEFAULT_FSYNC_INTERVAL = 1.0

_HASH_TRAILER = b',"hash":"'
_HMAC_TRAILER = b',"hmac":"'
_TRAILER_LEN = len(_HASH_TRAILER) + 64 + 1  # ,"hash":"<64 hex>"
_DECISION_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class AuditChainError(Exception):
    """The log cannot be written or continued (bad path, corrupt tail, misuse of the API)."""


class AuditLogClosed(AuditChainError):
    """A record other than run-start was appended while no run is open in the log."""


class AuditKeyError(AuditChainError):
    """The HMAC key is configured but missing, unreadable or empty."""


# --------------------------------------------------------------------------------------------
# time, canonical form, keys


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def isotime(when):
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2026-12-05T06:00:00.000Z``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical(obj):
    """The canonical serialisation: sorted keys, compact separators, UTF-8, strict JSON (no NaN)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def load_key(key_file=None, key_env=None, environ=None):
    """Return the HMAC key (bytes) or None when none is configured.

    ``key_file``: path of a file whose content (trailing newline stripped) is the key.
    ``key_env``: name of an environment variable holding the key; used when no file is given.
    A key that is configured but missing or empty raises :class:`AuditKeyError`: a log must never be
    silently written or checked without the key its operator asked for.
    """
    environ = os.environ if environ is None else environ
    if key_file:
        path = os.path.expanduser(str(key_file))
        try:
            with open(path, "rb") as handle:
                key = handle.read().rstrip(b"\r\n")
        except OSError as exc:
            raise AuditKeyError(f"cannot read the audit key file {path}: {exc.strerror or exc}") from exc
        if not key:
            raise AuditKeyError(f"the audit key file {path} is empty")
        return key
    if key_env and environ.get(key_env):
        return environ[key_env].encode("utf-8")
    return None


# --------------------------------------------------------------------------------------------
# privacy: redaction and truncation

#: Field names whose values are never written (matched case-insensitively anywhere in the name).
SECRET_NAME = re.compile(r"pass(?:word|wd|phrase)|secret|token|key|credential", re.IGNORECASE)
REDACTED_SECRET = "<redacted: secret-named field>"  # noqa: S105 - the marker, not a password
REDACTED_NO_LOG = "<redacted: no_log>"
REDACTED_EXTRA_VAR = "<redacted: extra var>"


class Redactor:
    """Make arbitrary data safe and bounded for the log.

    - values under a key named like password/passwd/passphrase/secret/token/key/credential
      (case-insensitive, at any depth) become :data:`REDACTED_SECRET`;
    - any occurrence of a scrubbed value (the run's extra vars) inside a string becomes
      :data:`REDACTED_EXTRA_VAR`;
    - strings, lists and depth are truncated, with a marker saying how much was left out;
    - anything not JSON (sets, bytes, objects, NaN) becomes JSON.

    :meth:`clean` returns ``(clean_data, redacted)``; ``redacted`` lists the paths left out, so the
    record can say what is missing.
    """

    def __init__(self, *, scrub_values=(), max_string=2048, max_items=100, max_depth=8, budget=65536, min_scrub=6):
        self.max_string = max_string
        self.max_items = max_items
        self.max_depth = max_depth
        self.budget = budget
        self.min_scrub = min_scrub
        self._scrub = None
        self._keys = {}
        self.set_scrub_values(scrub_values)

    def set_scrub_values(self, values):
        strings = sorted({v for v in values if isinstance(v, str) and len(v) >= self.min_scrub}, key=len, reverse=True)
        self._scrub = re.compile("|".join(re.escape(v) for v in strings)) if strings else None

    def scrub_values_from(self, data):
        """Collect every scalar value of ``data`` (nested), as strings, for :meth:`set_scrub_values`."""
        out = []
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, (list, tuple, set, frozenset)):
                stack.extend(item)
            elif isinstance(item, bool) or item is None:
                continue
            elif isinstance(item, (str, int, float)):
                out.append(str(item))
        return out

    def clean(self, data, path="", exempt=()):
        state = {"budget": self.budget, "redacted": []}
        return self._clean(data, path, 0, state, frozenset(exempt)), state["redacted"]

    def _string(self, value, path, state):
        if self._scrub is not None and self._scrub.search(value):
            value = self._scrub.sub(REDACTED_EXTRA_VAR, value)
            state["redacted"].append(f"{path or '.'}: extra var value")
        size = len(value)
        if size > 64 and size > min(self.max_string, state["budget"]):
            limit = max(min(self.max_string, state["budget"]), 64)
            value = f"{value[:limit]}...<truncated {size - limit} chars>"
            size = len(value)
        state["budget"] -= size
        if not value.isascii():
            # lone surrogates cannot be UTF-8 encoded: replace them so the line is always valid UTF-8
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                value = value.encode("utf-8", "replace").decode("utf-8")
        return value

    def _key(self, key, path, state):
        """(clean key, is secret-named) with a cache: the same few keys come back all the time."""
        if not isinstance(key, str):
            key = str(key)
        hit = self._keys.get(key)
        if hit is None:
            if len(self._keys) > 4096:
                self._keys.clear()
            clean = (
                key if key.isascii() and len(key) <= 256 else self._string(key, path, {"budget": 256, "redacted": []})
            )
            hit = self._keys[key] = (clean, bool(SECRET_NAME.search(clean)))
        if self._scrub is not None and self._scrub.search(hit[0]):
            return self._string(hit[0], path, state), hit[1]
        return hit

    def _clean(self, obj, path, depth, state, exempt):  # noqa: PLR0911 - one return per kind of value
        kind = type(obj)
        if kind is str:
            return self._string(obj, path, state)
        if obj is None or kind is bool or kind is int:
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else str(obj)
        if isinstance(obj, str):
            return self._string(str(obj), path, state)
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return self._clean(float(obj), path, depth, state, exempt)
        if isinstance(obj, (bytes, bytearray)):
            return self._string(bytes(obj).decode("utf-8", "replace"), path, state)
        if depth >= self.max_depth or state["budget"] <= 0:
            return "<truncated: too deep or too large>"
        if isinstance(obj, dict):
            out = {}
            for count, (key, value) in enumerate(obj.items()):
                if count >= self.max_items * 10:
                    out["<truncated>"] = f"{len(obj) - count} more keys"
                    break
                skey, secret = self._key(key, path, state)
                child = f"{path}.{skey}" if path else skey
                if secret and not _exempt(path, exempt):
                    out[skey] = REDACTED_SECRET
                    state["redacted"].append(f"{child}: secret-named field")
                    continue
                out[skey] = self._clean(value, child, depth + 1, state, exempt)
            return out
        if isinstance(obj, (list, tuple, set, frozenset)):
            items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
            out_list = [
                self._clean(v, f"{path}[{i}]", depth + 1, state, exempt) for i, v in enumerate(items[: self.max_items])
            ]
            if len(items) > self.max_items:
                out_list.append(f"<truncated {len(items) - self.max_items} more items>")
            return out_list
        return self._string(str(obj), path, state)


def _exempt(path, exempt):
    return any(path == prefix or path.startswith(prefix + ".") for prefix in exempt)


# --------------------------------------------------------------------------------------------
# parsing one line


class Parsed:
    """One line split into its body bytes, claimed hash/hmac and decoded fields."""

    __slots__ = ("body", "fields", "hash", "mac")

    def __init__(self, body, hash_, mac, fields):
        self.body = body
        self.hash = hash_
        self.mac = mac
        self.fields = fields


_decode = json.JSONDecoder().raw_decode


def parse_line(line):
    """Parse one line (bytes, without its newline) or return None when it is not a record.

    Only the layout is checked here (hash trailer, optional hmac trailer, a JSON object body);
    whether the hashes are right is :func:`verify`'s job.
    """
    if line[-2:] != b'"}':
        return None
    rest = line[:-1]  # drop the closing brace
    if rest[-74:-65] == _HMAC_TRAILER:
        mac = rest[-65:-1]
        rest = rest[:-74]
    else:
        mac = None
    if rest[-_TRAILER_LEN:-65] != _HASH_TRAILER:
        return None
    hash_ = rest[-65:-1]
    body = rest[:-_TRAILER_LEN] + b"}"
    try:
        text = body.decode("utf-8")
        fields, end = _decode(text)
        hash_text = hash_.decode("ascii")
        mac_text = mac.decode("ascii") if mac is not None else None
    except (ValueError, UnicodeDecodeError):
        return None
    if end != len(text) or not isinstance(fields, dict):
        return None
    return Parsed(body, hash_text, mac_text, fields)


def iter_records(path):
    """Yield every record of a log as a dict (``hash`` and ``hmac`` included); skips bad lines.

    For readers (reports); use :func:`verify` to know whether the records can be trusted.
    """
    with open(path, "rb") as handle:
        for raw in handle:
            parsed = parse_line(raw.rstrip(b"\n"))
            if parsed is None:
                continue
            record = dict(parsed.fields)
            record["hash"] = parsed.hash
            if parsed.mac is not None:
                record["hmac"] = parsed.mac
            yield record


# --------------------------------------------------------------------------------------------
# the writer


class Appended:
    """What :meth:`AuditWriter.append` wrote: its sequence number, hash and type."""

    __slots__ = ("hash", "seq", "ts", "type")

    def __init__(self, seq, hash_, type_, ts):
        self.seq = seq
        self.hash = hash_
        self.type = type_
        self.ts = ts

    @property
    def count(self):
        """Records in the file up to and including this one."""
        return self.seq + 1

    def __repr__(self):
        return f"Appended(seq={self.seq}, type={self.type!r}, hash={self.hash[:12]}...)"


class AuditWriter:
    """Append records to one audit log, continuing its chain; safe for threads and processes.

    ``clock`` returns an aware ``datetime`` for record timestamps, ``monotonic`` seconds for the
    fsync schedule: both injectable for tests. Records are fsynced in groups: at most
    ``fsync_interval`` seconds of records are at risk on a power loss (a timer syncs a quiet log),
    and :meth:`sync` / :meth:`close` / a run-end always fsync. ``fsync_interval=0`` syncs every record.
    """

    def __init__(
        self,
        path,
        *,
        run_id=None,
        key=None,
        source="callback",
        clock=None,
        monotonic=None,
        fsync_interval=DEFAULT_FSYNC_INTERVAL,
        redactor=None,
    ):
        self.path = os.path.abspath(os.path.expanduser(str(path)))
        self.run_id = run_id
        self.source = source
        self._key = key
        self._clock = clock or utcnow
        self._monotonic = monotonic or time.monotonic
        self._interval = float(fsync_interval)
        self.redactor = redactor or Redactor()
        self._lock = threading.RLock()
        self._synced = threading.Condition(self._lock)
        self._syncing = 0
        self._timer = None
        self._dirty = False
        self._last_sync = self._monotonic()
        self._size = -1  # file size after our last look: any other size means someone else wrote
        self._seq = -1
        self._hash = GENESIS
        self._last_type = None
        self._open_run = None  # run id of the open run (after run-start, before run-end)
        self._pid = os.getpid()
        parent = os.path.dirname(self.path)
        try:
            os.makedirs(parent, mode=0o700, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise AuditChainError(f"cannot open the audit log {self.path}: {exc.strerror or exc}") from exc
        try:
            if os.fstat(self._fd).st_mode & 0o077:
                os.fchmod(self._fd, 0o600)
        except OSError:
            pass  # not ours: leave its mode, the owner decided

    # -- context manager ------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- tail -----------------------------------------------------------------------------
    def _read_tail(self, size):
        """Return (last complete line or None, trailing partial fragment) of the file."""
        chunk = 65536
        pos = size
        buf = b""
        while True:
            n = min(chunk, pos)
            pos -= n
            buf = os.pread(self._fd, n, pos) + buf
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

    def _load_tail_locked(self):
        size = os.fstat(self._fd).st_size
        if size == self._size:
            return
        if size == 0:
            self._seq, self._hash, self._last_type, self._open_run = -1, GENESIS, None, None
            self._size = 0
            return
        last, fragment = self._read_tail(size)
        if last is None:
            self._seq, self._hash, self._last_type, self._open_run = -1, GENESIS, None, None
        else:
            parsed = parse_line(last)
            if parsed is None:
                raise AuditChainError(
                    f"cannot continue the audit log {self.path}: its last line is not a valid record "
                    "(run `ripreplace verify-log` on it)"
                )
            fields = parsed.fields
            self._seq = int(fields.get("seq", -1))
            self._hash = parsed.hash
            self._last_type = fields.get("type")
            if self._last_type == RUN_END:
                self._open_run = None
            elif self._last_type == TRUNCATION:
                self._open_run = (fields.get("data") or {}).get("open_run")
            else:
                self._open_run = fields.get("run")
        self._size = size
        if fragment:
            # A writer died mid-line (SIGKILL, disk full). End the fragment and say so in the chain:
            # the verifier accepts the fragment only when this record names its length and sha256.
            data = {
                "offset": size - len(fragment),
                "bytes": len(fragment),
                "sha256": hashlib.sha256(fragment).hexdigest(),
                "open_run": self._open_run,
            }
            run = self._open_run or self.run_id or "unknown"
            line, appended = self._build(TRUNCATION, data, run)
            self._write_locked(b"\n" + line, appended)

    # -- writing --------------------------------------------------------------------------
    def _build(self, rtype, data, run, ts=None):
        seq = self._seq + 1
        ts = ts or isotime(self._clock())
        if rtype == RUN_END:
            data = dict(data)
            data["count"] = seq + 1
            data["chain_head"] = self._hash
        body = {
            "data": data,
            "prev": self._hash,
            "run": run,
            "seq": seq,
            "src": self.source,
            "ts": ts,
            "type": rtype,
            "v": VERSION,
        }
        body_bytes = canonical(body)
        digest = hashlib.sha256(body_bytes).hexdigest()
        line = body_bytes[:-1] + _HASH_TRAILER + digest.encode("ascii") + b'"'
        if self._key is not None:
            mac = hmac.digest(self._key, body_bytes, "sha256").hex()
            line += _HMAC_TRAILER + mac.encode("ascii") + b'"'
        line += b"}\n"
        return line, Appended(seq, digest, rtype, ts)

    def _write_locked(self, line, appended):
        view = memoryview(line)
        written = 0
        while written < len(line):  # a regular file takes it in one write(); a full disk may not
            try:
                written += os.write(self._fd, view[written:])
            except InterruptedError:
                continue
        self._size += len(line)
        self._seq = appended.seq
        self._hash = appended.hash
        self._last_type = appended.type
        if appended.type == RUN_START:
            self._open_run = self.run_id
        elif appended.type == RUN_END:
            self._open_run = None
        self._dirty = True

    def append(self, rtype, data=None, ts=None):
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
            if self._fd is None:
                raise AuditChainError("the audit log is closed")
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._load_tail_locked()
                if rtype == RUN_START:
                    if not self.run_id:
                        raise AuditChainError("run-start needs a run id")
                    run = self.run_id
                else:
                    if self._open_run is None:
                        raise AuditLogClosed(f"no run is open in {self.path}: write run-start first")
                    if self.run_id and self._open_run != self.run_id:
                        raise AuditChainError(f"the open run in {self.path} is {self._open_run}, not {self.run_id}")
                    run = self._open_run
                line, appended = self._build(rtype, clean, run, ts)
                self._write_locked(line, appended)
                if rtype == RUN_END or self._interval <= 0:
                    self._sync_locked()
                else:
                    self._schedule_locked()
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return appended

    def open_run(self):
        """The run id of the run open in the log (run-start written, no run-end yet), or None."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._load_tail_locked()
                return self._open_run
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    # -- durability -----------------------------------------------------------------------
    def _sync_locked(self):
        """fsync in the caller's thread (run-end, sync(), close(), fsync_interval=0)."""
        if self._dirty and self._fd is not None:
            self._last_sync = self._monotonic()
            self._dirty = False
            os.fsync(self._fd)

    def _schedule_locked(self):
        """Arm the timer that fsyncs this group of records, at most ``fsync_interval`` after the last sync.

        The fsync itself runs in the timer's thread, outside the locks: the thread that writes
        records (ansible's controller) never waits for the disk.
        """
        if self._timer is None:
            due = max(0.0, self._last_sync + self._interval - self._monotonic())
            self._timer = threading.Timer(due, self._timed_sync)
            self._timer.daemon = True
            self._timer.start()

    def _timed_sync(self):
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

    def sync(self):
        """fsync now whatever was written."""
        with self._lock:
            if self._fd is not None:
                self._dirty = True  # whatever a background sync may be doing, sync again here
                self._sync_locked()

    def close(self):
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
    def last(self):
        """(seq, hash) of the last record this writer knows of."""
        return self._seq, self._hash


# --------------------------------------------------------------------------------------------
# the API the wrapper uses


class AuditLog:
    """The small API through which the ``ripreplace`` wrapper writes into a run's log.

    ::

        log = AuditLog(run.audit_log_path, run_id=run.run_id, key=load_key(key_file, "RIPREPLACE_AUDIT_KEY"))
        log.run_start(manifest)                       # once, before the first playbook
        log.decision("window-check", ok=True, window="...", now="...")
        log.decision("batch-start", batch=1, hosts=[...])
        ...  # playbooks run; the callback (RIPREPLACE_WRAPPED=1) adds playbook-start/tasks/playbook-end
        log.decision("batch-end", batch=1, failed=[...])
        log.decision("stop", reason="max-fail exceeded")
        end = log.run_end(status="failed", stats={...}, manifest_path=run.manifest_path)
        end.hash, end.count                           # also written into manifest.json["audit_log"]
        log.close()
    """

    def __init__(self, path, *, run_id, key=None, source="wrapper", clock=None, monotonic=None, fsync_interval=1.0):
        self.writer = AuditWriter(
            path,
            run_id=run_id,
            key=key,
            source=source,
            clock=clock,
            monotonic=monotonic,
            fsync_interval=fsync_interval,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run_start(self, manifest, **data):
        payload = dict(data)
        payload["manifest"] = dict(manifest)
        payload.setdefault("format", FORMAT)
        return self.writer.append(RUN_START, payload)

    def decision(self, kind, **data):
        """Record one decision of the wrapper: ``kind`` like window-check, batch-start, batch-end, stop."""
        if not isinstance(kind, str) or not _DECISION_KIND.match(kind):
            raise AuditChainError(f"a decision kind is a short lower-case word, not {kind!r}")
        payload = dict(data)
        payload["kind"] = kind
        return self.writer.append(DECISION, payload)

    def host_state(self, host, state, **data):
        payload = dict(data)
        payload.update(host=host, state=state)
        return self.writer.append(HOST_STATE, payload)

    def run_end(self, status, stats=None, manifest_path=None, **data):
        """Close the run; fsyncs; repeats the final hash into ``manifest_path`` when given."""
        payload = dict(data)
        payload["status"] = status
        payload["stats"] = stats or {}
        appended = self.writer.append(RUN_END, payload)
        if manifest_path is not None:
            record_final_hash(manifest_path, appended, log_path=self.writer.path, run_id=self.writer.run_id)
        return appended

    def close(self):
        self.writer.close()


def write_json_atomic(path, data):
    """Write JSON to a temporary file beside ``path``, fsync, rename, fsync the directory."""
    path = str(path)
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dirfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def record_final_hash(manifest_path, appended, log_path=None, run_id=None):
    """Repeat a run-end's hash and count under ``manifest.json["audit_log"]``, rewriting atomically.

    Every other key of the manifest is kept as it is; a missing manifest is created.
    """
    manifest_path = str(manifest_path)
    try:
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if not isinstance(manifest, dict):
            manifest = {"previous_content": manifest}
    except FileNotFoundError:
        manifest = {"format": "ripreplace-manifest/1", "run": run_id}
    manifest["audit_log"] = {
        "format": FORMAT,
        "file": os.path.basename(log_path) if log_path else "audit.jsonl",
        "final_hash": appended.hash,
        "records": appended.count,
        "ended": appended.ts,
    }
    write_json_atomic(manifest_path, manifest)
    return manifest


# --------------------------------------------------------------------------------------------
# the verifier


class Verdict:
    """The outcome of :func:`verify`. ``status`` is ok, incomplete or tampered; ``line`` and ``seq``
    name the first bad record (1-based line number) when there is one."""

    def __init__(self, status, message, records, runs, *, line=None, seq=None, final_hash=None, notes=()):
        self.status = status
        self.message = message
        self.records = records
        self.runs = runs
        self.line = line
        self.seq = seq
        self.final_hash = final_hash
        self.notes = list(notes)

    @property
    def ok(self):
        return self.status == OK

    def one_line(self):
        head = {OK: "OK", INCOMPLETE: "INCOMPLETE RUN", TAMPERED: "TAMPERED"}[self.status]
        text = f"{head}: {self.message}"
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text

    def as_dict(self):
        return {
            "status": self.status,
            "message": self.message,
            "records": self.records,
            "runs": self.runs,
            "line": self.line,
            "seq": self.seq,
            "final_hash": self.final_hash,
            "notes": self.notes,
        }

    def __repr__(self):
        return f"Verdict({self.one_line()!r})"


def verify(path, key=None, expected_final_hash=None, expected_records=None):
    """Check a whole log; return a :class:`Verdict` naming the first bad record.

    ``key``: check every record's HMAC (a record without one, or with a wrong one, is forged).
    ``expected_final_hash`` / ``expected_records``: what the manifest repeats; checked when the log
    is complete.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, the loop is long
    except OSError as exc:
        raise AuditChainError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        return _verify_stream(handle, key, expected_final_hash, expected_records)


def _verify_stream(handle, key, expected_final_hash, expected_records):  # noqa: PLR0911 - one verdict per case
    sha256 = hashlib.sha256
    compare = hmac.compare_digest
    decode = _decode
    mac_base = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
    hash_trailer = _HASH_TRAILER
    hmac_trailer = _HMAC_TRAILER

    expected_seq = 0
    prev = GENESIS
    open_run = None  # run id of the segment being read
    open_line = 0
    runs = 0
    incomplete_runs = []
    records = 0
    offset = 0
    lineno = 0
    fragment = None  # (lineno, offset, bytes) of an unparseable line awaiting a truncation record
    no_mac = 0

    def bad(message, seq=None):
        return Verdict(
            TAMPERED,
            f"line {lineno}{f' (seq {seq})' if seq is not None else ''}: {message}",
            records,
            runs,
            line=lineno,
            seq=seq,
        )

    for raw in handle:
        lineno += 1
        if not raw.endswith(b"\n"):
            # the last line of the file, cut short: a writer died mid-record
            where = f"line {lineno} is a partial record of {len(raw)} bytes (truncated)"
            return Verdict(
                INCOMPLETE,
                f"{where}; all {records} complete records before it verify",
                records,
                runs,
                line=lineno,
                seq=expected_seq,
                final_hash=prev,
            )
        # the layout of parse_line, inlined: this loop is the verifier's hot path
        fields = body = claimed = mac = None
        if raw[-3:] == b'"}\n':
            rest = raw[:-2]
            if rest[-74:-65] == hmac_trailer:
                mac = rest[-65:-1]
                rest = rest[:-74]
            else:
                mac = None
            if rest[-74:-65] == hash_trailer:
                claimed = rest[-65:-1]
                body = rest[:-74] + b"}"
                try:
                    text = body.decode("utf-8")
                    fields, end = decode(text)
                    if end != len(text) or not isinstance(fields, dict):
                        fields = None
                except ValueError:  # UnicodeDecodeError is a ValueError
                    fields = None
        if fields is None:
            if fragment is not None:
                lineno = fragment[0]
                return bad("is not a valid record (malformed or edited)")
            fragment = (lineno, offset, raw[:-1])
            offset += len(raw)
            continue
        offset += len(raw)
        seq = fields.get("seq")
        if sha256(body).hexdigest().encode() != claimed:
            return bad("record was modified (its hash does not match its content)", seq)
        if mac_base is not None:
            if mac is None:
                return bad("record has no HMAC: forged, or written without the key", seq)
            check = mac_base.copy()
            check.update(body)
            if not compare(check.hexdigest().encode(), mac):
                return bad("HMAC does not match: record forged, or the wrong key was given", seq)
        elif mac is None:
            no_mac += 1
        if fragment is not None:
            data = fields.get("data") or {}
            frag_line, frag_offset, frag = fragment
            if (
                fields.get("type") != TRUNCATION
                or data.get("bytes") != len(frag)
                or data.get("offset") != frag_offset
                or data.get("sha256") != sha256(frag).hexdigest()
            ):
                lineno = frag_line
                return bad("is not a valid record (malformed or edited)")
        elif fields.get("type") == TRUNCATION:
            return bad("truncation record without a truncated line before it", seq)
        if not isinstance(seq, int) or isinstance(seq, bool):
            return bad("record has no sequence number", seq)
        if seq != expected_seq:
            if seq > expected_seq:
                return bad(
                    f"sequence jumps from {expected_seq - 1} to {seq}: {seq - expected_seq} record(s) "
                    "deleted (or reordered) before this line",
                    seq,
                )
            return bad(
                f"sequence goes back to {seq} after {expected_seq - 1}: record inserted, duplicated or reordered",
                seq,
            )
        if fields.get("prev") != prev:
            return bad("chain broken: prev is not the hash of the record before (inserted, deleted or replaced)", seq)
        if fields.get("v") != VERSION:
            return bad(f"unknown record format version {fields.get('v')!r}", seq)
        rtype = fields.get("type")
        run = fields.get("run")
        if rtype == RUN_START:
            if open_run is not None:
                incomplete_runs.append((open_run, open_line))
            open_run = run
            open_line = lineno
            runs += 1
        elif rtype == TRUNCATION:
            fragment = None
        elif rtype not in RECORD_TYPES:
            return bad(f"unknown record type {rtype!r}", seq)
        elif open_run is None:
            what = "after run-end" if runs else "before any run-start"
            return bad(f"{rtype} record {what}: records deleted or appended", seq)
        elif run != open_run:
            return bad(f"record belongs to run {run!r}, not {open_run!r}: spliced from another log", seq)
        if rtype == RUN_END:
            data = fields.get("data") or {}
            if data.get("count") != seq + 1 or data.get("chain_head") != prev:
                return bad("run-end count or chain head does not match the records before it", seq)
            open_run = None
        records += 1
        prev = claimed.decode("ascii")
        expected_seq = seq + 1

    if fragment is not None:
        lineno = fragment[0]
        return bad("is not a valid record (malformed or edited)")
    if records == 0:
        return Verdict(INCOMPLETE, "the log holds no record (no run-start)", 0, 0, line=1, seq=0, final_hash=prev)
    notes = []
    if key is None and no_mac < records:
        notes.append("HMAC present but not checked: no key given")
    if open_run is not None:
        incomplete_runs.append((open_run, open_line))
    if incomplete_runs:
        run_id, start = incomplete_runs[-1]
        return Verdict(
            INCOMPLETE,
            f"run {run_id} (run-start at line {start}) has no run-end: the run was killed or is still going; "
            f"all {records} records verify",
            records,
            runs,
            line=lineno + 1,
            seq=expected_seq,
            final_hash=prev,
            notes=notes,
        )
    if expected_final_hash is not None and expected_final_hash != prev:
        return Verdict(
            TAMPERED,
            f"the log ends with hash {prev[:16]}... but the manifest records {str(expected_final_hash)[:16]}...: "
            "records added or removed after run-end, or the manifest replaced",
            records,
            runs,
            line=lineno,
            seq=expected_seq - 1,
            final_hash=prev,
        )
    if expected_records is not None and expected_records != records:
        return Verdict(
            TAMPERED,
            f"the log holds {records} records but the manifest records {expected_records}",
            records,
            runs,
            line=lineno,
            seq=expected_seq - 1,
            final_hash=prev,
        )
    if key is not None:
        notes.insert(0, "HMAC verified")
    return Verdict(
        OK,
        f"{records} records, {runs} run(s), chain intact, final hash {prev}",
        records,
        runs,
        final_hash=prev,
        notes=notes,
    )
