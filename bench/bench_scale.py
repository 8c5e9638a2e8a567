#!/usr/bin/env python3
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): what a host costs the controller as the fleet grows, against floors.

For each size N of ``--sizes`` (default 10,25,50) a lab of N light hosts is brought up
(``ripreplace lab up --hosts N --systemd-hosts 0 --dir DIR``), every host planted with one covered
package (``kesl``), and, side by side in the same run:

- ``ping``: plain ``ansible-playbook`` of an ``ansible.builtin.ping`` play over the same hosts (the
  floor for an audit);
- ``audit``: ``ripreplace audit -i INV --forks F`` (covered_facts, the audit log, the run directory);
- ``floor``: plain ``ansible-playbook`` of the minimal remediation a user would write (one
  ``apt`` install of clamav, one ``apt`` purge of the covered package);
- ``remediate``: ``ripreplace remediate -i INV --batches 100% --yes`` (ClamAV from the lab
  repository, proven healthy, the removal, verification; audit log, state.json, summary.json).
- ``rerun`` and ``audit_remediated``: right after ``remediate``, on the fleet it remediated, the same
  ``remediate`` command again (it finds every host verified and changes nothing) and ``ripreplace
  audit`` of the same hosts, ``--repeat`` times alternately.

Every host is reset (fresh root filesystem) and planted again before each remediation. Measured per
run: wall time; controller CPU (user + system of the command and every descendant: ansible-playbook,
its forks, ssh and its ProxyCommand; the benchmark is the child subreaper so SSH control masters stay
in the tree and are stopped and reaped at the end of the run they belong to); the audit log's events
and bytes; every byte the run directory holds; peak memory of the process tree (sum of RSS, and of
PSS, which charges shared pages once, sampled every 0.2 s); the load average at the start. Ping and
audit run ``--repeat`` times alternately (median); each remediation once per size, alternating which
goes first. Goals (issue 13): audit <= 1.5x ping wall at the largest size; remediate <= 1.3x the
floor; a rerun <= 2x an audit of the remediated fleet; controller CPU per host flat (largest/smallest
size <= 1.2).

    sudo .venv/bin/python bench/bench_scale.py --sizes 10,25,50 --out bench/results/scale.json

Labs live under ``--lab-root`` (default /var/tmp/rr-bench-scale-N) and are torn down in a finally.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import ctypes
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent
COVERED = "kesl"
PR_SET_CHILD_SUBREAPER = 36
PAGE = os.sysconf("SC_PAGE_SIZE")

PING = """\
- name: Ping
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""

FLOOR = """\
- name: Replace the covered antivirus (what a user would write)
  hosts: all
  gather_facts: false
  tasks:
    - name: Install ClamAV
      ansible.builtin.apt:
        name: [clamav, clamav-daemon]
        state: present
        update_cache: true
    - name: Purge the covered package
      ansible.builtin.apt:
        name: {covered}
        state: absent
        purge: true
"""


SCAN_ONLY = """\
- name: Scan only (covered_facts, no role around it)
  hosts: all
  gather_facts: false
  tasks:
    - name: Find covered software
      ripreplace.remediation.covered_facts:
        bundled_catalog: true
        catalogs: []
        exceptions: []
        scan: [deb, rpm, service, path, process, kernel_module]
      become: true
