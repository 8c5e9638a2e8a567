# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate``: replace, remove and verify, batch by batch, inside a change window."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ripreplace import audit, campaign, estimate, progress, remediate, rundir, textout, windows
from ripreplace.commands._args import positive_int, runs_dir, ticket
from ripreplace.constants import ExitCode
from ripreplace.exceptions import UsageError

#: The JSON result of --dry-run (the per-host plan; see docs/remediate.md).
PLAN_FORMAT = "ripreplace-plan/1"

EXIT_MEANING = {
    ExitCode.OK: "every targeted host verified clean",
    ExitCode.HOSTS_FAILED: "some hosts failed or were unreachable",
    ExitCode.WINDOW: "stopped by the change window (outside it, or hosts deferred) or hosts locked by another run",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "remediate",
        help="replace and remove covered software, batch by batch, inside a change window",
        description=(
            "Run playbooks/remediate.yml (detect, install the approved replacement and prove it healthy, remove, "
            "verify) one batch at a time, only inside the change window. Prints the plan (per host, from a read-only "
            "scan: what is installed and removed, which hosts are skipped) and asks for confirmation unless --yes; "
            "--dry-run prints it and stops (exit 0, or 4 when a host could not be scanned). A host with nothing "
            "covered is not given the replacement unless --install-on-clean. Per-host state is kept in the run "
            "directory (state.json) so --resume RUN_ID continues "
            "the hosts not yet verified. Exit codes: 0 every targeted host verified; 4 some failed or were "
            "unreachable; 5 stopped by the window (outside it, or hosts deferred) or hosts locked by another campaign, "
            "untouched; 2 bad arguments or input "
            "(no host touched); 6 the audit log of the run being resumed does not verify. See docs/remediate.md."
        ),
    )
    parser.add_argument("-i", "--inventory", type=Path, required=True, help="Ansible inventory")
    parser.add_argument(
        "--ticket", required=True, metavar="ID", type=ticket, help="the change ticket (recorded in the audit log)"
    )
    window = parser.add_mutually_exclusive_group(required=True)
    window.add_argument(
        "--window", metavar="INTERVAL", help="ISO 8601 interval: START/END, START/PT3H or now/PT2H (with UTC offsets)"
    )
    window.add_argument("--window-file", metavar="FILE", type=Path, help="windows file (format ripreplace-windows/1)")
    parser.add_argument(
        "--batches",
        default="1,10%,100%",
        metavar="LIST",
        help="batch sizes, absolute or %% of the targeted hosts; the last repeats (default: 1,10%%,100%%)",
    )
    parser.add_argument(
        "--max-fail",
        default="0",
        metavar="PCT",
        help="stop after a batch in which more than PCT %% of hosts failed or were unreachable (default: 0)",
    )
    parser.add_argument("--replacement", metavar="NAME", help="approved replacement product (default: the catalog's)")
    parser.add_argument("--limit", metavar="PATTERN", help="only hosts matching this Ansible host pattern")
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a site catalog added to the bundled one, as for audit (repeatable); with the inventory's "
        "detect_catalogs group_vars",
    )
    parser.add_argument(
        "--exceptions",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="an exceptions file, as for audit (repeatable); with the inventory's detect_exceptions group_vars",
    )
    parser.add_argument("--forks", metavar="N", type=positive_int, default=5, help="parallel hosts (default: 5)")
    parser.add_argument(
        "--batch-estimate",
        metavar="DURATION",
        help="ISO 8601 duration one batch is expected to take at least (e.g. PT20M); batches so far refine it",
    )
    parser.add_argument("--hard-stop", action="store_true", help="cancel a batch still running when the window closes")
    parser.add_argument("--resume", metavar="RUN_ID", help="continue the hosts of RUN_ID not yet verified")
    parser.add_argument(
        "--break-lock",
        metavar="RUN_ID",
        help="take over the host locks RUN_ID holds (a campaign known dead; recorded in the audit log)",
    )
    parser.add_argument(
        "--runs-dir", metavar="DIR", type=runs_dir, default="runs", help="where run directories go (default: ./runs)"
    )
    _add_plan_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation of the plan")
    parser.add_argument("--output", choices=("text", "json"), default="text", help="report format on stdout")
    parser.add_argument("--playbook", type=Path, help=argparse.SUPPRESS)  # test hook: a stand-in playbook
    parser.set_defaults(handler=handle)


def _add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--install-on-clean",
        action="store_true",
        help="also install the replacement on hosts with nothing covered (default: a clean host is only verified)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan, its estimated duration and each host's plan (what is installed and removed, which "
        "hosts are skipped; from a read-only scan), then stop: nothing changes (exit 0, 4 if a host was not scanned)",
    )


