# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate``: replace, remove and verify, batch by batch, inside a change window."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from ripreplace import audit, campaign, estimate, progress, remediate, rundir, textout, windows
from ripreplace.commands._args import positive_int, runs_dir, ticket
from ripreplace.constants import ExitCode
from ripreplace.exceptions import UsageError

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
            "verify) one batch at a time, only inside the change window. Prints the plan and asks for confirmation "
            "unless --yes. Per-host state is kept in the run directory (state.json) so --resume RUN_ID continues "
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
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation of the plan")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and its estimated duration, then stop: no run directory, no host touched (exit 0)",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text", help="report format on stdout")
    parser.add_argument("--playbook", type=Path, help=argparse.SUPPRESS)  # test hook: a stand-in playbook
    parser.set_defaults(handler=handle)


def _print_plan(inputs: remediate.ValidatedRemediate, opening: campaign.Opening, stream: TextIO) -> None:
    batches = opening.batches
    request = inputs.request
    lines = [
        f"ripreplace remediate: ticket {request.ticket}",
        f"  inventory   {request.inventory}" + (f" (limit {request.limit})" if request.limit else ""),
        f"  hosts       {len(inputs.targets)} targeted",
        f"  window      {inputs.schedule.description}",
        f"  replacement {inputs.replacement}",
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
    for n, batch in enumerate(batches, 1):
        shown = ", ".join(batch[:10]) + (f" and {len(batch) - 10} more" if len(batch) > 10 else "")
        lines.append(f"  batch {n}: {shown}")
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def _confirm(args: argparse.Namespace) -> None:
    if args.yes:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError("not on a terminal: pass --yes to confirm the plan")
    sys.stderr.write("Proceed with this campaign? Type 'yes' to start: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer != "yes":  # only the word asked for: a stray 'y' starts nothing
        raise UsageError("not confirmed: nothing was started")


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
    )
    inputs = remediate.validate(request)  # UsageError/InputFileError before any host is touched
    info = sys.stderr if args.output == "json" else sys.stdout
    opening = remediate.open_window(inputs, rundir.utcnow())  # the plan shown is the plan run
    if args.dry_run:
        _print_plan(inputs, opening, sys.stdout)
        stop = opening.stop()
        if stop is not None:
            sys.stdout.write(f"{stop.reason}\n")
        return ExitCode.OK
    if opening.open_now:
        _print_plan(inputs, opening, info)
        _confirm(args)
    live = args.output == "text" and textout.can_redraw(sys.stdout)
    total = len(inputs.targets)
    display: Any = progress.LiveProgress(total) if live else progress.PlainProgress(total, stream=info)
    interrupt = campaign.Interrupt()

    def on_signal(signum: int, _frame: Any) -> None:
        interrupt.requested = signal.Signals(signum).name

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = remediate.execute(inputs, opening=opening, progress=display, interrupt=interrupt)
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
