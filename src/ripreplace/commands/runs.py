# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace runs list | show RUN``: past runs, their outcome and whether their audit log verifies.

Run directories are read by :mod:`ripreplace.report.documents` (every value type-checked) and the
audit log is verified now by the report's verifier call (never a stored verdict). ``runs show`` of a
run whose files are malformed says so in one line and exits 2; ``runs list`` lists such a run as
``unreadable`` and goes on with the others. ``show`` prints only what the run recorded: a key with
no value is left out, never printed as ``None``. Text goes through :mod:`ripreplace.textout`: fitted
to the terminal, plain when piped, and every value from a run's files escaped (no control sequence
from a hostile file reaches the operator's terminal).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ripreplace import audit, rundir, textout
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError
from ripreplace.report import load, plainrun
from ripreplace.report.documents import RunDocuments, read_run

RUNS_FORMAT = "ripreplace-runs/1"
SHOW_KEYS = ("run", "mode", "started", "operator", "ticket", "window", "resumes", "outcome", "exit_code")


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


def _log_verdict(docs: RunDocuments) -> dict[str, Any]:
    verdict = load.verify_log(docs.path, docs.manifest, None)
    out: dict[str, Any] = {"status": verdict.status, "message": verdict.message}
    if verdict.final_hash is not None:
        out["final_hash"] = verdict.final_hash
    return out


def _counts(docs: RunDocuments, *, rebuilt: bool = False) -> tuple[dict[str, int], str]:
    if docs.summary is not None:
        outcome = "finished (a playbook run: counts from its log)" if rebuilt else "finished"
        return dict(docs.summary.get("counts") or {}), outcome
    if docs.state is not None:
        counts: dict[str, int] = {}
        for host in docs.state_hosts.values():
            state = str(host.get("state") or "?")
            counts[state] = counts.get(state, 0) + 1
        return counts, "incomplete (no summary.json: killed or still going; counts are host states)"
    return {}, "incomplete (no summary.json)"


def describe(docs: RunDocuments, *, rebuilt: bool = False) -> dict[str, Any]:
    """One run: id, mode, started, ticket, outcome counts, log verdict (``show`` adds batches and hosts).
    ``rebuilt``: the summary was rebuilt from the log of a plain playbook run (:mod:`ripreplace.report.plainrun`)."""
    m = docs.manifest
    counts, outcome = _counts(docs, rebuilt=rebuilt)
    resumes = m.get("resumes")
    return {
        "run": docs.path.name,
        "path": str(docs.path),
        "mode": (docs.summary or {}).get("mode") if rebuilt else m.get("mode"),
        "started": m.get("started"),
        "ticket": m.get("ticket"),
        "operator": m.get("operator"),
        "window": m.get("window"),
        "resumes": resumes.get("run") if isinstance(resumes, Mapping) else None,
        "outcome": outcome,
        "exit_code": docs.summary.get("exit_code") if docs.summary is not None else None,
        "counts": dict(sorted(counts.items())),
        "log": _log_verdict(docs),
    }


def _unreadable(path: Path, exc: InputFileError) -> dict[str, Any]:
    """A listing row for a run whose files cannot be read: the listing goes on."""
    return {
        "run": path.name,
        "path": str(path),
        "mode": None,
        "started": None,
        "ticket": None,
        "operator": None,
        "window": None,
        "resumes": None,
        "outcome": f"unreadable: {exc}",
        "exit_code": None,
        "counts": {},
        "log": {"status": "unchecked", "message": "not verified: the run's files cannot be read"},
    }


