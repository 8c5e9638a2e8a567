# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The typed model of a report: one run, or a campaign merged from several runs.

Everything a renderer shows is here, already resolved (Covered List entries looked up in the
catalogs, the audit log verified, the batches and decisions read from the log), so the five
renderers only format. The JSON renderer is :meth:`Report.as_dict`, pinned by
``src/ripreplace/schemas/report.schema.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

REPORT_FORMAT = "ripreplace-report/1"

#: Host statuses (``records.HOST_STATUSES``) most urgent first. ``locked``: another run holds the host;
#: ``review``: only low-confidence signals, for a person to look at (never removed automatically).
STATUS_ORDER = (
    "covered",
    "failed",
    "unreachable",
    "locked",
    "deferred",
    "review",
    "excepted",
    "remediated",
    "clean",
)
#: Statuses whose JUnit test case is ``skipped`` (the run did not get to them) unless covered software remains.
SKIPPED_STATUSES = frozenset({"deferred", "locked"})

#: Statuses that make a host's JUnit test case fail.
FAILING_STATUSES = frozenset({"covered", "failed", "unreachable"})


@dataclasses.dataclass(frozen=True)
class CoveredListEntry:
    """The FCC Covered List entry a finding falls under, as the catalog records it."""

    entry: str
    added: str | None = None
    grade: str | None = None
    sources: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "added": self.added, "grade": self.grade, "sources": list(self.sources)}


@dataclasses.dataclass(frozen=True)
class Evidence:
    kind: str
    value: str
    confidence: str | None = None
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def text(self) -> str:
        """One line: ``deb:kesl 12.0.0.6672`` / ``service:kesl (systemd, active)`` / ``process:/opt/... pid 42``."""
        d = self.details
        extra = ""
        if self.kind in ("deb", "rpm") and d.get("version"):
            extra = f" {d['version']}" + (
                " (config-files)" if d.get("residue") or d.get("status") == "config-files" else ""
            )
        elif self.kind == "process" and d.get("pid") is not None:
            extra = f" pid {d['pid']}"
        elif self.kind == "service":
            state = d.get("active") or ("enabled" if d.get("enabled") else "present")
            extra = f" ({d.get('manager') or '?'}, {state})"
        return f"{self.kind}:{self.value}{extra}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "confidence": self.confidence, "details": dict(self.details)}


@dataclasses.dataclass(frozen=True)
class ExceptionRef:
    """An exception (catalog/exceptions.yml) that applied to a finding, or one that had expired."""

    id: str
    expires: str | None
    ticket: str | None = None
    reason: str | None = None
    scope: str | None = None
    expired: bool = False
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Finding:
    catalog_id: str
    vendor: str
    product: str
    state: str
    confidence: str
    review: bool
    covered_list: CoveredListEntry | None
    evidence: tuple[Evidence, ...]
    exception: ExceptionRef | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "catalog_id": self.catalog_id,
            "vendor": self.vendor,
            "product": self.product,
            "state": self.state,
            "confidence": self.confidence,
            "review": self.review,
            "covered_list": self.covered_list.as_dict() if self.covered_list else None,
            "evidence": [e.as_dict() for e in self.evidence],
            "exception": self.exception.as_dict() if self.exception else None,
        }


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A record the run wrote whose known keys the renderers read, kept whole (``raw``) for the JSON."""

    raw: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    def _str(self, key: str) -> str | None:
        value = self.raw.get(key)
        return None if value is None or value == "" else str(value)


@dataclasses.dataclass(frozen=True)
class Verify(Recorded):
    """The verify role's ``verify_outcome`` for a host."""

    @property
    def outcome(self) -> str | None:
        return self._str("outcome")

    @property
    def reason(self) -> str | None:
        return self._str("reason")


@dataclasses.dataclass(frozen=True)
class RemovalAction(Recorded):
    """One action of ``covered_remove`` (state.json ``removed``)."""

    @property
    def phase(self) -> str | None:
        return self._str("phase")

    @property
    def target(self) -> str | None:
        return self._str("target")

    @property
    def result(self) -> str | None:
        return self._str("result")

    def text(self) -> str:
        """``packages kesl klnagent64: purged`` (HTML)."""
        head = " ".join(x for x in (self.phase, self.target) if x)
        return f"{head}: {self.result}" if head and self.result else head or self.result or ""

    def words(self) -> str:
        """``packages kesl klnagent64 purged`` (CSV): the recorded values, space-separated."""
        return " ".join(str(self.raw[k]) for k in ("phase", "target", "result") if self.raw.get(k) is not None)


