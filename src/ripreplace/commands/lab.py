# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace lab``: a disposable fleet of real Linux hosts on this machine (docs/lab.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ripreplace.commands._args import count
from ripreplace.constants import ExitCode
from ripreplace.lab import net
from ripreplace.lab.fleet import DEFAULT_DIR, Lab


def _dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"lab directory (default {DEFAULT_DIR}, or $RIPREPLACE_LAB_DIR)"
    )


def _up(args: argparse.Namespace) -> ExitCode:
    lab = Lab(args.dir)
    lab.up(light=args.hosts, systemd=args.systemd_hosts, snmp_devices=args.snmp_devices, host_macs=args.host_macs)
    print(lab.inventory)
    return ExitCode.OK


def _down(args: argparse.Namespace) -> ExitCode:
    Lab(args.dir).down()
    return ExitCode.OK


def _status(args: argparse.Namespace) -> ExitCode:
    lab = Lab(args.dir)
    if not lab.is_up:
        print(f"no lab is up in {lab.dir}")
        return ExitCode.OK
    rows = lab.status()
    guard = net.guard_route_present(lab.slot)
    if args.output == "json":
        print(
            json.dumps({"dir": str(lab.dir), "guard_route": guard, "subnet": lab.slot.subnet, "hosts": rows}, indent=2)
        )
        return ExitCode.OK
    print(f"lab {lab.dir}: subnet {lab.slot.subnet}, guard route {'present' if guard else 'MISSING'}")
    print(f"{'HOST':10} {'KIND':8} {'ADDRESS':14} {'PID':>8}  STATE")
    for row in rows:
        print(f"{row['host']:10} {row['kind']:8} {row['address']:14} {row['pid'] or '-':>8}  {row['state']}")
    return ExitCode.OK


def _plant(args: argparse.Namespace) -> ExitCode:
    new = Lab(args.dir).plant(args.host, args.packages)
    if new:
        print(f"installed on {args.host}: " + ", ".join(new))
    else:
        print(f"nothing new on {args.host}: {' '.join(args.packages)} already installed")
    return ExitCode.OK


def _reset(args: argparse.Namespace) -> ExitCode:
    Lab(args.dir).reset(args.hosts)
    return ExitCode.OK


def register(subparsers: argparse._SubParsersAction) -> None:
    lab = subparsers.add_parser(
        "lab",
        help="a disposable fleet of real Linux hosts for tests and rehearsals",
        description="Build and use a lab of real Linux hosts (network namespaces, "
        "overlay root filesystems, real sshd; light hosts with sysv init, systemd "
        "hosts under systemd-nspawn). Needs root.",
    )
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", parser_class=type(lab))
    sub.required = True

    up = sub.add_parser("up", help="build (first time) and start a lab; writes DIR/inventory.yml")
    up.add_argument("--hosts", type=count, default=3, help="light hosts (sysv init), default 3")
    up.add_argument("--systemd-hosts", type=count, default=1, help="systemd hosts, default 1")
    up.add_argument(
        "--snmp-devices",
        metavar="DIR",
        type=Path,
        help="serve each DIR/NAME.snmprec as SNMP device NAME (group snmp_devices; docs/equipment.md)",
    )
    up.add_argument(
        "--host-macs",
        metavar="FILE",
        type=Path,
        help="give lab hosts MAC addresses and neighbour entries from chosen OUIs (YAML; docs/lab.md)",
    )
    _dir_arg(up)
    up.set_defaults(handler=_up)

    down = sub.add_parser("down", help="remove every namespace, mount, route and process the lab made")
    _dir_arg(down)
    down.set_defaults(handler=_down)

    status = sub.add_parser("status", help="list the lab's hosts and their state")
    status.add_argument("--output", choices=("text", "json"), default="text")
    _dir_arg(status)
    status.set_defaults(handler=_status)

    plant = sub.add_parser(
        "plant",
        help="install fake covered (or decoy) packages on a lab host",
        description="PACKAGE is a name from the lab repository (kesl, kesl-gui, klnagent64, "
        "kics, clamav, ...), rpm:NAME for a fake rpm (kesl), or a path to a .deb/.rpm file. "
        "Prints every package the host did not have before (dependencies included) with its version.",
    )
    plant.add_argument("host")
    plant.add_argument("packages", metavar="PACKAGE", nargs="+")
    _dir_arg(plant)
    plant.set_defaults(handler=_plant)

    reset = sub.add_parser("reset", help="give hosts a fresh root filesystem")
    reset.add_argument("hosts", metavar="HOST", nargs="+")
    _dir_arg(reset)
    reset.set_defaults(handler=_reset)
