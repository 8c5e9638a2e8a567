# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""MAC addresses and neighbour entries of lab hosts from chosen OUIs (``ripreplace lab up --host-macs FILE``).

``ripreplace equipment`` reads the neighbour tables of managed Linux hosts (``ip -json neigh show``)
and matches their MACs against the covered organisations' OUIs. FILE gives lab hosts what those
tables would show on a real network::

    light2:
      mac: "00:e0:fc:00:00:02"                  # light2's own eth0 (HUAWEI TECHNOLOGIES CO.,LTD)
    light1:
      neighbours:
        - {host: light2}                         # light2's address and (chosen) MAC
        - {octet: 200, mac: "40:2c:76:10:00:c8"} # 10.250.S.200 on the host subnet: nothing answers there
        - {device: dahua-camera, mac: "08:ed:ed:00:00:03"}        # a simulated device's address
        - {octet: 205, subnet: devices, mac: "44:47:cc:00:00:cd"} # 10.251.S.205 (--snmp-devices)

Each neighbour is a permanent entry (``ip neigh replace ADDR lladdr MAC dev eth0 nud permanent``)
inside the host's own namespace, and every address is a lab address by construction (a lab host, a
simulated device, or an octet of the lab's host or device subnet; never the control namespace's
.1): nothing is sent anywhere, and nothing outside the lab is named. A host's ``mac`` replaces its
deterministic eth0 MAC (a unicast address); the control namespace forgets the old one, so SSH goes on.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ripreplace.exceptions import UsageError
from ripreplace.lab import net
from ripreplace.lab.proc import run

if TYPE_CHECKING:
    from ripreplace.lab.fleet import Lab

_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_HOST_KEYS = {"mac", "neighbours"}
_NEIGHBOUR_KEYS = {"host", "device", "octet", "subnet", "mac"}
MAX_FILE = 1024 * 1024


def mac_address(value: Any, what: str, *, unicast: bool = False) -> str:
    """``value`` as a lower-case ``xx:xx:xx:xx:xx:xx``; one-line UsageError otherwise."""
    text = str(value).strip().lower().replace("-", ":")
    if not _MAC.match(text):
        raise UsageError(f"{what}: {str(value)[:40]!r} is not a MAC address (xx:xx:xx:xx:xx:xx)")
    if text in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        raise UsageError(f"{what}: {text} is not a station's address")
    if unicast and int(text[:2], 16) & 1:
        raise UsageError(f"{what}: {text} is a multicast address; an interface needs a unicast one")
    return text


def add_neighbour(ns: str, addr: str, mac: str) -> None:
    """A permanent neighbour entry inside namespace ``ns`` (only ever a lab address)."""
    run(["ip", "-n", ns, "neigh", "replace", addr, "lladdr", mac, "dev", "eth0", "nud", "permanent"])


@dataclasses.dataclass(frozen=True)
class Neighbour:
    mac: str | None  # None: the MAC of the lab host it names
    host: str | None = None
    device: str | None = None
    octet: int | None = None
    subnet: str = "hosts"


@dataclasses.dataclass(frozen=True)
class HostMacs:
    macs: dict[str, str]  # host -> its eth0 MAC
    neighbours: dict[str, tuple[Neighbour, ...]]  # host -> entries planted in its table


def _neighbour(item: Any, where: str) -> Neighbour:
    if not isinstance(item, dict) or set(item) - _NEIGHBOUR_KEYS:
        raise UsageError(f"{where}: a neighbour is a mapping of {', '.join(sorted(_NEIGHBOUR_KEYS))}")
    targets = [k for k in ("host", "device", "octet") if k in item]
    if len(targets) != 1:
        raise UsageError(f"{where}: a neighbour names exactly one of host, device or octet")
    subnet = str(item.get("subnet", "hosts"))
    if subnet not in ("hosts", "devices") or ("subnet" in item and "octet" not in item):
        raise UsageError(f"{where}: subnet is 'hosts' or 'devices', and goes with octet")
    mac = mac_address(item["mac"], where) if "mac" in item else None
    if "host" in item:
        return Neighbour(mac=mac, host=str(item["host"]))
    if mac is None:
        raise UsageError(f"{where}: a neighbour at a device or an octet needs its mac")
    if "device" in item:
        return Neighbour(mac=mac, device=str(item["device"]))
    octet = item["octet"]
    if isinstance(octet, bool) or not isinstance(octet, int) or not 2 <= octet <= 254:
        raise UsageError(f"{where}: octet is a whole number from 2 to 254 (.1 is the control namespace)")
    return Neighbour(mac=mac, octet=octet, subnet=subnet)


