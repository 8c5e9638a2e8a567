# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The record contract of ripreplace: one shape for a finding from the host to the report.

Every run directory holds ``summary.json`` (every mode) and, for a remediation, ``state.json``. Their
shapes are pinned by the JSON Schemas in the collection's ``schemas/`` directory (shipped in the
collection and, through it, in the Python package; :func:`validate` checks a document against them)
and built only here: :func:`build_summary` and :func:`exit_code_for` serve ``audit`` and
``remediate`` alike. Bump a format string when a shape changes (additive optional keys keep it).

Finding (``finding.schema.json``): exactly what ``ripreplace.remediation.covered_facts`` returns,
never flattened, so a report shows the Covered List facts the run used, not today's catalog::

    {"catalog_id": "kaspersky-kesl", "vendor": "AO Kaspersky Lab", "product": "...",
     "covered_list": {"entry": "...", "added": "2022-03-25", "sources": ["https://..."], "grade"?: "P"},
     "state": "installed|residue|container", "confidence": "high|medium|low", "review": false,
     "purpose_review"?: true,
     "evidence": [{"kind": "deb|rpm|service|path|process|kernel_module|snmp_sysobjectid|snmp_sysdescr|
                           snmp_probe|entity|lldp|oui",
                   "value": "kesl", "confidence": "high", "source"?: "P: ...", "details": {"version": "..."}}],
     "exception"?: {"id", "catalog_id", "scope", "reason", "ticket", "expires", "file", ...}}  # excepted only

