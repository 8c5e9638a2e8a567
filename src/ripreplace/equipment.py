# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The typed core of ``ripreplace equipment``: covered network equipment over SNMP and neighbour tables.

Flow: :func:`validate_inputs` (inventory, --limit, site catalogs; one-line errors, exit 2, no
packet sent) -> :func:`run_scan` (run directory, manifest, ``playbooks/equipment.yml`` in check
mode through ansible-runner: the audit_log callback writes audit.jsonl) -> :func:`build_summary`
(``summary.json``, format ``ripreplace-summary/2``, mode ``equipment``: one entry per device and per
discovered neighbour, device facts under ``scanned``) -> exit 3 when a device is covered, else 0
(review, clean and unreachable devices are listed, never fail the run). A scan that did not run
at all (the module failed) is recorded and exits 4.

Credentials never reach this process's output or the run directory: the playbook's action plugin
reads them from the inventory and scans in its own worker process (masking them as the module's
``no_log`` options would be); when the module runs instead, it is piped to the controller's Python
(ANSIBLE_PIPELINING) rather than written to a temporary file.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ripreplace import catalogs, checkrun, collection, records, rundir, runner
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError, UsageError
from ripreplace.inventory import load_inventory

SCAN_ACTION = f"{collection.FQCN}.covered_equipment_facts"
DEVICE_GROUP = "snmp_devices"
#: Device facts the summary keeps under each host's ``scanned``.
SCANNED_KEYS = (
    "address",
    "reachable",
    "discovered",
    "vendor",
    "model",
    "firmware",
    "serial",
    "site",
    "sysobjectid",
    "sysdescr",
    "sysname",
    "snmp_version",
    "covered_purpose",
    "error",
    "walk_error",
    "seen_by",
    "mac",
    "entity",
)


@dataclasses.dataclass(frozen=True)
class EquipmentRequest:
    inventory: Path
    limit: str | None
    catalogs: tuple[Path, ...]
    runs_dir: Path
    forks: int = 5


@dataclasses.dataclass(frozen=True)
class ValidatedInputs:
    request: EquipmentRequest
    devices: tuple[str, ...]  # hosts of snmp_devices after --limit
    linux: tuple[str, ...]  # every other targeted host: its neighbour table is read
    catalog_files: tuple[dict[str, Any], ...]


def validate_inputs(request: EquipmentRequest) -> ValidatedInputs:
    """Everything checked before any packet is sent. Raises UsageError/InputFileError (exit 2)."""
    if request.forks < 1:
        raise UsageError(f"--forks must be a positive number, got {request.forks}")
    try:
        catalog = catalogs.load_catalogs([str(p) for p in request.catalogs])
    except catalogs.CatalogError as exc:
        raise InputFileError(str(exc)) from None
    inventory = load_inventory(request.inventory, request.limit)
    devices = tuple(h for h in inventory.hosts if DEVICE_GROUP in inventory.groups[h])
    linux = tuple(h for h in inventory.hosts if DEVICE_GROUP not in inventory.groups[h])
    if not devices and not linux:
        raise InputFileError(f"{request.inventory}: nothing to scan")
    return ValidatedInputs(request=request, devices=devices, linux=linux, catalog_files=tuple(catalog.files))


# --------------------------------------------------------------------------- events
@dataclasses.dataclass
class ScanCollector:
    """The scan task's result and the hosts that could not be read, from ansible-runner events."""

    facts: dict[str, Any] | None = None
    failed: str | None = None
    host_problems: dict[str, str] = dataclasses.field(default_factory=dict)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = data.get("host")
        if not host or not kind.startswith("runner_on_"):
            return
        res = data.get("res") or {}
        if data.get("task_action") == SCAN_ACTION:
            if kind == "runner_on_ok":
                facts = (res.get("ansible_facts") or {}).get("covered_equipment")
                self.facts = facts if isinstance(facts, dict) else None
            elif kind in ("runner_on_failed", "runner_on_unreachable"):
                self.failed = runner.result_message(res)
        elif kind == "runner_on_unreachable":
            self.host_problems[host] = f"unreachable: {runner.result_message(res)}"


# --------------------------------------------------------------------------- summary
def host_outcome(record: Mapping[str, Any]) -> records.HostOutcome:
    findings: list[records.Finding] = [dict(f) for f in record.get("findings") or []]  # type: ignore[misc]
    return {
        "status": str(record["status"]),
        "reason": record.get("reason"),
        "findings": findings,
        "excepted": [],
        "scanned": {k: record[k] for k in SCANNED_KEYS if record.get(k) is not None},
    }


def _neighbour_sources(inputs: ValidatedInputs, collector: ScanCollector) -> dict[str, Any]:
    reported = (collector.facts or {}).get("neighbour_sources") or {}
    out = {}
    for host in inputs.linux:
        if host in reported:
            out[host] = reported[host]
        else:
            reason = collector.host_problems.get(host, "the scan never reported this host's table")
            out[host] = {"status": "not read", "reason": reason}
    return out


