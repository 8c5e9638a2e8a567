# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace equipment``: find covered network equipment over SNMP and neighbour tables; change nothing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ripreplace import equipment
from ripreplace.audit import envelope
from ripreplace.commands._args import add_scan_arguments
from ripreplace.constants import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "equipment",
        help="find covered network equipment (SNMP, neighbour tables; changes nothing)",
        description=(
            "Scan the inventory group snmp_devices over SNMP v2c/v3 (address ansible_host, credentials "
            "snmp_community or snmp_v3_*) and read the neighbour tables of the inventory's other hosts, "
            "for Huawei, ZTE, Hikvision, Dahua, Hytera and other Covered List equipment (docs/equipment.md). "
            "Writes a run directory (manifest.json, audit.jsonl, summary.json). Exit codes: 0 nothing covered "
            "(devices for review and unreachable devices are listed); 3 covered equipment found; 4 the scan "
            "did not run; 2 bad arguments or input files (nothing sent)."
        ),
    )
    parser.add_argument("-i", "--inventory", type=Path, required=True, help="Ansible inventory")
    add_scan_arguments(parser, what="scan", forks_help="parallel Linux hosts for neighbour tables (default: 5)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> ExitCode:
    request = equipment.EquipmentRequest(
        inventory=args.inventory,
        limit=args.limit,
        catalogs=tuple(args.catalog),
        runs_dir=args.runs_dir,
        forks=args.forks,
    )
    inputs = equipment.validate_inputs(request)  # raises UsageError/InputFileError before anything is sent
    outcome = equipment.run_scan(inputs)
    if args.output == "json":
        payload = envelope(
            "equipment", outcome.exit_code, outcome.summary, run=outcome.run.run_id, run_dir=str(outcome.run.path)
        )
        json.dump(payload, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        equipment.render_text(outcome)
    return outcome.exit_code
