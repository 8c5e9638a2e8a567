# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The typed core of ``ripreplace audit``: inputs checked before any host is touched, the run, the summary.

Flow: :func:`validate_inputs` (catalogs, exceptions, inventory, limit; one-line errors, exit 2)
-> :func:`run_audit` (run directory, manifest, ``playbooks/audit.yml`` in check mode through
ansible-runner, events collected by :class:`EventCollector`) -> :func:`build_summary` (one
:data:`~ripreplace.records.HostOutcome` per host, through :func:`ripreplace.records.build_summary`:
``summary.json`` of the record contract, findings exactly as the module returned them) -> the exit
code of :func:`ripreplace.records.exit_code_for` and a text or JSON report.

Exit code precedence (documented in docs/detection.md): covered software found -> 3, even when
other hosts failed; otherwise any host failed or unreachable -> 4; otherwise 0. A definite finding
is never masked by a flaky host, and an incomplete audit never reports 0. The summary and the
JSON envelope always carry both counts.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ripreplace import catalogs, checkrun, collection, records, rundir, runner, sitefiles, textout
from ripreplace.constants import ENVELOPE_VERSION, ExitCode
from ripreplace.exceptions import UsageError
from ripreplace.inventory import inventory_hosts
from ripreplace.records import HostOutcome

LOCAL_INVENTORY_NAME = "localhost"
#: The detect role's tasks for plain ansible-playbook and AWX runs, which a wrapped run does not execute:
#: the per-host summary line and the set_stats counts (the wrapper prints and writes its own summary) and
#: the findings gate (the wrapper sets detect_fail_on_findings false: a finding is a status, exit 3).
#: Each would be one more forked worker and two events per host (docs/performance.md, "Scale").
DETECT_PLAIN_RUN_TAGS = ("detect_report", "detect_gate")


@dataclasses.dataclass(frozen=True)
class AuditRequest:
    inventory: Path | None
    limit: str | None
    catalogs: tuple[Path, ...]
    exceptions: tuple[Path, ...]
    runs_dir: Path
    forks: int = 5
    today: str | None = None


@dataclasses.dataclass(frozen=True)
class ValidatedInputs:
    request: AuditRequest
    hosts: tuple[str, ...]  # targeted inventory hostnames, after --limit
    inventory: str | dict[str, Any]  # path for ansible-runner, or the embedded localhost inventory
    catalog_files: tuple[dict[str, Any], ...]
    exception_count: int
    local: bool


def local_inventory() -> dict[str, Any]:
    return {
        "all": {
            "hosts": {
                LOCAL_INVENTORY_NAME: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
            }
        }
    }


def validate_inputs(request: AuditRequest) -> ValidatedInputs:
    """Everything that can be checked without touching a host. Raises UsageError/InputFileError."""
    if request.forks < 1:
        raise UsageError(f"--forks must be a positive number, got {request.forks}")
    site = sitefiles.check(request.catalogs, request.exceptions)
    if request.today is not None:
        try:
            catalogs.parse_day(request.today)
        except catalogs.CatalogError:
            raise UsageError(f"--today {request.today!r} is not a date (YYYY-MM-DD)") from None
    if request.inventory is None:
        if request.limit is not None and request.limit not in ("all", LOCAL_INVENTORY_NAME, "localhost*"):
            raise UsageError(f"--limit {request.limit!r} matches no host: without -i only localhost is audited")
        hosts: list[str] = [LOCAL_INVENTORY_NAME]
        inventory: str | dict[str, Any] = local_inventory()
    else:
        hosts = inventory_hosts(request.inventory, request.limit)
        inventory = str(request.inventory.resolve())
    return ValidatedInputs(
        request=request,
        hosts=tuple(hosts),
        inventory=inventory,
        catalog_files=site.catalog_files,
        exception_count=site.exception_count,
        local=request.inventory is None,
    )


# --------------------------------------------------------------------------- events -> per-host state
@dataclasses.dataclass
class HostScan:
    """What the scan of one host gave: its covered_software facts, or why there are none."""

    facts: dict[str, Any] | None = None
    unreachable: str | None = None
    failed: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


_result_message = runner.result_message