def build_summary(
    *, run_id: str, inputs: ValidatedInputs, collector: ScanCollector, playbook: runner.PlaybookResult
) -> records.Summary:
    facts = collector.facts or {}
    if collector.facts is None:
        reason = f"the equipment scan did not run: {collector.failed or 'no result'}"
        hosts: dict[str, records.HostOutcome] = {
            d: {"status": "failed", "reason": reason, "findings": [], "excepted": []} for d in inputs.devices
        }
    else:
        hosts = {name: host_outcome(record) for name, record in (facts.get("devices") or {}).items()}
    products: dict[str, list[str]] = {}
    for name, outcome in hosts.items():
        for finding in outcome["findings"]:
            if not finding["review"]:
                products.setdefault(finding["catalog_id"], []).append(name)
    summary = records.build_summary(
        run_id=run_id,
        mode="equipment",
        hosts=hosts,
        playbook={"status": playbook.status, "rc": playbook.rc},
        products=dict(sorted(products.items())),
        equipment={
            "devices": list(inputs.devices),
            "neighbour_sources": _neighbour_sources(inputs, collector),
            "oui_registry": facts.get("oui_registry") or [],
            "oui_excluded": facts.get("oui_excluded") or [],
            "netns": facts.get("netns"),
        },
    )
    if collector.facts is None:
        summary["exit_code"] = int(ExitCode.HOSTS_FAILED)  # nothing was scanned: never "nothing covered"
    return summary


# --------------------------------------------------------------------------- the run
@dataclasses.dataclass(frozen=True)
class EquipmentOutcome:
    run: rundir.RunDir
    summary: records.Summary
    exit_code: ExitCode


def run_scan(inputs: ValidatedInputs) -> EquipmentOutcome:
    request = inputs.request
    playbook = collection.playbook("equipment")
    opening = checkrun.open_run(
        request.runs_dir,
        "equipment",
        inventory=request.inventory.resolve(),
        playbooks=[playbook],
        catalogs=[Path(collection.catalog_dir())] + [p.resolve() for p in request.catalogs],
        extra={
            "targets": list(inputs.devices + inputs.linux),
            "devices": list(inputs.devices),
            "limit": request.limit,
            "inventory_source": str(request.inventory),
            "catalog_files": list(inputs.catalog_files),
        },
    )
    collector = ScanCollector()
    request_ = runner.PlaybookRequest(
        playbook=playbook,
        inventory=str(request.inventory.resolve()),
        limit=request.limit,
        forks=request.forks,
        check=True,
        extravars={"equipment_catalogs": [str(p.resolve()) for p in request.catalogs]},
        # The module (and the credentials in its arguments) goes to the controller's Python on a pipe,
        # never into a temporary file.
        envvars={"ANSIBLE_PIPELINING": "True"},
        ident="equipment",
    )
    # The wrapper owns run-start and run-end; summary.json is written before run-end, which records its sha256.
    with opening as opened:
        result = runner.run_playbook(opened.run, request_, on_event=collector)
        summary = build_summary(run_id=opened.run.run_id, inputs=inputs, collector=collector, playbook=result)
        opened.finish(result.status, summary)
    return EquipmentOutcome(run=opened.run, summary=summary, exit_code=ExitCode(summary["exit_code"]))


# --------------------------------------------------------------------------- text report
def _evidence_text(finding: Mapping[str, Any]) -> str:
    parts = []
    for item in finding["evidence"][:4]:
        value = str(item["value"])
        parts.append(f"{item['kind']}:{value[:40]}{'...' if len(value) > 40 else ''}")
    more = len(finding["evidence"]) - 4
    return ", ".join(parts) + (f", +{more} more" if more > 0 else "")


STYLE = {"covered": "bold red", "review": "yellow", "unreachable": "bold yellow", "failed": "bold yellow"}


def render_text(outcome: EquipmentOutcome, stream: Any = None) -> None:
    console = Console(file=stream or sys.stdout, highlight=False, soft_wrap=False, width=160)
    summary = outcome.summary
    table = Table(title=f"ripreplace equipment {summary['run']}")
    for column in ("device", "status", "address", "vendor / model", "finding", "conf.", "evidence"):
        table.add_column(column, no_wrap=column in ("device", "status", "address"))
    for name, host in summary["hosts"].items():
        scanned = host.get("scanned") or {}
        status = f"[{STYLE.get(host['status'], 'green')}]{host['status']}[/]"
        model = " / ".join(str(x) for x in (scanned.get("vendor"), scanned.get("model")) if x)
        rows: Sequence[Mapping[str, Any]] = list(host["findings"]) or [{}]
        for n, f in enumerate(rows):
            label = ""
            if f:
                label = f["catalog_id"] + (" (purpose review)" if f.get("purpose_review") else "")
                label += " (review)" if f["review"] and not f.get("purpose_review") else ""
            table.add_row(
                name if n == 0 else "",
                status if n == 0 else "",
                str(scanned.get("address") or "") if n == 0 else "",
                model if n == 0 else "",
                label or "-",
                f.get("confidence", ""),
                _evidence_text(f) if f else (host.get("reason") or ""),
            )
    console.print(table)
    for name, host in summary["hosts"].items():
        if host["status"] in ("review", "unreachable", "failed") and host.get("reason"):
            console.print(f"{name}: {host['status']}: {host['reason']}", markup=False)
    for host, source in summary["equipment"]["neighbour_sources"].items():
        if source.get("status") != "read":
            console.print(f"{host}: neighbour table {source.get('status')}: {source.get('reason')}", markup=False)
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items())
    console.print(f"{len(summary['hosts'])} device(s): {counts or 'none'}", markup=False)
    console.print(f"run directory: {outcome.run.path}", markup=False)
    console.print(f"exit {int(outcome.exit_code)}: {EXIT_MEANING[outcome.exit_code]}", markup=False)


EXIT_MEANING = {
    ExitCode.OK: "no covered equipment found (devices for review and unreachable ones are listed above)",
    ExitCode.COVERED: "covered equipment found",
    ExitCode.HOSTS_FAILED: "the equipment scan did not run",
}
