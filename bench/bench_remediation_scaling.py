#!/usr/bin/env python3
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): package-manager transactions per host, and how remediation scales with
the number of covered packages.

On two lab light hosts, side by side in one run (alternating which goes first), remediate:
- ``one``: a host with ``kesl`` alone;
- ``three``: a host with ``kesl-gui``, ``kesl`` and ``klnagent64``.
Each repetition starts from a fresh root filesystem (``lab reset``) and runs playbooks/remediate.yml
(detect, replacement, remove, verify) with ansible-playbook. Measured per host: the playbook's wall
time, the removal's own time (covered_remove's timings, from the ``remove_outcome`` fact), and the
apt transactions of the run, read from the host's /var/log/apt/history.log (one ``Start-Date``
block per transaction, split into installs and removals). Targets: one removal and one install
transaction per host; ``three`` costs at most 1.5x ``one``.

    sudo ripreplace lab up --hosts 2 --systemd-hosts 0 --dir /var/tmp/rr-bench-scaling
    sudo .venv/bin/python bench/bench_remediation_scaling.py --dir /var/tmp/rr-bench-scaling --write-docs
    sudo ripreplace lab down --dir /var/tmp/rr-bench-scaling
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ripreplace import collection  # noqa: E402
from ripreplace.lab.fleet import Lab  # noqa: E402

CASES = {"one": ["kesl"], "three": ["kesl-gui", "klnagent64"]}
WRAPPER = """\
- name: Remediate
  ansible.builtin.import_playbook: {remediate}
- name: Collect
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the removal timings on the controller
      ansible.builtin.copy:
        content: "{{{{ remove_outcome | default({{}}) | to_json }}}}"
        dest: "{{{{ out_dir }}}}/{{{{ inventory_hostname }}}}.json"
        mode: "0600"
      delegate_to: localhost
      changed_when: false
"""


def _iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def transactions(lab: Lab, host: str) -> list[dict[str, bool]]:
    text = lab.sh(host, "cat", "/var/log/apt/history.log", check=False).stdout
    blocks = [b for b in text.split("\n\n") if "Start-Date:" in b]
    return [{"install": "\nInstall:" in b, "remove": ("\nPurge:" in b or "\nRemove:" in b)} for b in blocks]


def run_case(lab: Lab, host: str, packages: list[str], book: Path, out_dir: Path) -> dict[str, float | int]:
    lab.reset([host])
    lab.plant(host, packages)
    before = len(transactions(lab, host))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()))
    started = time.monotonic()
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(lab.inventory),
            str(book),
            "--limit",
            host,
            "-e",
            json.dumps({"out_dir": str(out_dir), "ripreplace_ticket": "BENCH", "ripreplace_window": "now/PT2H"}),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"remediation of {host} failed:\n{result.stdout[-3000:]}")
    outcome = json.loads((out_dir / f"{host}.json").read_text())
    timings = outcome["timings"]
    txs = transactions(lab, host)[before:]
    return {
        "wall_s": round(wall, 2),
        "removal_s": round((_iso(timings["finished"]) - _iso(timings["started"])).total_seconds(), 2),
        "install_transactions": sum(t["install"] for t in txs),
        "removal_transactions": sum(t["remove"] for t in txs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="an up lab with at least two light hosts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    lab = Lab(args.dir)
    hosts = [n for n, h in lab.hosts.items() if h.kind == "light"][:2]
    if len(hosts) < 2:
        raise SystemExit("need a lab with two light hosts")
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "remediate.yml"
        book.write_text(WRAPPER.format(remediate=collection.playbook("remediate")))
        samples: dict[str, list[dict[str, float | int]]] = {"one": [], "three": []}
        for rep in range(args.repeat):
            order = ["one", "three"] if rep % 2 == 0 else ["three", "one"]
            for case, host in zip(order, hosts, strict=True):
                samples[case].append(run_case(lab, host, CASES[case], book, Path(tmp)))
                print(case, samples[case][-1], flush=True)
    med = {c: {k: statistics.median(float(s[k]) for s in v) for k in v[0]} for c, v in samples.items()}
    ratio_wall = med["three"]["wall_s"] / med["one"]["wall_s"]
    ratio_removal = med["three"]["removal_s"] / med["one"]["removal_s"]
    txs_ok = all(s["install_transactions"] == 1 and s["removal_transactions"] == 1 for v in samples.values() for s in v)
    table = [
        "| host | covered packages | median wall (s) | median removal (s) | install tx | removal tx |",
        "|---|---|---|---|---|---|",
    ]
    for case, pkgs in (("one", "kesl"), ("three", "kesl-gui, kesl, klnagent64")):
        m = med[case]
        table.append(
            f"| {case} | {pkgs} | {m['wall_s']:.2f} | {m['removal_s']:.2f} | "
            f"{int(m['install_transactions'])} | {int(m['removal_transactions'])} |"
        )
    table.append(f"| **three / one** | | **{ratio_wall:.2f}x** | **{ratio_removal:.2f}x** | | |")
    verdict = (
        f"Targets: one install and one removal transaction per host: **{'met' if txs_ok else 'NOT met'}**; "
        f"three packages <= 1.5x one: **{'met' if ratio_wall <= 1.5 else 'NOT met'}** "
        f"({ratio_wall:.2f}x whole remediation, {ratio_removal:.2f}x the removal alone)."
    )
    text = "\n".join(table) + "\n\n" + verdict
    print(text)
    if args.write_docs:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
        method = " ".join(
            [
                f"Measured {stamp} with `bench/bench_remediation_scaling.py`: two lab light hosts side by side,",
                f"{args.repeat} repetitions alternating which case goes first, each from a fresh root filesystem;",
                "playbooks/remediate.yml with ansible-playbook (ClamAV installed from the lab repository and",
                "proven healthy, then the removal, then verification). Transactions are counted from each",
                "host's /var/log/apt/history.log.",
            ]
        )
        reproduce = "\n".join(
            [
                "sudo ripreplace lab up --hosts 2 --systemd-hosts 0 --dir /var/tmp/rr-bench-scaling",
                "sudo .venv/bin/python bench/bench_remediation_scaling.py --dir /var/tmp/rr-bench-scaling --write-docs",
                "sudo ripreplace lab down --dir /var/tmp/rr-bench-scaling",
            ]
        )
        section = f"## Remediation scaling\n\n{method}\n\n{text}\n\nReproduce:\n\n```\n{reproduce}\n```\n"
        doc = ROOT / "docs" / "performance.md"
        current = doc.read_text()
        if "## Remediation scaling" in current:
            head, _, rest = current.partition("## Remediation scaling")
            tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
            current = head + section + tail
        else:
            current = current.rstrip() + "\n\n" + section
        doc.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
