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

from typing import TYPE_CHECKING

from ripreplace import collection

if TYPE_CHECKING:
    from plugin_utils import audit_chain as _chain
    from plugin_utils import run_files as files
else:
    _chain = collection.load_plugin_util("audit_chain")
    files = collection.load_plugin_util("run_files")

__all__ = [
    "INCOMPLETE",
    "OK",
    "TAMPERED",
    "Appended",
    "AuditChainError",
    "AuditKeyError",
    "AuditLog",
    "AuditLogClosed",
    "AuditWriter",
    "Parsed",
    "Redactor",
    "Verdict",
    "canonical",
    "files",
    "iter_records",
    "load_key",
    "parse_line",
    "verify",
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
REDACTED_EXTRA_VAR = _chain.REDACTED_EXTRA_VAR

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
