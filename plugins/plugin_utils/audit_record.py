# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The record format of the audit log (``ripreplace-audit/1``): one JSON object a line.

::

    {"data":{...},"prev":"<64 hex>","run":"<run id>","seq":7,"src":"callback","ts":"...Z","type":"task","v":1,
     "hash":"<64 hex>","hmac":"<64 hex>","sig":"<128 hex>"}

Everything before ``"hash"`` is the *body*: the canonical serialisation of the record (keys sorted,
compact separators, UTF-8, no NaN). ``hash`` is sha256 over exactly those body bytes (with the
closing brace); ``hmac`` (present when a key is configured) HMAC-SHA256 over the same bytes; ``sig``
(run-end records, when a signing key is configured) an Ed25519 signature over the same bytes. The
body carries ``seq`` (0, 1, 2, ... over the whole file) and ``prev`` (the ``hash`` of the record
before it; 64 zeros for the first), so any change, deletion, insertion or reordering breaks the chain.
The full description is ``docs/audit-log.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]

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

DEFAULT_KEY_ENV = "RIPREPLACE_AUDIT_KEY"

HASH_TRAILER = b',"hash":"'
HMAC_TRAILER = b',"hmac":"'
SIG_TRAILER = b',"sig":"'
_HEX_LEN = 64  # sha256 and HMAC-SHA256, hex
_SIG_LEN = 128  # Ed25519, hex
#: ``,"hash":"<64 hex>"`` and ``,"hmac":"<64 hex>"``: the same length.
_TRAILER_LEN = len(HASH_TRAILER) + _HEX_LEN + 1
_SIG_TRAILER_LEN = len(SIG_TRAILER) + _SIG_LEN + 1


class AuditChainError(Exception):
    """The log cannot be written or continued (bad path, corrupt tail, misuse of the API)."""


class AuditLogClosed(AuditChainError):
    """A record other than run-start was appended while no run is open in the log."""


class AuditKeyError(AuditChainError):
    """A key (HMAC or signing) is configured but missing, unreadable, empty or of the wrong kind."""


def canonical(obj: Any) -> bytes:
    """The canonical serialisation: sorted keys, compact separators, UTF-8, strict JSON (no NaN)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def load_key(
    key_file: PathLike | None = None, key_env: str | None = None, environ: Mapping[str, str] | None = None
) -> bytes | None:
    """Return the HMAC key (bytes) or None when none is configured.

    ``key_file``: path of a file whose content (trailing newline stripped) is the key.
    ``key_env``: name of an environment variable holding the key; used when no file is given.
    A key that is configured but missing or empty raises :class:`AuditKeyError`: a log must never be
    silently written or checked without the key its operator asked for.
    """
    environ = os.environ if environ is None else environ
    if key_file:
        path = os.path.expanduser(os.fspath(key_file))
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


def seal(body: Mapping[str, Any], key: bytes | None = None, signer: Any = None) -> tuple[bytes, str]:
    """(the full line with its newline, the record's hash) for a record body.

    ``key``: add the HMAC trailer. ``signer``: a callable taking the body bytes and returning a
    signature (bytes); adds the ``sig`` trailer.
    """
    body_bytes = canonical(body)
    digest = hashlib.sha256(body_bytes).hexdigest()
    line = body_bytes[:-1] + HASH_TRAILER + digest.encode("ascii") + b'"'
    if key is not None:
        line += HMAC_TRAILER + hmac.digest(key, body_bytes, "sha256").hex().encode("ascii") + b'"'
    if signer is not None:
        line += SIG_TRAILER + bytes(signer(body_bytes)).hex().encode("ascii") + b'"'
    return line + b"}\n", digest


class Parsed:
    """One line split into its body bytes, claimed hash/hmac/signature and decoded fields."""

    __slots__ = ("body", "fields", "hash", "mac", "sig")

    def __init__(self, body: bytes, hash_: str, mac: str | None, fields: dict[str, Any], sig: str | None = None):
        self.body = body
        self.hash = hash_
        self.mac = mac
        self.fields = fields
        self.sig = sig


_decode = json.JSONDecoder().raw_decode


def _cut(rest: bytes, trailer: bytes, size: int) -> tuple[bytes, bytes | None]:
    """Split ``...,"<name>":"<size hex>"`` off the end of ``rest`` (closing brace already dropped)."""
    whole = len(trailer) + size + 1
    if rest[-whole : -size - 1] == trailer:
        return rest[:-whole], rest[-size - 1 : -1]
    return rest, None


def parse_line(line: bytes) -> Parsed | None:
    """Parse one line (bytes, without its newline) or return None when it is not a record.

    Only the layout is checked here (hash trailer, optional hmac and sig trailers, a JSON object
    body); whether the hashes are right is the verifier's job.
    """
    if line[-2:] != b'"}':
        return None
    rest, sig = _cut(line[:-1], SIG_TRAILER, _SIG_LEN)
    rest, mac = _cut(rest, HMAC_TRAILER, _HEX_LEN)
    rest, claimed = _cut(rest, HASH_TRAILER, _HEX_LEN)
    if claimed is None:
        return None
    body = rest + b"}"
    try:
        text = body.decode("utf-8")
        fields, end = _decode(text)
        hash_text = claimed.decode("ascii")
        mac_text = mac.decode("ascii") if mac is not None else None
        sig_text = sig.decode("ascii") if sig is not None else None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; RecursionError: nested too deep
        return None
    if end != len(text) or not isinstance(fields, dict):
        return None
    return Parsed(body, hash_text, mac_text, fields, sig_text)


def iter_records(path: PathLike) -> Iterator[dict[str, Any]]:
    """Yield every record of a log as a dict (``hash``, ``hmac``, ``sig`` included); skips bad lines.

    For readers (reports); use the verifier to know whether the records can be trusted.
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
            if parsed.sig is not None:
                record["sig"] = parsed.sig
            yield record
