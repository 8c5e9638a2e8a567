# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Read run directories into the :mod:`ripreplace.report.model`.

A run's report is built from what the run recorded, and only that: its ``manifest.json``, its
``summary.json`` (or, for a run that was killed, its ``state.json``), each type-checked by
:mod:`ripreplace.report.documents`, and its ``audit.jsonl``, which is **streamed**, never loaded
whole. Catalog files are never re-read: a finding shows the Covered List facts the run recorded
with it, so a catalog changed since the run cannot change what its report says.

1. the verifier (``ripreplace.auditlog.verify``: the collection's ``audit_verify``) checks the
   whole chain (one pass; the verdict is computed now, never taken from a stored file),
   cross-checked against the final hash and record count the manifest repeats;
2. one more pass picks out, with a byte-level pre-filter, the few records a report needs (the
   wrapper's decisions, ``playbook-end`` stats and failed tasks): only those lines are decoded.

Memory is bounded by the summary (one entry per host), never by the log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ripreplace import auditlog, campaign, rundir
from ripreplace.exceptions import InputFileError
from ripreplace.report import equipment, plainrun
from ripreplace.report.documents import STATE_FILE, RunDocuments, read_run
from ripreplace.report.model import (
    Batch,
    CatalogRef,
    CoveredListEntry,
    Evidence,
    ExceptionRef,
    Finding,
    HistoryEntry,
    HostReport,
    LogVerdict,
    RemovalAction,
    Replacement,
    Report,
    RunInfo,
    Stop,
    TaskTally,
    Verify,
    Window,
)

# Pre-filters on the raw line. Inside a JSON string a quote is always escaped, so these byte
# sequences can only match real keys; the record is then decoded and its real type checked.
_WANTED = (b'"type":"decision"', b'"type":"playbook-end"')
_TASK = b'"type":"task"'
_FAILED = b'"status":"failed"'


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------- locating runs
def locate_run(run: str, runs_dir: Path) -> Path:
    """RUN is a path to a run directory, or a run id under ``runs_dir`` (as ``ripreplace runs show``), or
    the ``process`` side's private data dir of ``ansible-runner transmit | worker | process`` (or an
    artifact directory): the run directory the job shipped back (``artifacts/[<ident>/]ripreplace/``)."""
    direct = Path(run)
    for candidate in (direct, runs_dir / run):
        if candidate.is_dir() and (candidate / rundir.MANIFEST).is_file():
            return candidate
    if direct.is_dir():
        try:
            kind, where = auditlog.resolve(direct)
        except auditlog.AuditChainError:
            kind, where = "", ""
        shipped = Path(where).parent
        if kind == "log" and (shipped / rundir.MANIFEST).is_file():
            return shipped
    raise InputFileError(f"{run}: no such run (looked for a run directory there and in {runs_dir})")


def campaign_runs(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        raise InputFileError(f"{runs_dir}: no such runs directory")
    runs = [p for p in runs_dir.iterdir() if p.is_dir() and (p / rundir.MANIFEST).is_file()]
    if not runs:
        raise InputFileError(f"{runs_dir}: no run directory (with a {rundir.MANIFEST}) in it")
    return runs


# --------------------------------------------------------------------------- the audit log
@dataclasses.dataclass
class LogFacts:
    decisions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tallies: dict[str, TaskTally] = dataclasses.field(default_factory=dict)
    first_failure: dict[str, str] = dataclasses.field(default_factory=dict)


def verify_log(
    run_dir: Path, manifest: Mapping[str, Any], key: bytes | None, *, source: Path | None = None
) -> LogVerdict:
    """The verdict of ``run_dir``'s log; of ``source`` instead when given (a job-events export the
    run directory was rebuilt from: the events are what is verified, as ``verify-log`` does)."""
    log = run_dir / rundir.AUDIT_LOG
    entry = manifest.get("audit_log")
    entry = entry if isinstance(entry, Mapping) else {}
    expected_hash = entry.get("final_hash") if isinstance(entry.get("final_hash"), str) else None
    if not log.is_file():
        message = f"no {rundir.AUDIT_LOG} in the run directory: nothing to verify"
        return LogVerdict("missing", message, None, 0, expected_hash, detail=message)
    try:
        # The whole run directory: chain, manifest's final hash, and the summary/manifest/state files
        # run-end recorded: an edited summary.json is TAMPERED, never shown beside "OK".
        verdict = auditlog.verify_run(source or run_dir, key=key)
    except auditlog.AuditChainError as exc:
        return LogVerdict("unreadable", str(exc), None, 0, expected_hash, detail=str(exc))
    # in words, without the status word the banner shows and the hash it shows apart; files run-end did
    # not cover are named apart as well (``unverified``)
    head = [f"{verdict.records} records, chain intact"] if verdict.ok else [verdict.message]
    detail = "; ".join([*head, *(n for n in verdict.notes if not n.endswith("content not verified"))])
    return LogVerdict(
        verdict.status,
        verdict.one_line(),
        verdict.final_hash,
        verdict.records,
        expected_hash,
        detail=detail,
        unverified=_unverified(run_dir, verdict.run_end) if verdict.ok else (),
    )


def _unverified(run_dir: Path, run_end: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The files a report shows that the run-end did not record (a run from before run-end recorded
    them): the log vouches for neither their content nor their absence of edits."""
    files = (run_end or {}).get("files")
    covered = files if isinstance(files, Mapping) else {}
    return tuple(n for n in (rundir.SUMMARY, rundir.MANIFEST) if n not in covered and (run_dir / n).is_file())


def _take(facts: LogFacts, rtype: Any, data: dict[str, Any]) -> None:
    if rtype == "task":
        host = data.get("host")
        failed = data.get("status") == "failed" and not data.get("ignore_errors")
        if failed and isinstance(host, str) and host not in facts.first_failure:
            msg = data.get("msg")
            facts.first_failure[host] = f"'{data.get('task')}' failed" + (f": {msg}" if msg else "")
    elif rtype == "decision":
        facts.decisions.append(data)
    elif rtype == "playbook-end":
        for host, stats in (data.get("stats") or {}).items():
            if isinstance(stats, Mapping):
                facts.tallies[str(host)] = facts.tallies.get(str(host), TaskTally()).add(stats)


def scan_log(path: Path) -> LogFacts:
    """One streaming pass: decode only the records a report shows (see the module docstring)."""
    facts = LogFacts()
    if not path.is_file():
        return facts
    parse = auditlog.parse_line
    wanted = _WANTED
    task, failed = _TASK, _FAILED
    with path.open("rb") as handle:
        for raw in handle:
            if task in raw:
                if failed not in raw:
                    continue
            elif not any(w in raw for w in wanted):
                continue
            parsed = parse(raw.rstrip(b"\n"))
            if parsed is None:
                continue
            rec = parsed.fields
            data = rec.get("data")
            if isinstance(data, dict):
                _take(facts, rec.get("type"), data)
    return facts


# --------------------------------------------------------------------------- findings and hosts
def _evidence(items: Sequence[Mapping[str, Any]]) -> tuple[Evidence, ...]:
    """Nested evidence ({kind, value, confidence, details}); a ``ripreplace-summary/1`` item had its
    details flattened beside kind and value: they are gathered back from there."""
    out = []
    for e in items:
        details = {k: v for k, v in e.items() if k not in ("kind", "value", "confidence", "details")}
        nested = e.get("details")
        if isinstance(nested, Mapping):
            details.update(nested)
        out.append(Evidence(str(e.get("kind", "?")), str(e.get("value", "")), _str(e.get("confidence")), details))
    return tuple(out)


def _exception(data: Any, *, expired: bool = False) -> ExceptionRef | None:
    if not isinstance(data, Mapping) or not data.get("id"):
        return None
    return ExceptionRef(
        id=str(data["id"]),
        expires=_str(data.get("expires")),
        ticket=_str(data.get("ticket")),
        reason=_str(data.get("reason")),
        scope=_str(data.get("scope")),
        expired=expired,
        message=_str(data.get("message")),
    )


def covered_list_entry(listed: Any) -> CoveredListEntry | None:
    """The Covered List entry as the run recorded it: {entry, added, sources} (``ripreplace-summary/2``),
    or the entry's text alone (``ripreplace-summary/1``: its date and sources were not recorded)."""
    if isinstance(listed, Mapping):
        return CoveredListEntry(
            entry=" ".join(str(listed.get("entry") or "").split()),
            added=_str(listed.get("added")),
            grade=_str(listed.get("grade")),
            sources=tuple(str(s) for s in listed.get("sources") or []),
        )
    if isinstance(listed, str) and listed.strip():
        return CoveredListEntry(entry=" ".join(listed.split()))
    return None


def finding(data: Mapping[str, Any]) -> Finding:
    return Finding(
        catalog_id=str(data.get("catalog_id", "?")),
        vendor=str(data.get("vendor", "")),
        product=str(data.get("product", "")),
        state=str(data.get("state", "")),
        confidence=str(data.get("confidence", "")),
        review=bool(data.get("review")),
        covered_list=covered_list_entry(data.get("covered_list")),
        evidence=_evidence(data.get("evidence") or ()),
        exception=_exception(data.get("exception")),
    )


def _replacement(data: Any) -> Replacement | None:
    if not isinstance(data, Mapping):
        return None
    healthy = data.get("healthy")
    return Replacement(
        product=_str(data.get("product")),
        name=_str(data.get("name")),
        version=_str(data.get("version")),
        healthy=healthy if isinstance(healthy, bool) else None,
        reason=_str(data.get("reason")) or None,
    )


def _findings(entry: Mapping[str, Any], key: str) -> tuple[Finding, ...]:
    return tuple(finding(f) for f in entry.get(key) or ())


def _host(
    name: str,
    entry: Mapping[str, Any],
    *,
    run: str,
    mode: str,
    state: Mapping[str, Any] | None,
    facts: LogFacts,
) -> HostReport:
    verify = entry.get("verify") or (state or {}).get("verify")
    gap = _num((verify or {}).get("protection_gap_seconds"))
    removed = (state or {}).get("removed") or entry.get("removed") or []
    actions = tuple(RemovalAction(a if isinstance(a, Mapping) else {"result": str(a)}) for a in removed if a)
    return HostReport(
        name=name,
        status=str(entry.get("status") or "failed"),
        reason=_str(entry.get("reason")),
        run=run,
        mode=mode,
        state=_str(entry.get("state")),
        batch=_int(entry.get("batch")),
        findings=_findings(entry, "findings"),
        excepted=_findings(entry, "excepted"),
        exceptions_expired=tuple(
            e for e in (_exception(x, expired=True) for x in entry.get("exceptions_expired") or ()) if e is not None
        ),
        replacement=_replacement(entry.get("replacement") or (state or {}).get("replacement")),
        removal_actions=actions,
        protection_gap_seconds=gap,
        verify=Verify(verify) if verify else None,
        tasks=facts.tallies.get(name),
        first_failure=facts.first_failure.get(name),
        device=equipment.device(entry) if mode == "equipment" else None,
    )


def _status_from_state(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A host of a killed run (state.json only): the status ``campaign.host_status`` would give it."""
    try:
        record = campaign.HostProgress.from_dict(entry)
    except (ValueError, TypeError):
        return {"status": "failed", "reason": f"unknown state {entry.get('state')!r} in {STATE_FILE}"}
    status, reason = campaign.host_status(record)
    if status == "deferred" and record.state == campaign.HostState.PENDING:
        reason = reason or "the run ended before this host reached an end (no summary.json: killed)"
    return {**entry, "status": status, "reason": reason}


# --------------------------------------------------------------------------- runs
@dataclasses.dataclass
class LoadedRun:
    info: RunInfo
    hosts: dict[str, HostReport]
    targeted: dict[str, bool]
    previous_hash: str | None  # the final hash of the run this one resumed (summary/manifest)


def _closes(facts: LogFacts) -> dict[int, str]:
    """batch -> the window close it was checked against (window-check / batch-start decisions)."""
    closes: dict[int, str] = {}
    for d in facts.decisions:
        number = _int(d.get("batch"))
        if number is not None and isinstance(d.get("closes"), str) and d.get("kind") in ("window-check", "batch-start"):
            closes.setdefault(number, d["closes"])
    return closes


def _batch_records(summary: Mapping[str, Any] | None, facts: LogFacts) -> list[Mapping[str, Any]]:
    if summary is not None and summary.get("batches") is not None:
        return list(summary["batches"])
    # a killed run: batch-end decisions, then batch-start without an end
    ends = {_int(d.get("batch")): d for d in facts.decisions if d.get("kind") == "batch-end"}
    source: list[Mapping[str, Any]] = []
    for d in facts.decisions:
        n = _int(d.get("batch"))
        if d.get("kind") == "batch-start" and n is not None:
            source.append(ends.get(n) or {"batch": n, "hosts": d.get("hosts"), "canceled": True})
    return source


def _batches(summary: Mapping[str, Any] | None, facts: LogFacts) -> tuple[Batch, ...]:
    closes = _closes(facts)
    out = []
    for b in _batch_records(summary, facts):
        number = _int(b.get("batch"))
        if number is None:
            continue
        raw_counts = b.get("counts")
        counts: Mapping[str, Any] = raw_counts if isinstance(raw_counts, Mapping) else {}
        hosts = b.get("hosts")
        out.append(
            Batch(
                batch=number,
                hosts=tuple(str(h) for h in hosts) if isinstance(hosts, list) else (),
                started=_str(b.get("started")),
                seconds=_num(b.get("seconds")),
                counts={str(k): int(v) for k, v in counts.items() if _int(v) is not None},
                failed_pct=_num(b.get("failed_pct")),
                canceled=bool(b.get("canceled")),
                closes=closes.get(number),
            )
        )
    return tuple(out)


def _window_bounds(window: Window | None, facts: LogFacts) -> tuple[str | None, str | None]:
    start = end = None
    if window is not None:
        start, end = window.start, window.end
    if end is None:
        closes = [d["closes"] for d in facts.decisions if isinstance(d.get("closes"), str)]
        end = max(closes) if closes else None
    return start, end


def _catalogs(manifest: Mapping[str, Any]) -> tuple[CatalogRef, ...]:
    """The catalog files the run recorded using: ``catalog_files`` (audit), or the covered-software
    catalogs of the manifest's sha256 tree (remediate). Only the record: the files are not read."""
    files = manifest.get("catalog_files")
    if files:
        return tuple(CatalogRef(str(f["path"]), _str(f.get("sha256"))) for f in files if f.get("path"))
    tree = (manifest.get("sha256") or {}).get("catalogs") if isinstance(manifest.get("sha256"), Mapping) else None
    if isinstance(tree, Mapping):
        return tuple(CatalogRef(str(p), _str(h)) for p, h in sorted(tree.items()) if str(p).endswith("covered.yml"))
    return ()


def _entries(docs: RunDocuments) -> tuple[Mapping[str, Mapping[str, Any]], str]:
    """host -> outcome entry, and where it comes from (summary.json, or state.json of a killed run)."""
    if docs.summary is not None:
        return docs.summary_hosts, rundir.SUMMARY
    return {h: _status_from_state(e) for h, e in docs.state_hosts.items()}, STATE_FILE


def _run_info(docs: RunDocuments, *, verdict: LogVerdict, facts: LogFacts, source: str) -> RunInfo:
    manifest, summary = docs.manifest, docs.summary or {}
    window_raw = summary.get("window") or manifest.get("window")
    window = Window(window_raw) if isinstance(window_raw, Mapping) else None
    start, end = _window_bounds(window, facts)
    resumes = manifest.get("resumes") or {}
    return RunInfo(
        run=str(manifest.get("run") or docs.path.name),
        path=str(docs.path),
        mode=str(summary.get("mode") or manifest.get("mode") or "?"),
        started=_str(manifest.get("started")),
        finished=_str(summary.get("finished")),
        operator=_str(manifest.get("operator")),
        ticket=_str(manifest.get("ticket")),
        window=window,
        window_start=start,
        window_end=end,
        batches=_batches(docs.summary, facts),
        stop=Stop(summary["stop"]) if summary.get("stop") else None,
        exit_code=_int(summary.get("exit_code")),
        source=source,
        resumes=_str(resumes.get("run")),
        audit_log=verdict,
        catalogs=_catalogs(manifest),
        decisions=len(facts.decisions),
    )


def load_run(path: Path, *, key: bytes | None = None, events: Path | None = None) -> LoadedRun:
    """One run's report model. ``events``: the job-events export ``path`` was rebuilt from (see
    :mod:`ripreplace.report.exported`); its verdict is the events' own."""
    docs, rebuilt = plainrun.with_summary(read_run(path))  # a plain playbook run: its outcome from its log
    if docs.summary is None and docs.state is None:
        where = events or path
        raise InputFileError(f"{where}: no {rundir.SUMMARY} and no {STATE_FILE}: the run recorded no host outcome")
    verdict = verify_log(path, docs.manifest, key, source=events)
    facts = scan_log(path / rundir.AUDIT_LOG)
    entries, source = _entries(docs)
    if rebuilt:
        source = plainrun.SOURCE
    info = _run_info(docs, verdict=verdict, facts=facts, source=source)
    hosts: dict[str, HostReport] = {}
    targeted: dict[str, bool] = {}
    for name in sorted(entries):
        entry = entries[name]
        state = docs.state_hosts.get(name)
        hosts[name] = _host(name, entry, run=info.run, mode=info.mode, state=state, facts=facts)
        targeted[name] = entry.get("targeted", True) is not False
    return LoadedRun(info, hosts, targeted, _str((docs.manifest.get("resumes") or {}).get("final_hash")))


def _generated() -> tuple[str, str]:
    from ripreplace import __version__

    return rundir.isotime(rundir.utcnow()), f"ripreplace {__version__}"


def run_report(path: Path, *, key: bytes | None = None, events: Path | None = None) -> Report:
    loaded = load_run(path, key=key, events=events)
    generated, generator = _generated()
    info = loaded.info
    title = f"ripreplace {info.mode} run {info.run}" + (f" (ticket {info.ticket})" if info.ticket else "")
    return Report("run", title, generated, generator, (info,), tuple(loaded.hosts.values()))


# --------------------------------------------------------------------------- campaigns
def _order_key(run: LoadedRun) -> tuple[str, str]:
    return (run.info.started or "", run.info.run)


def merge(runs: Sequence[LoadedRun]) -> tuple[tuple[RunInfo, ...], tuple[HostReport, ...]]:
    """Latest state of every host across runs (oldest first): later runs win per host.

    - a host a remediate run only carried over (``targeted: false``: verified in the run it resumed)
      does not override what an earlier run said about it, unless no earlier run is there;
    - a host whose latest run could not finish it (failed, unreachable, deferred, locked) and recorded no
      findings keeps the findings of the last run that did, named in ``findings_from``;
    - a host ``clean`` in the latest run but ``remediated`` by an earlier one, with nothing covered
      in between, stays ``remediated``: the campaign's work shows, and the reason names both runs;
    - a killed run whose log is incomplete is *superseded* when a later run resumed it from exactly
      its last verified hash (``resumes.final_hash``).
    """
    ordered = sorted(runs, key=_order_key)
    latest: dict[str, HostReport] = {}
    history: dict[str, list[HistoryEntry]] = {}
    for run in ordered:
        for name, host in run.hosts.items():
            if not run.targeted.get(name, True) and name in latest:
                continue
            history.setdefault(name, []).append(HistoryEntry(run.info.run, host.status))
            before = latest.get(name)
            latest[name] = host if before is None else _carry(before, host)
    infos = []
    for run in ordered:
        verdict = run.info.audit_log
        if verdict.status == "incomplete":
            for later in ordered:
                if (
                    later.info.resumes == run.info.run
                    and later.previous_hash
                    and later.previous_hash == verdict.final_hash
                ):
                    verdict = dataclasses.replace(verdict, superseded_by=later.info.run)
                    break
        infos.append(dataclasses.replace(run.info, audit_log=verdict))
    hosts = tuple(dataclasses.replace(latest[n], history=tuple(history[n])) for n in sorted(latest))
    return tuple(infos), hosts


def _carry(before: HostReport, host: HostReport) -> HostReport:
    if host.status in ("failed", "unreachable", "deferred", "locked") and not host.findings and before.findings:
        host = dataclasses.replace(
            host, findings=before.findings, excepted=host.excepted or before.excepted, findings_from=before.run
        )
    if host.status == "clean" and before.status == "remediated":
        reason = f"remediated in run {before.run}; clean in run {host.run}"
        host = dataclasses.replace(
            host,
            status="remediated",
            reason=reason,
            findings=before.findings,
            findings_from=before.run,
            replacement=host.replacement or before.replacement,
            removal_actions=host.removal_actions or before.removal_actions,
            protection_gap_seconds=host.protection_gap_seconds
            if host.protection_gap_seconds is not None
            else before.protection_gap_seconds,
        )
    return host


def campaign_report(runs_dir: Path, *, key: bytes | None = None, paths: Iterable[Path] | None = None) -> Report:
    loaded = [load_run(p, key=key) for p in (paths or campaign_runs(runs_dir))]
    infos, hosts = merge(loaded)
    generated, generator = _generated()
    tickets = sorted({r.ticket for r in infos if r.ticket})
    title = f"ripreplace campaign: {len(infos)} run(s) in {runs_dir}" + (
        f" (ticket {', '.join(tickets)})" if tickets else ""
    )
    return Report("campaign", title, generated, generator, infos, hosts, scope=str(runs_dir))
