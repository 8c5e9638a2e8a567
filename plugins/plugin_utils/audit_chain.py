# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The tamper-evident audit log of a ripreplace run, in one name: format, redaction, writer, verifier.

The parts live in their own modules and are gathered here for readers that want them all:

- ``audit_record``: the record format (canonical body, hash/HMAC/signature trailers, ``parse_line``);
- ``audit_redact``: what a record may hold (secret names, no_log, bounds);
- ``audit_writer``: :class:`AuditWriter` (append, continue a chain, group fsync) and the wrapper's
  :class:`AuditLog`;
- ``audit_verify``: :func:`verify` and its :class:`Verdict`;
- ``audit_sign``: Ed25519 signatures of run-end records (:class:`Signer`, :class:`Verifier`);
- ``audit_rundir``: :func:`verify_run`, the verdict of a whole run directory (or of a job's events);
- ``audit_engine``: under ansible-runner and AWX: the job's identity, the records in the job's events;
- ``run_files``: clock, hashes, atomic JSON and the manifest, shared with the wrapper.

Ansible's loader imports these for the ``audit_log`` callback
(``ansible_collections.ripreplace.remediation.plugins.plugin_utils.*``); the ``ripreplace``
package loads them as the package ``ripreplace._plugin_utils`` and reaches them, typed, through
``ripreplace.auditlog``. The format is documented in ``docs/audit-log.md``.
"""

from __future__ import annotations

from .audit_engine import EMIT_PREFIX, engine_identity, load_events, record_lines
from .audit_record import (
    DECISION,
    DEFAULT_KEY_ENV,
    FORMAT,
    GENESIS,
    HOST_STATE,
    ITEM,
    PLAY_START,
    PLAYBOOK_END,
    PLAYBOOK_START,
    RECORD_TYPES,
    RETRY,
    RUN_END,
    RUN_START,
    TASK,
    TRUNCATION,
    VERSION,
    AuditChainError,
    AuditKeyError,
    AuditLogClosed,
    Parsed,
    canonical,
    iter_records,
    load_key,
    parse_line,
    seal,
)
from .audit_redact import (
    DECLARED_SECRETS_VAR,
    REDACTED_NO_LOG,
    REDACTED_SECRET,
    REDACTED_VALUE,
    SECRET_NAME,
    Redactor,
    is_secret_name,
    secret_values,
)
from .audit_rundir import locate, read_manifest, resolve, verify_events, verify_run
from .audit_sign import Signer, Verifier, generate, load_signer, load_verifier
from .audit_verify import INCOMPLETE, OK, TAMPERED, Verdict, verify
from .audit_writer import DEFAULT_FSYNC_INTERVAL, Appended, AuditLog, AuditWriter, record_final_hash
from .run_files import isotime, utcnow, write_json_atomic

__all__ = [
    "DECISION",
    "DECLARED_SECRETS_VAR",
    "DEFAULT_FSYNC_INTERVAL",
    "DEFAULT_KEY_ENV",
    "EMIT_PREFIX",
    "FORMAT",
    "GENESIS",
    "HOST_STATE",
    "INCOMPLETE",
    "ITEM",
    "OK",
    "PLAYBOOK_END",
    "PLAYBOOK_START",
    "PLAY_START",
    "RECORD_TYPES",
    "REDACTED_NO_LOG",
    "REDACTED_SECRET",
    "REDACTED_VALUE",
    "RETRY",
    "RUN_END",
    "RUN_START",
    "SECRET_NAME",
    "TAMPERED",
    "TASK",
    "TRUNCATION",
    "VERSION",
    "Appended",
    "AuditChainError",
    "AuditKeyError",
    "AuditLog",
    "AuditLogClosed",
    "AuditWriter",
    "Parsed",
    "Redactor",
    "Signer",
    "Verdict",
    "Verifier",
    "canonical",
    "engine_identity",
    "generate",
    "is_secret_name",
    "isotime",
    "iter_records",
    "load_events",
    "load_key",
    "load_signer",
    "load_verifier",
    "locate",
    "parse_line",
    "read_manifest",
    "record_final_hash",
    "record_lines",
    "resolve",
    "seal",
    "secret_values",
    "utcnow",
    "verify",
    "verify_events",
    "verify_run",
    "write_json_atomic",
]