class EventCollector:
    """Turns ansible-runner events into one :class:`HostScan` per inventory host."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostScan] = {}
        self.stats: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self.stats = {k: data.get(k) for k in ("ok", "failures", "dark", "skipped", "ignored", "rescued")}
            return
        host = data.get("host")
        if not host or not kind.startswith("runner_on_"):
            return
        record = self.hosts.setdefault(host, HostScan())
        res = data.get("res") or {}
        task = data.get("task") or data.get("task_action") or "a task"
        if kind == "runner_on_unreachable":
            record.unreachable = f"unreachable during '{task}': {_result_message(res)}"
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            if record.failed is None:
                record.failed = f"'{task}' failed: {_result_message(res)}"
        elif kind == "runner_on_ok" and data.get("task_action") == records.DETECT_ACTION:
            facts = (res.get("ansible_facts") or {}).get("covered_software")
            if isinstance(facts, dict):
                record.facts = facts
            record.warnings.extend(str(w) for w in res.get("warnings") or [])


# --------------------------------------------------------------------------- summary
def host_outcome(record: HostScan | None) -> HostOutcome:
    """One host of summary.json. Status precedence: unreachable > failed > covered > excepted > clean."""
    if record is None:
        return {"status": "failed", "reason": "no result: the host was never scanned", "findings": [], "excepted": []}
    if record.unreachable:
        return {"status": "unreachable", "reason": record.unreachable, "findings": [], "excepted": []}
    if record.facts is None:
        why = record.failed or "the scan returned no covered_software facts"
        return {"status": "failed", "reason": why, "findings": [], "excepted": []}
    facts = record.facts
    findings = records.findings_of(facts)
    excepted = records.findings_of(facts, "excepted")
    review = [f for f in findings if f["review"]]
    expired = list(facts.get("exceptions_expired") or [])
    notes = [e.get("message", f"exception {e.get('id')} expired") for e in expired]
    contained = [f for f in review if f["state"] == "container"]
    signals = [f for f in review if f["state"] != "container"]
    if contained:
        notes.append(
            "covered software running in a container, not on the host (never removed by ripreplace): "
            + ", ".join(_container_label(f) for f in contained)
        )
    if signals:
        notes.append(
            "low-confidence signal(s) to review, never removed automatically: "
            + ", ".join(f["catalog_id"] for f in signals)
        )
    reason: str | None
    if record.failed:
        status, reason = "failed", record.failed
    elif len(review) < len(findings):
        status, reason = "covered", "; ".join(notes) or None
    elif excepted:
        status = "excepted"
        reason = "; ".join([_excepted_reason(f) for f in excepted] + notes)
    else:
        status, reason = "clean", "; ".join(notes) or None
    entry: HostOutcome = {
        "status": status,
        "reason": reason,
        "findings": findings,
        "excepted": excepted,
        "exceptions_expired": expired,
        "removal_plan": facts.get("removal_plan", {}),
        "scanned": facts.get("scanned", {}),
    }
    if record.warnings:
        entry["warnings"] = record.warnings
    lock = facts.get("campaign_lock")
    if isinstance(lock, dict) and lock.get("run"):  # read in the scan's own call: no extra round trip
        entry["campaign_lock"] = dict(lock)
    return entry


def lock_warning(host: str, lock: dict[str, Any]) -> str:
    """One line: a remediation campaign holds the host's lock, so what the audit saw may be half-way."""
    by = f" from {lock['controller']}" if lock.get("controller") else ""
    return (
        f"warning: {host} is locked by campaign {lock['run']} since {lock.get('started') or '?'}{by}: "
        "a remediation is in progress there, this audit may have seen it half-way"
    )


def _container_label(finding: records.Finding) -> str:
    """``catalog-id (container ID)``: the first container id the process evidence names, if any."""
    for evidence in finding.get("evidence") or []:
        container = (evidence.get("details") or {}).get("container_id")
        if container:
            return f"{finding['catalog_id']} (container {str(container)[:12]})"
    return finding["catalog_id"]


def _excepted_reason(finding: records.Finding) -> str:
    exc = finding.get("exception") or {}
    return (
        f"{finding['catalog_id']} excepted by {exc.get('id')} ({exc.get('ticket')}, "
        f"until {exc.get('expires')}): {exc.get('reason')}"
    )


def build_summary(
    *, run_id: str, hosts: Sequence[str], collector: EventCollector, playbook_status: str, playbook_rc: int
) -> records.Summary:
    per_host = {h: host_outcome(collector.hosts.get(h)) for h in hosts}
    products: dict[str, list[str]] = {}
    for name, entry in per_host.items():
        for f in entry["findings"]:
            if not f["review"]:
                products.setdefault(f["catalog_id"], []).append(name)
    return records.build_summary(
        run_id=run_id,
        mode="audit",
        hosts=per_host,
        playbook={"status": playbook_status, "rc": playbook_rc},
        products=dict(sorted(products.items())),
    )


# --------------------------------------------------------------------------- the run
@dataclasses.dataclass(frozen=True)
class AuditOutcome:
    run: rundir.RunDir
    summary: records.Summary
    exit_code: ExitCode


def _become_locally() -> bool:
    """Local audit: root needs no become; others use sudo only when it exists."""
    if os.geteuid() == 0:
        return False
    return any((Path(d) / "sudo").is_file() for d in os.environ.get("PATH", "").split(os.pathsep) if d)


