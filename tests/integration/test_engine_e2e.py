# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The trail survives the engine (issue 12, deliverables 1 and 2), end to end, no lab: the collection's
audit playbook through ``ansible-runner transmit | ansible-runner worker | ansible-runner process``
(what AWX and Receptor run) on local-connection hosts, with only the callback enabled.

- From the ``process`` side alone, ``ripreplace verify-log`` exits 0: the log and its manifest were
  written in the job's artifact directory, which the worker ships back.
- From a job-events export in AWX's API shape built from that run's events, the same; an edited
  event exits 6.
- The engine's identity (``awx_job_id``, ``awx_user_name``) is in the manifest; no other extra var is.
- The chain head is in the job's stats (the stats event's ``artifact_data``: AWX's job artifacts).
- Jobs sharing a durable runs directory or a fixed log path never record another job's manifest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tests.runner_stream import private_dir, transmit_worker_process

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.e2e
CANARY = "CANARY-awx-extra-5c1d9e"


def local_hosts() -> dict:
    hosts = {h: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for h in ("h1", "h2")}
    return {"all": {"hosts": hosts}}


def verify_log(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ripreplace"), "verify-log", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("engine")
    extravars = {"awx_job_id": 4242, "awx_user_name": "alice", "awx_job_template_name": "Audit", "site_token": CANARY}
    return transmit_worker_process(tmp_path, private_dir(tmp_path, "job", extravars, local_hosts()))


def test_the_process_side_alone_verifies(job: Path) -> None:
    run = job / "artifacts" / "ripreplace"
    assert (run / "audit.jsonl").is_file() and (run / "manifest.json").is_file()
    check = verify_log(job)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "final hash matches manifest.json" in check.stdout
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["engine"] == {"awx_job_id": 4242, "awx_user_name": "alice", "awx_job_template_name": "Audit"}
    assert manifest["operator"] == "alice"
    for path in [*run.rglob("*"), *(job / "artifacts" / "job_events").glob("*.json")]:
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), f"an extra var leaked into {path}"


