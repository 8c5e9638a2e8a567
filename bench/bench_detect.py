#!/usr/bin/env python3
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): per-host cost of covered_facts against ansible.builtin.ping and a naive detection.

On lab hosts with the same settings (one inventory, same forks, pipelining, SSH ControlPersist
from the lab inventory, no fact gathering), time three playbooks:

- ``ping``: ``ansible.builtin.ping`` (the floor: connection + one tiny module);
- ``covered_facts``: ``ripreplace.remediation.covered_facts`` with the bundled catalog;
- ``naive``: what one would write in plain YAML: ``ansible.builtin.package_facts`` +
  ``ansible.builtin.service_facts`` + ``ansible.builtin.stat`` looped over every path of the
  catalog (and still without processes or kernel modules).

Each playbook runs once to warm up (SSH control masters, caches) and then ``--repeat`` times; the
median wall time is divided by the number of hosts (``--forks 1`` by default, so hosts run one
after another and the per-host figure is a real per-host cost). Targets: covered_facts <= 1.5x
ping and <= 0.5x naive.

    sudo ripreplace lab up --hosts 4 --systemd-hosts 1 --dir /var/tmp/rr-bench
    sudo ripreplace lab plant light1 kesl-gui klnagent64 --dir /var/tmp/rr-bench
    sudo /path/to/venv/bin/python bench/bench_detect.py --dir /var/tmp/rr-bench --write-docs

Results: printed as a Markdown table, saved as JSON under bench/results/, and with
``--write-docs`` written into the "Detection" section of docs/performance.md.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from ripreplace import collection  # noqa: E402

PLAYBOOKS = {
    "ping": """\
- name: Bench | ping
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
""",
    "covered_facts": """\
- name: Bench | covered_facts
  hosts: all
  gather_facts: false
  tasks:
    - name: Find covered software
      ripreplace.remediation.covered_facts:
""",
    "naive": """\
- name: Bench | naive plain-YAML detection
  hosts: all
  gather_facts: false
  vars:
    naive_paths: {paths}
    naive_packages: {packages}
    naive_services: {services}
  tasks:
    - name: Gather package facts
      ansible.builtin.package_facts:
        manager: auto
    - name: Gather service facts
      ansible.builtin.service_facts:
    - name: Stat every catalog path
      ansible.builtin.stat:
        path: "{{{{ item }}}}"
        get_checksum: false
      loop: "{{{{ naive_paths }}}}"
      register: naive_stat
    - name: Decide
      ansible.builtin.set_fact:
        naive_found: >-
          {{{{ (ansible_facts.packages | dict2items | map(attribute='key') | select('in', naive_packages) | list)
             + (naive_stat.results | selectattr('stat.exists') | map(attribute='item') | list) }}}}
""",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        }
    )
    return env


def _hosts(inventory: Path, limit: str | None) -> list[str]:
    argv = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"]
    if limit:
        argv += ["--limit", limit]
    data = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True, env=_env()).stdout)
    return sorted({h for k, g in data.items() if k != "_meta" for h in g.get("hosts", [])})


