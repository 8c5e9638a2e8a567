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
- with ``--baseline-src DIR`` also C, the same command from another checkout's ``src`` (PYTHONPATH=DIR/src,
  its own collection), for before/after numbers taken side by side under the same load.

Prints the load average (1 min) before and after: the machine is shared, and the ratio moves with it.

    python bench/bench_equipment.py [--devices 200] [--reps 3] [--baseline-src /var/tmp/before]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
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


#: CPU seconds of each run: its own process tree (children waited for) plus the snmpsim responder's share.
CPU: dict[str, list[float]] = {"A": [], "B": [], "C": []}
RESPONDER: dict[str, int] = {}


def _responder_cpu() -> float:
    pid = RESPONDER.get("pid")
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, key: str | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    cpu = _children_cpu() + _responder_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False, timeout=900, env=env)
    seconds = time.perf_counter() - start
    if key is not None:
        CPU[key].append(_children_cpu() + _responder_cpu() - cpu)
    return seconds, proc


def scan_once(
    scan: list[str], work: Path, env: dict[str, str] | None, key: str
) -> tuple[float, dict, dict[str, float]]:
    """One ``ripreplace equipment`` run: seconds, device counts, time by phase."""
    before = time.time()
    seconds, proc = timed(scan, work, env, key)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"ripreplace equipment failed (rc={proc.returncode}): {proc.stderr[-1000:]}")
    envelope = json.loads(proc.stdout)
    return seconds, envelope["result"]["counts"], phases(Path(envelope["run_dir"]), before, before + seconds)


def _row(label: str, times: list[float]) -> str:
    return f"| {label} | {statistics.median(times):.2f} | {', '.join(f'{x:.2f}' for x in times)} |"


def report(
    args: argparse.Namespace,
    *,
    up_s: float,
    load: list[float],
    times: dict[str, list[float]],
    split: dict[str, list[dict[str, float]]],
    counts: dict[str, list[dict]],
) -> None:
    a_med = statistics.median(times["A"])
    print(f"# bench_equipment: {args.devices} simulated devices, {args.reps} reps, {platform.node()}")
    print(f"lab up with {args.devices} devices: {up_s:.1f} s; device statuses: {counts['B'][0]}")
    print(f"load average (1 min) before {load[0]:.1f}, after {load[-1]:.1f}")
    first = counts["B"][0]
    for key in ("B", "C"):
        for n, statuses in enumerate(counts[key], 1):
            if statuses != first:  # e.g. devices that timed out: a responder starved of CPU
                print(f"NOTE: {key} run {n} classified differently: {statuses}")
    print()
    print("| run | median s | runs (s) |")
    print("|---|---|---|")
    print(_row("A: snmpget sysObjectID.0 of each device", times["A"]))
    print(_row("B: ripreplace equipment", times["B"]))
    if times["C"]:
        print(_row(f"C: ripreplace equipment from {args.baseline_src}", times["C"]))
    print()
    print(
        "CPU seconds (the run's processes and the responder's share), median: "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in CPU.items() if v)
    )
    for key in ("B", "C"):
        if times[key]:
            cpu_ratio = statistics.median(CPU[key]) / statistics.median(CPU["A"])
            print(f"CPU ratio {key}/A = {cpu_ratio:.2f}")
    for key in ("B", "C"):
        if times[key]:
            ratio = statistics.median(times[key]) / a_med
            by_phase = ", ".join(f"{k} {statistics.median(p[k] for p in split[key]):.2f}" for k in split[key][0])
            print(f"ratio {key}/A = {ratio:.2f} (target <= 3); {key} by phase, median s: {by_phase}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src/ to run as C (before/after)")
    args = parser.parse_args()
    if shutil.which("snmpget") is None:
        print("snmpget not found: apt-get install -y snmp", file=sys.stderr)
        return 2
    baseline = None
    if args.baseline_src is not None:
        if not (args.baseline_src / "ripreplace" / "__init__.py").is_file():
            print(f"--baseline-src {args.baseline_src}: no ripreplace package there", file=sys.stderr)
            return 2
        baseline = dict(os.environ, PYTHONPATH=str(args.baseline_src.resolve()))
    work = Path(tempfile.mkdtemp(prefix="ripreplace-bench-equipment-", dir="/var/tmp"))
    devices = work / "devices"
    devices.mkdir()
    make_devices(devices, args.devices)
    lab = Lab(work / "lab")
    times: dict[str, list[float]] = {"A": [], "B": [], "C": []}
    split: dict[str, list[dict[str, float]]] = {"B": [], "C": []}
    counts: dict[str, list[dict]] = {"B": [], "C": []}
    load = [os.getloadavg()[0]]
    try:
        started = time.perf_counter()
        lab.up(light=1, systemd=0, snmp_devices=devices)
        up_s = time.perf_counter() - started
        RESPONDER["pid"] = int(lab.state["snmp"]["responder"]["pid"])
        script = work / "floor.sh"
        floor_script(yaml.safe_load(lab.inventory.read_text()), script)
        floor = ["ip", "netns", "exec", lab.slot.ctl_ns, "sh", str(script)]
        scan = [str(BIN / "ripreplace"), "equipment", "-i", str(lab.inventory), "--limit", "snmp_devices"]
        scan += ["--runs-dir", str(work / "runs"), "--output", "json"]
        for _ in range(args.reps):
            a, proc = timed(floor, work, key="A")
            if proc.returncode != 0:
                raise SystemExit(f"snmpget loop failed: {proc.stderr[-500:]}")
            times["A"].append(a)
            for key, env in (("B", None), ("C", baseline)):
                if key == "C" and env is None:
                    continue
                seconds, statuses, phase = scan_once(scan, work, env, key)
                counts[key].append(statuses)
                times[key].append(seconds)
                split[key].append(phase)
        load.append(os.getloadavg()[0])
    finally:
        lab.down(quiet=True)
        shutil.rmtree(work, ignore_errors=True)
    report(args, up_s=up_s, load=load, times=times, split=split, counts=counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