def test_report_renders_the_hosts_from_the_process_side_alone(job: Path) -> None:
    """The job's run directory has no summary.json: report rebuilds the hosts from its log (plainrun)."""
    result = subprocess.run(
        [str(BIN / "ripreplace"), "report", str(job), "--format", "html"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert all(f">{host}<" in result.stdout for host in ("h1", "h2")), result.stdout[-2000:]
    listed = subprocess.run(
        [str(BIN / "ripreplace"), "report", str(job), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    hosts = {h["name"]: h["status"] for h in json.loads(listed.stdout)["hosts"]}
    assert set(hosts) == {"h1", "h2"} and set(hosts.values()) <= {"clean", "covered"}


def test_a_job_events_export_verifies_and_an_edited_event_fails(job: Path, tmp_path: Path) -> None:
    events = sorted(
        (json.loads(p.read_text()) for p in (job / "artifacts" / "job_events").glob("*.json")),
        key=lambda e: e["counter"],
    )
    assert sum("RIPREPLACE-AUDIT " in e["stdout"] for e in events) >= 10  # every record in the events
    export = tmp_path / "job-4242-events.json"
    export.write_text(json.dumps({"count": len(events), "next": None, "previous": None, "results": events}))
    check = verify_log(export)
    assert check.returncode == 0 and "rebuilt from the records" in check.stdout, check.stdout + check.stderr
    final = json.loads((job / "artifacts" / "ripreplace" / "manifest.json").read_text())["audit_log"]["final_hash"]
    assert final in check.stdout  # the same chain as the file
    target = next(e for e in events if '"type":"task"' in e["stdout"])
    target["stdout"] = (
        target["stdout"].replace('"host":"h1"', '"host":"h9"', 1).replace('"host":"h2"', '"host":"h9"', 1)
    )
    export.write_text(json.dumps({"results": events}))
    edited = verify_log(export)
    assert edited.returncode == 6 and "TAMPERED" in edited.stdout and f"counter {target['counter']}" in edited.stdout


def test_the_chain_head_is_in_the_jobs_stats_and_holds_the_events_to_their_end(job: Path, tmp_path: Path) -> None:
    """set_stats' way to AWX: the stats event's artifact_data (AWX's job artifacts) carries the run-end's
    hash, and the events are held to it: an export without its run-end event is cut, not a killed run."""
    events = sorted(
        (json.loads(p.read_text()) for p in (job / "artifacts" / "job_events").glob("*.json")),
        key=lambda e: e["counter"],
    )
    manifest = json.loads((job / "artifacts" / "ripreplace" / "manifest.json").read_text())
    (stats,) = [e for e in events if e["event"] == "playbook_on_stats"]
    head = stats["event_data"]["artifact_data"]["ripreplace_audit"]
    assert head == {
        "run_id": manifest["run"],
        "final_hash": manifest["audit_log"]["final_hash"],
        "records": manifest["audit_log"]["records"],
        "status": "successful",
    }
    assert "ripreplace_hosts_clean" in stats["event_data"]["artifact_data"]  # the detect role's own set_stats
    ends = [e for e in events if '"type":"run-end"' in e["stdout"]]
    assert len(ends) == 1 and ends[0]["counter"] < stats["counter"]  # run-end is written before the stats event
    check = verify_log(job)
    assert check.returncode == 0 and "and the job's stats (ripreplace_audit)" in check.stdout, check.stdout
    export = tmp_path / "cut.json"
    export.write_text(json.dumps({"results": [e for e in events if e is not ends[0]]}))
    cut = verify_log(export)
    assert cut.returncode == 6 and "TAMPERED" in cut.stdout and "the job's stats" in cut.stdout, cut.stdout


def test_report_renders_the_hosts_from_a_job_events_export_and_refuses_an_edited_one(job: Path, tmp_path: Path) -> None:
    events = sorted(
        (json.loads(p.read_text()) for p in (job / "artifacts" / "job_events").glob("*.json")),
        key=lambda e: e["counter"],
    )
    export = tmp_path / "job-4242-events.json"
    export.write_text(json.dumps({"count": len(events), "next": None, "previous": None, "results": events}))

    def report(fmt: str) -> subprocess.CompletedProcess[str]:
        argv = [str(BIN / "ripreplace"), "report", str(export), "--format", fmt]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)

    html = report("html")
    assert html.returncode == 0, html.stderr
    assert all(f">{host}<" in html.stdout for host in ("h1", "h2")), html.stdout[-2000:]
    listed = report("json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert {h["name"] for h in document["hosts"]} == {"h1", "h2"}
    final = json.loads((job / "artifacts" / "ripreplace" / "manifest.json").read_text())["audit_log"]["final_hash"]
    assert final in listed.stdout  # the chain verified from the events is the file's chain
    target = next(e for e in events if '"type":"task"' in e["stdout"])
    target["stdout"] = (
        target["stdout"].replace('"host":"h1"', '"host":"h9"', 1).replace('"host":"h2"', '"host":"h9"', 1)
    )
    export.write_text(json.dumps({"results": events}))
    edited = report("html")
    assert edited.returncode == 6 and "failed verification" in edited.stderr, edited.stderr
    assert "TAMPERED" in edited.stderr or "tampered" in edited.stderr.lower(), edited.stderr


def test_a_process_side_with_a_file_deleted_fails_verification(job: Path, tmp_path: Path) -> None:
    """The shipped manifest deleted: verify-log and report both say TAMPERED (exit 6), the report from
    the run-start's manifest (before, report said 'no such run'). The log deleted: the events remain,
    and the trail is rebuilt from them; a record's event deleted as well: TAMPERED."""
    copy = tmp_path / "process"
    shutil.copytree(job, copy)
    (copy / "artifacts" / "ripreplace" / "manifest.json").unlink()
    check = verify_log(copy)
    assert check.returncode == 6 and "manifest.json is missing" in check.stdout, check.stdout + check.stderr
    argv = [str(BIN / "ripreplace"), "report", str(copy), "--format", "json"]
    report = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert report.returncode == 6 and "manifest.json is missing" in report.stderr, report.stderr
    assert {h["name"] for h in json.loads(report.stdout)["hosts"]} == {"h1", "h2"}
    assert json.loads(report.stdout)["runs"][0]["audit_log"]["status"] == "tampered"
    (copy / "artifacts" / "ripreplace" / "audit.jsonl").unlink()
    check = verify_log(copy)
    assert check.returncode == 0 and "rebuilt from the records" in check.stdout, check.stdout + check.stderr
    for path in sorted((copy / "artifacts" / "job_events").glob("*.json")):
        if '"type":"task"' in json.loads(path.read_text())["stdout"]:
            path.unlink()
            break
    check = verify_log(copy)
    assert check.returncode == 6 and "TAMPERED" in check.stdout and "deleted" in check.stdout, check.stdout


def test_jobs_never_record_another_jobs_manifest(tmp_path: Path) -> None:
    durable = tmp_path / "durable"
    shared_log = tmp_path / "shared" / "audit.jsonl"
    for ticket in ("CHG-1", "CHG-2"):
        for label, env in (
            ("runs", {"RIPREPLACE_RUNS_DIR": str(durable)}),
            ("log", {"RIPREPLACE_AUDIT_LOG": str(shared_log)}),
        ):
            envvars = {**env, "RIPREPLACE_TICKET": ticket}
            src = private_dir(tmp_path, f"{label}-{ticket}", {"awx_job_id": ticket}, local_hosts(), envvars=envvars)
            transmit_worker_process(tmp_path, src)
    runs = sorted(durable.iterdir())
    assert len(runs) == 2
    tickets = [json.loads((r / "manifest.json").read_text())["ticket"] for r in runs]
    assert sorted(tickets) == ["CHG-1", "CHG-2"] and all(verify_log(r).returncode == 0 for r in runs)
    shared = shared_log.parent
    latest = json.loads((shared / "manifest.json").read_text())
    (kept,) = (shared / "manifests").iterdir()
    assert latest["ticket"] == "CHG-2" and json.loads(kept.read_text())["ticket"] == "CHG-1"
    starts = [json.loads(line) for line in shared_log.read_text().splitlines() if '"type":"run-start"' in line]
    assert [s["data"]["manifest"]["ticket"] for s in starts] == ["CHG-1", "CHG-2"]
    assert [s["data"]["manifest"]["engine"]["awx_job_id"] for s in starts] == ["CHG-1", "CHG-2"]
    check = verify_log(shared)
    assert check.returncode == 0 and "2 run(s)" in check.stdout, check.stdout


def test_overlapping_jobs_sharing_a_runs_dir_each_keep_their_own_run(tmp_path: Path) -> None:
    """Job A is still running (it waits on a gate) while job B starts and ends in the same durable runs
    directory; A ends after. Each has its own directory, manifest and ticket, and both verify."""
    durable, gate = tmp_path / "durable", tmp_path / "gate"
    books = {
        "A": f"- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.wait_for:\n        path: {gate}\n",
        "B": "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n",
    }
    sources = {}
    for name, book in books.items():
        envvars = {"RIPREPLACE_RUNS_DIR": str(durable), "RIPREPLACE_TICKET": f"CHG-{name}"}
        sources[name] = private_dir(tmp_path, f"job-{name}", {"awx_job_id": name}, local_hosts(), envvars=envvars)
        (sources[name] / "project" / "site.yml").write_text(book)
    done: list[Path] = []
    first = threading.Thread(target=lambda: done.append(transmit_worker_process(tmp_path, sources["A"])))
    first.start()
    try:
        transmit_worker_process(tmp_path, sources["B"])  # A is waiting on the gate meanwhile
        assert first.is_alive() and not done
    finally:
        gate.touch()
        first.join(600)
    assert done, "job A did not end"
    runs = sorted(durable.iterdir())
    assert len(runs) == 2
    manifests = [json.loads((r / "manifest.json").read_text()) for r in runs]
    assert sorted((m["ticket"], m["engine"]["awx_job_id"]) for m in manifests) == [("CHG-A", "A"), ("CHG-B", "B")]
    assert all(verify_log(r).returncode == 0 for r in runs)
