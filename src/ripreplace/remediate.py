# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate``: inputs checked before any host is touched, then the campaign in a run directory.

Flow: :func:`validate` (inventory and groups, --limit, window or window file, batches, max-fail,
replacement, forks, the run being resumed and its log; one-line errors, exit 2, or 6 for a tampered
log being resumed) -> :func:`open_window` (the start check, once: which hosts' windows are open and the batches they
make) -> the command prints that plan and asks for confirmation -> :func:`execute` runs exactly it:
run directory, manifest, audit-log run-start (linked to the resumed run's final hash),
:func:`ripreplace.campaign.run_campaign`
(one ``playbooks/remediate.yml`` run per batch through ansible-runner), ``state.json`` after every
change, ``summary.json``, run-end with the final hash repeated into the manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ripreplace import (
    audit,
    auditlog,
    campaign,
    collection,
    records,
    rundir,
    runfaults,
    runlocks,
    runner,
    safetext,
    sitefiles,
    windows,
)
from ripreplace.campaign import HostProgress, HostState
from ripreplace.constants import ExitCode
from ripreplace.exceptions import AuditLogInvalid, InputFileError, UsageError
from ripreplace.inventory import load_inventory

_TICKET_MAX = 128


@dataclasses.dataclass(frozen=True)
class RemediateRequest:
    inventory: Path
    ticket: str
    window: str | None
    window_file: Path | None
    batches: str = "1,10%,100%"
    max_fail: str = "0"
    replacement: str | None = None
    limit: str | None = None
    forks: int = 5
    batch_estimate: str | None = None
    hard_stop: bool = False
    resume: str | None = None
    runs_dir: Path = Path("runs")
    playbook: Path | None = None  # hidden test hook; default playbooks/remediate.yml of the collection
    catalogs: tuple[Path, ...] = ()  # site catalogs (--catalog), as for audit
    exceptions: tuple[Path, ...] = ()  # exceptions files (--exceptions), as for audit
    break_lock: str | None = None  # --break-lock RUN_ID: take over that run's host locks
    install_on_clean: bool = False  # --install-on-clean: a host with nothing covered gets the replacement too
    dry_run: bool = False  # --dry-run: the per-host plan only (a read-only scan), no campaign


@dataclasses.dataclass(frozen=True)
class Previous:
    run: str
    path: Path
    final_hash: str
    log_status: str  # ok | incomplete
    log_message: str
    records: int
    note: str
    carried: tuple[str, ...]  # verified there, not targeted again
    chain: tuple[str, ...] = ()  # this run and the runs it resumed: their host locks are this campaign's

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "final_hash": self.final_hash,
            "log_status": self.log_status,
            "log_verdict": self.log_message,
            "records": self.records,
            "note": self.note,
            "carried_verified": list(self.carried),
        }


@dataclasses.dataclass(frozen=True)
class ValidatedRemediate:
    request: RemediateRequest
    plan_hosts: dict[str, HostProgress]  # every host of the campaign (carried ones included)
    targets: tuple[str, ...]
    groups: Mapping[str, frozenset[str]]
    schedule: windows.Schedule
    batches: tuple[campaign.BatchSpec, ...]
    max_fail: float
    batch_estimate: dt.timedelta | None
    replacement: str
    playbook: Path
    previous: Previous | None
    keys: auditlog.Keys
    site: sitefiles.SiteFiles


def _approved_products() -> tuple[str | None, dict[str, str]]:
    import yaml

    path = collection.catalog_dir() / "approved.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputFileError(f"{path}: cannot read the approved catalog: {exc}") from None
    products = {str(p.get("id")): str(p.get("status", "supported")) for p in data.get("products") or []}
    return data.get("default"), products


def _validate_ticket(ticket: str) -> str:
    if not ticket.strip():
        raise UsageError("--ticket is required and must not be empty (the change ticket this campaign runs under)")
    return safetext.one_line(ticket, what="--ticket", max_chars=_TICKET_MAX)  # no controls, no bidi overrides


