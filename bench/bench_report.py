# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark ``ripreplace report`` on a big run (not a test: prints a Markdown table).

Generates a run directory like a remediate run of ``--hosts`` hosts x ``--tasks`` tasks (default
10,000 x 50): ``manifest.json``, ``summary.json`` (one entry per host; every 10th host covered with
a two-product finding) and an ``audit.jsonl`` of valid chained records shaped like the callback's
and the wrapper's (run-start, batch decisions, a playbook per batch of 500 hosts with play-start,
one task record per host per task, host-state per host, playbook-end with per-host stats,
run-end), with the final hash repeated in the manifest; the generator uses the writer's own
canonical serialisation and hashing (``auditlog.canonical``), and the log is checked with
``verify()`` once before timing. ``summary.json`` is ``ripreplace-summary/2`` (findings nested, as the
record contract writes them).

Then, alternately (A B A B ...) ``--reps`` times, each in a fresh subprocess:
- A, the baseline: a bare ``json.loads`` of every line of the same audit.jsonl;
- B, the report: ``ripreplace report RUN --format F -o FILE`` in-process (load, verify and stream the
  log, render), for each format in ``--formats`` (default html).
Each subprocess reports its wall time and peak RSS (``resource.getrusage``); one more B run under
``tracemalloc`` gives the peak of Python allocations. Targets: median(B) / median(A) <= 3 and peak
RSS <= 150 MB.

    python bench/bench_report.py [--hosts 10000] [--tasks 50] [--reps 3] [--formats html,csv,json,junit,md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ripreplace import auditlog

RUN_ID = "20261205T060000Z-remediate-be0c4e"
BATCH = 500

BASELINE = r"""
import json, resource, sys, time
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as handle:
    for line in handle:
        json.loads(line)
        n += 1
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "records": n, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REPORT = r"""
import json, resource, sys, time
trace = sys.argv[4] == "trace"
if trace:
    import tracemalloc
    tracemalloc.start()
t = time.perf_counter()
from ripreplace import cli
rc = cli.main(["report", sys.argv[1], "--format", sys.argv[2], "-o", sys.argv[3]])
wall = time.perf_counter() - t
out = {"wall": wall, "rc": rc, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if trace:
    out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps(out))
"""


class Chain:
    """Valid records the way AuditWriter builds them (same canonical body, same hash trailer)."""

    def __init__(self, handle, canonical) -> None:
        self.handle = handle
        self.canonical = canonical
        self.seq = -1
        self.prev = "0" * 64
        self.ms = 0

    def add(self, rtype: str, data: dict, src: str = "callback") -> None:
        self.seq += 1
        self.ms += 7
        if rtype == "run-end":
            data = dict(data, count=self.seq + 1, chain_head=self.prev)
        body = {
            "data": data,
            "prev": self.prev,
            "run": RUN_ID,
            "seq": self.seq,
            "src": src,
            "ts": stamp(self.ms),
            "type": rtype,
            "v": 1,
        }
        raw = self.canonical(body)
        digest = hashlib.sha256(raw).hexdigest()
        self.handle.write(raw[:-1] + b',"hash":"' + digest.encode() + b'"}\n')
        self.prev = digest


def stamp(ms: int) -> str:
    seconds, milli = divmod(ms, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"2026-12-05T{6 + hours:02d}:{minute:02d}:{sec:02d}.{milli:03d}Z"


def finding(catalog_id: str, product: str, package: str) -> dict:
    return {
        "catalog_id": catalog_id,
        "vendor": "AO Kaspersky Lab",
        "product": product,
        "covered_list": {
            "entry": "AO Kaspersky Lab: Information security products",
            "added": "2022-03-25",
            "sources": ["https://www.fcc.gov/supplychain/coveredlist"],
        },
        "state": "installed",
        "confidence": "high",
        "review": False,
        "evidence": [
            {
                "kind": "deb",
                "value": package,
                "confidence": "high",
                "details": {"version": "12.4.0-1225", "status": "installed"},
            },
            {"kind": "service", "value": package, "confidence": "high", "details": {"manager": "systemd"}},
            {"kind": "path", "value": f"/opt/kaspersky/{package}", "confidence": "high", "details": {}},
        ],
    }


def summary_host(covered: bool, batch: int) -> dict:
    return {
        "status": "remediated" if covered else "clean",
        "state": "verified",
        "reason": None,
        "findings": [
            finding("kaspersky-kesl", "Kaspersky Endpoint Security for Linux", "kesl"),
            finding("kaspersky-network-agent", "Kaspersky Network Agent", "klnagent64"),
        ]
        if covered
        else [],
        "excepted": [],
        "batch": batch,
        "targeted": True,
        "run": RUN_ID,
        "replacement": {"product": "clamav", "name": "ClamAV", "version": "1.0.7", "healthy": True, "reason": ""},
        "verify": {"outcome": "verified", "reason": "", "protection_gap_seconds": 0.8},
    }


def task_record(log: Chain, t: int, name: str) -> dict:
    return {
        "action": "ansible.builtin.command",
        "args": {"_raw_params": f"/usr/bin/true {t}"},
        "end": stamp(log.ms + 3),
        "host": name,
        "play": "Remediate",
        "role": "remove",
        "start": stamp(log.ms),
        "status": "changed" if t % 5 == 0 else "ok",
        "task": f"ROLE | STEP {t:02d} | Do the thing number {t} on the host",
        "task_uuid": f"02fc0000-0001-17dd-90ed-{t:012d}",
        "rc": 0,
    }


def write_batch(log: Chain, b: int, group: list[str], tasks: int) -> dict:
    """One batch's records, as the wrapper and the callback write them; its summary batch entry."""
    began = log.ms
    log.add("decision", {"kind": "window-check", "batch": b, "ok": True, "closes": "2026-12-05T14:00:00Z"}, "wrapper")
    log.add("decision", {"kind": "batch-start", "batch": b, "hosts": len(group)}, "wrapper")
    log.add("playbook-start", {"playbook": "playbooks/remediate.yml", "check_mode": False, "forks": 50})
    log.add("play-start", {"play": "Remediate", "hosts": "all", "uuid": f"uuid-{b}"})
    for t in range(tasks):
        for name in group:
            log.add("task", task_record(log, t, name))
    stat = {"changed": tasks // 5, "failures": 0, "ignored": 0, "ok": tasks, "rescued": 0, "skipped": 0}
    stats = {n: dict(stat, unreachable=0) for n in group[:100]}  # the callback caps a dict at 100
    log.add("playbook-end", {"status": "successful", "stats": stats, "hosts_failed": [], "hosts_unreachable": []})
    for name in group:
        log.add("host-state", {"host": name, "state": "verified", "batch": b}, "wrapper")
    seconds = (log.ms - began) / 1000
    log.add("decision", {"kind": "batch-end", "batch": b, "seconds": seconds}, "wrapper")
    counts = {"verified": len(group)}
    return {"batch": b, "hosts": group, "started": stamp(began), "seconds": seconds, "counts": counts}


def generate(run_dir: Path, hosts: int, tasks: int) -> int:
    run_dir.mkdir(parents=True)
    names = [f"host{n:05d}.example.net" for n in range(hosts)]
    window = {
        "kind": "interval",
        "text": "2026-12-05T06:00:00Z/PT8H",
        "start": "2026-12-05T06:00:00Z",
        "end": "2026-12-05T14:00:00Z",
    }
    manifest = {
        "format": "ripreplace-manifest/1",
        "run": RUN_ID,
        "mode": "remediate",
        "operator": "bench",
        "ticket": "CHG-BENCH",
        "started": "2026-12-05T06:00:00.000Z",
        "window": window,
    }
    summary_hosts: dict[str, dict] = {}
    batches = []
    with (run_dir / "audit.jsonl").open("wb") as handle:
        log = Chain(handle, auditlog.canonical)
        log.add("run-start", {"format": "ripreplace-audit/1", "manifest": manifest, "wrapped": True}, "wrapper")
        for b, start in enumerate(range(0, hosts, BATCH), 1):
            group = names[start : start + BATCH]
            batches.append(write_batch(log, b, group, tasks) | {"failed_pct": 0.0, "canceled": False})
            for i, name in enumerate(group):
                summary_hosts[name] = summary_host((start + i) % 10 == 0, b)
        log.add("run-end", {"status": "successful"}, "wrapper")
    records = log.seq + 1
    manifest["audit_log"] = {"format": "ripreplace-audit/1", "file": "audit.jsonl", "final_hash": log.prev}
    manifest["audit_log"]["records"] = records
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    counts: dict[str, int] = {}
    for entry in summary_hosts.values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    summary = {
        "format": "ripreplace-summary/2",
        "run": RUN_ID,
        "mode": "remediate",
        "finished": stamp(log.ms),
        "exit_code": 0,
        "counts": counts,
        "hosts": summary_hosts,
        "window": window,
        "previous": None,
        "batches": batches,
        "stop": None,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    verdict = auditlog.verify(run_dir / "audit.jsonl", expected_final_hash=log.prev, expected_records=records)
    assert verdict.ok, verdict.one_line()
    return records


def child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--formats", default="html")
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    with tempfile.TemporaryDirectory(prefix="ripreplace-bench-report-") as tmp:
        run_dir = Path(tmp) / RUN_ID
        t = time.perf_counter()
        records = generate(run_dir, args.hosts, args.tasks)
        gen = time.perf_counter() - t
        log = run_dir / "audit.jsonl"
        size_mb = log.stat().st_size / 2**20
        print(
            f"generated {records} records ({size_mb:.0f} MiB) in {gen:.1f} s; summary.json "
            f"{(run_dir / 'summary.json').stat().st_size / 2**20:.1f} MiB",
            file=sys.stderr,
        )
        base: list[dict] = []
        reports: dict[str, list[dict]] = {f: [] for f in formats}
        for _ in range(args.reps):
            base.append(child(BASELINE, str(log)))
            for fmt in formats:
                result = child(REPORT, str(run_dir), fmt, str(Path(tmp) / f"report.{fmt}"), "plain")
                assert result["rc"] == 0, result
                reports[fmt].append(result)
        traced = {fmt: child(REPORT, str(run_dir), fmt, str(Path(tmp) / f"t.{fmt}"), "trace") for fmt in formats}
        sizes = {fmt: (Path(tmp) / f"report.{fmt}").stat().st_size / 2**20 for fmt in formats}
    base_wall = statistics.median(r["wall"] for r in base)
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{args.hosts} hosts x {args.tasks} tasks = {records} records ({size_mb:.0f} MiB), {args.reps} reps\n"
    )
    print("| run | median wall (s) | ratio to json.loads | peak RSS (MB) | traced peak (MB) | output (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| bare `json.loads` of every line | {base_wall:.2f} | 1.00 | {max(r['rss_mb'] for r in base):.0f} | | |")
    worst = 0.0
    for fmt in formats:
        wall = statistics.median(r["wall"] for r in reports[fmt])
        worst = max(worst, wall / base_wall)
        print(
            f"| `ripreplace report --format {fmt}` | {wall:.2f} | {wall / base_wall:.2f} | "
            f"{max(r['rss_mb'] for r in reports[fmt]):.0f} | {traced[fmt]['traced_peak_mb']:.0f} | "
            f"{sizes[fmt]:.1f} |"
        )
    peak = max(r["rss_mb"] for rs in reports.values() for r in rs)
    ok = worst <= 3.0 and peak <= 150
    print(
        f"\nworst ratio {worst:.2f} (target <= 3), peak RSS {peak:.0f} MB (target <= 150): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