``summary.json`` (``ripreplace-summary/2``, ``summary.schema.json``)::

    {"format": "ripreplace-summary/2", "run": "<run id>", "mode": "audit|remediate|equipment",
     "finished": "...Z", "exit_code": 0, "counts": {"<status>": n},
     "hosts": {"<inventory hostname>": HostOutcome},
     # audit/equipment: "playbook": {"status", "rc"}, "products": {"<catalog id>": ["<host>", ...]}
     # equipment: "equipment": {"devices", "neighbour_sources", "oui_registry", "oui_excluded", "netns"}
     # remediate: "window": {...}, "previous": null|{...}, "batches": [...], "stop": null|{"reason", "by"}}

    HostOutcome: {"status": "clean|covered|review|remediated|failed|unreachable|deferred|excepted|locked",
                  "reason": str|null, "findings": [Finding], "excepted": [Finding],
                  # audit: "exceptions_expired": [...], "removal_plan": {...}, "scanned": {...}, "warnings"?: [...]
                  # remediate: "state", "batch", "targeted", "run", "replacement": {...}|null, "verify": {...}|null}

``state.json`` (``ripreplace-state/2``, ``state.schema.json``; ``/1`` is still read for ``--resume``,
its flattened findings re-nested by :func:`finding_from_v1`)::

    {"format": "ripreplace-state/2", "run": "...", "updated": "...Z", "previous": null|{...}, "targets": [...],
     "hosts": {"<host>": {"state": "pending|replaced|removed|verified|failed|deferred|unreachable|interrupted|locked",
                          "reason", "batch", "task", "run", "findings": [Finding]|null, "excepted": [Finding]|null,
                          "replacement": {...}|null, "removed": [...]|null, "verify": {...}|null,
                          "changed": "...Z"|null, "history": [{"state", "at", "run", "reason"?}]}}}

Role outcome facts (one head for the three roles; the campaign reads nothing else, never a task or
role name): ``ripreplace_replacement``, ``remove_outcome`` and ``verify_outcome`` each carry
``step`` (replacement|remove|verify), ``outcome`` (see :data:`STEP_OUTCOMES`), ``reason`` and
``check_mode``; ``verify_outcome`` adds ``recorded`` (true once the outcome is written on the host).

Exit codes (:func:`exit_code_for`, over the targeted hosts): audit: any ``covered`` -> 3 (a definite
finding is never masked by a flaky host), else any ``failed``/``unreachable`` -> 4, else 0;
remediate: any ``failed``/``unreachable`` -> 4, else any ``deferred`` (outside the window, stopped,
interrupted) or ``locked`` (another campaign holds the host) -> 5, else 0; equipment: any ``covered`` -> 3, else 0.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, Required, TypedDict

from ripreplace import collection, rundir
from ripreplace.constants import ExitCode

SUMMARY_FORMAT = "ripreplace-summary/2"
STATE_FORMAT = "ripreplace-state/2"
#: state.json formats ``--resume`` reads (older ones are upgraded on load).
STATE_FORMATS_READ = ("ripreplace-state/1", STATE_FORMAT)
DETECT_ACTION = f"{collection.FQCN}.covered_facts"
REMOVE_ACTION = f"{collection.FQCN}.covered_remove"
LOCK_ACTION = f"{collection.FQCN}.covered_lock"

FINDING_STATES = ("installed", "residue", "container")
CONFIDENCES = ("high", "medium", "low")
EVIDENCE_KINDS = (
    "deb",
    "rpm",
    "service",
    "path",
    "process",
    "kernel_module",
    "snmp_sysobjectid",
    "snmp_sysdescr",
    "snmp_probe",
    "entity",
    "lldp",
    "oui",
)
HOST_STATUSES = (
    "clean",
    "covered",
    "review",
    "remediated",
    "failed",
    "unreachable",
    "deferred",
    "excepted",
    "locked",
)
MODES = ("audit", "remediate", "equipment")


# --------------------------------------------------------------------------- shapes
class CoveredListEntry(TypedDict):
    entry: str
    added: str | None  # null only in a finding carried over from a ripreplace-state/1 run
    sources: list[str]
    grade: NotRequired[str]


class Evidence(TypedDict):
    kind: str
    value: str
    confidence: str
    details: dict[str, Any]
    source: NotRequired[str]


class Finding(TypedDict):
    catalog_id: str
    vendor: str
    product: str
    covered_list: CoveredListEntry
    state: str
    confidence: str
    review: bool
    evidence: list[Evidence]
    purpose_review: NotRequired[bool]
    exception: NotRequired[dict[str, Any]]


class HostOutcome(TypedDict, total=False):
    """One host of summary.json; the keys after ``excepted`` belong to one mode (module docstring)."""

    status: Required[str]
    reason: Required[str | None]
    findings: Required[list[Finding]]
    excepted: Required[list[Finding]]
    exceptions_expired: list[dict[str, Any]]
    removal_plan: dict[str, Any]
    scanned: dict[str, Any]
    warnings: list[str]
    campaign_lock: dict[str, Any]
    state: str
    batch: int | None
    targeted: bool
    run: str | None
    replacement: dict[str, Any] | None
    verify: dict[str, Any] | None


class Summary(TypedDict, total=False):
    format: Required[str]
    run: Required[str]
    mode: Required[str]
    finished: Required[str]
    exit_code: Required[int]
    counts: Required[dict[str, int]]
    hosts: Required[dict[str, HostOutcome]]
    playbook: dict[str, Any]
    products: dict[str, list[str]]
    window: dict[str, Any]
    previous: dict[str, Any] | None
    batches: list[dict[str, Any]]
    stop: dict[str, Any] | None
    equipment: dict[str, Any]


# --------------------------------------------------------------------------- the one builder
_EXIT_RULES: Mapping[str, tuple[tuple[frozenset[str], ExitCode], ...]] = {
    "audit": (
        (frozenset({"covered"}), ExitCode.COVERED),
        (frozenset({"failed", "unreachable"}), ExitCode.HOSTS_FAILED),
    ),
    "remediate": (
        (frozenset({"failed", "unreachable"}), ExitCode.HOSTS_FAILED),
        (frozenset({"deferred", "locked"}), ExitCode.WINDOW),  # locked: another run holds it; not done
    ),
    "equipment": ((frozenset({"covered"}), ExitCode.COVERED),),
}


def exit_code_for(mode: str, hosts: Mapping[str, Mapping[str, Any]]) -> ExitCode:
    """The run's exit code from its hosts' statuses (hosts with ``targeted: false`` do not count).

    Remediate: a campaign outside its window at the start defers every targeted host (targets are
    never empty), so "deferred" covers it.
    """
    statuses = {h["status"] for h in hosts.values() if h.get("targeted", True) is not False}
    for trigger, code in _EXIT_RULES[mode]:
        if statuses & trigger:
            return code
    return ExitCode.OK


def build_summary(*, run_id: str, mode: str, hosts: Mapping[str, HostOutcome], **extra: Any) -> Summary:
    """summary.json of any mode: format, counts and exit code computed here, ``extra`` the mode's keys."""
    if mode not in _EXIT_RULES:
        raise ValueError(f"unknown run mode {mode!r}")
    counts: dict[str, int] = {}
    for entry in hosts.values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    summary: Summary = {
        "format": SUMMARY_FORMAT,
        "run": run_id,
        "mode": mode,
        "finished": rundir.isotime(rundir.utcnow()),
        "exit_code": int(exit_code_for(mode, hosts)),
        "counts": dict(sorted(counts.items())),
        "hosts": dict(hosts),
    }
    summary.update(extra)  # type: ignore[typeddict-item]
    return summary


def findings_of(facts: Mapping[str, Any], key: str = "findings") -> list[Finding]:
    """The findings (or ``excepted``) of a ``covered_software`` fact, as the module returned them."""
    items = facts.get(key) or []
    return [dict(f) for f in items if isinstance(f, Mapping)]  # type: ignore[misc]


def finding_from_v1(flat: Mapping[str, Any]) -> Finding:
    """Re-nest a finding of a ripreplace-state/1 run (flattened evidence, the entry text only)."""
    evidence: list[Evidence] = []
    for item in flat.get("evidence") or []:
        details = {k: v for k, v in item.items() if k not in ("kind", "value", "confidence")}
        evidence.append(
            {
                "kind": str(item.get("kind")),
                "value": str(item.get("value")),
                "confidence": str(item.get("confidence") or flat.get("confidence")),
                "details": details,
            }
        )
    listed = flat.get("covered_list")
    if isinstance(listed, Mapping):
        covered: CoveredListEntry = {
            "entry": str(listed.get("entry", "")),
            "added": listed.get("added"),
            "sources": list(listed.get("sources") or []),
        }
    else:
        covered = {"entry": str(listed or ""), "added": None, "sources": []}
    out: Finding = {
        "catalog_id": str(flat["catalog_id"]),
        "vendor": str(flat.get("vendor", "")),
        "product": str(flat.get("product", "")),
        "covered_list": covered,
        "state": str(flat.get("state", "installed")),
        "confidence": str(flat.get("confidence", "high")),
        "review": bool(flat.get("review")),
        "evidence": evidence,
    }
    if isinstance(flat.get("exception"), Mapping):
        out["exception"] = dict(flat["exception"])
    return out


# --------------------------------------------------------------------------- role outcome facts
#: The fact each role publishes and the outcomes its ``outcome`` key takes.
STEP_FACTS = {"ripreplace_replacement": "replacement", "remove_outcome": "remove", "verify_outcome": "verify"}
STEP_OUTCOMES = {
    "replacement": ("pending", "healthy", "unhealthy", "planned", "skipped"),
    "remove": ("removed", "nothing", "remaining", "planned", "failed"),
    "verify": ("verified", "failed", "planned"),
}


@dataclasses.dataclass(frozen=True)
class StepOutcome:
    """The head of one role outcome fact; ``data`` is the whole fact."""

    step: str
    outcome: str
    reason: str
    check_mode: bool
    data: Mapping[str, Any]

    @property
    def recorded(self) -> bool:
        return self.data.get("recorded") is True


def step_outcomes(facts: Mapping[str, Any]) -> list[StepOutcome]:
    """The role outcome facts among ``facts`` (a task result's ``ansible_facts``), in contract order.

    A fact whose ``step`` or ``outcome`` is not the contract's is ignored: a value set by something
    else under the same name never moves a host's state.
    """
    out = []
    for name, step in STEP_FACTS.items():
        value = facts.get(name)
        if not isinstance(value, Mapping) or value.get("step") != step:
            continue
        if value.get("outcome") not in STEP_OUTCOMES[step]:
            continue
        out.append(
            StepOutcome(
                step=step,
                outcome=str(value["outcome"]),
                reason=str(value.get("reason") or ""),
                check_mode=value.get("check_mode") is True,
                data=value,
            )
        )
    return out


# --------------------------------------------------------------------------- schemas
SCHEMAS = ("finding", "summary", "state")


def schema_dir() -> Path:
    """``schemas/`` of the collection (one source: the package reads the collection it ships)."""
    return collection.collection_root() / "schemas"


@functools.cache
def _validators() -> dict[str, Any]:
    import jsonschema
    from referencing import Registry, Resource

    docs = {name: json.loads((schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")) for name in SCHEMAS}
    registry: Registry[Any] = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs.values())
    return {
        name: jsonschema.Draft202012Validator(doc, registry=registry, format_checker=jsonschema.FormatChecker())
        for name, doc in docs.items()
    }


def validate(document: Any, name: str) -> list[str]:
    """Every way ``document`` breaks schema ``name`` (finding, summary, state), as ``path: message`` lines."""
    validator = _validators()[name]
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"[:400] for e in errors]


def validate_run_dir(path: Path) -> dict[str, list[str]]:
    """Validate the summary.json and state.json of a run directory: file name -> errors (absent files skipped)."""
    out = {}
    for name, schema in ((rundir.SUMMARY, "summary"), (rundir.STATE, "state")):
        file = path / name
        if file.is_file():
            out[name] = validate(json.loads(file.read_text(encoding="utf-8")), schema)
    return out
