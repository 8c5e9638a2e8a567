#!/usr/bin/env python3
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): wall time of ``ripreplace remediate`` against plain ``ansible-playbook``.

The same lab run both ways: every host reset and planted with kesl + klnagent64, then
``playbooks/remediate.yml`` over all hosts with the same forks and the same variables, either

- ``plain``: ``ansible-playbook -i INV playbooks/remediate.yml -e replacement_product=clamav`` with the
  audit_log callback enabled (the documented way to run it outside the wrapper, so both write the
  same audit trail), or
- ``wrapper``: ``ripreplace remediate -i INV --ticket BENCH --window now/PT2H --batches 100% --yes
  --output json`` (one batch: the wrapper's own cost is inventory parsing, validation, manifest,
  decisions, state.json writes and event handling through ansible-runner).

The runs alternate (plain, wrapper, plain, ...) ``--repeat`` times each; the medians and their ratio
are reported. Target: wrapper / plain <= 1.05.

    sudo ripreplace lab up --hosts 3 --systemd-hosts 1 --dir /var/tmp/rr-bench-remediate
    sudo /path/to/venv/bin/python bench/bench_remediate.py --dir /var/tmp/rr-bench-remediate --write-docs

Results: a Markdown table on stdout, JSON under bench/results/, and with ``--write-docs`` the
"Remediate" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COVERED = ["kesl", "klnagent64"]


def site_inventory(lab_dir: Path, work: Path) -> Path:
    from ripreplace.lab import fakeapproved

    state = json.loads((lab_dir / "lab.json").read_text())
    data = yaml.safe_load((lab_dir / "inventory.yml").read_text())
    data["all"]["vars"].update(
        {
            "replacement_clamav_signatures_url": state["repo_url"] + "clamav/",
            "replacement_clamav_official_databases": False,
            "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
        }
    )
    path = work / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def prepare(lab_dir: Path, hosts: list[str]) -> None:
    rr = str(BIN / "ripreplace")
    subprocess.run([rr, "lab", "reset", *hosts, "--dir", str(lab_dir)], check=True, capture_output=True)
    for host in hosts:
        subprocess.run([rr, "lab", "plant", host, *COVERED, "--dir", str(lab_dir)], check=True, capture_output=True)


def env() -> dict[str, str]:
    from ripreplace import collection

    out = dict(os.environ)
    out.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
            "PATH": f"{BIN}{os.pathsep}{out.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
    )
    return out


def run_plain(inventory: Path, work: Path, forks: int, n: int) -> float:
    from ripreplace import collection

    e = env()
    e.update(
        {
            "ANSIBLE_CALLBACKS_ENABLED": f"{collection.FQCN}.audit_log",
            "RIPREPLACE_RUNS_DIR": str(work / "plain-runs"),
            "RIPREPLACE_RUN_ID": f"bench-plain-{n}",
        }
    )
    argv = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(inventory),
        str(collection.playbook("remediate")),
        "-f",
        str(forks),
        "-e",
        "replacement_product=clamav",
        "-e",
        f"ripreplace_run_id=bench-plain-{n}",
        "-e",
        "ripreplace_ticket=BENCH ripreplace_window=now/PT2H",  # the change-window guard, as the wrapper's window
    ]
    start = time.perf_counter()
    proc = subprocess.run(argv, env=e, capture_output=True, text=True, check=False, cwd=work)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"plain ansible-playbook failed (rc {proc.returncode}): {proc.stdout[-2000:]}")
    return wall


def run_wrapper(inventory: Path, work: Path, forks: int) -> float:
    argv = [
        str(BIN / "ripreplace"),
        "remediate",
        "-i",
        str(inventory),
        "--ticket",
        "BENCH",
        "--window",
        "now/PT2H",
        "--batches",
        "100%",
        "--forks",
        str(forks),
        "--yes",
        "--output",
        "json",
        "--runs-dir",
        str(work / "wrapper-runs"),
    ]
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env(), capture_output=True, text=True, check=False, cwd=work)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ripreplace remediate failed (rc {proc.returncode}): {proc.stderr[-2000:]}")
    return wall


def write_docs(section: str) -> None:
    path = ROOT / "docs" / "performance.md"
    text = path.read_text() if path.exists() else "# Performance\n"
    pattern = re.compile(r"^## Remediate\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="an up lab directory")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--forks", type=int, default=5)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    hosts = sorted(json.loads((args.dir / "lab.json").read_text())["hosts"])
    work = Path(tempfile.mkdtemp(prefix="rr-bench-remediate-"))
    inventory = site_inventory(args.dir, work)
    plain: list[float] = []
    wrapper: list[float] = []
    for n in range(args.repeat):
        prepare(args.dir, hosts)
        plain.append(run_plain(inventory, work, args.forks, n))
        prepare(args.dir, hosts)
        wrapper.append(run_wrapper(inventory, work, args.forks))
        print(f"round {n + 1}: plain {plain[-1]:.1f} s, wrapper {wrapper[-1]:.1f} s", file=sys.stderr)
    mp, mw = statistics.median(plain), statistics.median(wrapper)
    ratio = mw / mp
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "hosts": len(hosts),
        "forks": args.forks,
        "repeat": args.repeat,
        "plain_s": plain,
        "wrapper_s": wrapper,
        "median_plain_s": round(mp, 2),
        "median_wrapper_s": round(mw, 2),
        "ratio": round(ratio, 3),
        "target": 1.05,
    }
    out = ROOT / "bench" / "results" / f"remediate-{result['when'].replace(':', '')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    table = (
        "| run | median wall (s) | all runs (s) |\n|---|---|---|\n"
        f"| plain `ansible-playbook` + audit_log callback | {mp:.1f} | {', '.join(f'{x:.1f}' for x in plain)} |\n"
        f"| `ripreplace remediate --batches 100%` | {mw:.1f} | {', '.join(f'{x:.1f}' for x in wrapper)} |\n"
        f"| **ratio** wrapper / plain | **{ratio:.3f}** (target <= 1.05) | |\n"
    )
    print(table)
    if args.write_docs:
        section = (
            "## Remediate\n\n"
            f"`ripreplace remediate` against plain `ansible-playbook` running the same `playbooks/remediate.yml` over "
            f"the same lab ({len(hosts)} hosts, every host reset and planted with {' + '.join(COVERED)} before each "
            f"run, forks {args.forks}, {args.repeat} alternating runs each, median; {result['when']}, "
            f"{result['cpus']} CPUs). Both runs write the audit log; the wrapper adds validation, the manifest, its "
            "decisions, state.json after every host state change and event handling through ansible-runner.\n\n"
            + table
            + "\nReproduce:\n\n```\n"
            "sudo ripreplace lab up --hosts 3 --systemd-hosts 1 --dir /var/tmp/rr-bench-remediate\n"
            "sudo .venv/bin/python bench/bench_remediate.py --dir /var/tmp/rr-bench-remediate --write-docs\n"
            "sudo ripreplace lab down --dir /var/tmp/rr-bench-remediate\n```\n\n"
        )
        write_docs(section)
    return 0 if ratio <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