def run_audit(inputs: ValidatedInputs) -> AuditOutcome:
    request = inputs.request
    playbook = collection.playbook("audit")
    catalog_paths = [Path(collection.catalog_dir())] + [p.resolve() for p in request.catalogs + request.exceptions]
    opening = checkrun.open_run(
        request.runs_dir,
        "audit",
        inventory=request.inventory.resolve() if request.inventory else None,
        playbooks=[playbook, collection.collection_root() / "roles" / "detect"],
        catalogs=catalog_paths,
        extra={
            "targets": list(inputs.hosts),
            "limit": request.limit,
            "inventory_source": "local" if inputs.local else str(request.inventory),
            "catalog_files": list(inputs.catalog_files),
        },
    )
    extravars: dict[str, Any] = {
        "detect_extra_catalogs": [str(p.resolve()) for p in request.catalogs],
        "detect_extra_exceptions": [str(p.resolve()) for p in request.exceptions],
        "detect_fail_on_findings": False,  # a finding is a host's status here (exit 3), never a failed task
    }
    if request.today:
        extravars["detect_today"] = request.today
    if inputs.local:
        extravars["detect_become"] = _become_locally()
    collector = EventCollector()
    request_ = runner.PlaybookRequest(
        playbook=playbook,
        inventory=inputs.inventory,
        limit=request.limit if not inputs.local else None,
        forks=request.forks,
        check=True,
        extravars=extravars,
        ident="audit",
        skip_tags=DETECT_PLAIN_RUN_TAGS,
    )
    # The wrapper owns run-start and run-end; summary.json is written before run-end, which records its sha256.
    with opening as opened:
        result = runner.run_playbook(opened.run, request_, on_event=collector)
        summary = build_summary(
            run_id=opened.run.run_id,
            hosts=inputs.hosts,
            collector=collector,
            playbook_status=result.status,
            playbook_rc=result.rc,
        )
        opened.finish(result.status, summary)
    return AuditOutcome(run=opened.run, summary=summary, exit_code=ExitCode(summary["exit_code"]))


# --------------------------------------------------------------------------- reports
def envelope(command: str, exit_code: int, result: Any, **extra: Any) -> dict[str, Any]:
    """The versioned machine-readable envelope of ``--output json`` (pinned by a contract test)."""
    out = {"envelope_version": ENVELOPE_VERSION, "command": command, "exit_code": int(exit_code), "result": result}
    out.update(extra)
    return out


def _evidence_text(evidence: Sequence[records.Evidence], limit: int = 4) -> str:
    parts = []
    for item in evidence[:limit]:
        e = item.get("details") or {}
        detail = ""
        if item["kind"] in ("deb", "rpm") and e.get("version"):
            detail = f" {e['version']}" + (" (config-files)" if e.get("residue") else "")
        elif item["kind"] == "process":
            detail = f" pid {e.get('pid')}"
        elif item["kind"] == "service":
            state = e.get("active") or ("enabled" if e.get("enabled") else "present")
            detail = f" ({e.get('manager')}, {state})"
        parts.append(f"{item['kind']}:{item['value']}{detail}")
    if len(evidence) > limit:
        parts.append(f"+{len(evidence) - limit} more")
    return ", ".join(parts)


STATUS_STYLE = {
    "covered": "bold red",
    "failed": "bold yellow",
    "unreachable": "bold yellow",
    "excepted": "cyan",
    "clean": "green",
}


def render_text(outcome: AuditOutcome, stream: Any = None) -> None:
    """The audit for people: a table fitted to the terminal (plain lines when piped), then the totals."""
    out = textout.console(stream)
    summary = outcome.summary
    cell = textout.cell
    rows = []
    for host, entry in summary["hosts"].items():
        status = cell(entry["status"], STATUS_STYLE.get(entry["status"], ""))
        findings = entry["findings"] + entry.get("excepted", [])
        if not findings:
            rows.append([cell(host), status, cell("-"), cell(""), cell(""), cell(entry.get("reason") or "")])
            continue
        for n, f in enumerate(findings):
            label = f["catalog_id"] + (" (review)" if f["review"] else "") + (" (excepted)" if "exception" in f else "")
            rows.append(
                [
                    cell(host if n == 0 else ""),
                    status if n == 0 else cell(""),
                    cell(label),
                    cell(f["state"]),
                    cell(f["confidence"]),
                    cell(_evidence_text(f["evidence"])),
                ]
            )
    textout.title(out, f"ripreplace audit {summary['run']}")
    columns = ["host", "status", "finding", "state", "conf.", "evidence"]
    out.print(textout.table(out, columns, rows, short=["status", "state", "conf."], keep=["host", "finding"]))
    for host, entry in summary["hosts"].items():
        if entry["status"] in ("failed", "unreachable", "excepted") or entry.get("exceptions_expired"):
            textout.line(out, f"{host}: {entry['status']}: {entry.get('reason')}")
        if entry.get("campaign_lock"):
            textout.line(out, lock_warning(host, entry["campaign_lock"]))
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items())
    textout.line(out, f"{len(summary['hosts'])} host(s): {counts}")
    if summary["products"]:
        textout.line(out, "covered products: " + ", ".join(f"{p} ({len(h)})" for p, h in summary["products"].items()))
    textout.line(out, f"run directory: {outcome.run.path}")
    textout.line(out, f"exit {int(outcome.exit_code)}: {EXIT_MEANING[outcome.exit_code]}")


EXIT_MEANING = {
    ExitCode.OK: "nothing covered found on any audited host",
    ExitCode.COVERED: "covered software found",
    ExitCode.HOSTS_FAILED: "nothing covered found, but some hosts could not be audited",
}
