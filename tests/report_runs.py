# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Run directories for report tests, written with the real audit-log writer API (``auditlog.AuditLog``).

Importable from any test (``tests/`` is on sys.path through tests/conftest.py): ``import report_runs``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ripreplace import auditlog

chain = auditlog  # the writer and the verifier, through the typed facade

EVIL = "<script>alert(1)</script>\"onerror=alert(2) x='<img src=x onerror=alert(3)>"
EVIL_HOST = 'web<script>alert(1)</script>"onerror=alert(1)javascript:alert(1)'


KASPERSKY_AO = {
    "entry": 'AO Kaspersky Lab: "Information security products, solutions, and services supplied, directly or '
    'indirectly, by AO Kaspersky Lab or any of its predecessors, successors, parents, subsidiaries, or affiliates"',
    "added": "2022-03-25",
    "sources": [
        "https://docs.fcc.gov/public/attachments/DA-22-320A1.txt",
        "https://www.fcc.gov/supplychain/coveredlist",
    ],
}


def finding(catalog_id: str = "kaspersky-kesl", **over: Any) -> dict[str, Any]:
    """A finding as covered_facts returns it and ripreplace-summary/2 records it (nested)."""
    out = {
        "catalog_id": catalog_id,
        "vendor": "AO Kaspersky Lab",
        "product": "Kaspersky Endpoint Security for Linux",
        "covered_list": dict(KASPERSKY_AO),
        "state": "installed",
        "confidence": "high",
        "review": False,
        "evidence": [
            {
                "kind": "deb",
                "value": "kesl",
                "confidence": "high",
                "details": {"version": "12.0.0.6672", "status": "installed"},
            },
            {
                "kind": "service",
                "value": "kesl",
                "confidence": "high",
                "details": {"manager": "systemd", "active": "active"},
            },
        ],
    }
    out.update(over)
    return out


def finding_v1(catalog_id: str = "kaspersky-kesl", **over: Any) -> dict[str, Any]:
    """The same finding as ripreplace-summary/1 recorded it: evidence details flattened, the entry's text only."""
    out = finding(catalog_id)
    out["covered_list"] = out["covered_list"]["entry"]
    out["evidence"] = [{k: v for k, v in e.items() if k != "details"} | e["details"] for e in out["evidence"]]
    out.update(over)
    return out


def make_run(
    runs: Path,
    run_id: str,
    *,
    mode: str = "audit",
    hosts: dict[str, Any],
    started: str = "2026-12-05T06:00:00.000Z",
    extra_summary: dict[str, Any] | None = None,
    decisions: list[dict[str, Any]] = (),  # type: ignore[assignment]
    end: bool = True,
    resumes: dict[str, Any] | None = None,
    summary_format: str = "ripreplace-summary/2",
    manifest_extra: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    cover_files: bool = True,
) -> Path:
    """A run directory as the wrapper leaves it: manifest.json, audit.jsonl, summary.json written before
    run-end, which records the sha256 of summary.json and manifest.json (an edit afterwards is tampering).
    ``end=False``: a killed run (no run-end). ``summary``: this summary.json instead of one built here.
    ``cover_files=False``: a run-end that records no file (as before run-end recorded them)."""
    path = runs / run_id
    path.mkdir(parents=True)
    manifest: dict[str, Any] = {"format": "ripreplace-manifest/1", "run": run_id, "mode": mode, "started": started}
    manifest.update({"operator": "alice", "ticket": "CHG-1" if mode == "remediate" else None})
    if resumes:
        manifest["resumes"] = resumes
    manifest.update(manifest_extra or {})  # before run-end, which records the manifest's sha256
    (path / "manifest.json").write_text(json.dumps(manifest))
    log = chain.AuditLog(path / "audit.jsonl", run_id=run_id, fsync_interval=0)
    log.run_start(manifest)
    for decision in decisions:
        fields = dict(decision)
        log.decision(fields.pop("kind"), **fields)
    for name, entry in hosts.items():
        log.host_state(name, entry["status"], reason=entry.get("reason"))
    if summary is None:
        counts: dict[str, int] = {}
        for entry in hosts.values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        summary = {"format": summary_format, "run": run_id, "mode": mode, "counts": counts, "hosts": hosts}
        summary.update(extra_summary or {})
    (path / "summary.json").write_text(json.dumps(summary))
    if end and cover_files:
        log.run_end(status="ok", manifest_path=path / "manifest.json", summary_path=path / "summary.json")
    elif end:
        appended = log.run_end(status="ok")
        chain.record_final_hash(path / "manifest.json", appended, log_path=path / "audit.jsonl", run_id=run_id)
    log.close()
    return path


def audit_hosts() -> dict[str, Any]:
    return {
        "web1": {"status": "covered", "findings": [finding()], "excepted": [], "reason": None},
        "web2": {"status": "clean", "findings": [], "excepted": [], "reason": None},
        "db1": {
            "status": "excepted",
            "findings": [],
            "excepted": [
                finding(
                    "kaspersky-network-agent",
                    product="Kaspersky Security Center Network Agent",
                    exception={
                        "id": "EXC-7",
                        "scope": "host:db1",
                        "reason": "vendor migration",
                        "ticket": "CHG-9",
                        "expires": "2027-01-31",
                    },
                )
            ],
            "exceptions_expired": [
                {"id": "EXC-1", "catalog_id": "kaspersky-kesl", "expires": "2026-01-01", "message": "EXC-1 expired"}
            ],
            "reason": "excepted",
        },
        "db2": {"status": "unreachable", "findings": [], "excepted": [], "reason": "ssh: connection refused"},
    }
