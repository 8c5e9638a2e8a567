# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Benchmark the audit_log callback and the verifier (not a test: prints a Markdown table).

1. Callback overhead: a synthetic playbook (``--hosts`` hosts made with add_host, ``--tasks`` tasks,
   local connection) run with the default stdout callback alone and with the audit_log callback
   as well, alternately (A B A B ...) in one invocation, ``--reps`` times each; the ratio of the
   median wall times is the overhead. Target: <= 1.05.
2. Verifier throughput: ``verify()`` over a log of ``--records`` task records shaped like the
   callback's, without and with HMAC, with an Ed25519-signed run-end (one run, and one run per 100
   records: 2,000 signatures in 200,000 records), and the ``ripreplace verify-log`` command end to
   end on a run directory (HMAC, signature, manifest and run files). Target: >= 50,000 records/s.

    python bench/bench_audit_log.py [--reps 5] [--hosts 25] [--tasks 50] [--forks 5] [--records 200000]
    python bench/bench_audit_log.py --verify-only [--records 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ripreplace import collection

BIN = Path(sys.executable).parent
CALLBACK = "ripreplace.remediation.audit_log"

#: Runs ansible-playbook in this interpreter with TaskQueueManager.send_callback timed: the CPU time
#: (thread_time) and wall time the controller spends dispatching events to every callback,
#: ansible's own per-callback copying included. The difference between the two kinds of run is
#: what the audit_log callback costs the controller, whatever else the machine is doing.
SHIM = """
import atexit, json, os, sys, time
from ansible.executor import task_queue_manager as tqm
original = tqm.TaskQueueManager.send_callback
spent = {"cpu": 0.0, "wall": 0.0, "calls": 0}
def timed(self, method_name, *args, **kwargs):
    cpu, wall = time.thread_time(), time.perf_counter()
    try:
        return original(self, method_name, *args, **kwargs)
    finally:
        spent["cpu"] += time.thread_time() - cpu
        spent["wall"] += time.perf_counter() - wall
        spent["calls"] += 1
tqm.TaskQueueManager.send_callback = timed
atexit.register(lambda: open(os.environ["BENCH_DISPATCH_TIMES"], "w").write(json.dumps(spent)))
from ansible.cli.playbook import main
sys.argv = ["ansible-playbook", *sys.argv[1:]]
main()
"""


def synthetic_playbook(hosts: int, tasks: int) -> str:
    """add_host makes the fleet; the tasks mix controller-side actions and a real module, over local."""
    kinds = [
        "ansible.builtin.debug:\n        msg: 'step {n} on {{{{ inventory_hostname }}}}'",
        "ansible.builtin.set_fact:\n        fact_{n}: '{{{{ inventory_hostname }}}}-{n}'",
        "ansible.builtin.assert:\n        that: ['fact_{prev} is defined or {n} < 2']\n        quiet: true",
        "ansible.builtin.debug:\n        msg: skipped\n      when: false",
        "ansible.builtin.debug:\n        var: inventory_hostname",
        "ansible.builtin.set_fact:\n        flag_{n}: true\n      changed_when: true",
        "ansible.builtin.debug:\n        msg: '{{{{ item }}}}'\n      loop: [a, b]",
        "ansible.builtin.assert:\n        that: ['flag_{prev} | default(true)']\n        quiet: true",
        "ansible.builtin.command: 'true'\n      changed_when: false",  # one real module in ten
    ]
    lines = [
        "- hosts: localhost",
        "  gather_facts: false",
        "  tasks:",
        "    - ansible.builtin.add_host:",
        "        name: 'bench{{ item }}'",
        "        groups: [bench]",
        "        ansible_connection: local",
        "        ansible_python_interpreter: '{{ ansible_playbook_python }}'",
        f"      loop: '{{{{ range({hosts}) | list }}}}'",
        "- hosts: bench",
        "  gather_facts: false",
        "  tasks:",
    ]
    for n in range(tasks):
        body = kinds[n % len(kinds)].format(n=n, prev=max(n - 1, 0))
        lines.append(f"    - name: 'Synthetic step {n}'\n      {body}")
    return "\n".join(lines) + "\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(book: Path, work: Path, forks: int, audit: bool, index: int) -> tuple[float, float, float, float]:
    """(wall s, CPU s of ansible-playbook and all its workers, CPU s and wall s dispatching callbacks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()),
        ANSIBLE_LOCAL_TEMP=str(work / ".ansible-local"),
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        RIPREPLACE_AUDIT_LOG=str(work / "runs" / f"run-{index}" / "audit.jsonl"),
        RIPREPLACE_RUN_ID=f"bench-{index}",
    )
    if audit:
        env["ANSIBLE_CALLBACKS_ENABLED"] = CALLBACK
    times = work / f"dispatch-{index}-{audit}.json"
    env["BENCH_DISPATCH_TIMES"] = str(times)
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", SHIM, "-i", "localhost,", "-c", "local", "--forks", str(forks), str(book)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    dispatch = json.loads(times.read_text())
    return wall, cpu, dispatch["cpu"], dispatch["wall"]


def bench_callback(reps: int, hosts: int, tasks: int, forks: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        book = work / "synthetic.yml"
        book.write_text(synthetic_playbook(hosts, tasks))
        warm = work / "warm.yml"
        warm.write_text(synthetic_playbook(2, 10))
        run_once(warm, work, forks, audit=True, index=-1)  # warm caches (bytecode, collection link)
        base: list[tuple[float, float, float, float]] = []
        audit: list[tuple[float, float, float, float]] = []
        for i in range(reps):
            order = (False, True) if i % 2 == 0 else (True, False)  # alternate who goes first
            for with_audit in order:
                (audit if with_audit else base).append(run_once(book, work, forks, with_audit, i))
        chain = collection.load_plugin_util("audit_chain")
        verdict = chain.verify(work / "runs" / "run-0" / "audit.jsonl")
        assert verdict.ok, verdict.one_line()
        return {"base": base, "audit": audit, "records": verdict.records}


def make_log(path: Path, records: int, key: bytes | None, signer: object = None, per_run: int = 0) -> None:
    """``records`` records: one run, or runs of ``per_run`` records (run-start, tasks, run-end) one after another."""
    chain = collection.load_plugin_util("audit_chain")
    per_run = per_run or records
    with chain.AuditWriter(path, run_id="bench-0", key=key, fsync_interval=5, signer=signer) as writer:
        for i in range(records):
            position = i % per_run
            if position == 0:
                writer.run_id = f"bench-{i // per_run}"
                writer.append(chain.RUN_START, {"manifest": {"run": writer.run_id}})
                continue
            if position == per_run - 1 or i == records - 1:
                writer.append(chain.RUN_END, {"status": "successful"})
                continue
            writer.append(
                chain.TASK,
                {
                    "host": f"host{i % 25:03d}.example.org",
                    "task": "detect | Find covered software (packages, services, paths)",
                    "action": "ripreplace.remediation.covered_facts",
                    "status": "ok",
                    "task_uuid": "02fc0000-0001-17dd-90ed-000000000007",
                    "play": "Audit the fleet",
                    "role": "ripreplace.remediation.detect",
                    "start": "2026-12-05T06:00:00.000Z",
                    "end": "2026-12-05T06:00:00.250Z",
                    "args": {"catalog": "/opt/ripreplace/catalog/covered.yml"},
                    "findings": [{"catalog_id": "kaspersky-kesl", "state": "installed", "confidence": "high"}],
                },
            )


def bench_verify(records: int) -> list[tuple[str, float, float]]:
    from ripreplace import auditlog

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        signing = Path(tmp) / "signing.pem"
        auditlog.generate_signing_key(signing)
        signer, verifier = auditlog.load_signer(signing), auditlog.load_verifier(Path(f"{signing}.pub"))
        cases = (
            ("verify() sha256 chain", None, None, 0),
            ("verify() sha256 chain + HMAC", b"k" * 32, None, 0),
            ("verify() sha256 chain + HMAC + Ed25519 run-end (1 run)", b"k" * 32, signer, 0),
            ("verify() sha256 chain + HMAC + Ed25519 run-ends (a run per 100 records)", b"k" * 32, signer, 100),
        )
        for label, key, sign, per_run in cases:
            path = Path(tmp) / f"{len(rows)}" / "audit.jsonl"
            path.parent.mkdir()
            make_log(path, records, key, sign, per_run)
            best_wall = best_cpu = 0.0
            for _ in range(3):
                start, cpu = time.perf_counter(), time.process_time()
                verdict = auditlog.verify(path, key=key, verifier=verifier if sign else None)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                assert verdict.ok and verdict.records == records, verdict.one_line()
                best_wall, best_cpu = max(best_wall, records / elapsed), max(best_cpu, records / cpu)
            rows.append((label, best_wall, best_cpu))
        key_file = Path(tmp) / "key"
        key_file.write_bytes(b"k" * 32)
        run = Path(tmp) / "2"  # one signed run, as a run directory: manifest, run files checked too
        (run / "manifest.json").write_text(json.dumps({"run": "bench-0"}))
        cpu = _children_cpu()
        start = time.perf_counter()
        argv = [str(BIN / "ripreplace"), "verify-log", str(run), "--key-file", str(key_file)]
        subprocess.run(
            [*argv, "--public-key", f"{signing}.pub"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
        rows.append(
            ("`ripreplace verify-log` + HMAC + signature, end to end (with start-up)", records / wall, records / cpu)
        )
        size = (run / "audit.jsonl").stat().st_size / records
    rows.append(("(mean record size, bytes)", size, size))
    return rows


def print_verify(records: int) -> None:
    print(f"Verifier throughput over {records:,} records (best of 3; target >= 50,000 records/s):")
    print()
    print("| what | records/s (wall) | records/s (CPU) |")
    print("|---|---|---|")
    for label, wall, cpu in bench_verify(records):
        print(f"| {label} | {wall:,.0f} | {cpu:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=25)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--forks", type=int, default=5)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--verify-only", action="store_true", help="only the verifier's throughput")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    if args.verify_only:
        print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; ")
        print(f"load average {load_before:.1f} at start")
        print()
        print_verify(args.records)
        return
    cb = bench_callback(args.reps, args.hosts, args.tasks, args.forks)
    base, audit = cb["base"], cb["audit"]
    assert isinstance(base, list) and isinstance(audit, list)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; ")
    print(f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} after the playbook runs")
    print()
    print(f"Callback overhead: {args.hosts} hosts x {args.tasks} tasks, local connection, forks={args.forks}, ")
    print(f"{args.reps} alternating repetitions each; the audit log held {cb['records']} records per run. ")
    print("CPU = user + system time of ansible-playbook and all its workers.")
    print()
    print("| run | median wall (s) | min wall (s) | max wall (s) | median CPU (s) | callback dispatch CPU (s) |")
    print("|---|---|---|---|---|---|")
    for label, runs in (("default callback alone", base), ("default + audit_log", audit)):
        walls, cpus, dispatch = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
        print(
            f"| {label} | {statistics.median(walls):.2f} | {min(walls):.2f} | {max(walls):.2f} "
            f"| {statistics.median(cpus):.2f} | {statistics.median(dispatch):.3f} |"
        )

    def ratio(index: int, agg) -> float:
        return agg([r[index] for r in audit]) / agg([r[index] for r in base])

    print(
        f"| **ratio audit / default** | **{ratio(0, statistics.median):.3f}x** | **{ratio(0, min):.3f}x** | "
        f"| **{ratio(1, statistics.median):.3f}x** | |"
    )
    extra_cpu = statistics.median([r[2] for r in audit]) - statistics.median([r[2] for r in base])
    extra_wall = statistics.median([r[3] for r in audit]) - statistics.median([r[3] for r in base])
    base_wall = statistics.median([r[0] for r in base])
    print()
    print(
        f"The controller spends {extra_cpu:.3f} s more CPU ({extra_wall:.3f} s more wall, fsync included) "
        f"dispatching events when audit_log is enabled: {extra_cpu / cb['records'] * 1e6:.0f} us per record, "
        f"**{(base_wall + max(extra_wall, extra_cpu)) / base_wall:.3f}x** the default run's median wall time "
        "(target <= 1.05x)."
    )
    print()
    print_verify(args.records)


if __name__ == "__main__":
    main()