def _runs(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        raise InputFileError(f"{runs_dir}: no such runs directory")
    return sorted(
        (p for p in runs_dir.iterdir() if p.is_dir() and (p / rundir.MANIFEST).is_file()),
        key=lambda p: p.name,
        reverse=True,
    )


def _row(path: Path) -> dict[str, Any]:
    try:
        docs, rebuilt = _documents(path)
        return describe(docs, rebuilt=rebuilt)
    except InputFileError as exc:
        return _unreadable(path, exc)


def _documents(path: Path) -> tuple[RunDocuments, bool]:
    """A run's documents; a plain playbook run's summary rebuilt from its log (and whether it was)."""
    docs, rebuilt = plainrun.with_summary(read_run(path))
    return docs, rebuilt


def _print_json(command: str, result: Any) -> None:
    json.dump(audit.envelope(command, ExitCode.OK, result), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _list_cells(row: Mapping[str, Any]) -> list[str]:
    counts = ", ".join(f"{n} {s}" for s, n in row["counts"].items()) or "-"
    if row["outcome"].startswith("finished"):
        outcome = counts
    elif row["outcome"].startswith("unreadable"):
        outcome = row["outcome"]
    else:
        outcome = f"incomplete: {counts}"
    return [row["run"], row["mode"] or "-", row["started"] or "-", row["ticket"] or "-", outcome, row["log"]["status"]]


def _print_list(runs_dir: Path, rows: list[dict[str, Any]]) -> None:
    """A table fitted to the terminal (run ids whole, long values fold in their cell); plain, one
    row a line, when piped (textout)."""
    out = textout.console()
    textout.title(out, f"runs in {runs_dir}")
    columns = ("run", "mode", "started", "ticket", "outcome", "log")
    cells = ([textout.cell(v) for v in _list_cells(r)] for r in rows)
    out.print(textout.table(out, columns, cells, short=("mode", "log"), keep=("run", "started")))


def handle_list(args: argparse.Namespace) -> ExitCode:
    rows = [_row(p) for p in _runs(args.runs_dir)]
    if args.output == "json":
        _print_json("runs list", {"format": RUNS_FORMAT, "runs": rows})
    else:
        _print_list(args.runs_dir, rows)
    return ExitCode.OK


def _hosts(docs: RunDocuments) -> dict[str, dict[str, Any]]:
    if docs.summary is not None:
        return {
            h: {"status": e.get("status"), "state": e.get("state"), "reason": e.get("reason")}
            for h, e in docs.summary_hosts.items()
        }
    return {
        h: {"status": None, "state": e.get("state"), "reason": e.get("reason")} for h, e in docs.state_hosts.items()
    }


def _known(value: Any) -> bool:
    return value is not None and value not in ("", {}, [])


def _batch_line(batch: Mapping[str, Any]) -> str:
    hosts = batch.get("hosts") or []
    line = f"batch {batch.get('batch', '?')}: {len(hosts)} host(s)"
    if _known(batch.get("seconds")):
        line += f" in {batch['seconds']} s"
    counts = ", ".join(f"{n} {s}" for s, n in sorted((batch.get("counts") or {}).items()))
    return line + (f": {counts}" if counts else "")


def _print_show(info: Mapping[str, Any]) -> None:
    """``key  value`` lines, batches, the stop and every host: data from the run's files, escaped."""
    out = textout.console()
    for key in SHOW_KEYS:
        if _known(info.get(key)):
            value = info[key]
            textout.line(out, f"{key:10} {json.dumps(value) if isinstance(value, dict | list) else value}")
    textout.line(out, f"{'log':10} {info['log']['message']}")
    for batch in info.get("batches") or []:
        textout.line(out, _batch_line(batch))
    stop = info.get("stop")
    if isinstance(stop, Mapping) and _known(stop.get("reason")):
        textout.line(out, f"stopped: {stop['reason']}")
    for host, entry in sorted(info["hosts"].items()):
        status = entry["status"] or entry["state"] or "unknown"
        textout.line(out, f"  {host}: {status}" + (f": {entry['reason']}" if entry["reason"] else ""))


def handle_show(args: argparse.Namespace) -> ExitCode:
    docs, rebuilt = _documents(load.locate_run(args.run, args.runs_dir))
    info = describe(docs, rebuilt=rebuilt)
    if docs.summary is not None:
        info["batches"] = docs.summary.get("batches")
        info["stop"] = docs.summary.get("stop")
    info["hosts"] = _hosts(docs)
    if args.output == "json":
        _print_json("runs show", info)
    else:
        _print_show(info)
    return ExitCode.OK
