"""``ripreplace runs list | show RUN``: past runs, their outcome and whether their audit log verifies."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ripreplace import audit, auditlog, rundir
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError

RUNS_FORMAT = "ripreplace-runs/1"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="list past runs and show one",
        description="List the run directories under --runs-dir with their outcome and audit-log verdict, or show one.",
    )
    sub = parser.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--runs-dir", metavar="DIR", type=Path, default=Path("runs"), help="where run directories are (default: ./runs)"
    )
    common.add_argument("--output", choices=("text", "json"), default="text", help="format on stdout")
    lister = sub.add_parser("list", parents=[common], help="list runs, newest first")
    lister.set_defaults(handler=handle_list)
    shower = sub.add_parser("show", parents=[common], help="show one run")
    shower.add_argument("run", metavar="RUN", help="a run id (under --runs-dir) or a run directory")
    shower.set_defaults(handler=handle_show)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _log_verdict(path: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    log = path / rundir.AUDIT_LOG
    if not log.is_file():
        return {"status": "missing", "message": "no audit.jsonl"}
    entry = (manifest or {}).get("audit_log")
    entry = entry if isinstance(entry, dict) else {}
    try:
        verdict = auditlog.verify(
            log, expected_final_hash=entry.get("final_hash"), expected_records=entry.get("records")
        )
    except auditlog.AuditChainError as exc:
        return {"status": "unreadable", "message": str(exc)}
    return {"status": verdict.status, "message": verdict.one_line(), "final_hash": verdict.final_hash}


def describe(path: Path) -> dict[str, Any]:
    """One run: id, mode, started, ticket, outcome counts, log verdict (and more for show)."""
    manifest = _read_json(path / rundir.MANIFEST)
    manifest = manifest if isinstance(manifest, dict) else None
    summary = _read_json(path / rundir.SUMMARY)
    summary = summary if isinstance(summary, dict) else None
    state = _read_json(path / rundir.STATE)
    state = state if isinstance(state, dict) else None
    if summary is not None:
        counts, outcome = summary.get("counts") or {}, "finished"
    elif state is not None:
        counts = {}
        for host in (state.get("hosts") or {}).values():
            counts[host.get("state", "?")] = counts.get(host.get("state", "?"), 0) + 1
        outcome = "incomplete (no summary.json: killed or still going; counts are host states)"
    else:
        counts, outcome = {}, "incomplete (no summary.json)"
    m = manifest or {}
    return {
        "run": path.name,
        "path": str(path),
        "mode": m.get("mode"),
        "started": m.get("started"),
        "ticket": m.get("ticket"),
        "operator": m.get("operator"),
        "window": m.get("window"),
        "resumes": (m.get("resumes") or {}).get("run") if isinstance(m.get("resumes"), dict) else None,
        "outcome": outcome,
        "exit_code": summary.get("exit_code") if summary else None,
        "counts": dict(sorted(counts.items())),
        "log": _log_verdict(path, manifest),
    }


def _runs(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        raise InputFileError(f"{runs_dir}: no such runs directory")
    return sorted(
        (p for p in runs_dir.iterdir() if p.is_dir() and (p / rundir.MANIFEST).is_file()),
        key=lambda p: p.name,
        reverse=True,
    )


def handle_list(args: argparse.Namespace) -> ExitCode:
    rows = [describe(p) for p in _runs(args.runs_dir)]
    if args.output == "json":
        json.dump(
            audit.envelope("runs list", ExitCode.OK, {"format": RUNS_FORMAT, "runs": rows}),
            sys.stdout,
            indent=2,
            sort_keys=True,
        )
        sys.stdout.write("\n")
        return ExitCode.OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"runs in {args.runs_dir}")
    for col in ("run", "mode", "started", "ticket", "outcome", "log"):
        table.add_column(col, no_wrap=col in ("run", "started"))
    for row in rows:
        counts = ", ".join(f"{n} {s}" for s, n in row["counts"].items()) or "-"
        outcome = counts if row["outcome"] == "finished" else f"incomplete: {counts}"
        table.add_row(
            row["run"], str(row["mode"]), str(row["started"]), str(row["ticket"] or "-"), outcome, row["log"]["status"]
        )
    Console(highlight=False, width=160).print(table)
    return ExitCode.OK


def _locate(args: argparse.Namespace) -> Path:
    direct = Path(args.run)
    if direct.is_dir() and (direct / rundir.MANIFEST).is_file():
        return direct
    candidate = args.runs_dir / args.run
    if candidate.is_dir() and (candidate / rundir.MANIFEST).is_file():
        return candidate
    raise InputFileError(f"{args.run}: no such run (looked in {args.runs_dir})")


def handle_show(args: argparse.Namespace) -> ExitCode:
    path = _locate(args)
    info = describe(path)
    summary = _read_json(path / rundir.SUMMARY)
    state = _read_json(path / rundir.STATE)
    hosts: dict[str, Any] = {}
    if isinstance(summary, dict):
        hosts = {
            h: {"status": e.get("status"), "state": e.get("state"), "reason": e.get("reason")}
            for h, e in (summary.get("hosts") or {}).items()
        }
        info["batches"] = summary.get("batches")
        info["stop"] = summary.get("stop")
    elif isinstance(state, dict):
        hosts = {
            h: {"status": None, "state": e.get("state"), "reason": e.get("reason")}
            for h, e in (state.get("hosts") or {}).items()
        }
    info["hosts"] = hosts
    if args.output == "json":
        json.dump(audit.envelope("runs show", ExitCode.OK, info), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return ExitCode.OK
    out = sys.stdout
    for key in ("run", "mode", "started", "operator", "ticket", "window", "resumes", "outcome", "exit_code"):
        out.write(f"{key:10} {info.get(key)}\n")
    out.write(f"{'log':10} {info['log']['message']}\n")
    for batch in info.get("batches") or []:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(batch["counts"].items()))
        out.write(f"batch {batch['batch']}: {len(batch['hosts'])} host(s) in {batch['seconds']} s: {counts}\n")
    if info.get("stop"):
        out.write(f"stopped: {info['stop']['reason']}\n")
    for host, entry in sorted(hosts.items()):
        status = entry["status"] or entry["state"]
        out.write(f"  {host}: {status}" + (f": {entry['reason']}" if entry["reason"] else "") + "\n")
    return ExitCode.OK