def plan_lines(
    inputs: remediate.ValidatedRemediate,
    opening: campaign.Opening,
    scan: campaign.hostplan.PlanScan | None,
) -> list[str]:
    """The plan as printed before confirmation and by --dry-run, one line each (the one place it is rendered)."""
    batches = opening.batches
    request = inputs.request
    lines = [
        f"ripreplace remediate: ticket {request.ticket}" + (" (dry run: nothing changes)" if request.dry_run else ""),
        f"  inventory   {request.inventory}" + (f" (limit {request.limit})" if request.limit else ""),
        f"  hosts       {len(inputs.targets)} targeted",
        f"  window      {inputs.schedule.description}",
        f"  replacement {inputs.replacement}"
        + ("; also on clean hosts (--install-on-clean)" if request.install_on_clean else "; not on clean hosts"),
        f"  batches     {request.batches} -> " + " + ".join(str(len(b)) for b in batches) + f" (forks {request.forks})",
        f"  max-fail    {inputs.max_fail:g}% per batch" + ("; --hard-stop at the close" if request.hard_stop else ""),
        "  estimate    "
        + estimate.plan_line(batches, request.forks, opening.now, [w.closes for w in opening.open_now.values()]),
    ]
    if request.break_lock:
        lines.append(f"  break-lock  the host locks of {request.break_lock} are taken over")
    if inputs.previous is not None:
        lines.append(
            f"  resumes     {inputs.previous.run} ({len(inputs.previous.carried)} verified there); "
            + inputs.previous.note
        )
    stop = opening.stop()
    if stop is not None:
        lines.append(f"  {stop.reason}")
    for n, batch in enumerate(batches, 1):
        lines.append(f"  batch {n}: {_names(batch)}")
    if scan is None:
        lines.append("  per host    decided on each host when its batch runs (--dry-run shows it beforehand)")
    else:
        lines.append(f"  per host    (read-only scan, run {scan.run_id}):")
        lines.extend(f"    {_names(hosts)}: {text}" for text, hosts in _grouped(scan).items())
    return lines


def _names(hosts: list[str] | tuple[str, ...]) -> str:
    return ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")


def _grouped(scan: campaign.hostplan.PlanScan) -> dict[str, list[str]]:
    """Hosts with the same plan share a line (a fleet of thousands stays readable), in host order."""
    groups: dict[str, list[str]] = {}
    for host, plan in scan.hosts.items():
        groups.setdefault(f"{plan.action}: {campaign.hostplan.detail(plan)}", []).append(host)
    return groups


def _print_plan(
    inputs: remediate.ValidatedRemediate,
    opening: campaign.Opening,
    stream: TextIO,
    scan: campaign.hostplan.PlanScan | None = None,
) -> None:
    stream.write("\n".join(plan_lines(inputs, opening, scan)) + "\n")
    stream.flush()


def plan_scan(inputs: remediate.ValidatedRemediate, hosts: Sequence[str]) -> campaign.hostplan.PlanScan:
    """Each host's plan, from the campaign's own playbook in check mode (nothing changes), in a run of its own."""
    request = inputs.request
    return campaign.hostplan.scan(
        runs_dir=request.runs_dir,
        inventory=request.inventory,
        playbook=inputs.playbook,
        hosts=hosts,
        forks=request.forks,
        replacement=inputs.replacement,
        extravars={"ripreplace_run_id": "plan", **remediate.playbook_vars(inputs)},
        manifest_extra={
            "ticket": request.ticket.strip(),
            "replacement": inputs.replacement,
            "install_on_clean": request.install_on_clean,
            "limit": request.limit,
            "catalog_files": list(inputs.site.catalog_files),
        },
        catalogs=list(inputs.site.paths),
    )


def _terminal_or_yes(args: argparse.Namespace) -> None:
    """Before anything is scanned: without --yes the plan must be confirmed on a terminal."""
    if not args.yes and not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError("not on a terminal: pass --yes to confirm the plan")


