# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace verify-log PATH``: check a run's audit log and print a one-line verdict.

PATH is a run directory (its ``audit.jsonl`` is checked), an audit log file, the ``process`` side's
private data dir of ``ansible-runner transmit | worker | process`` (or any artifact directory), or a
JSON export of a job's events (AWX's API shape), from which the log is rebuilt. The run directory is
verified as a whole (``auditlog.verify_run``): the chain (HMACs with ``--key-file``/``--key-env``,
run-end signatures with ``--public-key``), the final hash and count ``manifest.json`` repeats, and
the sha256 of ``summary.json``, ``manifest.json`` and ``state.json`` that the last run-end recorded.
Exit 0 when everything verifies and every run in the log ended; 6 when it is tampered with or
incomplete (a killed run); 2 when PATH or a key cannot be read.

``ripreplace verify-log --gen-key FILE`` writes a new Ed25519 signing key (FILE, mode 0600) and its
public key (FILE.pub) and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ripreplace import auditlog
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify-log",
        help="check a run's tamper-evident audit log",
        description=(
            "Check the hash chain of a run's audit.jsonl (the HMACs with a key, the run-end signatures with a "
            "public key), the final hash manifest.json repeats and the run files run-end recorded, and name the "
            "first bad record. Exit 0: intact and complete; 6: tampered or incomplete (run killed); 2: "
            "unreadable input. --gen-key FILE makes an Ed25519 signing key pair instead."
        ),
    )
    parser.add_argument(
        "path",
        metavar="PATH",
        type=Path,
        nargs="?",
        help="a run directory, an audit.jsonl file, an ansible-runner private data dir, or a job-events export",
    )
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--key-file", type=Path, help="file holding the HMAC key the log was written with")
    key.add_argument("--key-env", metavar="NAME", help="environment variable holding the HMAC key")
    parser.add_argument(
        "--public-key",
        metavar="FILE",
        type=Path,
        help="Ed25519 public key (PEM or ssh-ed25519): every run-end must carry a signature it verifies",
    )
    parser.add_argument(
        "--gen-key",
        metavar="FILE",
        type=Path,
        help="write a new Ed25519 signing key to FILE (0600) and its public key to FILE.pub, then exit",
    )
    parser.set_defaults(handler=run)


def hmac_key(key_file: Path | None, key_env: str | None) -> bytes | None:
    """The HMAC key of ``--key-file`` / ``--key-env`` (exit 2 when it cannot be read)."""
    try:
        key = auditlog.load_key(key_file=key_file, key_env=key_env)
    except auditlog.AuditChainError as exc:
        raise UsageError(str(exc)) from exc
    if key_env and key is None:
        raise UsageError(f"--key-env {key_env}: the variable is not set or empty")
    return key


def public_key(path: Path | None) -> auditlog.Verifier | None:
    """The verifier of ``--public-key`` (exit 2 when it cannot be read)."""
    if path is None:
        return None
    try:
        return auditlog.load_verifier(path)
    except auditlog.AuditChainError as exc:
        raise UsageError(f"--public-key: {exc}") from exc


def _gen_key(path: Path) -> ExitCode:
    try:
        private, public = auditlog.generate_signing_key(path)
    except auditlog.AuditChainError as exc:
        raise UsageError(f"--gen-key: {exc}") from exc
    print(
        f"wrote the signing key {private} (mode 0600: keep it secret; set RIPREPLACE_AUDIT_SIGNING_KEY_FILE to it "
        f"where runs are written) and its public key {public} (give it to auditors: verify-log --public-key)",
        file=sys.stdout,
    )
    return ExitCode.OK


def run(args: argparse.Namespace) -> ExitCode:
    if args.gen_key is not None:
        if args.path is not None:
            raise UsageError("--gen-key FILE makes a key pair: give no PATH with it")
        return _gen_key(args.gen_key)
    if args.path is None:
        raise UsageError("PATH is required: a run directory or an audit.jsonl file (or --gen-key FILE)")
    key = hmac_key(args.key_file, args.key_env)
    verifier = public_key(args.public_key)
    try:
        log, _manifest = auditlog.locate(args.path)
        verdict = auditlog.verify_run(args.path, key=key, verifier=verifier)
    except auditlog.AuditChainError as exc:
        raise InputFileError(str(exc)) from exc
    print(f"{log}: {verdict.one_line()}", file=sys.stdout)
    return ExitCode.OK if verdict.ok else ExitCode.LOG_INVALID
