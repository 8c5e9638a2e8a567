# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace audit``: find covered software on every targeted host; change nothing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ripreplace import audit
from ripreplace.commands._args import add_scan_arguments
from ripreplace.constants import ExitCode
from ripreplace.safetext import printable


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="find covered software on every host (changes nothing)",
        description=(
            "Scan every targeted host for FCC Covered List software with the bundled catalog, site "
            "catalogs and exceptions, in check mode: nothing on any host changes. Writes a run "
            "directory (manifest.json, audit.jsonl, summary.json). Without -i the local machine is "
            "audited over the local connection. Exit codes: 0 nothing covered; 3 covered software "
            "found (takes precedence); 4 no covered software found but some host failed or was "
            "unreachable; 2 bad arguments or input files (no host touched)."
        ),
    )
    parser.add_argument("-i", "--inventory", type=Path, help="Ansible inventory (default: this machine only)")
    add_scan_arguments(parser, what="audit", forks_help="parallel hosts (default: 5)")
    parser.add_argument(
        "--exceptions", metavar="FILE", type=Path, action="append", default=[], help="an exceptions file (repeatable)"
    )
    parser.add_argument("--today", metavar="YYYY-MM-DD", help=argparse.SUPPRESS)  # judge exception expiry as of a day
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> ExitCode:
    request = audit.AuditRequest(
        inventory=args.inventory,
        limit=args.limit,
        catalogs=tuple(args.catalog),
        exceptions=tuple(args.exceptions),
        runs_dir=args.runs_dir,
        forks=args.forks,
        today=args.today,
    )
    inputs = audit.validate_inputs(request)  # raises UsageError/InputFileError before any host is touched
    outcome = audit.run_audit(inputs)
    if args.output == "json":
        for host, entry in outcome.summary["hosts"].items():  # on stderr: stdout is the JSON document
            if entry.get("campaign_lock"):
                print(printable(audit.lock_warning(host, entry["campaign_lock"])), file=sys.stderr)
        payload = audit.envelope(
            "audit", outcome.exit_code, outcome.summary, run=outcome.run.run_id, run_dir=str(outcome.run.path)
        )
        json.dump(payload, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        audit.render_text(outcome)
    return outcome.exit_code