def _run(playbook: Path, inventory: Path, forks: int, limit: str | None) -> float:
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(inventory),
        "--forks",
        str(forks),
        str(playbook),
    ]
    if limit:
        argv += ["--limit", limit]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=_env(), check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{playbook.name} failed (rc={proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="lab directory (holds inventory.yml)")
    parser.add_argument("--limit", help="host pattern")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--forks", type=int, default=1)
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md, section Detection")
    args = parser.parse_args(argv)
    inventory = args.dir / "inventory.yml"
    hosts = _hosts(inventory, args.limit)
    cat = collection.load_plugin_util("catalog")
    rules = cat.compile_rules(cat.load_catalogs())
    paths = [p for p in cat.rule_names(rules, "paths") if not any(ch in p for ch in "*?[")]
    with tempfile.TemporaryDirectory(prefix="ripreplace-bench-") as tmp:
        books = {}
        for name, template in PLAYBOOKS.items():
            text = template
            if name == "naive":
                text = template.format(
                    paths=json.dumps(paths),
                    packages=json.dumps(cat.rule_names(rules, "packages")),
                    services=json.dumps(cat.rule_names(rules, "services")),
                )
            path = Path(tmp) / f"bench-{name}.yml"
            path.write_text(text)
            books[name] = path
        timings: dict[str, list[float]] = {}
        for path in books.values():
            _run(path, inventory, args.forks, args.limit)  # warm-up
        for _ in range(args.repeat):  # interleaved, so drift hits all three alike
            for name, path in books.items():
                timings.setdefault(name, []).append(_run(path, inventory, args.forks, args.limit))
    med = {k: statistics.median(v) for k, v in timings.items()}
    per_host = {k: v / len(hosts) for k, v in med.items()}
    ratio_ping = med["covered_facts"] / med["ping"]
    ratio_naive = med["covered_facts"] / med["naive"]
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "hosts": hosts,
        "forks": args.forks,
        "repeat": args.repeat,
        "catalog_paths_statted_by_naive": len(paths),
        "median_wall_s": med,
        "per_host_s": per_host,
        "all_runs_s": timings,
        "covered_facts_vs_ping": ratio_ping,
        "covered_facts_vs_naive": ratio_naive,
        "targets_met": {"<=1.5x ping": ratio_ping <= 1.5, "<=0.5x naive": ratio_naive <= 0.5},
        "machine": {"python": platform.python_version(), "kernel": platform.release(), "cpus": os.cpu_count()},
    }
    outdir = REPO / "bench" / "results"
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / f"detect-{result['when'].replace(':', '')}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = [
        "| playbook | median wall (s) | per host (s) | vs ping | vs naive |",
        "|---|---|---|---|---|",
    ]
    for name in ("ping", "covered_facts", "naive"):
        table.append(
            f"| {name} | {med[name]:.2f} | {per_host[name]:.3f} | {med[name] / med['ping']:.2f}x "
            f"| {med[name] / med['naive']:.2f}x |"
        )
    text = "\n".join(table)
    print(text)
    print(
        f"targets: covered_facts/ping = {ratio_ping:.2f} (<= 1.5: {ratio_ping <= 1.5}); "
        f"covered_facts/naive = {ratio_naive:.2f} (<= 0.5: {ratio_naive <= 0.5})"
    )
    if args.write_docs:
        _write_docs(result, text, args)
    return 0


def _write_docs(result: dict, table: str, args: argparse.Namespace) -> None:
    doc = REPO / "docs" / "performance.md"
    section = (
        "## Detection\n\n"
        f"Measured {result['when']} on {len(result['hosts'])} lab hosts ({', '.join(result['hosts'])}), "
        f"forks={result['forks']}, SSH pipelining and ControlPersist, no fact gathering, median of "
        f"{result['repeat']} runs after one warm-up (Python {result['machine']['python']}, "
        f"{result['machine']['cpus']} CPUs). The naive detection is package_facts + service_facts + a stat loop "
        f"over the catalog's {result['catalog_paths_statted_by_naive']} literal paths (and still sees no "
        "processes, kernel modules or removed-not-purged packages).\n\n"
        f"{table}\n\n"
        f"Targets: covered_facts <= 1.5x ping: **{'met' if result['targets_met']['<=1.5x ping'] else 'NOT met'}** "
        f"({result['covered_facts_vs_ping']:.2f}x); covered_facts <= 0.5x naive: "
        f"**{'met' if result['targets_met']['<=0.5x naive'] else 'NOT met'}** "
        f"({result['covered_facts_vs_naive']:.2f}x).\n\n"
        "Reproduce (root, a lab up):\n\n"
        "```\n"
        f"sudo ripreplace lab up --hosts 4 --systemd-hosts 1 --dir {args.dir}\n"
        f"sudo ripreplace lab plant light1 kesl-gui klnagent64 --dir {args.dir}\n"
        f"sudo {sys.executable} bench/bench_detect.py --dir {args.dir} --repeat {args.repeat} "
        f"--forks {args.forks} --write-docs\n"
        "```\n"
    )
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    if re.search(r"^## Detection\n", text, flags=re.M):
        text = re.sub(r"^## Detection\n.*?(?=^## |\Z)", section, text, count=1, flags=re.M | re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
