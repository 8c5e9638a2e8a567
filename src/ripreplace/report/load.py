"""Read run directories into the :mod:`ripreplace.report.model`.

A run's report is built from its ``manifest.json``, its ``summary.json`` (or, for a run that was
killed, its ``state.json``), the catalogs (for the Covered List entry, date and sources of every
finding) and its ``audit.jsonl``, which is **streamed**, never loaded whole:

1. the verifier of ``plugins/plugin_utils/audit_chain.py`` checks the whole chain (one pass; the
   verdict is computed now, never taken from a stored file), cross-checked against the final hash
   and record count the manifest repeats;
2. one more pass picks out, with a byte-level pre-filter, the few records a report needs (the
   wrapper's decisions, host-state records, ``playbook-end`` stats and failed tasks): only those
   lines are decoded.

Memory is bounded by the summary (one entry per host), never by the log.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ripreplace import auditlog, collection, rundir
from ripreplace.exceptions import InputFileError
from ripreplace.report.model import (
    Batch,
    CoveredListEntry,
    Evidence,
    ExceptionRef,
    Finding,
    HistoryEntry,
    HostReport,
    LogVerdict,
    Replacement,
    Report,
    RunInfo,
    TaskTally,
)

STATE_FILE = "state.json"

# Pre-filters on the raw line. Inside a JSON string a quote is always escaped, so these byte
# sequences can only match real keys; the record is then decoded and its real type checked.
_WANTED = (b'"type":"decision"', b'"type":"playbook-end"', b'"type":"host-state"', b'"type":"run-start"')
_TASK = b'"type":"task"'
_FAILED = b'"status":"failed"'


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot be read as JSON ({exc.__class__.__name__}: {exc})") from None


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
    """RUN is a path to a run directory, or a run id under ``runs_dir`` (as ``ripreplace runs show``)."""
    direct = Path(run)
    for candidate in (direct, runs_dir / run):
        if candidate.is_dir() and (candidate / rundir.MANIFEST).is_file():
            return candidate
    raise InputFileError(f"{run}: no such run (looked for a run directory there and in {runs_dir})")


def campaign_runs(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        raise InputFileError(f"{runs_dir}: no such runs directory")
    runs = [p for p in runs_dir.iterdir() if p.is_dir() and (p / rundir.MANIFEST).is_file()]
    if not runs:
        raise InputFileError(f"{runs_dir}: no run directory (with a {rundir.MANIFEST}) in it")
    return runs


# --------------------------------------------------------------------------- catalogs
class CoveredIndex:
    """catalog id -> Covered List entry, from the bundled catalog and the site catalogs a run used."""

    def __init__(self) -> None:
        self._entries: dict[str, CoveredListEntry] = {}
        self._loaded: set[str] = set()
        self.files: list[dict[str, Any]] = []

    def add_catalog(self, path: str, *, expected_sha256: str | None = None) -> None:
        if path in self._loaded:
            return
        self._loaded.add(path)
        cat = collection.load_plugin_util("catalog")
        note: str | None = None
        try:
            data = cat.load_catalog_file(path)
            sha = cat.sha256_file(path)
        except (cat.CatalogError, OSError) as exc:
            self.files.append({"path": path, "loaded": False, "note": f"not loaded: {exc}"})
            return
        if expected_sha256 and sha != expected_sha256:
            note = "changed since the run (sha256 differs from the manifest): Covered List details are today's"
        for entry in data.get("entries", []):
            covered = entry.get("covered_list")
            if isinstance(covered, Mapping) and entry.get("id") not in self._entries:
                self._entries[str(entry["id"])] = CoveredListEntry(
                    entry=" ".join(str(covered.get("entry", "")).split()),
                    added=_str(covered.get("added")),
                    grade=_str(covered.get("grade")),
                    sources=tuple(str(s) for s in covered.get("sources") or []),
                )
        self.files.append(
            {"path": path, "loaded": True, "sha256": sha, "catalog_version": data.get("catalog_version"), "note": note}
        )

    def for_run(self, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Load what the run used (manifest ``catalog_files``; the bundled catalog always); return those files."""
        bundled = str(collection.catalog_dir() / "covered.yml")
        files = manifest.get("catalog_files")
        used: list[dict[str, Any]] = []
        if isinstance(files, list):
            for item in files:
                if isinstance(item, Mapping) and item.get("path"):
                    self.add_catalog(str(item["path"]), expected_sha256=_str(item.get("sha256")))
                    used.append({"path": str(item["path"]), "sha256": item.get("sha256")})
        self.add_catalog(bundled)
        return used or [{"path": bundled, "sha256": None}]

    def get(self, catalog_id: str) -> CoveredListEntry | None:
        return self._entries.get(catalog_id)


