# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""A report from a job's events: an AWX job-events export (the API's ``results`` list, one page or
several) or an ansible-runner ``job_events`` directory whose run directory was not shipped; and from
a run directory whose ``manifest.json`` is gone (its log's run-start holds the manifest).

The audit records the callback emitted as ``RIPREPLACE-AUDIT`` events are written, byte for byte, to
``audit.jsonl`` in a scratch run directory, with the manifest its run-start record holds; the report
then reads it like a plain playbook run (:mod:`ripreplace.report.plainrun` rebuilds the hosts). The
verdict shown is the events' own, as ``ripreplace verify-log EXPORT`` gives it: an edited event is
TAMPERED, and nothing written into the scratch directory can make it "OK".
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ripreplace import auditlog, rundir
from ripreplace.exceptions import InputFileError

#: A run directory rebuilt from events holds at most this much log (as read from a file by any reader).
MAX_LOG_BYTES = 512 * 1024 * 1024


def job_events(run: str) -> Path | None:
    """The export file or ``job_events`` directory ``run`` names, when it names one and no run directory."""
    path = Path(run)
    if not path.exists():
        return None
    try:
        kind, where = auditlog.resolve(path)
    except auditlog.AuditChainError:
        return None
    return Path(where) if kind == "events" else None


def _manifest(first: bytes, where: Path) -> dict[str, Any]:
    try:
        record = json.loads(first)
    except ValueError:
        record = None
    data = record.get("data") if isinstance(record, dict) else None
    manifest = data.get("manifest") if isinstance(data, dict) else None
    if not isinstance(record, dict) or record.get("type") != auditlog.RUN_START or not isinstance(manifest, dict):
        raise InputFileError(f"{where}: the first audit record in these job events is not a run-start with a manifest")
    out = dict(manifest)
    out.setdefault("run", record.get("run"))
    return out


def rebuild(events: Path, into: Path) -> Path:
    """Write the run directory the events carry into the empty directory ``into``; return it.
    One :class:`InputFileError` line when the events hold no audit record or cannot be read."""
    try:
        lines = list(auditlog.record_lines(auditlog.load_events(events)))
    except auditlog.AuditChainError as exc:
        raise InputFileError(str(exc)) from None
    if not lines:
        raise InputFileError(f"{events}: no ripreplace audit record (RIPREPLACE-AUDIT) in these job events")
    if sum(len(line) for line in lines) > MAX_LOG_BYTES:
        raise InputFileError(f"{events}: the audit records in these job events exceed {MAX_LOG_BYTES} bytes")
    manifest = _manifest(lines[0], events)
    (into / rundir.AUDIT_LOG).write_bytes(b"".join(lines))
    (into / rundir.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(into / rundir.AUDIT_LOG, 0o600)
    return into


def without_manifest(run: str) -> Path | None:
    """The run directory ``run`` names (or the one an ansible-runner job shipped back under it) when it
    holds an audit log but no ``manifest.json``: deleted, or never written. None otherwise."""
    path = Path(run)
    if not path.is_dir():
        return None
    try:
        kind, where = auditlog.resolve(path)
    except auditlog.AuditChainError:
        return None
    run_dir = Path(where).parent
    if kind != "log" or Path(where).name != rundir.AUDIT_LOG or (run_dir / rundir.MANIFEST).exists():
        return None
    return run_dir


def rebuild_from_log(run_dir: Path, into: Path) -> Path:
    """Copy ``run_dir``'s log (and its summary and state files) into the empty directory ``into``, with
    the manifest its first run-start holds; return ``into``. The report verifies ``run_dir`` itself,
    so a manifest that run-end recorded and that is gone makes it TAMPERED."""
    log = run_dir / rundir.AUDIT_LOG
    try:
        if log.stat().st_size > MAX_LOG_BYTES:
            raise InputFileError(f"{log}: larger than {MAX_LOG_BYTES} bytes")
        with log.open("rb") as handle:
            first = handle.readline(1 << 24)
        shutil.copyfile(log, into / rundir.AUDIT_LOG)
        for name in (rundir.SUMMARY, rundir.STATE):
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, into / name)
    except OSError as exc:
        raise InputFileError(f"cannot read {run_dir}: {exc.strerror or exc}") from None
    manifest = _manifest(first, log)
    (into / rundir.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return into
