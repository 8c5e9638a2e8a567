# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Detection on the lab: real hosts over real SSH, fake covered packages, decoys, residue, exceptions.

Every test resets the hosts it uses. ``ripreplace audit`` runs exactly as an operator runs it
(the console script, the lab inventory, --output json) and the result is read from the JSON
envelope and the run directory.

Unchanged hosts: a listing of every path on the host's root filesystem (type, mode, owner, size,
link target, sha256 of regular files) before and after an audit must be identical, except:
- /proc, /sys, /dev, /run, /tmp: kernel and runtime state, not the host's filesystem;
- /var/log/lastlog, /var/log/wtmp, /var/log/btmp: written by sshd/PAM at every login (the audit's
  SSH connection itself, the same for ansible.builtin.ping);
- /var/log/journal: systemd-journald records the SSH session on the systemd host;
- /var/log/kaspersky/*-daemon.log: written on its own by the fake products' running daemons;
- /root/.ansible: ansible's remote temporary directory, created by the connection for any task
  (ping included) and emptied after each one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.hoststate import listing

from ripreplace import records

pytestmark = pytest.mark.lab


def run_audit(lab: Any, workdir: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = lab.ripreplace(
        "audit", "-i", str(lab.inventory), "--runs-dir", str(workdir / "runs"), "--output", "json", *args, cwd=workdir
    )
    assert result.returncode in (0, 3, 4), result.stderr
    envelope = json.loads(result.stdout)
    return result.returncode, envelope, result.stderr


def findings(envelope: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {f["catalog_id"]: f for f in envelope["result"]["hosts"][host]["findings"]}


def evidence(finding: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["kind"], e["value"]) for e in finding["evidence"]}


def test_planted_products_found_on_light_and_systemd_hosts_and_hosts_unchanged(lab, workdir):
    light, sysd = lab.light_hosts[0], lab.systemd_hosts[0]
    lab.reset(*lab.hosts)
    lab.plant(light, "kesl-gui", "klnagent64", "kics")
    lab.plant(sysd, "kesl", "klnagent64", "kics")
    for host in (light, sysd):
        lab.sh(
            host,
            "sh",
            "-c",
            "mkdir -p /home/alice && echo 'renew Kaspersky by March' > /home/alice/kaspersky-renewal-notes.txt",
        )
    before = {h: listing(lab, h) for h in lab.hosts}

    rc, env, _ = run_audit(lab, workdir)

    after = {h: listing(lab, h) for h in lab.hosts}
    for host in lab.hosts:
        changed = sorted(set(before[host]) ^ set(after[host]))
        assert changed == [], f"{host} changed during the audit: {changed[:20]}"
    assert rc == 3 and env["exit_code"] == 3 and env["command"] == "audit"
    summary = env["result"]
    # light host: sysv init scripts, daemons started by them
    lf = findings(env, light)
    assert set(lf) == {"kaspersky-kesl", "kaspersky-kesl-gui", "kaspersky-network-agent"}  # never kaspersky-kics
    assert summary["hosts"][light]["status"] == "covered"
    kesl = lf["kaspersky-kesl"]
    assert kesl["state"] == "installed" and kesl["confidence"] == "high"
    assert {
        ("deb", "kesl"),
        ("process", "/opt/kaspersky/kesl/libexec/kesl"),
        ("service", "kesl"),
        ("path", "/opt/kaspersky/kesl/bin/kesl-setup.pl"),
        ("path", "/usr/bin/kesl-control"),
    } <= evidence(kesl)
    # evidence keeps the module's nested shape (ripreplace-summary/2): kind-specific facts under details
    services = {e["details"]["manager"]: e["details"] for e in kesl["evidence"] if e["kind"] == "service"}
    assert services["sysv"]["enabled"] is True  # rc links made by update-rc.d
    assert services["sysv"]["active"] is None  # no service manager: never run init scripts to ask
    assert services["systemd"]["path"] == "/lib/systemd/system/kesl.service"  # unit file shipped, no systemd
    assert summary["hosts"][light]["scanned"]["service_manager"] == "none"
    agent = lf["kaspersky-network-agent"]
    assert {("deb", "klnagent64"), ("process", "/opt/kaspersky/klnagent64/sbin/klnagent")} <= evidence(agent)
    plan = summary["hosts"][light]["removal_plan"]
    assert [p["name"] for p in plan["packages"]] == ["kesl-gui", "kesl", "klnagent64"]
    assert all(p["path"].startswith(p["vendor_root"]) for p in plan["paths"])
    # systemd host: units with live state from systemctl
    sf = findings(env, sysd)
    assert set(sf) == {"kaspersky-kesl", "kaspersky-network-agent"}
    systemd_kesl = [
        e["details"]
        for e in sf["kaspersky-kesl"]["evidence"]
        if e["kind"] == "service" and e["details"]["manager"] == "systemd"
    ]
    assert systemd_kesl and systemd_kesl[0]["active"] == "active" and systemd_kesl[0]["enabled"] == "enabled"
    assert summary["hosts"][sysd]["scanned"]["service_manager"] == "systemd"
    # nothing anywhere else; the decoys never appear
    for host in lab.hosts:
        if host not in (light, sysd):
            assert summary["hosts"][host]["status"] == "clean", summary["hosts"][host]
        text = json.dumps(summary["hosts"][host])
        assert "renewal-notes" not in text and "/usr/bin/kics" not in text
    assert summary["products"]["kaspersky-kesl"] == sorted([light, sysd])
    run_dir = Path(env["run_dir"])
    for name in ("manifest.json", "audit.jsonl", "summary.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert json.loads((run_dir / "manifest.json").read_text())["check_mode"] is True
    # the record contract: the file validates against the shipped schema, and a finding carries the
    # Covered List facts the scan used (entry, date added, sources), not a pointer to today's catalog
    assert records.validate_run_dir(run_dir) == {"summary.json": []}
    assert kesl["covered_list"]["added"] == "2022-03-25" and kesl["covered_list"]["sources"]
    # per host, the wrapped audit runs the scan and not the detect role's plain-run tasks (its summary line,
    # set_stats, the findings gate): two task executions per host instead of five (docs/performance.md)
    tasks = {json.loads(line)["data"].get("task") for line in (run_dir / "audit.jsonl").read_text().splitlines()}
    assert any(str(t).startswith("DETECT | SCAN") for t in tasks), tasks
    assert not [t for t in tasks if str(t).startswith(("DETECT | REPORT", "DETECT | STATS", "DETECT | GATE"))], tasks


def test_text_report_names_every_planted_product(lab, workdir):
    lab.reset(*lab.hosts)
    lab.plant(lab.light_hosts[0], "kesl-gui", "klnagent64")
    result = lab.ripreplace("audit", "-i", str(lab.inventory), "--runs-dir", str(workdir / "runs"), cwd=workdir)
    assert result.returncode == 3, result.stderr
    for product in ("kaspersky-kesl", "kaspersky-kesl-gui", "kaspersky-network-agent"):
        assert product in result.stdout
    assert "exit 3: covered software found" in result.stdout


def test_rpm_kesl_on_a_host_with_rpm(lab, workdir):
    host = lab.light_hosts[1]
    lab.reset(host)
    lab.plant(host, "rpm:kesl")
    rc, env, _ = run_audit(lab, workdir, "--limit", host)
    assert rc == 3 and list(env["result"]["hosts"]) == [host]
    kesl = findings(env, host)["kaspersky-kesl"]
    rpm = [e for e in kesl["evidence"] if e["kind"] == "rpm"]
    assert rpm and rpm[0]["value"] == "kesl" and rpm[0]["details"]["version"] == "12.4.0-1225"
    assert ("process", "/opt/kaspersky/kesl/libexec/kesl") in evidence(kesl)
    plan = env["result"]["hosts"][host]["removal_plan"]
    assert [(p["manager"], p["name"]) for p in plan["packages"]] == [("rpm", "kesl")]
    lab.reset(host)


def test_removed_not_purged_is_residue(lab, workdir):
    host = lab.light_hosts[2] if len(lab.light_hosts) > 2 else lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    lab.sh(host, "dpkg", "-r", "kesl")
    rc, env, _ = run_audit(lab, workdir, "--limit", host)
    assert rc == 3
    kesl = findings(env, host)["kaspersky-kesl"]
    assert kesl["state"] == "residue"
    deb = next(e for e in kesl["evidence"] if e["kind"] == "deb")
    assert deb["details"]["status"] == "deinstall ok config-files" and deb["details"]["residue"] is True
    assert ("path", "/var/opt/kaspersky/kesl") in evidence(kesl)
    assert not [e for e in kesl["evidence"] if e["kind"] == "process"]
    plan = env["result"]["hosts"][host]["removal_plan"]
    assert plan["packages"][0]["status"] == "config-files"
    planned = [p["path"] for p in plan["paths"]]
    leftover = "/var/opt/kaspersky/kesl"
    assert any(p == leftover or leftover.startswith(p + "/") for p in planned), planned
    lab.reset(host)


def test_decoy_kics_alone_is_clean(lab, workdir):
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kics")
    lab.sh(host, "sh", "-c", "mkdir -p /home/alice && echo Kaspersky > /home/alice/kaspersky-renewal-notes.txt")
    rc, env, _ = run_audit(lab, workdir, "--limit", host)
    assert rc == 0, env["result"]["hosts"][host]
    assert env["result"]["hosts"][host]["status"] == "clean" and env["result"]["hosts"][host]["findings"] == []
    lab.reset(host)


def test_expired_exception_no_longer_hides_a_finding(lab, workdir):
    expired_host, active_host = lab.light_hosts[0], lab.light_hosts[1]
    lab.reset(expired_host, active_host)
    lab.plant(expired_host, "kesl")
    lab.plant(active_host, "kesl")
    exceptions = workdir / "exceptions.yml"
    exceptions.write_text(
        "format: ripreplace-exceptions/1\n"
        "exceptions:\n"
        f"  - {{id: EXC-OLD, host: {expired_host}, catalog_id: kaspersky-kesl, ticket: CHG-1,\n"
        "      reason: kept for the pilot that ended, expires: '2026-01-31'}\n"
        f"  - {{id: EXC-NOW, host: {active_host}, catalog_id: kaspersky-kesl, ticket: CHG-2,\n"
        "      reason: kept until the replacement is qualified, expires: '2099-12-31'}\n"
    )
    rc, env, _ = run_audit(
        lab,
        workdir,
        "--limit",
        f"{expired_host}:{active_host}",
        "--exceptions",
        str(exceptions),
        "--today",
        "2026-12-01",
    )
    hosts = env["result"]["hosts"]
    assert hosts[expired_host]["status"] == "covered"
    assert "EXC-OLD" in hosts[expired_host]["reason"] and "expired on 2026-01-31" in hosts[expired_host]["reason"]
    assert hosts[expired_host]["exceptions_expired"][0]["id"] == "EXC-OLD"
    assert hosts[active_host]["status"] == "excepted" and hosts[active_host]["findings"] == []
    assert hosts[active_host]["excepted"][0]["exception"]["ticket"] == "CHG-2"
    assert hosts[active_host]["removal_plan"]["packages"] == []
    assert rc == 3
    lab.reset(expired_host, active_host)


def test_clean_lab_exits_0(lab, workdir):
    lab.reset(*lab.hosts)
    rc, env, _ = run_audit(lab, workdir)
    assert rc == 0
    assert {h["status"] for h in env["result"]["hosts"].values()} == {"clean"}
    assert sorted(env["result"]["hosts"]) == sorted(lab.hosts)


def test_bad_inputs_exit_2_and_touch_no_host(lab, workdir):
    bad = workdir / "site.yml"
    bad.write_text("format: ripreplace-covered-catalog/1\nentries: [{id: x}]\n")
    result = lab.ripreplace(
        "audit", "-i", str(lab.inventory), "--catalog", str(bad), "--runs-dir", str(workdir / "runs"), cwd=workdir
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "site.yml: entry x:" in result.stderr
    result = lab.ripreplace(
        "audit", "-i", str(lab.inventory), "--limit", "nosuchhost*", "--runs-dir", str(workdir / "runs"), cwd=workdir
    )
    assert result.returncode == 2 and "matches no host" in result.stderr
    assert not (workdir / "runs").exists()