# --------------------------------------------------------------------------- the audit log
@dataclasses.dataclass
class LogFacts:
    decisions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tallies: dict[str, TaskTally] = dataclasses.field(default_factory=dict)
    first_failure: dict[str, str] = dataclasses.field(default_factory=dict)
    host_states: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    manifest: dict[str, Any] | None = None


def verify_log(run_dir: Path, manifest: Mapping[str, Any], key: bytes | None) -> LogVerdict:
    log = run_dir / rundir.AUDIT_LOG
    entry = manifest.get("audit_log")
    entry = entry if isinstance(entry, Mapping) else {}
    expected_hash = entry.get("final_hash") if isinstance(entry.get("final_hash"), str) else None
    expected_records = _int(entry.get("records"))
    if not log.is_file():
        return LogVerdict(
            "missing", f"no {rundir.AUDIT_LOG} in the run directory: nothing to verify", None, 0, expected_hash
        )
    try:
        verdict = auditlog.verify(log, key=key, expected_final_hash=expected_hash, expected_records=expected_records)
    except auditlog.AuditChainError as exc:
        return LogVerdict("unreadable", str(exc), None, 0, expected_hash)
    if verdict.ok and expected_hash is not None:
        verdict.notes.append(f"final hash matches {rundir.MANIFEST}")
    elif verdict.ok:
        verdict.notes.append(f"{rundir.MANIFEST} repeats no final hash: not cross-checked")
    return LogVerdict(verdict.status, verdict.one_line(), verdict.final_hash, verdict.records, expected_hash)


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
    elif rtype == "host-state":
        host = data.get("host")
        if isinstance(host, str):
            facts.host_states[host] = data
    elif rtype == "run-start" and facts.manifest is None and isinstance(data.get("manifest"), dict):
        facts.manifest = data["manifest"]


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
def _evidence(items: Any) -> tuple[Evidence, ...]:
    out = []
    for e in items or []:
        if not isinstance(e, Mapping):
            continue
        details = {k: v for k, v in e.items() if k not in ("kind", "value", "confidence", "details")}
        if isinstance(e.get("details"), Mapping):
            details.update(e["details"])
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