"""


def _proc_tree(root: int) -> list[int]:
    """Every live descendant of ``root`` (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes; (0, 0) once it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            rss = pss = 0
            for line in f:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
            return rss, pss
    except (OSError, ValueError):
        return 0, 0


class TreeSampler(threading.Thread):
    """Peak summed RSS and PSS of the descendants of ``root`` (``root`` itself, the reaper, excluded)."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_rss = self.peak_pss = self.peak_procs = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss = pss = 0
            tree = _proc_tree(self.root)
            for pid in tree:
                r, p = _memory(pid)
                rss += r
                pss += p
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, len(tree))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _stop_masters(control_dir: Path) -> None:
    """Stop the SSH control masters of one run (descendants of the reaper) and reap every orphan."""
    for sock in control_dir.iterdir() if control_dir.exists() else ():
        subprocess.run(
            ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "placeholder"],
            capture_output=True,
            check=False,
            timeout=10,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def reaper(result: Path, control: Path, argv: Sequence[str]) -> int:
    """Child-subreaper around one measured command: SSH control masters and other orphans stay its
    descendants, are stopped and reaped at the end, and RUSAGE_CHILDREN then covers the whole tree."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL)
    rc = proc.wait()
    wall = time.perf_counter() - started
    _stop_masters(control)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.write_text(json.dumps({"rc": rc, "wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime}))
    return 0


def measure(argv: Sequence[str], env: dict[str, str], work: Path, name: str) -> dict[str, Any]:
    """Run one command under :func:`reaper`; wall, CPU of the whole tree, peak memory, load at start."""
    control = Path(tempfile.mkdtemp(prefix="cp-", dir="/tmp"))  # short: ssh's socket path limit
    env = dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(control))
    load = os.getloadavg()
    figures = work / f"{name}.rusage.json"
    log = work / f"{name}.out"
    with log.open("wb") as out:
        wrapper = [sys.executable, __file__, "--reap", str(figures), "--control", str(control), "--", *argv]
        proc = subprocess.Popen(wrapper, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        proc.wait()
        sampler.stop()
    shutil.rmtree(control, ignore_errors=True)
    got = json.loads(figures.read_text())
    return {
        "rc": got["rc"],
        "wall_s": round(got["wall"], 3),
        "cpu_user_s": round(got["user"], 3),
        "cpu_sys_s": round(got["sys"], 3),
        "cpu_s": round(got["user"] + got["sys"], 3),
        "peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
        "peak_pss_mb": round(sampler.peak_pss / 2**20, 1),
        "peak_procs": sampler.peak_procs,
        "load_1m": round(load[0], 2),
        "output": str(log),
    }


def _env() -> dict[str, str]:
    from ripreplace import collection

    out = dict(os.environ)
    out.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
            "PATH": f"{BIN}{os.pathsep}{out.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "True",
        }
    )
    return out


def run_dir_figures(runs: Path) -> dict[str, Any]:
    """Audit-log events and bytes, and every byte of the run directory, of the one run under ``runs``."""
    dirs = [p for p in runs.iterdir() if p.is_dir()] if runs.exists() else []
    if len(dirs) != 1:
        return {}
    run = dirs[0]
    log = run / "audit.jsonl"
    events = sum(1 for _ in log.open("rb")) if log.exists() else 0
    total = sum(p.stat().st_size for p in run.rglob("*") if p.is_file())
    return {"events": events, "log_bytes": log.stat().st_size if log.exists() else 0, "run_dir_bytes": total}


def prepare(lab: Any, hosts: list[str], reset: bool) -> float:
    started = time.perf_counter()
    if reset:
        lab.reset(hosts)
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(lambda h: lab.plant(h, [COVERED]), hosts))
    return time.perf_counter() - started


def _playbook(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def breakdown_steps(
    runs: dict[str, list[dict[str, Any]]], inv: str, work: Path, env: dict[str, str], forks: int
) -> list[Any]:
    """Where an audit's cost goes: playbooks/audit.yml under plain ansible-playbook (no wrapper), the same
    with the audit_log callback, and the covered_facts task alone (no role: no argument-spec check, no
    preflight assert, no report)."""
    from ripreplace import collection

    pb = str(BIN / "ansible-playbook")
    scan = _playbook(work / "scan-only.yml", SCAN_ONLY)
    audit_yml = str(collection.playbook("audit"))
    for name in ("audit_plain", "audit_plain_log", "scan_only"):
        runs.setdefault(name, [])

    def audit_plain_run(k: int) -> None:
        argv = [pb, "--check", "-i", inv, audit_yml, "-f", str(forks)]
        runs["audit_plain"].append(measure(argv, env, work, f"ap-{k}"))

    def audit_plain_log_run(k: int) -> None:
        logged = dict(env, ANSIBLE_CALLBACKS_ENABLED=f"{collection.FQCN}.audit_log")
        logged |= {"RIPREPLACE_RUNS_DIR": str(work / f"apl-runs-{k}"), "RIPREPLACE_RUN_ID": f"bench-apl-{k}"}
        argv = [pb, "--check", "-i", inv, audit_yml, "-f", str(forks)]
        runs["audit_plain_log"].append(measure(argv, logged, work, f"apl-{k}"))

    def scan_only_run(k: int) -> None:
        runs["scan_only"].append(measure([pb, "--check", "-i", inv, str(scan), "-f", str(forks)], env, work, f"so-{k}"))

    return [audit_plain_run, audit_plain_log_run, scan_only_run]


def remediations(
    runs: dict[str, list[dict[str, Any]]],
    lab: Any,
    where: tuple[str, Path, dict[str, str]],
    args: argparse.Namespace,
    *,
    index: int,
    result: dict[str, Any],
) -> None:
    """The hand-written floor and ``ripreplace remediate``, each from freshly planted hosts, alternating
    which goes first from one size to the next."""
    inv, work, env = where
    hosts = sorted(lab.hosts)
    floor = _playbook(work / "floor.yml", FLOOR.format(covered=COVERED))
    pb, rr = str(BIN / "ansible-playbook"), str(BIN / "ripreplace")

    def floor_run() -> None:
        runs["floor"].append(measure([pb, "-i", inv, str(floor), "-f", str(args.forks)], env, work, "floor"))

    argv = [rr, "remediate", "-i", inv, "--ticket", "BENCH-SCALE", "--window", "now/PT6H"]
    argv += ["--batches", "100%", "--forks", str(args.forks), "--yes", "--output", "json"]
    audit_argv = [rr, "audit", "-i", inv, "--forks", str(args.forks), "--output", "json"]

    def remediate_run() -> None:
        runs_dir = work / "remediate-runs"
        m = measure([*argv, "--runs-dir", str(runs_dir)], env, work, "remediate")
        m.update(run_dir_figures(runs_dir))
        runs["remediate"].append(m)
        # Right after it, on the now remediated fleet: a rerun (changes nothing) against an audit of the same
        # hosts, alternating (issue 13: a rerun costs at most 2x an audit).
        for k in range(args.repeat):
            for name in ("rerun", "audit_remediated") if k % 2 == 0 else ("audit_remediated", "rerun"):
                again = work / f"{name}-runs-{k}"
                cmd = argv if name == "rerun" else audit_argv
                m = measure([*cmd, "--runs-dir", str(again)], env, work, f"{name}-{k}")
                m.update(run_dir_figures(again))
                runs[name].append(m)
                print(f"{len(hosts)} hosts: {name} {k}: {_short(m)}", flush=True)

    order = (remediate_run, floor_run) if index % 2 == 0 else (floor_run, remediate_run)
    for k, step in enumerate(order):
        if k:
            result["prepare_s"].append(round(prepare(lab, hosts, reset=True), 1))
        step()
        name = step.__name__.removesuffix("_run")
        print(f"{len(hosts)} hosts: {name}: {_short(runs[name][-1])}", flush=True)


def run_size(n: int, args: argparse.Namespace, index: int) -> dict[str, Any]:
    from ripreplace.lab.fleet import Lab

    lab_dir = Path(f"{args.lab_root}-{n}")
    work = Path(tempfile.mkdtemp(prefix=f"rr-bench-scale-{n}-"))
    env = _env()
    rr = str(BIN / "ripreplace")
    result: dict[str, Any] = {"hosts": n, "forks": args.forks, "runs": {}}
    try:
        up = subprocess.run(
            [rr, "lab", "up", "--hosts", str(n), "--systemd-hosts", "0", "--dir", str(lab_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if up.returncode != 0:
            result["error"] = f"lab up --hosts {n} failed: {up.stderr.strip()[-2000:]}"
            return result
        lab = Lab(lab_dir)
        hosts = sorted(lab.hosts)
        inv = str(lab.inventory)
        result["prepare_s"] = [round(prepare(lab, hosts, reset=False), 1)]
        ping = _playbook(work / "ping.yml", PING)
        pb = str(BIN / "ansible-playbook")
        runs: dict[str, list[dict[str, Any]]] = {
            "ping": [],
            "audit": [],
            "floor": [],
            "remediate": [],
            "rerun": [],
            "audit_remediated": [],
        }

        def ping_run(k: int) -> None:
            runs["ping"].append(measure([pb, "-i", inv, str(ping), "-f", str(args.forks)], env, work, f"ping-{k}"))

        def audit_run(k: int) -> None:
            runs_dir = work / f"audit-runs-{k}"
            argv = [rr, "audit", "-i", inv, "--forks", str(args.forks), "--runs-dir", str(runs_dir), "--output", "json"]
            m = measure(argv, env, work, f"audit-{k}")
            m.update(run_dir_figures(runs_dir))
            runs["audit"].append(m)

        steps = [ping_run, audit_run]
        if args.breakdown:
            steps += breakdown_steps(runs, inv, work, env, args.forks)
        for k in range(args.repeat):
            for step in steps if k % 2 == 0 else steps[::-1]:
                step(k)
                name = step.__name__.removesuffix("_run")
                print(f"{n} hosts: {name} {k}: {_short(runs[name][-1])}", flush=True)

        if not args.skip_remediation:
            remediations(runs, lab, (inv, work, env), args, index=index, result=result)
        result["runs"] = runs
        result["summary"] = summarise(n, runs)
        return result
    finally:
        subprocess.run([rr, "lab", "down", "--dir", str(lab_dir)], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            lab_dir.rmdir()  # lab down leaves the directory empty
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)


def _short(m: dict[str, Any]) -> str:
    return (
        f"rc {m['rc']} wall {m['wall_s']:.1f} s cpu {m['cpu_s']:.1f} s "
        f"rss {m['peak_rss_mb']:.0f} MB pss {m['peak_pss_mb']:.0f} MB load {m['load_1m']}"
    )


def summarise(n: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, samples in runs.items():
        if not samples:
            continue
        med = {k: statistics.median(float(s[k]) for s in samples if k in s) for k in samples[0] if k not in ("output",)}
        row = {
            "wall_s": round(med["wall_s"], 2),
            "cpu_s": round(med["cpu_s"], 2),
            "cpu_per_host_s": round(med["cpu_s"] / n, 3),
            "peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples), 1),
            "peak_pss_mb": round(max(s["peak_pss_mb"] for s in samples), 1),
            "load_1m": round(med["load_1m"], 2),
            "rc": [s["rc"] for s in samples],
        }
        if "events" in med:
            row["events_per_host"] = round(med["events"] / n, 1)
            row["log_bytes_per_host"] = round(med["log_bytes"] / n)
            row["run_dir_bytes_per_host"] = round(med["run_dir_bytes"] / n)
        out[name] = row
    pairs = [(name, "ping") for name in ("audit", "audit_plain", "audit_plain_log", "scan_only")]
    for name, base in [*pairs, ("remediate", "floor"), ("rerun", "audit_remediated")]:
        if base in out and name in out:
            out[f"{name}_vs_{base}"] = round(out[name]["wall_s"] / out[base]["wall_s"], 2)
            out[f"{name}_vs_{base}_cpu"] = round(out[name]["cpu_s"] / out[base]["cpu_s"], 2)
    return out


RATIOS = (
    ("ping", None),
    ("scan_only", "scan_only_vs_ping"),
    ("audit_plain", "audit_plain_vs_ping"),
    ("audit_plain_log", "audit_plain_log_vs_ping"),
    ("audit", "audit_vs_ping"),
    ("floor", None),
    ("remediate", "remediate_vs_floor"),
    ("audit_remediated", None),
    ("rerun", "rerun_vs_audit_remediated"),
)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| hosts | run | wall (s) | CPU/host (s) | events/host | log bytes/host | run dir bytes/host "
        "| peak RSS (MB) | peak PSS (MB) | wall ratio to its floor | load (1 min) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        s = res.get("summary") or {}
        for name, ratio_key in (
            ("ping", None),
            ("audit", "audit_vs_ping"),
            ("floor", None),
            ("remediate", "remediate_vs_floor"),
            ("audit_remediated", None),
            ("rerun", "rerun_vs_audit_remediated"),
        ):
            row = s.get(name)
            if not row:
                continue
            ratio = (
                f"**{s[ratio_key]:.2f}x** (CPU {s[ratio_key + '_cpu']:.2f}x)" if ratio_key and ratio_key in s else ""
            )
            lines.append(
                f"| {res['hosts']} | {name} | {row['wall_s']:.1f} | {row['cpu_per_host_s']:.3f} | "
                f"{row.get('events_per_host', '-')} | {row.get('log_bytes_per_host', '-')} | "
                f"{row.get('run_dir_bytes_per_host', '-')} | {row['peak_rss_mb']:.0f} | {row['peak_pss_mb']:.0f} | "
                f"{ratio} | {row['load_1m']:.1f} |"
            )
    return "\n".join(lines)


def goals(results: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in results if r.get("summary")]
    if not ok:
        return {}
    small, large = ok[0], ok[-1]
    out: dict[str, Any] = {"largest": large["hosts"], "smallest": small["hosts"]}
    ls, ss = large["summary"], small["summary"]
    if "audit_vs_ping" in ls:
        out["audit_vs_ping"] = {"value": ls["audit_vs_ping"], "goal": 1.5, "met": ls["audit_vs_ping"] <= 1.5}
    if "remediate_vs_floor" in ls:
        v = ls["remediate_vs_floor"]
        out["remediate_vs_floor"] = {"value": v, "goal": 1.3, "met": v <= 1.3}
    if "rerun_vs_audit_remediated" in ls:
        v = ls["rerun_vs_audit_remediated"]
        out["rerun_vs_audit"] = {"value": v, "goal": 2.0, "met": v <= 2.0}
    for name in ("audit", "remediate"):
        if name in ls and name in ss:
            v = round(ls[name]["cpu_per_host_s"] / ss[name]["cpu_per_host_s"], 2)
            out[f"{name}_cpu_per_host_growth"] = {"value": v, "goal": 1.2, "met": v <= 1.2}
    return out


def main() -> int:
    if sys.argv[1:2] == ["--reap"]:  # internal: --reap RESULT --control DIR -- COMMAND... (see reaper())
        return reaper(Path(sys.argv[2]), Path(sys.argv[4]), sys.argv[6:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,25,50", help="lab sizes, comma-separated (default 10,25,50)")
    parser.add_argument("--forks", type=int, default=10, help="forks for every run (default 10)")
    parser.add_argument("--repeat", type=int, default=2, help="ping and audit runs per size (default 2)")
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    parser.add_argument("--lab-root", default="/var/tmp/rr-bench-scale", help="lab directories are LAB_ROOT-N")
    parser.add_argument("--skip-remediation", action="store_true", help="ping and audit only")
    parser.add_argument(
        "--breakdown", action="store_true", help="also audit.yml without the wrapper, with audit_log, and the scan"
    )
    parser.add_argument("--keep-work", action="store_true", help="keep the run directories and outputs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if os.geteuid() != 0:
        raise SystemExit("bench_scale.py needs root (the lab)")
    started = dt.datetime.now(dt.UTC)
    results = []
    for index, n in enumerate(sizes):
        results.append(run_size(n, args, index))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "when": started.isoformat(timespec="seconds"),
            "machine": platform.platform(),
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30, 1),
            "python": platform.python_version(),
            "forks": args.forks,
            "repeat": args.repeat,
            "sizes": results,
            "goals": goals(results),
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    print(json.dumps(report["goals"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
