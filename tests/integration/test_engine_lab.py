# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The trail survives the engine on real hosts (issue 12, Done-when): the collection's audit and
remediate playbooks through ``ansible-runner transmit | worker | process`` (what AWX and Receptor
run) against a lab host over SSH, with only the audit_log callback enabled (no ripreplace wrapper).

For each job, from the ``process`` side alone: ``ripreplace verify-log`` exits 0 and ``ripreplace
report --format html`` renders the host; from a job-events export built from the job's events, the
same; an edited event exits 6; the ``awx_*`` identity is in the manifest; the chain head is in the
job's stats (the stats event's ``artifact_data``, AWX's job artifacts). The remediation really
happened: the covered packages are gone from the host.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.runner_stream import private_dir, transmit_worker_process

from ripreplace.lab import fakeapproved

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.lab


def _ripreplace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ripreplace"), *args], capture_output=True, text=True, timeout=300, check=False)


def _job(lab, tmp_path: Path, name: str, *, playbook: str, host: str, extravars: dict) -> Path:
    inventory = yaml.safe_load(Path(lab.inventory).read_text())
    src = private_dir(tmp_path, name, extravars, inventory, playbook=playbook)
    (src / "env" / "cmdline").write_text(f"--limit {host}")
    return transmit_worker_process(tmp_path, src)


def _export(job: Path, into: Path) -> tuple[Path, list[dict]]:
    events = sorted(
        (json.loads(p.read_text()) for p in (job / "artifacts" / "job_events").glob("*.json")),
        key=lambda e: e["counter"],
    )
    export = into / f"{job.name}-events.json"
    export.write_text(json.dumps({"count": len(events), "next": None, "previous": None, "results": events}))
    return export, events


def _every_source_verifies_and_renders(job: Path, host: str, tmp_path: Path, identity: dict) -> None:
    manifest = json.loads((job / "artifacts" / "ripreplace" / "manifest.json").read_text())
    assert manifest["engine"] == identity and manifest["operator"] == identity["awx_user_name"]
    export, events = _export(job, tmp_path)
    (stats,) = [e for e in events if e["event"] == "playbook_on_stats"]  # AWX's job artifacts: the chain head
    assert stats["event_data"]["artifact_data"]["ripreplace_audit"]["final_hash"] == manifest["audit_log"]["final_hash"]
    for source in (job, export):
        check = _ripreplace("verify-log", str(source))
        assert check.returncode == 0, check.stdout + check.stderr
        assert manifest["audit_log"]["final_hash"] in check.stdout
        html = _ripreplace("report", str(source), "--format", "html")
        assert html.returncode == 0, html.stderr
        assert f">{host}<" in html.stdout, html.stdout[-2000:]
    target = next(e for e in events if '"type":"task"' in e["stdout"] and f'"host":"{host}"' in e["stdout"])
    target["stdout"] = target["stdout"].replace(f'"host":"{host}"', '"host":"forged"', 1)
    export.write_text(json.dumps({"results": events}))
    for command in (("verify-log", str(export)), ("report", str(export), "--format", "html")):
        edited = _ripreplace(*command)
        assert edited.returncode == 6, (command, edited.stdout, edited.stderr)


def test_audit_and_remediation_through_transmit_worker_process_on_a_lab_host(lab, tmp_path: Path) -> None:
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl-gui", "klnagent64")
    identity = {"awx_job_id": 7001, "awx_user_name": "alice", "awx_job_template_name": "ripreplace audit"}
    audit = _job(lab, tmp_path, "audit-job", playbook="audit", host=host, extravars=identity)
    _every_source_verifies_and_renders(audit, host, tmp_path, identity)
    listed = json.loads(_ripreplace("report", str(audit), "--format", "json").stdout)
    assert {h["name"]: h["status"] for h in listed["hosts"]} == {host: "covered"}

    identity = {"awx_job_id": 7002, "awx_user_name": "bob", "awx_job_template_name": "ripreplace remediate"}
    extravars = {
        **identity,
        "ripreplace_ticket": "CHG-AWX-1",
        "ripreplace_window": "now/PT2H",
        "replacement_clamav_signatures_url": lab.lab.state["repo_url"] + "clamav/",
        "replacement_clamav_official_databases": False,
        "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
    }
    remediation = _job(lab, tmp_path, "remediate-job", playbook="remediate", host=host, extravars=extravars)
    installed = lab.sh(host, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n", check=False).stdout
    assert not any(line.split()[:2] in (["kesl", "ii"], ["klnagent64", "ii"]) for line in installed.splitlines())
    _every_source_verifies_and_renders(remediation, host, tmp_path, identity)
    manifest = json.loads((remediation / "artifacts" / "ripreplace" / "manifest.json").read_text())
    assert manifest["ticket"] == "CHG-AWX-1"  # the survey's ticket (extra var), as the guard required it
    listed = json.loads(_ripreplace("report", str(remediation), "--format", "json").stdout)
    assert {h["name"]: h["status"] for h in listed["hosts"]} == {host: "remediated"}