def finding(data: Mapping[str, Any], covered: CoveredIndex) -> Finding:
    catalog_id = str(data.get("catalog_id", "?"))
    listed = data.get("covered_list")
    entry = covered.get(catalog_id)
    if isinstance(listed, Mapping):
        entry = CoveredListEntry(
            entry=" ".join(str(listed.get("entry", "")).split()),
            added=_str(listed.get("added")),
            grade=_str(listed.get("grade")),
            sources=tuple(str(s) for s in listed.get("sources") or []),
        )
    elif entry is None and isinstance(listed, str) and listed:
        entry = CoveredListEntry(entry=" ".join(listed.split()))
    return Finding(
        catalog_id=catalog_id,
        vendor=str(data.get("vendor", "")),
        product=str(data.get("product", "")),
        state=str(data.get("state", "")),
        confidence=str(data.get("confidence", "")),
        review=bool(data.get("review")),
        covered_list=entry,
        evidence=_evidence(data.get("evidence")),
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


def _host(
    name: str,
    entry: Mapping[str, Any],
    *,
    run: str,
    mode: str,
    state: Mapping[str, Any] | None,
    facts: LogFacts,
    covered: CoveredIndex,
) -> HostReport:
    verify = entry.get("verify") if isinstance(entry.get("verify"), Mapping) else None
    if verify is None and state is not None and isinstance(state.get("verify"), Mapping):
        verify = state["verify"]
    gap = _num((verify or {}).get("protection_gap_seconds"))
    removed = (state or {}).get("removed") or entry.get("removed") or []
    actions = tuple(a if isinstance(a, Mapping) else {"result": str(a)} for a in removed if a is not None)
    return HostReport(
        name=name,
        status=str(entry.get("status") or "failed"),
        reason=_str(entry.get("reason")),
        run=run,
        mode=mode,
        state=_str(entry.get("state")),
        batch=_int(entry.get("batch")),
        findings=tuple(finding(f, covered) for f in entry.get("findings") or [] if isinstance(f, Mapping)),
        excepted=tuple(finding(f, covered) for f in entry.get("excepted") or [] if isinstance(f, Mapping)),
        exceptions_expired=tuple(
            e for e in (_exception(x, expired=True) for x in entry.get("exceptions_expired") or []) if e is not None
        ),
        replacement=_replacement(entry.get("replacement") or (state or {}).get("replacement")),
        removal_actions=actions,
        protection_gap_seconds=gap,
        verify=verify,
        tasks=facts.tallies.get(name),
        first_failure=facts.first_failure.get(name),
    )


def _status_from_state(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A host of a killed run (state.json only): the status ``campaign.host_status`` would give it."""
    from ripreplace import campaign

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


def _batches(summary: Mapping[str, Any] | None, facts: LogFacts) -> tuple[Batch, ...]:
    closes: dict[int, str] = {}
    for d in facts.decisions:
        number = _int(d.get("batch"))
        if number is not None and isinstance(d.get("closes"), str) and d.get("kind") in ("window-check", "batch-start"):
            closes.setdefault(number, d["closes"])
    source: list[Any] = []
    if summary is not None and isinstance(summary.get("batches"), list):
        source = summary["batches"]
    else:  # a killed run: batch-end decisions, then batch-start without an end
        ends = {_int(d.get("batch")): d for d in facts.decisions if d.get("kind") == "batch-end"}
        for d in facts.decisions:
            n = _int(d.get("batch"))
            if d.get("kind") == "batch-start" and n is not None:
                source.append(ends.get(n) or {"batch": n, "hosts": d.get("hosts"), "canceled": True})
    out = []
    for b in source:
        if not isinstance(b, Mapping) or _int(b.get("batch")) is None:
            continue
        number = int(b["batch"])
        raw_counts = b.get("counts")
        counts: Mapping[str, Any] = raw_counts if isinstance(raw_counts, Mapping) else {}
        out.append(
            Batch(
                batch=number,
                hosts=tuple(str(h) for h in b.get("hosts") or []),
                started=_str(b.get("started")),
                seconds=_num(b.get("seconds")),
                counts={str(k): int(v) for k, v in counts.items() if _int(v) is not None},
                failed_pct=_num(b.get("failed_pct")),
                canceled=bool(b.get("canceled")),
                closes=closes.get(number),
            )
        )
    return tuple(out)


def _window_bounds(window: Mapping[str, Any] | None, facts: LogFacts) -> tuple[str | None, str | None]:
    start = end = None
    if isinstance(window, Mapping):
        start, end = _str(window.get("start")), _str(window.get("end"))
    if end is None:
        closes = [d["closes"] for d in facts.decisions if isinstance(d.get("closes"), str)]
        end = max(closes) if closes else None
    return start, end


def load_run(path: Path, *, covered: CoveredIndex, key: bytes | None = None) -> LoadedRun:
    manifest = _read_json(path / rundir.MANIFEST)
    if not isinstance(manifest, dict):
        raise InputFileError(f"{path / rundir.MANIFEST}: not a run manifest")
    summary = _read_json(path / rundir.SUMMARY)
    summary = summary if isinstance(summary, dict) else None
    state_doc = _read_json(path / STATE_FILE)
    state_doc = state_doc if isinstance(state_doc, dict) else None
    if summary is None and state_doc is None:
        raise InputFileError(f"{path}: no {rundir.SUMMARY} and no {STATE_FILE}: the run recorded no host outcome")
    run_id = str(manifest.get("run") or path.name)
    catalogs = covered.for_run(manifest)  # before the hosts: their findings look entries up
    mode = str((summary or {}).get("mode") or manifest.get("mode") or "?")
    verdict = verify_log(path, manifest, key)
    facts = scan_log(path / rundir.AUDIT_LOG)
    states_raw = (state_doc or {}).get("hosts")
    states: Mapping[str, Any] = states_raw if isinstance(states_raw, Mapping) else {}
    if summary is not None:
        entries: Mapping[str, Any] = summary.get("hosts") or {}
        source = rundir.SUMMARY
    else:
        entries = {h: _status_from_state(e) for h, e in states.items() if isinstance(e, Mapping)}
        source = STATE_FILE
    hosts: dict[str, HostReport] = {}
    targeted: dict[str, bool] = {}
    for name in sorted(entries):
        entry = entries[name]
        if not isinstance(entry, Mapping):
            continue
        state = states.get(name) if isinstance(states.get(name), Mapping) else None
        hosts[name] = _host(name, entry, run=run_id, mode=mode, state=state, facts=facts, covered=covered)
        targeted[name] = entry.get("targeted", True) is not False
    window = (summary or {}).get("window") or manifest.get("window")
    window = window if isinstance(window, Mapping) else None
    start, end = _window_bounds(window, facts)
    resumes = manifest.get("resumes") if isinstance(manifest.get("resumes"), Mapping) else None
    info = RunInfo(
        run=run_id,
        path=str(path),
        mode=mode,
        started=_str(manifest.get("started")),
        finished=_str((summary or {}).get("finished")),
        operator=_str(manifest.get("operator")),
        ticket=_str(manifest.get("ticket")),
        window=window,
        window_start=start,
        window_end=end,
        batches=_batches(summary, facts),
        stop=(summary or {}).get("stop") if isinstance((summary or {}).get("stop"), Mapping) else None,
        exit_code=_int((summary or {}).get("exit_code")),
        source=source,
        resumes=_str(resumes.get("run")) if resumes else None,
        audit_log=verdict,
        catalogs=tuple(catalogs),
        decisions=len(facts.decisions),
    )
    return LoadedRun(info, hosts, targeted, _str(resumes.get("final_hash")) if resumes else None)


def _generated() -> tuple[str, str]:
    from ripreplace import __version__

    return rundir.isotime(rundir.utcnow()), f"ripreplace {__version__}"


def run_report(path: Path, *, key: bytes | None = None) -> Report:
    loaded = load_run(path, covered=CoveredIndex(), key=key)
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
    - a host whose latest run could not finish it (failed, unreachable, deferred) and recorded no
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
    if host.status in ("failed", "unreachable", "deferred") and not host.findings and before.findings:
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
    covered = CoveredIndex()
    loaded = [load_run(p, covered=covered, key=key) for p in (paths or campaign_runs(runs_dir))]
    infos, hosts = merge(loaded)
    generated, generator = _generated()
    tickets = sorted({r.ticket for r in infos if r.ticket})
    title = f"ripreplace campaign: {len(infos)} run(s) in {runs_dir}" + (
        f" (ticket {', '.join(tickets)})" if tickets else ""
    )
    return Report("campaign", title, generated, generator, infos, hosts)
