# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Simulated SNMP devices in the lab (``ripreplace lab up --snmp-devices DIR``).

Each ``DIR/NAME.snmprec`` (snmpsim's record format) is device NAME with its own address; each
``DIR/NAME.silent`` is an address where nothing answers. Devices live on a second lab subnet,
10.251.S.0/24, in one namespace ``rrlS-snmp`` behind the lab bridge (its control namespace gets
10.251.S.1). The root namespace gets the guard route ``unreachable 10.251.S.0/24`` before any of
it exists, so a scan started outside the control namespace fails locally instead of leaving the
machine. One snmpsim responder serves every device: up to 24 devices, one SNMP engine per device
(own engine id, own data directory, bound to the device's address only), so a device answers only
at its own address and only to its own community or SNMPv3 user; beyond that one shared engine
(each engine costs snmpsim ~0.8 s to start), the data chosen by community or SNMPv3 context.

``DIR/lab.yml`` (optional) sets per-device inventory values and plants neighbour entries on lab
Linux hosts::

    devices:
      zte-zxr10: {snmp_v3: {user: u, auth_key: ..., auth_protocol: sha, priv_key: ..., priv_protocol: aes}}
      hikvision-nvr: {covered_purpose: true, site: HQ}
    neighbours:
      light1:
        - {octet: 200, mac: "44:47:cc:00:00:c8"}        # 10.251.S.200
        - {device: dahua-camera, mac: "08:ed:ed:00:00:03"}  # at that device's address

snmpsim refuses to run as root unless told (SNMPSIM_ALLOW_ROOT): its own privilege drop needs an
interpreter the unprivileged user can read, which a Python under /root is not. It runs inside
the device namespace only, which has no route out of the lab.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ripreplace.exceptions import LabError, UsageError
from ripreplace.lab import hostmacs, net
from ripreplace.lab.proc import run

if TYPE_CHECKING:
    from ripreplace.lab.fleet import Lab

FIRST_DEVICE_OCTET = 10
MAX_DEVICES = 230
SNMP_PORT = 161
START_WAIT_S = 120.0
ENGINE_PER_DEVICE_MAX = 24
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_V3_KEYS = {"user", "auth_key", "auth_protocol", "priv_key", "priv_protocol"}
_DEVICE_KEYS = {"community", "snmp_v3", "site", "covered_purpose"}


def subnet(slot: net.Slot) -> str:
    return f"10.251.{slot.index}.0/24"


def ctl_addr(slot: net.Slot) -> str:
    return f"10.251.{slot.index}.1"


def device_addr(slot: net.Slot, number: int) -> str:
    return f"10.251.{slot.index}.{FIRST_DEVICE_OCTET + number}"


def namespace(slot: net.Slot) -> str:
    return f"{slot.prefix}-snmp"


@dataclasses.dataclass(frozen=True)
class Device:
    name: str
    source: Path | None  # None: a silent address
    settings: dict[str, Any]


def load_dir(directory: Path) -> tuple[list[Device], dict[str, list[dict[str, Any]]]]:
    """The devices of DIR and the neighbour entries of DIR/lab.yml; one-line UsageErrors."""
    if not directory.is_dir():
        raise UsageError(f"--snmp-devices {directory}: not a directory")
    config: dict[str, Any] = {}
    if (directory / "lab.yml").is_file():
        loaded = yaml.safe_load((directory / "lab.yml").read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict) or set(loaded) - {"devices", "neighbours"}:
            raise UsageError(f"{directory / 'lab.yml'}: expected a mapping with 'devices' and 'neighbours'")
        config = loaded
    settings = config.get("devices") or {}
    devices = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".snmprec", ".silent"):
            continue
        if not _NAME.match(path.stem):
            raise UsageError(f"{path}: a device name is letters, digits, '.', '_' and '-' (at most 63)")
        extra = settings.get(path.stem) or {}
        if not isinstance(extra, dict) or set(extra) - _DEVICE_KEYS or set(extra.get("snmp_v3") or {}) - _V3_KEYS:
            raise UsageError(f"{directory / 'lab.yml'}: device {path.stem}: unknown settings")
        devices.append(Device(path.stem, path if path.suffix == ".snmprec" else None, dict(extra)))
    if not devices:
        raise UsageError(f"--snmp-devices {directory}: no NAME.snmprec or NAME.silent file")
    if len(devices) > MAX_DEVICES:
        raise UsageError(f"--snmp-devices {directory}: at most {MAX_DEVICES} devices fit the device subnet")
    names = {d.name for d in devices}
    unknown = set(settings) - names
    if unknown:
        raise UsageError(f"{directory / 'lab.yml'}: no device file for {', '.join(sorted(unknown))}")
    neighbours = config.get("neighbours") or {}
    if not isinstance(neighbours, dict):
        raise UsageError(f"{directory / 'lab.yml'}: 'neighbours' maps a lab host to a list of entries")
    return devices, neighbours


def _inventory_vars(device: Device, addr: str) -> dict[str, Any]:
    out: dict[str, Any] = {"ansible_host": addr}
    v3 = device.settings.get("snmp_v3")
    if v3:
        out.update({f"snmp_v3_{k}": v for k, v in v3.items()})
        out["snmp_v3_context"] = device.name  # snmpsim picks a device's data by context name
    else:
        # A fresh community per device and lab: never the device's name (Ansible masks a no_log value
        # wherever it appears in a result, names included) and never guessable from the inventory.
        out["snmp_community"] = device.settings.get("community") or f"lab-{secrets.token_hex(8)}"
    for key in ("site", "covered_purpose"):
        if key in device.settings:
            out[key] = device.settings[key]
    return out


def _v3_args(device: Device) -> list[str]:
    v3 = device.settings.get("snmp_v3")
    if not v3:
        return []
    argv = [f"--v3-user={v3['user']}"]
    if v3.get("auth_key"):
        argv += [f"--v3-auth-key={v3['auth_key']}", f"--v3-auth-proto={v3.get('auth_protocol', 'sha').upper()}"]
    if v3.get("priv_key"):
        argv += [f"--v3-priv-key={v3['priv_key']}", f"--v3-priv-proto={v3.get('priv_protocol', 'aes').upper()}"]
    return argv


def _responder_argv(lab_dir: Path, slot: net.Slot, served: list[tuple[int, Device, dict[str, Any]]]) -> list[str]:
    """snmpsim's command line: one SNMP engine per device up to ENGINE_PER_DEVICE_MAX, else one for all.

    An engine costs snmpsim ~0.8 s to set up. With one engine per device, a device answers only at its
    own address; with one shared engine (a big lab, e.g. the 200-device benchmark) the data is chosen
    by the community (or SNMPv3 context) alone, so a device would also answer at another device's
    address when asked with its own, unguessable community.
    """
    data = lab_dir / "snmp" / "data"
    argv = [sys.executable, "-m", "snmpsim.commands.responder", f"--cache-dir={lab_dir / 'snmp' / 'cache'}"]
    shared = len(served) > ENGINE_PER_DEVICE_MAX
    if shared:
        argv += [f"--v3-engine-id=8000b7c7030272{slot.index:02x}0000", f"--data-dir={data / 'shared'}"]
    for number, device, inv in served:
        ddir = data / ("shared" if shared else device.name)
        ddir.mkdir(parents=True, exist_ok=True)
        assert device.source is not None
        shutil.copyfile(device.source, ddir / f"{inv.get('snmp_v3_context') or inv['snmp_community']}.snmprec")
        if not shared:
            argv += [f"--v3-engine-id=8000b7c7030272{slot.index:02x}{number:04x}", f"--data-dir={ddir}"]
        argv.append(f"--agent-udpv4-endpoint={device_addr(slot, number)}:{SNMP_PORT}")
        argv += _v3_args(device)
    return argv


def _add_network(lab: Lab, slot: net.Slot, count: int) -> None:
    ns = namespace(slot)
    if net._routes_overlapping(subnet(slot)):
        raise LabError(f"{subnet(slot)} is already routed on this machine: the lab cannot use it for devices")
    run(["ip", "route", "replace", "unreachable", subnet(slot)])  # the guard first
    lab.state["snmp"] = {"guard_route": subnet(slot), "ns": ns, "devices": {}}
    lab._save()
    ctl_if, dev_if = f"{slot.prefix}sp", f"{slot.prefix}sd"
    run(["ip", "netns", "add", ns])
    lab.state["snmp"]["ns_id"] = net.netns_id(ns)
    lab._save()
    run(["ip", "link", "add", ctl_if, "netns", slot.ctl_ns, "type", "veth", "peer", "name", dev_if, "netns", ns])
    run(["ip", "-n", ns, "link", "set", dev_if, "name", "eth0"])
    run(["ip", "-n", ns, "link", "set", "eth0", "address", f"02:72:73:{slot.index:02x}:00:01"])
    for number in range(1, count + 1):
        run(["ip", "-n", ns, "addr", "add", f"{device_addr(slot, number)}/24", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", slot.ctl_ns, "addr", "add", f"{ctl_addr(slot)}/24", "dev", "br0"])
    run(["ip", "-n", slot.ctl_ns, "link", "set", ctl_if, "master", "br0"])
    run(["ip", "-n", slot.ctl_ns, "link", "set", ctl_if, "up"])


def _plant_neighbours(lab: Lab, slot: net.Slot, neighbours: dict[str, Any], addrs: dict[str, str]) -> None:
    hosts = lab.hosts
    for host, entries in neighbours.items():
        if host not in hosts:
            raise UsageError(f"lab.yml: neighbours for {host!r}, which is not a lab host ({', '.join(hosts)})")
        for item in entries or []:
            if "device" in item:
                if item["device"] not in addrs:
                    raise UsageError(f"lab.yml: neighbour of {host}: no device {item['device']!r}")
                addr = addrs[item["device"]]
            else:
                addr = f"10.251.{slot.index}.{int(item['octet'])}"
            mac = hostmacs.mac_address(item["mac"], f"lab.yml: neighbour of {host}")
            hostmacs.add_neighbour(hosts[host].ns, addr, mac)


def _wait_listening(ns: str, addrs: list[str], proc_alive: Any, log: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    wanted = {f"{a}:{SNMP_PORT}" for a in addrs}
    while True:
        out = run(["ip", "netns", "exec", ns, "ss", "-Hlun"], check=False).stdout
        bound = {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}
        if wanted <= bound:
            return
        if not proc_alive():
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.is_file() else []
            raise LabError(f"snmpsim exited during start: {' | '.join(tail) or 'no output'}")
        if time.monotonic() > deadline:
            raise LabError(f"snmpsim did not bind {len(wanted - bound)} device address(es) in {START_WAIT_S:.0f} s")
        time.sleep(0.2)


def start(lab: Lab, directory: Path, spawn: Any) -> None:
    """Bring up the device namespace, snmpsim and neighbour entries; record everything in lab.json."""
    devices, neighbours = load_dir(directory)
    slot = lab.slot
    _add_network(lab, slot, len(devices))
    served = []
    inventory = {}
    addrs = {}
    for number, device in enumerate(devices, start=1):
        addrs[device.name] = device_addr(slot, number)
        inventory[device.name] = _inventory_vars(device, addrs[device.name])
        if device.source is not None:
            served.append((number, device, inventory[device.name]))
    lab.state["snmp"]["devices"] = inventory
    lab._save()
    _plant_neighbours(lab, slot, neighbours, addrs)
    if served:
        (lab.dir / "snmp").mkdir(parents=True, exist_ok=True)
        log = lab.dir / "snmp" / "snmpsim.log"
        argv = ["ip", "netns", "exec", namespace(slot), "env", "SNMPSIM_ALLOW_ROOT=true"]
        proc = spawn(argv + _responder_argv(lab.dir, slot, served), log)
        lab.state["snmp"]["responder"] = dataclasses.asdict(proc)
        lab._save()
        _wait_listening(namespace(slot), [addrs[d.name] for _, d, _ in served], proc.alive, log)


def inventory_group(state: dict[str, Any]) -> dict[str, Any]:
    """The ``snmp_devices`` group of the lab inventory (empty when the lab has no devices)."""
    snmp = state.get("snmp") or {}
    if not snmp.get("devices"):
        return {}
    return {
        "snmp_devices": {
            "hosts": snmp["devices"],
            "vars": {"snmp_netns": state.get("ctl_ns")},
        }
    }


def stop(lab: Lab, proc_type: Any) -> None:
    """Undo :func:`start`: the responder, the namespace, the guard route, the files."""
    snmp = lab.state.get("snmp")
    if not snmp:
        return
    if snmp.get("responder"):
        proc = proc_type(**snmp["responder"])
        proc.kill(15)
        if not proc.wait_gone(5):
            proc.kill(9)
            proc.wait_gone(5)
        snmp.pop("responder")
        lab._save()
    owned = net.del_netns(snmp["ns"], expect=snmp.get("ns_id"))  # not another lab's, made in this slot since
    if snmp.get("guard_route") and owned and lab._owns_slot():
        out = run(["ip", "route", "show", "type", "unreachable"]).stdout
        if any(line.split()[:2] == ["unreachable", snmp["guard_route"]] for line in out.splitlines()):
            run(["ip", "route", "del", "unreachable", snmp["guard_route"]])
    run(["rm", "-rf", "--one-file-system", lab.dir / "snmp"])
    lab.state.pop("snmp")
    lab._save()
