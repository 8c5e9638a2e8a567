# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Typed access to the audit log for the wrapper: the one door from ``ripreplace`` into the trail.

The log's code lives once, in the collection's ``plugins/plugin_utils/`` (``audit_record``,
``audit_redact``, ``audit_writer``, ``audit_verify``, ``run_files``), because the ``audit_log``
callback must run where this package is not installed (plain ansible-playbook, AWX). This module
loads those files at run time (``collection.load_plugin_util``) and, for mypy, imports the very
same files as the package ``plugin_utils`` (``mypy_path = plugins`` in pyproject.toml): every call
the wrapper makes into the log is type-checked, with no second copy of a signature to drift.

Use it as ``from ripreplace import auditlog`` and then ``auditlog.AuditLog(...)``,
``auditlog.verify(...)``, ``auditlog.load_key(...)``; the API is described in docs/audit-log.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ripreplace import collection

if TYPE_CHECKING:
    from plugin_utils import audit_chain as _chain
    from plugin_utils import run_files as files
else:
    _chain = collection.load_plugin_util("audit_chain")
    files = collection.load_plugin_util("run_files")

__all__ = [
    "ENV_KEY",
    "ENV_KEY_ENV",
    "ENV_KEY_FILE",
    "ENV_SIGNING_KEY_FILE",
    "INCOMPLETE",
    "OK",
    "TAMPERED",
    "Appended",
    "AuditChainError",
    "AuditKeyError",
    "AuditLog",
    "AuditLogClosed",
    "AuditWriter",
    "Keys",
    "Parsed",
    "Redactor",
    "Signer",
    "Verdict",
    "Verifier",
    "canonical",
    "files",
    "generate_signing_key",
    "iter_records",
    "keys_from_env",
    "load_events",
    "load_key",
    "load_signer",
    "load_verifier",
    "locate",
    "parse_line",
    "record_lines",
    "resolve",
    "verify",
    "verify_run",
    "wrapper_run",
]

# Record format and reading.
FORMAT = _chain.FORMAT
GENESIS = _chain.GENESIS
RUN_START = _chain.RUN_START
RUN_END = _chain.RUN_END
TASK = _chain.TASK
DECISION = _chain.DECISION
HOST_STATE = _chain.HOST_STATE
Parsed = _chain.Parsed
canonical = _chain.canonical
parse_line = _chain.parse_line
iter_records = _chain.iter_records

# Redaction markers (what a reader of the log may find in place of a value).
Redactor = _chain.Redactor
REDACTED_SECRET = _chain.REDACTED_SECRET
REDACTED_NO_LOG = _chain.REDACTED_NO_LOG
REDACTED_VALUE = _chain.REDACTED_VALUE

# Writing.
AuditLog = _chain.AuditLog
AuditWriter = _chain.AuditWriter
Appended = _chain.Appended
DEFAULT_KEY_ENV = _chain.DEFAULT_KEY_ENV
load_key = _chain.load_key
record_final_hash = _chain.record_final_hash

# Errors.
AuditChainError = _chain.AuditChainError
AuditKeyError = _chain.AuditKeyError
AuditLogClosed = _chain.AuditLogClosed

# Verifying.
OK = _chain.OK
INCOMPLETE = _chain.INCOMPLETE
TAMPERED = _chain.TAMPERED
Verdict = _chain.Verdict
verify = _chain.verify
verify_run = _chain.verify_run
locate = _chain.locate
#: ("log", <audit.jsonl>) or ("events", <export or job_events dir>) for a PATH verify-log accepts.
resolve = _chain.resolve

# Under an engine (ansible-runner, AWX): the job's events carry the records (audit_engine).
load_events = _chain.load_events
record_lines = _chain.record_lines
engine_identity = _chain.engine_identity

# Signatures (Ed25519): the writer of run-end signs, an auditor verifies with the public key alone.
Signer = _chain.Signer
Verifier = _chain.Verifier
load_signer = _chain.load_signer
load_verifier = _chain.load_verifier
generate_signing_key = _chain.generate

#: Where the wrapper and the callback find the keys (docs/audit-log.md, *Keys*).
ENV_KEY_FILE = "RIPREPLACE_AUDIT_KEY_FILE"
ENV_KEY = DEFAULT_KEY_ENV
ENV_KEY_ENV = "RIPREPLACE_AUDIT_KEY_ENV"
ENV_SIGNING_KEY_FILE = "RIPREPLACE_AUDIT_SIGNING_KEY_FILE"


@dataclasses.dataclass(frozen=True)
class Keys:
    """The keys a run writes its log with: HMAC key and Ed25519 signer, each optional (never printed)."""

    hmac: bytes | None = dataclasses.field(default=None, repr=False)
    signer: Signer | None = dataclasses.field(default=None, repr=False)

    @property
    def verifier(self) -> Verifier | None:
        """The public half of the signing key: the wrapper checks a run it resumes with it."""
        return self.signer.verifier() if self.signer is not None else None


def keys_from_env(environ: Mapping[str, str] | None = None) -> Keys:
    """The keys the operator configured: ``RIPREPLACE_AUDIT_KEY_FILE`` (or the variable that
    ``RIPREPLACE_AUDIT_KEY_ENV`` names, ``RIPREPLACE_AUDIT_KEY`` by default) for the HMAC, and
    ``RIPREPLACE_AUDIT_SIGNING_KEY_FILE`` for the signature. Raises :data:`AuditKeyError` when a
    configured key cannot be read: a log is never written weaker than asked.
    """
    environ = os.environ if environ is None else environ
    hmac_key = load_key(
        key_file=environ.get(ENV_KEY_FILE) or None, key_env=environ.get(ENV_KEY_ENV) or ENV_KEY, environ=environ
    )
    signing = environ.get(ENV_SIGNING_KEY_FILE)
    return Keys(hmac=hmac_key, signer=load_signer(signing) if signing else None)


class RunPaths(Protocol):
    """What :func:`wrapper_run` needs of a run directory (``rundir.RunDir`` has it)."""

    @property
    def run_id(self) -> str: ...

    @property
    def audit_log_path(self) -> Path: ...

    @property
    def manifest_path(self) -> Path: ...


@contextlib.contextmanager
def wrapper_run(
    run: RunPaths, manifest: Mapping[str, Any], keys: Keys, *, tracked: tuple[Path, ...] = ()
) -> Iterator[AuditLog]:
    """The wrapper's log of one run: run-start now; the body writes its records, summary.json, then run-end.

    If the body raises before its run-end, a ``stop`` decision and a run-end with status ``error``
    close the run (the error's class and message as the reason) and the exception goes on::

        with auditlog.wrapper_run(run, manifest, keys) as log:
            result = runner.run_playbook(run, request)
            run.write_summary(summary)
            log.run_end(status=result.status, summary_path=run.summary_path, manifest_path=run.manifest_path)
    """
    with AuditLog(run.audit_log_path, run_id=run.run_id, key=keys.hmac, signer=keys.signer, tracked=tracked) as log:
        log.run_start(manifest)
        try:
            yield log
        except BaseException as exc:
            from ripreplace import runfaults

            # as far as the disk takes them (a full disk: runfaults); the error goes on
            runfaults.close_log(log, run, runfaults.error_reason(exc))
            raise
