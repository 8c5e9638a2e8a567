# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark ``ripreplace equipment`` on simulated devices (not a test: prints a Markdown table). Needs root.

Brings up a lab with one Linux host and ``--devices`` simulated SNMP devices (default 200), made from
the project's fixtures (every vendor, the negative controls; sysName made unique), then, alternately
(A B A B ...) ``--reps`` times:
- A, the floor: a plain ``snmpget -v2c -c COMMUNITY ADDR sysObjectID.0`` of each device in turn
  (net-snmp, one shell in the lab's control namespace, like an operator's loop);
- B, ``ripreplace equipment -i INVENTORY --limit snmp_devices --output json`` end to end (inventory
  parse, run directory, ansible-playbook, one module run scanning every device: GET of the system
  group and probes, GETBULK walks of ENTITY, LLDP, ARP and forwarding tables, classification,
  summary). Target: median(B) / median(A) <= 3.

    python bench/bench_equipment.py [--devices 200] [--reps 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ripreplace.lab.fleet import Lab

FIXTURES = Path(__file__).resolve().parents[1] / "src" / "ripreplace" / "lab" / "data" / "snmp"
BIN = Path(sys.executable).parent


def make_devices(directory: Path, count: int) -> None:
    sources = sorted(FIXTURES.glob("*.snmprec"))
    for n in range(count):
        source = sources[n % len(sources)]
        lines = [
            f"1.3.6.1.2.1.1.5.0|4|dev{n:03d}" if line.startswith("1.3.6.1.2.1.1.5.0|") else line
            for line in source.read_text().splitlines()
        ]
        (directory / f"dev{n:03d}-{source.stem}.snmprec").write_text("\n".join(lines) + "\n")


def floor_script(inventory: dict, path: Path) -> None:
    lines = []
    for values in inventory["all"]["children"]["snmp_devices"]["hosts"].values():
        argv = ["snmpget", "-v2c", "-c", values["snmp_community"], "-t", "2", "-r", "1", "-Oqv"]
        lines.append(shlex.join([*argv, values["ansible_host"], "1.3.6.1.2.1.1.2.0"]) + " >/dev/null")
    path.write_text("set -e\n" + "\n".join(lines) + "\n")


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def phases(run_dir: Path, started: float, ended: float) -> dict[str, float]:
    """Where a scan's time went, from its own run files: before the playbook, the scan task, after."""
    marks = {"manifest": _ts(json.loads((run_dir / "manifest.json").read_text())["started"])}
    for line in (run_dir / "audit.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["type"] == "task" and record["data"].get("action", "").endswith("covered_equipment_facts"):
            marks["task_start"], marks["task_end"] = _ts(record["data"]["start"]), _ts(record["data"]["end"])
        elif record["type"] == "playbook-end":
            marks["playbook_end"] = _ts(record["ts"])
    return {
        "cli_and_inputs": marks["manifest"] - started,
        "to_scan_task": marks["task_start"] - marks["manifest"],
        "scan_task": marks["task_end"] - marks["task_start"],
        "after_task": ended - marks["task_end"],
    }


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False, timeout=900)
    return time.perf_counter() - start, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("snmpget") is None:
        print("snmpget not found: apt-get install -y snmp", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ripreplace-bench-equipment-", dir="/var/tmp"))
    devices = work / "devices"
    devices.mkdir()
    make_devices(devices, args.devices)
    lab = Lab(work / "lab")
    try:
        started = time.perf_counter()
        lab.up(light=1, systemd=0, snmp_devices=devices)
        up_s = time.perf_counter() - started
        inventory = yaml.safe_load(lab.inventory.read_text())
        script = work / "floor.sh"
        floor_script(inventory, script)
        floor = ["ip", "netns", "exec", lab.slot.ctl_ns, "sh", str(script)]
        scan = [str(BIN / "ripreplace"), "equipment", "-i", str(lab.inventory), "--limit", "snmp_devices"]
        scan += ["--runs-dir", str(work / "runs"), "--output", "json"]
        a_times, b_times, counts, split = [], [], {}, []
        for _ in range(args.reps):
            a, proc = timed(floor, work)
            if proc.returncode != 0:
                raise SystemExit(f"snmpget loop failed: {proc.stderr[-500:]}")
            a_times.append(a)
            before = time.time()
            b, proc = timed(scan, work)
            if proc.returncode not in (0, 3):
                raise SystemExit(f"ripreplace equipment failed (rc={proc.returncode}): {proc.stderr[-1000:]}")
            envelope = json.loads(proc.stdout)
            counts = envelope["result"]["counts"]
            split.append(phases(Path(envelope["run_dir"]), before, before + b))
            b_times.append(b)
    finally:
        lab.down(quiet=True)
        shutil.rmtree(work, ignore_errors=True)
    a_med, b_med = statistics.median(a_times), statistics.median(b_times)
    print(f"# bench_equipment: {args.devices} simulated devices, {args.reps} reps, {platform.node()}")
    print(f"lab up with {args.devices} devices: {up_s:.1f} s; device statuses: {counts}")
    print()
    print("| run | median s | runs (s) |")
    print("|---|---|---|")
    print(f"| A: snmpget sysObjectID.0 of each device | {a_med:.2f} | {', '.join(f'{x:.2f}' for x in a_times)} |")
    print(f"| B: ripreplace equipment | {b_med:.2f} | {', '.join(f'{x:.2f}' for x in b_times)} |")
    print()
    print(f"ratio B/A = {b_med / a_med:.2f} (target <= 3)")
    print()
    print("B by phase, median s: " + ", ".join(f"{k} {statistics.median(p[k] for p in split):.2f}" for k in split[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
