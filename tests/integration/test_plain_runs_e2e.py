# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace report`` and ``ripreplace runs`` read runs made without the command (issue 12, deliverable 3).

A plain ``ansible-playbook`` with the audit_log callback (what AWX runs) leaves ``manifest.json`` and
``audit.jsonl`` and nothing else. No lab: the real ``covered_facts`` module runs over the local
connection against two offline roots (``root``), one whose dpkg database holds ``kesl``, and the loop
summary is checked on the same run (a loop with a failing item: ``failed`` counted on every core).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ripreplace import collection

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.e2e

STATUS = (
    "Package: {name}\nStatus: install ok installed\nPriority: optional\nVersion: 12.0.0.6672\nArchitecture: amd64\n\n"
)
PLAYBOOK = """\
- name: Scan offline roots, then a loop with a failing item
  hosts: all
  gather_facts: false
  tasks:
    - name: Scan the host's root
      ripreplace.remediation.covered_facts:
        root: "{{ fake_root }}"
        scan: [deb, path]
    - name: A loop with one failing item
      ansible.builtin.command: "{{ item }}"
      loop: ["true", "false", "true"]
      changed_when: false
      ignore_errors: true
"""


def ripreplace(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ripreplace"), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def ansible_playbook(cwd: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """A plain ``ansible-playbook -i inventory.yml ARGS`` in ``cwd`` (the collection found, no operator
    ANSIBLE_/RIPREPLACE_ setting inherited) with ``env_vars`` added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()), **env_vars)
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.yml", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("plain")
    hosts = {}
    for host, packages in (("covered1", ["kesl"]), ("clean1", ["bash"])):
        root = work / "roots" / host
        (root / "var" / "lib" / "dpkg").mkdir(parents=True)
        (root / "var" / "lib" / "dpkg" / "status").write_text("".join(STATUS.format(name=p) for p in packages))
        hosts[host] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "fake_root": str(root),
        }
    (work / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    (work / "scan.yml").write_text(PLAYBOOK)
    result = ansible_playbook(
        work,
        "scan.yml",
        ANSIBLE_CALLBACKS_ENABLED="ripreplace.remediation.audit_log",
        RIPREPLACE_RUN_ID="20261205T060000Z-playbook-plain1",
        RIPREPLACE_TICKET="CHG-42",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    run = work / "runs" / "20261205T060000Z-playbook-plain1"
    assert sorted(p.name for p in run.iterdir()) == ["audit.jsonl", "manifest.json"]
    return run


def test_report_rebuilds_the_outcome_of_a_plain_run_from_its_log(plain_run: Path) -> None:
    result = ripreplace("report", str(plain_run), "--format", "json", cwd=plain_run.parent)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert hosts["covered1"]["status"] == "covered" and hosts["clean1"]["status"] == "clean"
    assert [f["catalog_id"] for f in hosts["covered1"]["findings"]] == ["kaspersky-kesl"]
    (info,) = doc["runs"]
    assert info["mode"] == "audit" and info["ticket"] == "CHG-42" and "rebuilt from its records" in info["source"]
    html = ripreplace("report", str(plain_run), "--format", "html", cwd=plain_run.parent)
    assert html.returncode == 0 and "covered1" in html.stdout and "kaspersky-kesl" in html.stdout
    assert sorted(p.name for p in plain_run.iterdir()) == ["audit.jsonl", "manifest.json"]  # nothing written


def test_runs_list_and_show_a_plain_run_as_finished(plain_run: Path) -> None:
    listing = ripreplace("runs", "list", "--runs-dir", str(plain_run.parent), "--output", "json", cwd=plain_run.parent)
    assert listing.returncode == 0, listing.stderr
    (row,) = json.loads(listing.stdout)["result"]["runs"]
    assert row["outcome"].startswith("finished") and row["counts"] == {"clean": 1, "covered": 1}
    assert row["mode"] == "audit" and row["exit_code"] == 3 and row["log"]["status"] == "ok"
    text = ripreplace("runs", "list", "--runs-dir", str(plain_run.parent), cwd=plain_run.parent)
    assert "incomplete" not in text.stdout and "1 clean, 1 covered" in text.stdout
    show = ripreplace("runs", "show", plain_run.name, "--runs-dir", str(plain_run.parent), cwd=plain_run.parent)
    assert show.returncode == 0 and "covered1: covered" in show.stdout and "clean1: clean" in show.stdout


def test_the_trail_keeps_the_findings_and_counts_a_loops_failed_item(plain_run: Path) -> None:
    records = [json.loads(line) for line in (plain_run / "audit.jsonl").read_text().splitlines()]
    scans = {
        r["data"]["host"]: r["data"] for r in records if r.get("data", {}).get("action", "").endswith("covered_facts")
    }
    found = scans["covered1"]["facts"]["covered_software"]["findings"]
    assert [f["catalog_id"] for f in found] == ["kaspersky-kesl"]
    assert scans["clean1"]["facts"]["covered_software"]["findings"] == []
    loops = [r["data"] for r in records if r["type"] == "task" and r["data"]["task"] == "A loop with one failing item"]
    assert {d["host"]: d["items"] for d in loops} == {
        h: {"count": 3, "changed": 0, "failed": 1, "skipped": 0} for h in ("covered1", "clean1")
    }


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"ripreplace_serial": "abc"}, 'ripreplace_serial "abc" is not a number of hosts, a percentage ("10%")'),
        ({"ripreplace_serial": [1, "x"]}, 'ripreplace_serial [1, "x"] is not a number of hosts'),
        ({"ripreplace_serial": -1}, "ripreplace_serial -1 is not a number of hosts"),
        ({"ripreplace_max_fail_percentage": -5}, "ripreplace_max_fail_percentage -5 is not a percentage from 0 to 100"),
        ({"ripreplace_max_fail_percentage": "101%"}, 'ripreplace_max_fail_percentage "101%" is not a percentage'),
        ({"ripreplace_max_fail_percentage": "lots"}, 'ripreplace_max_fail_percentage "lots" is not a percentage'),
    ],
)
def test_remediate_yml_refuses_a_bad_serial_or_max_fail_before_any_task(
    tmp_path: Path, extra: dict[str, object], said: str
) -> None:
    """A plain run of playbooks/remediate.yml (AWX's way) with a batch size or failure limit that is neither a
    number nor a percentage fails the play before its first task, with one line naming the variable (without
    the check, ansible-core crashed with "Unexpected Exception" or stopped silently after the first task)."""
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"h1": {"ansible_connection": "local"}}}}))
    remediate = str(collection.playbook("remediate"))
    result = ansible_playbook(tmp_path, remediate, "-e", json.dumps({"ripreplace_ticket": "CHG-1", **extra}))
    out = " ".join((result.stdout + result.stderr).split())  # 2.16 wraps errors at 80 columns
    assert result.returncode not in (0, 250), out  # failed, and not as ansible-core's "Unexpected Exception"
    assert said in out, out
    assert "TASK [" not in result.stdout, result.stdout  # not a single task started
    # the same play with valid values reaches its first task (the window guard: no window given)
    good = ansible_playbook(
        tmp_path, remediate, "-e", json.dumps({"ripreplace_ticket": "CHG-1", "ripreplace_serial": [1, "50%"]})
    )
    assert "TASK [REMEDIATE | WINDOW" in good.stdout and "ripreplace_window" in good.stdout + good.stderr, good.stdout
