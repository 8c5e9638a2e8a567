# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace report RUN | --campaign RUNS_DIR [--format html|csv|json|junit|md] [-o FILE]``.

Exit codes (docs/reports.md): 0 the report was written and every audit log it rests on verifies;
6 the report was written, but an audit log failed verification (tampered, incomplete, missing; in a
campaign, an incomplete run a later run resumed from its last hash does not count): the verdict is
shown prominently in the report and on stderr; 2 usage errors, a missing run, unreadable input.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from ripreplace import auditlog, report
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError, UsageError
from ripreplace.report import exported
from ripreplace.safetext import printable


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="render a run (or a whole campaign) as html, csv, json, junit or md",
        description=(
            "Render a run directory, or the latest state of every host across the runs of a campaign, for auditors "
            "(html), spreadsheets (csv), CI dashboards (junit), tools (json) or a change ticket (md). The audit log "
            "is verified while rendering. Exit 0: written and the log verifies; 6: written, but an audit log "
            "failed verification; 2: bad arguments or no such run."
        ),
    )
    parser.add_argument(
        "run",
        metavar="RUN",
        nargs="?",
        help=(
            "a run id under --runs-dir, a run directory, the process side's private data dir of ansible-runner, "
            "or a JSON export of a job's events (AWX's API shape)"
        ),
    )
    parser.add_argument(
        "--campaign", metavar="RUNS_DIR", type=Path, help="merge every run under RUNS_DIR (later runs win per host)"
    )
    parser.add_argument(
        "--runs-dir",
        metavar="DIR",
        type=Path,
        default=Path("runs"),
        help="where run ids are looked up (default ./runs)",
    )
    parser.add_argument("--format", choices=report.FORMATS, default="html", help="output format (default html)")
    parser.add_argument("-o", "--output-file", metavar="FILE", type=Path, help="write here (default: stdout)")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--key-file", type=Path, help="file holding the audit log's HMAC key (checks every HMAC)")
    key.add_argument("--key-env", metavar="NAME", help="environment variable holding the audit log's HMAC key")
    parser.set_defaults(handler=run)


def _key(args: argparse.Namespace) -> bytes | None:
    try:
        key = auditlog.load_key(key_file=args.key_file, key_env=args.key_env)
    except auditlog.AuditChainError as exc:
        raise UsageError(str(exc)) from exc
    if args.key_env and key is None:
        raise UsageError(f"--key-env {args.key_env}: the variable is not set or empty")
    return key


def _write(rep: report.Report, fmt: str, target: Path | None) -> None:
    if target is None:
        try:
            report.write(rep, fmt, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `ripreplace report ... | head`: the reader left; say nothing more
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputFileError(f"{target}: no such directory {directory}")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            report.write(rep, fmt, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a read-only or forbidden place: the -o the operator gave
            raise InputFileError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def run(args: argparse.Namespace) -> ExitCode:
    if (args.run is None) == (args.campaign is None):
        raise UsageError("give either RUN or --campaign RUNS_DIR (exactly one)")
    key = _key(args)
    if args.campaign is not None:
        rep = report.campaign_report(args.campaign, key=key)
    elif (events := exported.job_events(args.run)) is not None:
        with tempfile.TemporaryDirectory(prefix="ripreplace-report-") as scratch:
            rep = report.run_report(exported.rebuild(events, Path(scratch)), key=key, events=events)
    elif (orphan := exported.without_manifest(args.run)) is not None:  # manifest.json deleted: verified as is
        with tempfile.TemporaryDirectory(prefix="ripreplace-report-") as scratch:
            rep = report.run_report(exported.rebuild_from_log(orphan, Path(scratch)), key=key, events=orphan)
    else:
        rep = report.run_report(report.locate_run(args.run, args.runs_dir), key=key)
    _write(rep, args.format, args.output_file)
    bad = [r for r in rep.runs if not (r.audit_log.ok or r.audit_log.superseded_by)]
    if args.output_file is not None:
        wrote = printable(f"wrote {args.output_file} ({args.format}, {len(rep.hosts)} host(s))")
        print(f"ripreplace: {wrote}", file=sys.stderr)
    for r in bad:  # the run id and the verifier's words come from files: escaped for the terminal
        message = printable(f"audit log of {r.run} failed verification: {r.audit_log.message}")
        print(f"ripreplace: {message}", file=sys.stderr)
    return ExitCode.LOG_INVALID if bad else ExitCode.OK