@dataclasses.dataclass(frozen=True)
class Window(Recorded):
    """The change window a remediate run was given (summary.json ``window``)."""

    @property
    def kind(self) -> str | None:
        return self._str("kind")

    @property
    def text(self) -> str | None:
        return self._str("text")

    @property
    def start(self) -> str | None:
        return self._str("start")

    @property
    def end(self) -> str | None:
        return self._str("end")


@dataclasses.dataclass(frozen=True)
class Stop(Recorded):
    """Why a remediate run stopped early (summary.json ``stop``)."""

    @property
    def reason(self) -> str | None:
        return self._str("reason")

    @property
    def by(self) -> str | None:
        return self._str("by")


@dataclasses.dataclass(frozen=True)
class CatalogRef:
    """A catalog file a run used, as the run recorded it (path, sha256); never re-read by a report."""

    path: str
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256}


@dataclasses.dataclass(frozen=True)
class Replacement:
    product: str | None
    name: str | None
    version: str | None
    healthy: bool | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TaskTally:
    """Per-host task counts of the run's playbooks (summed ``playbook-end`` stats of the audit log)."""

    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    def add(self, stats: Mapping[str, Any]) -> TaskTally:
        def n(key: str) -> int:
            value = stats.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        return TaskTally(**{f.name: getattr(self, f.name) + n(f.name) for f in dataclasses.fields(self)})

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    run: str
    status: str

    def as_dict(self) -> dict[str, str]:
        return {"run": self.run, "status": self.status}


@dataclasses.dataclass(frozen=True)
class Device:
    """What an equipment run's scan read about a device (summary.json ``scanned``; docs/equipment.md)."""

    address: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    site: str | None = None
    discovered: bool = False  # seen only in a neighbour, ARP, forwarding or LLDP table
    oui_only: bool = False  # its only evidence is a MAC prefix: "OUI-only, unidentified"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HostReport:
    name: str
    status: str
    reason: str | None
    run: str  # the run this host's state comes from
    mode: str  # audit or remediate: the mode of that run
    state: str | None  # the campaign state (state.json) when a remediate run
    batch: int | None
    findings: tuple[Finding, ...]
    excepted: tuple[Finding, ...]
    exceptions_expired: tuple[ExceptionRef, ...]
    replacement: Replacement | None
    removal_actions: tuple[RemovalAction, ...]
    protection_gap_seconds: float | None
    verify: Verify | None
    tasks: TaskTally | None
    first_failure: str | None  # the first failed task of the run's log for this host
    history: tuple[HistoryEntry, ...] = ()
    findings_from: str | None = None  # the run whose findings are shown, when not ``run``
    device: Device | None = None  # equipment runs: the device facts

    @property
    def actionable(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.review)

    @property
    def covered_remains(self) -> bool:
        """Covered software is (or, as far as the runs know, still is) on the host."""
        if self.status == "covered":
            return True
        return self.status in ("failed", "unreachable", "deferred", "locked") and bool(self.actionable)

    @property
    def failing(self) -> bool:
        return self.covered_remains or self.status in FAILING_STATUSES

    def failure_message(self) -> str | None:
        if not self.failing:
            return None
        if self.status == "covered":
            ids = ", ".join(sorted({f.catalog_id for f in self.actionable}))
            return f"covered software found: {ids}" + (f" ({self.reason})" if self.reason else "")
        base = self.reason or self.first_failure or f"host {self.status}"
        if self.covered_remains:
            ids = ", ".join(sorted({f.catalog_id for f in self.actionable}))
            return f"{self.status}: {base}; covered software remains: {ids}"
        return f"{self.status}: {base}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "covered_remains": self.covered_remains,
            "failing": self.failing,
            "reason": self.reason,
            "run": self.run,
            "mode": self.mode,
            "state": self.state,
            "batch": self.batch,
            "findings": [f.as_dict() for f in self.findings],
            "findings_from": self.findings_from,
            "excepted": [f.as_dict() for f in self.excepted],
            "exceptions_expired": [e.as_dict() for e in self.exceptions_expired],
            "replacement": self.replacement.as_dict() if self.replacement else None,
            "removal_actions": [a.as_dict() for a in self.removal_actions],
            "protection_gap_seconds": self.protection_gap_seconds,
            "verify": self.verify.as_dict() if self.verify is not None else None,
            "tasks": self.tasks.as_dict() if self.tasks else None,
            "first_failure": self.first_failure,
            "history": [h.as_dict() for h in self.history],
            "device": self.device.as_dict() if self.device is not None else None,
        }