def _previous(request: RemediateRequest, keys: auditlog.Keys) -> tuple[Previous, dict[str, HostProgress]]:
    assert request.resume is not None
    run_id = request.resume.strip().rstrip("/").split("/")[-1]
    if not runlocks.RUN_ID.match(run_id):
        raise UsageError(f"--resume {request.resume!r}: not a run id (e.g. 20261205T010000Z-remediate-1a2b3c)")
    path = request.runs_dir / run_id
    if not path.is_dir():
        raise UsageError(f"--resume {request.resume}: no run {run_id!r} in {request.runs_dir}")
    try:
        manifest = json.loads((path / rundir.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise UsageError(f"--resume {run_id}: its manifest.json is missing or unreadable") from None
    if manifest.get("mode") != "remediate":
        raise UsageError(f"--resume {run_id}: not a remediate run (mode {manifest.get('mode')!r})")
    if runlocks.lock_held(path):
        raise UsageError(f"--resume {run_id}: that run is still going (its lock is held); wait for it or stop it")
    runlocks.refuse_if_being_resumed(request.runs_dir, run_id)
    state = campaign.load_state(path / rundir.STATE)
    log = path / rundir.AUDIT_LOG
    if not log.is_file():
        raise AuditLogInvalid(f"--resume {run_id}: the run has no audit log: nothing to link the new run to")
    # The whole run: a log cut short of the run-end its manifest names, or an edited summary/manifest/state,
    # is tampered, and refused (issue 11); a killed run (no run-end ever written) is incomplete and resumable.
    verdict = auditlog.verify_run(path, key=keys.hmac, verifier=keys.verifier)
    if verdict.status == auditlog.TAMPERED:
        raise AuditLogInvalid(f"--resume {run_id}: its audit log does not verify: {verdict.one_line()}")
    if verdict.status == auditlog.OK:
        note = "the previous log is complete: linked to its final hash (its run-end)"
    else:
        note = (
            "the previous log is incomplete (the run was killed: no run-end): linked to the hash of its last "
            f"complete record, seq {verdict.records - 1}"
        )
    hosts: dict[str, HostProgress] = {}
    carried = []
    for host, data in state["hosts"].items():
        record = HostProgress.from_dict(data)
        if record.state == HostState.VERIFIED:
            carried.append(host)
        else:
            record.reason = None
            record.state = HostState.PENDING
        hosts[host] = record
    previous = Previous(
        run=run_id,
        path=path,
        final_hash=str(verdict.final_hash),
        log_status=verdict.status,
        log_message=verdict.one_line(),
        records=int(verdict.records),
        note=note,
        carried=tuple(sorted(carried)),
        chain=runlocks.chain(request.runs_dir, run_id, manifest),
    )
    return previous, hosts


def validate(request: RemediateRequest, *, now: dt.datetime | None = None) -> ValidatedRemediate:
    """Everything checked before any host is touched; raises UsageError/InputFileError (exit 2)."""
    _validate_ticket(request.ticket)
    runlocks.validate_break_lock(request.break_lock)
    if request.forks < 1:
        raise UsageError(f"--forks must be a positive number, got {request.forks}")
    if (request.window is None) == (request.window_file is None):
        raise UsageError("give exactly one of --window INTERVAL or --window-file FILE")
    now = now or rundir.utcnow()
    schedule: windows.Schedule
    if request.window is not None:
        schedule = windows.parse_interval(request.window, now=now)
    else:
        assert request.window_file is not None
        schedule = windows.load_window_file(request.window_file)
    specs = campaign.parse_batches(request.batches)
    max_fail = campaign.parse_percent(request.max_fail)
    estimate = (
        windows.parse_duration(request.batch_estimate, what="--batch-estimate") if request.batch_estimate else None
    )
    default, products = _approved_products()
    replacement = request.replacement or default or ""
    if replacement not in products:
        known = ", ".join(sorted(k for k, v in products.items() if v == "supported"))
        raise UsageError(f"--replacement {replacement!r} is not in the approved catalog (supported: {known})")
    if products[replacement] != "supported":
        raise UsageError(
            f"--replacement {replacement!r} is {products[replacement]} in the approved catalog: it cannot be installed"
        )
    playbook = (request.playbook or collection.playbook("remediate")).resolve()
    if not playbook.is_file():
        raise InputFileError(f"{playbook}: playbook not found")
    site = sitefiles.check(request.catalogs, request.exceptions)  # as audit: one line, exit 2
    try:
        keys = auditlog.keys_from_env()
    except auditlog.AuditChainError as exc:
        raise UsageError(str(exc)) from None
    inventory = load_inventory(request.inventory, request.limit)
    previous = None
    if request.resume:
        previous, hosts = _previous(request, keys)
        missing = sorted(h for h in hosts if h not in previous.carried and h not in inventory.groups)
        if missing and not request.limit:
            raise UsageError(
                f"--resume {previous.run}: host(s) not in {request.inventory}: {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            )
        targets = tuple(h for h in sorted(hosts) if h not in previous.carried and h in inventory.groups)
        if not targets:
            raise UsageError(f"--resume {previous.run}: every host of that campaign is already verified")
    else:
        hosts = {h: HostProgress() for h in inventory.hosts}
        targets = inventory.hosts
    return ValidatedRemediate(
        request=request,
        plan_hosts=hosts,
        targets=targets,
        groups=inventory.groups,
        schedule=schedule,
        batches=specs,
        max_fail=max_fail,
        batch_estimate=estimate,
        replacement=replacement,
        playbook=playbook,
        previous=previous,
        keys=keys,
        site=site,
    )


def campaign_plan(inputs: ValidatedRemediate, run_id: str) -> campaign.CampaignPlan:
    return campaign.CampaignPlan(
        run_id=run_id,
        targets=inputs.targets,
        groups=inputs.groups,
        schedule=inputs.schedule,
        batches=inputs.batches,
        max_fail=inputs.max_fail,
        forks=inputs.request.forks,
        batch_estimate=inputs.batch_estimate,
        hard_stop=inputs.request.hard_stop,
    )


def open_window(inputs: ValidatedRemediate, now: dt.datetime) -> campaign.Opening:
    """The start check, once: which targeted hosts' windows are open and the batches they make.

    The command shows this plan and :func:`execute` runs exactly it (each batch's own window check
    still happens just before the batch starts)."""
    return campaign.open_campaign(campaign_plan(inputs, "precheck"), now)


@dataclasses.dataclass(frozen=True)
class RemediateOutcome:
    run: rundir.RunDir
    summary: records.Summary
    exit_code: ExitCode
    result: campaign.CampaignResult
    final_hash: str


def _manifest(
    inputs: ValidatedRemediate, run: rundir.RunDir, started: dt.datetime, plan_run: str | None = None
) -> dict[str, Any]:
    request = inputs.request
    roles = collection.collection_root() / "roles"
    window = inputs.schedule.as_dict()
    return rundir.build_manifest(
        run_id=run.run_id,
        mode="remediate",
        started=started,
        inventory=request.inventory.resolve(),
        playbooks=[inputs.playbook, *(roles / r for r in ("detect", "replacement", "remove", "verify"))],
        catalogs=[
            Path(collection.catalog_dir()),
            *inputs.site.paths,
            *([request.window_file.resolve()] if request.window_file else []),
        ],
        ticket=_validate_ticket(request.ticket),
        window=inputs.schedule.description,
        check_mode=False,
        extra={
            "window_spec": window,
            "targets": list(inputs.targets),
            "limit": request.limit,
            "inventory_source": str(request.inventory),
            "batches": request.batches,
            "max_fail_pct": inputs.max_fail,
            "replacement": inputs.replacement,
            "forks": request.forks,
            "batch_estimate_s": inputs.batch_estimate.total_seconds() if inputs.batch_estimate else None,
            "hard_stop": request.hard_stop,
            "playbook": str(inputs.playbook),
            "resumes": inputs.previous.as_dict() if inputs.previous else None,
            "catalog_files": list(inputs.site.catalog_files),
            "break_lock": request.break_lock,
            "install_on_clean": request.install_on_clean,
            "plan_run": plan_run,
            "lock_max_age_s": runlocks.LOCK_MAX_AGE,
        },
    )


def execute(
    inputs: ValidatedRemediate,
    *,
    opening: campaign.Opening | None = None,
    progress: campaign.Progress,
    interrupt: campaign.Interrupt | None = None,
    clock: Callable[[], dt.datetime] = rundir.utcnow,
    run_batch_factory: Callable[[rundir.RunDir], campaign.RunBatch] | None = None,
    plan_run: str | None = None,
) -> RemediateOutcome:
    """The campaign in a new run directory; ``plan_run`` is the plan scan the operator confirmed (manifest)."""
    request = inputs.request
    started = clock()
    resume_fd = runlocks.hold_resume_lock(inputs.previous) if inputs.previous is not None else None
    run = None
    try:
        with runfaults.starting(None):  # a runs directory that cannot be written: one line, exit 2
            run = rundir.RunDir.create(request.runs_dir.resolve(), "remediate")
            lock_fd = runlocks.hold_lock(run)
    except BaseException:
        if run is not None:
            runfaults.discard(run)
        if resume_fd is not None:
            os.close(resume_fd)
        raise
    try:
        return _execute(
            inputs,
            run,
            opening=opening,
            started=started,
            progress=progress,
            interrupt=interrupt,
            clock=clock,
            run_batch_factory=run_batch_factory,
            plan_run=plan_run,
        )
    finally:
        os.close(lock_fd)
        if resume_fd is not None:
            os.close(resume_fd)


def lock_vars(inputs: ValidatedRemediate, run: rundir.RunDir) -> dict[str, Any]:
    """The lock role's variables: who takes each host's lock, and which other runs' locks are stale."""
    runs_dir = run.path.parent
    return {
        "lock_controller": socket.gethostname(),
        "lock_controller_pid": os.getpid(),
        "lock_operator": rundir.operator(),
        "lock_runs_dir": str(runs_dir),
        "lock_own_runs": list(inputs.previous.chain) if inputs.previous else [],
        "lock_dead_runs": [r for r in runlocks.dead_runs(runs_dir, time.time()) if r != run.run_id],
        "lock_break": inputs.request.break_lock or "",
        "lock_max_age": runlocks.LOCK_MAX_AGE,
    }


def _recording_lock_takeovers(run_batch: campaign.RunBatch, log: campaign.AuditSink) -> campaign.RunBatch:
    """Each stale host lock this run took over (resumed, broken, dead, expired) becomes a decision in the log,
    written once the batch's playbook has ended (the log is the callback's while it runs)."""

    def wrapped(
        hosts: Sequence[str],
        number: int,
        on_event: runner.EventHandler,
        cancel: runner.CancelCallback,
        *,
        attempt: int = 1,
    ) -> runner.PlaybookResult:
        taken: list[tuple[str, Mapping[str, Any]]] = []

        def seen(event: dict[str, Any]) -> None:
            data = event.get("event_data") or {}
            res = data.get("res") if event.get("event") == "runner_on_ok" else None
            action = data.get("resolved_action") or data.get("task_action")
            if isinstance(res, dict) and action == records.LOCK_ACTION and isinstance(res.get("took_over"), dict):
                taken.append((str(data.get("host")), res["took_over"]))
            on_event(event)

        try:
            return run_batch(hosts, number, seen, cancel, attempt=attempt)
        finally:
            for host, took in taken:
                log.decision(
                    "lock-taken-over", host=host, batch=number, run=str(took.get("run")), why=str(took.get("why"))
                )

    return wrapped


def playbook_vars(inputs: ValidatedRemediate) -> dict[str, Any]:
    """The extra vars of every run of the campaign's playbook, the plan scan's included."""
    return {
        "ripreplace_ticket": inputs.request.ticket.strip(),
        "replacement_product": inputs.replacement,
        "ripreplace_install_on_clean": inputs.request.install_on_clean,
        "detect_fail_on_findings": False,  # findings are what a remediation removes, never a failure
        **inputs.site.extravars(),
    }


def _default_run_batch(inputs: ValidatedRemediate) -> Callable[[rundir.RunDir], campaign.RunBatch]:
    def factory(run: rundir.RunDir) -> campaign.RunBatch:
        def run_batch(
            hosts: Sequence[str],
            number: int,
            on_event: runner.EventHandler,
            cancel: runner.CancelCallback,
            *,
            attempt: int = 1,
        ) -> runner.PlaybookResult:
            # attempt 2: the batch's unreachable hosts, tried once more (batch-N.retry1.hosts, artifacts batch-N-retry1)
            retry = f"retry{attempt - 1}" if attempt > 1 else ""
            name = f"batch-{number}-{retry}" if retry else f"batch-{number}"
            limit_file = run.path / (f"batch-{number}.{retry}.hosts" if retry else f"batch-{number}.hosts")
            limit_file.write_text("".join(f"{h}\n" for h in hosts), encoding="utf-8")
            extravars: dict[str, Any] = {
                "ripreplace_run_id": run.run_id,
                "ripreplace_attempt": attempt,
                # the batch's window was checked by the campaign loop: the playbook's change_window guard
                # checks that it runs under this run (RIPREPLACE_RUN_ID) and leaves the clock to us
                "ripreplace_window_verified": {"run": run.run_id, "batch": number},
                **playbook_vars(inputs),
                **lock_vars(inputs, run),  # per batch: the runs known ended are read again
            }
            request = runner.PlaybookRequest(
                playbook=inputs.playbook,
                inventory=str(inputs.request.inventory.resolve()),
                limit=f"@{limit_file}",
                forks=inputs.request.forks,
                extravars=extravars,
                ident=name,
                skip_tags=audit.DETECT_PLAIN_RUN_TAGS,  # the wrapper reports itself: 3 task executions less per host
            )
            return runner.run_playbook(run, request, on_event=on_event, cancel_callback=cancel)

        return run_batch

    return factory


def _tracker(
    inputs: ValidatedRemediate,
    run: rundir.RunDir,
    previous: Mapping[str, Any] | None,
    *,
    progress: campaign.Progress,
    clock: Callable[[], dt.datetime],
) -> campaign.StateTracker:
    """The campaign's per-host state, rewritten to ``state.json`` after every change."""

    def persist(tracker: campaign.StateTracker) -> None:
        rundir.write_json_atomic(run.state_path, tracker.as_dict(previous=previous, targets=list(inputs.targets)))

    return campaign.StateTracker(
        run.run_id,
        {h: dataclasses.replace(r, history=list(r.history)) for h, r in inputs.plan_hosts.items()},
        persist=persist,
        clock=clock,
        on_change=progress.host_changed,
    )


def _log_resume(log: campaign.AuditSink, inputs: ValidatedRemediate) -> None:
    if inputs.previous is not None:
        log.decision(
            "resume",
            previous_run=inputs.previous.run,
            previous_final_hash=inputs.previous.final_hash,
            previous_log=inputs.previous.log_status,
            note=inputs.previous.note,
            carried_verified=list(inputs.previous.carried),
            targets=list(inputs.targets),
        )


def _interrupt_in_flight(tracker: campaign.StateTracker, inputs: ValidatedRemediate, exc: BaseException) -> str:
    """The wrapper failed: hosts in flight become interrupted (resumable); returns the reason."""
    reason = f"the wrapper stopped on an error: {exc.__class__.__name__}: {exc}"[:500]
    for host, record in tracker.hosts.items():
        if host in inputs.targets and record.state in campaign.IN_PROGRESS and record.batch is not None:
            tracker.set(host, HostState.INTERRUPTED, reason, save=False)
    tracker.save()
    return reason


_RUN_END_STATUS = {ExitCode.OK: "successful", ExitCode.HOSTS_FAILED: "failed", ExitCode.WINDOW: "stopped"}


def _open_log(inputs: ValidatedRemediate, run: rundir.RunDir) -> auditlog.AuditLog:
    """The run's log: HMAC and run-end signature when configured; state.json's sha256 in every decision."""
    keys = inputs.keys
    return auditlog.AuditLog(
        run.audit_log_path, run_id=run.run_id, key=keys.hmac, signer=keys.signer, tracked=[run.state_path]
    )


def _execute(
    inputs: ValidatedRemediate,
    run: rundir.RunDir,
    *,
    opening: campaign.Opening | None,
    started: dt.datetime,
    progress: campaign.Progress,
    interrupt: campaign.Interrupt | None,
    clock: Callable[[], dt.datetime],
    run_batch_factory: Callable[[rundir.RunDir], campaign.RunBatch] | None,
    plan_run: str | None = None,
) -> RemediateOutcome:
    manifest = _manifest(inputs, run, started, plan_run)
    previous = inputs.previous.as_dict() if inputs.previous else None
    tracker = _tracker(inputs, run, previous, progress=progress, clock=clock)
    factory = run_batch_factory or _default_run_batch(inputs)
    with runfaults.starting(run):  # before any host is touched, a write fault is exit 2 (runfaults)
        run.write_manifest(manifest)
        log = _open_log(inputs, run)
    with log:
        with runfaults.starting(run, log):
            log.run_start(manifest, previous=previous)
            _log_resume(log, inputs)
            if inputs.request.break_lock:
                log.decision("break-lock", run=inputs.request.break_lock, by=rundir.operator())
            tracker.save()
        watch = runfaults.FaultWatch(tracker, run.audit_log_path)  # a write fault mid-batch cancels it
        try:
            result = campaign.run_campaign(
                campaign_plan(inputs, run.run_id),
                tracker,
                run_batch=watch.wrap(_recording_lock_takeovers(factory(run), log)),
                log=log,
                progress=progress,
                clock=clock,
                interrupt=interrupt,
                opening=opening,
            )
            summary = campaign.build_summary(
                run_id=run.run_id,
                tracker=tracker,
                targets=inputs.targets,
                result=result,
                window=inputs.schedule.as_dict(),
                previous=previous,
            )
            code = ExitCode(summary["exit_code"])
            run.write_summary(summary)
            end = log.run_end(
                status=_RUN_END_STATUS.get(code, "failed"),
                stats=summary["counts"],
                summary_path=run.summary_path,  # written above: run-end records its sha256 (and the manifest's)
                manifest_path=run.manifest_path,
                exit_code=int(code),
                stop=summary["stop"],
            )
        except BaseException as exc:
            # Leave a campaign that can be picked up: hosts in flight are interrupted, the log is closed, each as
            # far as the disk allows (a full disk: state.json keeps its last good version); a write fault is one line.
            with contextlib.suppress(Exception):
                _interrupt_in_flight(tracker, inputs, exc)
            runfaults.close_log(log, run, runfaults.error_reason(exc))
            hint = f"resume with: ripreplace remediate --resume {run.run_id} ... once it can be written"
            fault = runfaults.after_error(exc, run, resume_hint=hint)
            if fault is exc:
                raise
            raise fault from exc
    return RemediateOutcome(run=run, summary=summary, exit_code=code, result=result, final_hash=end.hash)