def _confirm(args: argparse.Namespace) -> None:
    if args.yes:
        return
    _terminal_or_yes(args)
    sys.stderr.write("Proceed with this campaign? Type 'yes' to start: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer != "yes":  # only the word asked for: a stray 'y' starts nothing
        raise UsageError("not confirmed: nothing was started")


def _plan_and_confirm(
    args: argparse.Namespace, inputs: remediate.ValidatedRemediate, opening: campaign.Opening, info: TextIO
) -> str | None:
    """The plan, per host when someone confirms it (a read-only scan first); returns the plan scan's run id."""
    _terminal_or_yes(args)
    scan = None
    # The operator reads it before typing yes: what each host gets, measured now. (A stand-in playbook,
    # the hidden --playbook test hook, cannot stop at the plan: it gets none.)
    if not args.yes and args.playbook is None:
        scan = plan_scan(inputs, [h for h in inputs.targets if h in opening.open_now])
    _print_plan(inputs, opening, info, scan)
    _confirm(args)
    return scan.run_id if scan else None


def _dry_run(args: argparse.Namespace, inputs: remediate.ValidatedRemediate, opening: campaign.Opening) -> ExitCode:
    """--dry-run: every targeted host scanned read-only (whatever the window), the plan shown, nothing started.

    Exit 0, or 4 when a host could not be scanned. A stand-in playbook (the hidden --playbook test hook) cannot
    stop at the plan: it is not run, and the plan is the campaign's alone (no run directory, no host touched)."""
    if args.playbook is not None:
        _print_plan(inputs, opening, sys.stdout)
        return ExitCode.OK
    scan = plan_scan(inputs, list(inputs.targets))
    code = ExitCode.HOSTS_FAILED if scan.unscanned else ExitCode.OK
    if args.output == "json":
        result = {
            "format": PLAN_FORMAT,
            "run": scan.run_id,
            "window": inputs.schedule.as_dict(),
            "install_on_clean": inputs.request.install_on_clean,
            "replacement": inputs.replacement,
            "batches": [list(b) for b in opening.batches],
            "hosts": {h: p.as_dict() for h, p in scan.hosts.items()},
        }
        payload = audit.envelope("remediate", code, result, run=scan.run_id, run_dir=scan.run_dir, dry_run=True)
        json.dump(payload, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        _print_plan(inputs, opening, sys.stdout, scan)
        sys.stdout.write(f"dry run: nothing was changed (plan scan: {scan.run_dir}); exit {int(code)}\n")
    return code


STATUS_STYLE = {
    "remediated": "green",
    "clean": "green",
    "excepted": "cyan",
    "failed": "bold red",
    "unreachable": "bold yellow",
    "deferred": "yellow",
    "locked": "yellow",
}


def render_text(outcome: remediate.RemediateOutcome, stream: TextIO | None = None) -> None:
    """The campaign's summary for people: a table fitted to the terminal (plain lines when piped), then the totals."""
    out = textout.console(stream)
    summary = outcome.summary
    cell = textout.cell
    rows = [
        [
            cell(host),
            cell(entry["status"], STATUS_STYLE.get(entry["status"], "")),
            cell(entry["state"]),
            cell(entry["batch"] or "-"),
            cell(entry["reason"] or ""),
        ]
        for host, entry in summary["hosts"].items()
    ]
    textout.title(out, f"ripreplace remediate {summary['run']}")
    columns = ["host", "status", "state", "batch", "reason"]
    out.print(textout.table(out, columns, rows, short=["status", "state", "batch"], keep=["host"]))
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items())
    textout.line(out, f"{len(summary['hosts'])} host(s): {counts}")
    if summary["stop"]:
        textout.line(out, f"stopped: {summary['stop']['reason']}")
    textout.line(out, f"run directory: {outcome.run.path}")
    textout.line(out, f"audit log final hash: {outcome.final_hash}")
    if outcome.exit_code != ExitCode.OK:
        textout.line(out, f"resume with: ripreplace remediate --resume {outcome.run.run_id} ...")
    textout.line(out, f"exit {int(outcome.exit_code)}: {EXIT_MEANING[outcome.exit_code]}")


def handle(args: argparse.Namespace) -> ExitCode:
    request = remediate.RemediateRequest(
        inventory=args.inventory,
        ticket=args.ticket,
        window=args.window,
        window_file=args.window_file,
        batches=args.batches,
        max_fail=args.max_fail,
        replacement=args.replacement,
        limit=args.limit,
        forks=args.forks,
        batch_estimate=args.batch_estimate,
        hard_stop=args.hard_stop,
        resume=args.resume,
        runs_dir=args.runs_dir,
        playbook=args.playbook,
        catalogs=tuple(args.catalog),
        exceptions=tuple(args.exceptions),
        break_lock=args.break_lock,
        install_on_clean=args.install_on_clean,
        dry_run=args.dry_run,
    )
    inputs = remediate.validate(request)  # UsageError/InputFileError before any host is touched
    info = sys.stderr if args.output == "json" else sys.stdout
    opening = remediate.open_window(inputs, rundir.utcnow())  # the plan shown is the plan run
    if args.dry_run:
        return _dry_run(args, inputs, opening)
    plan_run = _plan_and_confirm(args, inputs, opening, info) if opening.open_now else None
    live = args.output == "text" and textout.can_redraw(sys.stdout)
    total = len(inputs.targets)
    display: Any = progress.LiveProgress(total) if live else progress.PlainProgress(total, stream=info)
    interrupt = campaign.Interrupt()

    def on_signal(signum: int, _frame: Any) -> None:
        interrupt.requested = signal.Signals(signum).name

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = remediate.execute(inputs, opening=opening, progress=display, interrupt=interrupt, plan_run=plan_run)
    finally:
        display.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not opening.open_now and opening.soonest is not None:
        soonest = opening.soonest
        info.write(f"outside the change window: next window {soonest.name} opens {windows.iso(soonest.opens)}\n")
    if args.output == "json":
        payload = audit.envelope(
            "remediate",
            outcome.exit_code,
            outcome.summary,
            run=outcome.run.run_id,
            run_dir=str(outcome.run.path),
            final_hash=outcome.final_hash,
        )
        json.dump(payload, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        render_text(outcome)
    return outcome.exit_code
