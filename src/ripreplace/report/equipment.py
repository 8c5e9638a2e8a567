# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The equipment part of a report: devices of ``ripreplace equipment`` runs (docs/equipment.md).

A device is a host of an equipment run's summary; what the scan read about it (address, vendor,
model, firmware, serial, site, whether it was only seen in a table) is under its ``scanned``. The
HTML page and the Markdown summary show totals by vendor and by site, each device with its
evidence, and two lists an operator works through: "OUI-only, unidentified" (a MAC prefix of a
covered organisation and nothing else) and "unreachable" (no SNMP answer).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ripreplace.report.model import STATUS_ORDER, Device, HostReport, Report

UNIDENTIFIED = "unidentified"
NO_SITE = "site not recorded"


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def device(entry: Mapping[str, Any]) -> Device:
    """The device facts of one host of an equipment run's summary.json."""
    raw = entry.get("scanned")
    scanned: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    findings = [f for f in entry.get("findings") or [] if isinstance(f, Mapping)]
    kinds = {e.get("kind") for f in findings for e in f.get("evidence") or [] if isinstance(e, Mapping)}
    return Device(
        address=_text(scanned.get("address")),
        vendor=_text(scanned.get("vendor")),
        model=_text(scanned.get("model")),
        firmware=_text(scanned.get("firmware")),
        serial=_text(scanned.get("serial")),
        site=_text(scanned.get("site")),
        discovered=scanned.get("discovered") is True,
        oui_only=bool(findings) and kinds == {"oui"},
    )


@dataclasses.dataclass(frozen=True)
class Total:
    key: str
    devices: int
    by_status: tuple[tuple[str, int], ...]  # most urgent first

    def text(self) -> str:
        return ", ".join(f"{n} {s}" for s, n in self.by_status)


@dataclasses.dataclass(frozen=True)
class EquipmentSection:
    devices: tuple[HostReport, ...]
    by_vendor: tuple[Total, ...]
    by_site: tuple[Total, ...]
    oui_only: tuple[HostReport, ...]
    unreachable: tuple[HostReport, ...]


def _totals(hosts: list[HostReport], key: Any) -> tuple[Total, ...]:
    groups: dict[str, dict[str, int]] = {}
    for host in hosts:
        counts = groups.setdefault(key(host), {})
        counts[host.status] = counts.get(host.status, 0) + 1
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    out = [
        Total(k, sum(c.values()), tuple(sorted(c.items(), key=lambda i: rank.get(i[0], len(rank)))))
        for k, c in groups.items()
    ]
    return tuple(sorted(out, key=lambda t: (-t.devices, t.key)))


def section(report: Report) -> EquipmentSection | None:
    """The equipment section, or None when no run of the report is an equipment run."""
    devices = [h for h in report.hosts if h.device is not None]
    if not devices:
        return None

    def vendor(host: HostReport) -> str:
        assert host.device is not None
        covered = [f.vendor for f in host.findings if f.vendor]
        return covered[0] if covered else (host.device.vendor or UNIDENTIFIED)

    def site(host: HostReport) -> str:
        assert host.device is not None
        return host.device.site or NO_SITE

    return EquipmentSection(
        devices=tuple(devices),
        by_vendor=_totals(devices, vendor),
        by_site=_totals(devices, site),
        oui_only=tuple(h for h in devices if h.device is not None and h.device.oui_only),
        unreachable=tuple(h for h in devices if h.status == "unreachable"),
    )