def load(path: Path) -> HostMacs:
    """FILE read and checked before anything is made; one-line UsageErrors naming the file and the host."""
    try:
        if not path.is_file():
            raise UsageError(f"--host-macs {path}: not a file")
        if path.stat().st_size > MAX_FILE:
            raise UsageError(f"--host-macs {path}: larger than {MAX_FILE} bytes")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--host-macs {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"--host-macs {path}: not YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(data, dict) or not data:
        raise UsageError(f"--host-macs {path}: expected a mapping of lab host to its mac and neighbours")
    macs, neighbours = {}, {}
    for host, spec in data.items():
        where = f"--host-macs {path}: {host}"
        if not isinstance(spec, dict) or not spec or set(spec) - _HOST_KEYS:
            raise UsageError(f"{where}: expected a mapping with 'mac' and/or 'neighbours'")
        if "mac" in spec:
            macs[str(host)] = mac_address(spec["mac"], where, unicast=True)
        items = spec.get("neighbours") or []
        if not isinstance(items, list):
            raise UsageError(f"{where}: 'neighbours' is a list")
        neighbours[str(host)] = tuple(_neighbour(item, f"{where} neighbour {n}") for n, item in enumerate(items, 1))
    return HostMacs(macs=macs, neighbours=neighbours)


def precheck(spec: HostMacs, hosts: list[str], devices: list[str] | None) -> None:
    """The names FILE uses, against the lab about to be made (before anything is made)."""
    unknown = sorted((set(spec.macs) | set(spec.neighbours)) - set(hosts))
    if unknown:
        raise UsageError(f"--host-macs: {', '.join(unknown)} would not be a lab host ({', '.join(hosts)})")
    for host, items in spec.neighbours.items():
        for item in items:
            if item.host is not None and (item.host not in hosts or item.host == host):
                raise UsageError(f"--host-macs: neighbour {item.host!r} of {host} would not be another lab host")
            if (item.device is not None or item.subnet == "devices") and devices is None:
                raise UsageError(f"--host-macs: a neighbour of {host} on the device subnet needs --snmp-devices")
            if item.device is not None and item.device not in (devices or []):
                raise UsageError(f"--host-macs: neighbour of {host}: no simulated device {item.device!r}")


def _address(lab: Lab, host: str, item: Neighbour, devices: dict[str, str]) -> str:
    hosts, slot = lab.hosts, lab.slot
    if item.host is not None:
        if item.host not in hosts or item.host == host:
            raise UsageError(f"--host-macs: neighbour {item.host!r} of {host} is not another lab host")
        return hosts[item.host].addr
    if item.device is not None:
        if item.device not in devices:
            known = ", ".join(sorted(devices)) or "none: no --snmp-devices"
            raise UsageError(f"--host-macs: neighbour of {host}: no simulated device {item.device!r} ({known})")
        return devices[item.device]
    if item.subnet == "devices":
        if not devices:
            raise UsageError(f"--host-macs: neighbour of {host} on the device subnet needs --snmp-devices")
        return f"10.251.{slot.index}.{item.octet}"
    addr = f"10.250.{slot.index}.{item.octet}"
    if addr == hosts[host].addr:
        raise UsageError(f"--host-macs: {host} cannot be its own neighbour ({addr})")
    return addr


def apply(lab: Lab, spec: HostMacs, devices: dict[str, str]) -> dict[str, Any]:
    """Set the hosts' MACs, then plant the neighbour entries; what was done (for lab.json)."""
    hosts = lab.hosts
    unknown = sorted((set(spec.macs) | set(spec.neighbours)) - set(hosts))
    if unknown:
        raise UsageError(f"--host-macs: {', '.join(unknown)} is not a lab host ({', '.join(hosts)})")
    for host, mac in spec.macs.items():
        run(["ip", "-n", hosts[host].ns, "link", "set", "eth0", "address", mac])
        net.forget_neighbour(lab.slot, hosts[host].addr)  # the control namespace learns the new MAC
    current = {name: spec.macs.get(name) or lab.slot.host_mac(h.number) for name, h in hosts.items()}
    planted: dict[str, list[dict[str, str]]] = {}
    for host, items in spec.neighbours.items():
        for item in items:
            addr = _address(lab, host, item, devices)
            mac = item.mac or current[str(item.host)]
            add_neighbour(hosts[host].ns, addr, mac)
            planted.setdefault(host, []).append({"address": addr, "mac": mac})
    return {"macs": dict(spec.macs), "neighbours": planted}
