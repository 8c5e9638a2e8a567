# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Lab addressing and the network rule.

Every lab gets a slot S (0..63): control namespace ``rrlS-ctl`` with bridge ``br0`` at
10.250.S.1/24, hosts at 10.250.S.(10+i) in namespaces ``rrlS-<host>``, no default route.
Before anything else the root namespace gets ``unreachable 10.250.S.0/24``: a mistaken
connection from the root namespace fails locally instead of leaving the machine.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ripreplace.lab.proc import run

NETNS_DIR = Path("/run/netns")
MAX_SLOTS = 64
FIRST_HOST_OCTET = 10
REPO_PORT = 8080


@dataclasses.dataclass(frozen=True)
class Slot:
    index: int

    @property
    def prefix(self) -> str:
        return f"rrl{self.index}"

    @property
    def subnet(self) -> str:
        return f"10.250.{self.index}.0/24"

    @property
    def ctl_ns(self) -> str:
        return f"{self.prefix}-ctl"

    @property
    def ctl_addr(self) -> str:
        return f"10.250.{self.index}.1"

    def host_ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def host_addr(self, number: int) -> str:
        return f"10.250.{self.index}.{FIRST_HOST_OCTET + number}"

    def host_mac(self, number: int) -> str:
        return f"02:72:72:{self.index:02x}:00:{number:02x}"

    def veth_names(self, number: int) -> tuple[str, str]:
        """(control side, host side) interface names; at most 15 characters."""
        return f"{self.prefix}p{number}", f"{self.prefix}h{number}"


def _routes_overlapping(subnet: str) -> bool:
    """Does the root namespace route any part of ``subnet`` already (other than our guard)?"""
    net = ipaddress.ip_network(subnet)
    out = run(["ip", "-4", "route", "show", "table", "all"]).stdout
    for line in out.splitlines():
        words = line.split()
        if not words:
            continue
        dest = words[1] if words[0] in ("unreachable", "blackhole", "prohibit", "local", "broadcast") else words[0]
        if dest == "default":
            continue
        try:
            other = ipaddress.ip_network(dest, strict=False)
        except ValueError:
            continue
        if other.overlaps(net):
            return True
    return False


def free_slot() -> Slot:
    for index in range(MAX_SLOTS):
        slot = Slot(index)
        if (NETNS_DIR / slot.ctl_ns).exists():
            continue
        if _routes_overlapping(slot.subnet):
            continue
        return slot
    raise RuntimeError("no free lab slot: 64 labs are up, or 10.250.0.0/16 is routed on this machine")


def add_guard_route(slot: Slot) -> None:
    run(["ip", "route", "replace", "unreachable", slot.subnet])


def guard_route_present(slot: Slot) -> bool:
    out = run(["ip", "route", "show", "type", "unreachable"]).stdout
    return any(line.split()[:2] == ["unreachable", slot.subnet] for line in out.splitlines() if line.strip())


def del_guard_route(slot: Slot) -> None:
    if guard_route_present(slot):
        run(["ip", "route", "del", "unreachable", slot.subnet])


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def add_ctl_ns(slot: Slot) -> None:
    ns = slot.ctl_ns
    run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"])
    run(["ip", "-n", ns, "addr", "add", f"{slot.ctl_addr}/24", "dev", "br0"])
    run(["ip", "-n", ns, "link", "set", "br0", "up"])


def add_host_ns(slot: Slot, name: str, number: int) -> None:
    ns = slot.host_ns(name)
    ctl_if, host_if = slot.veth_names(number)
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", ctl_if, "netns", slot.ctl_ns, "type", "veth", "peer", "name", host_if, "netns", ns])
    run(["ip", "-n", ns, "link", "set", host_if, "name", "eth0"])
    run(["ip", "-n", ns, "link", "set", "eth0", "address", slot.host_mac(number)])
    run(["ip", "-n", ns, "addr", "add", f"{slot.host_addr(number)}/24", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", slot.ctl_ns, "link", "set", ctl_if, "master", "br0"])
    run(["ip", "-n", slot.ctl_ns, "link", "set", ctl_if, "up"])


def netns_id(name: str) -> int | None:
    """The identity of the named namespace (its nsfs inode), None when there is none by that name."""
    try:
        return os.stat(NETNS_DIR / name).st_ino
    except OSError:
        return None


def del_netns(name: str, expect: int | None = None) -> bool:
    """Delete the named namespace. With ``expect`` (its identity when this lab made it), only that one: a
    lab whose slot another lab took since (the first was torn down by hand, or died) must not take the
    new lab's namespace of the same name down. True when it was deleted or is already gone."""
    if not netns_exists(name):
        return True
    if expect is not None and netns_id(name) != expect:
        return False
    run(["ip", "netns", "del", name])
    return True


def owns_slot(slot: Slot, made: int | None) -> bool:
    """The slot's control namespace is still the one a lab made (``made``: its identity then, None when the
    lab predates the record), or is gone: no other lab has taken the slot since."""
    return made is None or netns_id(slot.ctl_ns) in (made, None)


def release_slot(slot: Slot, state: dict[str, Any], save: Callable[[], None], log: Callable[[str], None]) -> None:
    """A lab's control namespace and guard route (``state``: the lab's, saved after each step), unless
    another lab took the slot since: then they are that lab's and stay."""
    owned = owns_slot(slot, state.get("ctl_ns_id"))
    if state.get("ctl_ns"):
        if owned:
            del_netns(slot.ctl_ns)
        else:
            log(f"left namespace {slot.ctl_ns} and the route to {slot.subnet} alone: another lab has them now")
        state.pop("ctl_ns")
        state.pop("ctl_ns_id", None)
        save()
    if state.get("guard_route"):
        if owned:
            del_guard_route(slot)
        state.pop("guard_route")
        save()


def forget_neighbour(slot: Slot, addr: str) -> None:
    if netns_exists(slot.ctl_ns):
        run(["ip", "-n", slot.ctl_ns, "neigh", "flush", "to", addr], check=False)


def set_link(slot: Slot, number: int, up: bool) -> None:
    """Cut or restore a host's network link (control side), for unreachable-host tests."""
    ctl_if, _ = slot.veth_names(number)
    run(["ip", "-n", slot.ctl_ns, "link", "set", ctl_if, "up" if up else "down"])