@dataclasses.dataclass(frozen=True)
class LogVerdict:
    """What the verifier said about a run's audit.jsonl, just now (never a stored verdict)."""

    status: str  # ok, incomplete, tampered, missing, unreadable
    message: str
    final_hash: str | None
    records: int
    manifest_final_hash: str | None
    superseded_by: str | None = None  # campaign: a later run resumed this one from its last hash
    detail: str = ""  # the verdict in words without the final hash (HTML shows the hash once, apart)
    #: summary.json / manifest.json present but not recorded by run-end: their content is not verified
    unverified: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "final_hash": self.final_hash,
            "records": self.records,
            "manifest_final_hash": self.manifest_final_hash,
            "superseded_by": self.superseded_by,
            "ok": self.ok,
            "unverified_files": list(self.unverified),
        }


@dataclasses.dataclass(frozen=True)
class Batch:
    batch: int
    hosts: tuple[str, ...]
    started: str | None
    seconds: float | None
    counts: Mapping[str, int]
    failed_pct: float | None
    canceled: bool
    closes: str | None  # the window close the batch was checked against

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "hosts": list(self.hosts),
            "started": self.started,
            "seconds": self.seconds,
            "counts": dict(self.counts),
            "failed_pct": self.failed_pct,
            "canceled": self.canceled,
            "closes": self.closes,
        }


@dataclasses.dataclass(frozen=True)
class RunInfo:
    run: str
    path: str
    mode: str
    started: str | None
    finished: str | None
    operator: str | None
    ticket: str | None
    window: Window | None
    window_start: str | None
    window_end: str | None
    batches: tuple[Batch, ...]
    stop: Stop | None
    exit_code: int | None
    source: str  # summary.json, or state.json for a run that never finished
    resumes: str | None
    audit_log: LogVerdict
    catalogs: tuple[CatalogRef, ...]
    decisions: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "path": self.path,
            "mode": self.mode,
            "started": self.started,
            "finished": self.finished,
            "operator": self.operator,
            "ticket": self.ticket,
            "window": self.window.as_dict() if self.window is not None else None,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "batches": [b.as_dict() for b in self.batches],
            "stop": self.stop.as_dict() if self.stop is not None else None,
            "exit_code": self.exit_code,
            "source": self.source,
            "resumes": self.resumes,
            "audit_log": self.audit_log.as_dict(),
            "catalogs": [c.as_dict() for c in self.catalogs],
            "decisions": self.decisions,
        }


@dataclasses.dataclass(frozen=True)
class Report:
    kind: str  # run or campaign
    title: str
    generated: str
    generator: str
    runs: tuple[RunInfo, ...]
    hosts: tuple[HostReport, ...]
    scope: str = ""  # campaign: the runs directory (the page's heading; not part of the JSON)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for host in self.hosts:
            out[host.status] = out.get(host.status, 0) + 1
        return {s: out[s] for s in sorted(out, key=_status_key)}

    @property
    def covered_remaining(self) -> int:
        return sum(1 for h in self.hosts if h.covered_remains)

    @property
    def failing(self) -> int:
        return sum(1 for h in self.hosts if h.failing)

    @property
    def log_ok(self) -> bool:
        """Every run's log verifies, or (campaign) was resumed from its last verified record."""
        return all(r.audit_log.ok or r.audit_log.superseded_by for r in self.runs)

    @property
    def run(self) -> RunInfo | None:
        return self.runs[-1] if self.runs else None

    def exceptions(self) -> list[tuple[str, Finding]]:
        return [(h.name, f) for h in self.hosts for f in h.excepted if f.exception is not None]

    def expired_exceptions(self) -> list[tuple[str, ExceptionRef]]:
        return [(h.name, e) for h in self.hosts for e in h.exceptions_expired]

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "kind": self.kind,
            "title": self.title,
            "generated": self.generated,
            "generator": self.generator,
            "audit_log_ok": self.log_ok,
            "counts": self.counts,
            "totals": {
                "hosts": len(self.hosts),
                "covered_remaining": self.covered_remaining,
                "failing": self.failing,
                "exceptions_applied": len(self.exceptions()),
                "exceptions_expired": len(self.expired_exceptions()),
            },
            "runs": [r.as_dict() for r in self.runs],
            "hosts": [h.as_dict() for h in self.hosts],
        }


def _status_key(status: str) -> tuple[int, str]:
    return (STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER), status)
