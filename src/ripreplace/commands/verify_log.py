"""``ripreplace verify-log PATH``: check a run's audit log and print a one-line verdict.

PATH is a run directory (its ``audit.jsonl`` is checked) or an audit log file. When the
``manifest.json`` beside the log repeats the final hash (``audit_log.final_hash``), the log must end
there. Exit 0 when the chain is intact and every run in it ended; 6 when it is tampered with or
incomplete (a killed run); 2 when PATH or the key file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ripreplace import auditlog
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError, UsageError
from ripreplace.rundir import AUDIT_LOG, MANIFEST


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify-log",
        help="check a run's tamper-evident audit log",
        description=(
            "Check the hash chain (and the HMACs, with a key) of a run's audit.jsonl and name the first bad "
            "record. Exit 0: intact and complete; 6: tampered or incomplete (run killed); 2: unreadable input."
        ),
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="a run directory or an audit.jsonl file")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--key-file", type=Path, help="file holding the HMAC key the log was written with")
    key.add_argument("--key-env", metavar="NAME", help="environment variable holding the HMAC key")
    parser.set_defaults(handler=run)


def _locate(path: Path) -> tuple[Path, Path | None]:
    """(the log, the manifest beside it or None)."""
    if path.is_dir():
        log = path / AUDIT_LOG
        if not log.is_file():
            raise InputFileError(f"{path} is a directory without {AUDIT_LOG}")
    elif path.is_file():
        log = path
    elif path.exists():
        raise InputFileError(f"{path} is not a regular file")
    else:
        raise InputFileError(f"{path}: no such file or directory")
    manifest = log.parent / MANIFEST
    return log, manifest if manifest.is_file() else None


def _expected_from_manifest(manifest: Path | None, log: Path) -> tuple[str | None, int | None, str | None]:
    """(final hash, record count, note) the manifest repeats for this log, if it does."""
    if manifest is None:
        return None, None, None
    try:
        data: Any = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        return None, None, f"{manifest.name} unreadable ({exc.__class__.__name__}): final hash not cross-checked"
    entry = data.get("audit_log") if isinstance(data, dict) else None
    if not isinstance(entry, dict) or entry.get("file", log.name) != log.name:
        return None, None, None
    final_hash = entry.get("final_hash")
    records = entry.get("records")
    return (
        final_hash if isinstance(final_hash, str) else None,
        records if isinstance(records, int) and not isinstance(records, bool) else None,
        None,
    )


def run(args: argparse.Namespace) -> ExitCode:
    log, manifest = _locate(args.path)
    try:
        key = auditlog.load_key(key_file=args.key_file, key_env=args.key_env)
    except auditlog.AuditChainError as exc:
        raise UsageError(str(exc)) from exc
    if args.key_env and key is None:
        raise UsageError(f"--key-env {args.key_env}: the variable is not set or empty")
    if not os.access(log, os.R_OK):
        raise InputFileError(f"{log}: permission denied")
    expected_hash, expected_records, note = _expected_from_manifest(manifest, log)
    try:
        verdict = auditlog.verify(log, key=key, expected_final_hash=expected_hash, expected_records=expected_records)
    except auditlog.AuditChainError as exc:
        raise InputFileError(str(exc)) from exc
    if note:
        verdict.notes.append(note)
    elif verdict.ok and expected_hash is not None:
        verdict.notes.append(f"final hash matches {MANIFEST}")
    print(f"{log}: {verdict.one_line()}", file=sys.stdout)
    return ExitCode.OK if verdict.ok else ExitCode.LOG_INVALID
