# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""A trail that proves itself, end to end (issue 11): real ``ripreplace remediate`` and ``ripreplace
audit`` runs through ansible-runner on local-connection hosts (tests/remediate_site.py), no lab.

- Secrets never leave memory: canaries planted in the operator's environment (the HMAC key itself,
  tokens, passwords, a site-declared secret variable), in inventory vars, in a vault value and in a
  site-declared secret var are found in no byte under the run directory (ansible-runner's
  ``artifacts/<ident>/command`` and events included), while the log verifies with the key.
- Each tampering exits 6: an edited summary.json or manifest.json, a tail cut off (run-end
  included), a chain rewritten without the signing key; the report refuses "OK" beside an edited
  summary; ``--resume`` refuses a cut log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.remediate_site import BIN, STANDIN, base, make_site, runs

from ripreplace import auditlog, collection
from ripreplace.constants import ExitCode

pytestmark = pytest.mark.e2e

ENV_CANARIES = {
    "RIPREPLACE_AUDIT_KEY": "CANARY-hmackey-0b1c2d3e4f",
    "SITE_API_TOKEN": "CANARY-envtoken-77aa01",
    "DB_PASSWORD": "CANARY-envpassword-5e6f",
    "AWS_SECRET_ACCESS_KEY": "CANARY-envaws-9c8d7e",
    "DATABASE_URL": "postgres://u:CANARY-envdburl-1f2e@db/x",
}
INVENTORY_CANARY = "CANARY-invtoken-3a4b5c"
DECLARED_CANARY = "CANARY-declared-6d7e8f"
VAULT_CANARY = "CANARY-vault-0a9b8c"
CANARIES = [*ENV_CANARIES.values(), INVENTORY_CANARY, DECLARED_CANARY, VAULT_CANARY]

# The stand-in remediation, plus the site's secrets used the way the real roles use theirs (the
# SentinelOne site token: a no_log command, a quiet assert, a message with the token replaced).
CAREFUL = """
    - name: Onboard with the site token (secret, not logged)
      ansible.builtin.command:
        argv: [/bin/true, "{{ site_api_token }}", "{{ site_vault_blob }}", "{{ site_blob }}"]
      no_log: true
      changed_when: false
    - name: Assert the site secrets are given
      ansible.builtin.assert:
        that: [site_api_token | length > 10, site_vault_blob | length > 10, site_blob | length > 10]
        quiet: true
    - name: Say what was installed, the token hidden
      ansible.builtin.debug:
        msg: "installed clamav; onboarding output: {{ ('token ' ~ site_api_token) | replace(site_api_token, '****') }}"
"""


def careful_site(tmp_path: Path) -> Path:
    site = make_site(tmp_path)
    (site / "standin.yml").write_text(STANDIN + CAREFUL)
    group_vars = site / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    password = site / "vault-password"
    password.write_text("e2e-vault-password\n")
    argv = [str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file", str(password)]
    vaulted = subprocess.run(
        [*argv, VAULT_CANARY, "--name", "site_vault_blob"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    (group_vars / "vault.yml").write_text(vaulted)
    (group_vars / "site.yml").write_text(
        f"site_api_token: {INVENTORY_CANARY}\nsite_blob: {DECLARED_CANARY}\nripreplace_secret_vars: [site_blob]\n"
    )
    return site


def signing_keys(site: Path) -> tuple[Path, Path]:
    key = site / "keys" / "signing.pem"
    key.parent.mkdir()
    auditlog.generate_signing_key(key)
    return key, Path(f"{key}.pub")


def run_cli(site: Path, *args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ripreplace"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
        cwd=site,
        stdin=subprocess.DEVNULL,
    )


def operator_env(site: Path, key: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env.update(ENV_CANARIES)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()),
        ANSIBLE_VAULT_PASSWORD_FILE=str(site / "vault-password"),
        RIPREPLACE_SECRET_ENV="DATABASE_URL",
        RIPREPLACE_AUDIT_SIGNING_KEY_FILE=str(key),
    )
    return env


def assert_no_canary(run: Path) -> int:
    files = [p for p in run.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary} leaked into {path.relative_to(run)}"
    return len(files)


@pytest.fixture(scope="module")
def remediated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    site = careful_site(tmp_path_factory.mktemp("trail"))
    key, public = signing_keys(site)
    env = operator_env(site, key)
    result = run_cli(site, *base(site, "--window", "now/PT1H", "--batches", "1,100%", "--yes"), env=env)
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    (run,) = runs(site)
    return run, public, env


def test_no_secret_lands_under_the_run_directory(remediated: tuple[Path, Path, dict[str, str]]) -> None:
    run, public, env = remediated
    assert (run / "artifacts" / "batch-1" / "command").is_file()  # ansible-runner's record of the environment
    assert assert_no_canary(run) > 10
    command = json.loads((run / "artifacts" / "batch-1" / "command").read_text())
    assert "SITE_API_TOKEN" not in command["env"] and "RIPREPLACE_AUDIT_KEY" not in command["env"]
    assert command["env"]["ANSIBLE_VAULT_PASSWORD_FILE"]  # what ansible needs still gets through
    handoff = Path(command["env"]["RIPREPLACE_AUDIT_KEY_FILE"])
    assert not handoff.exists() and run not in handoff.parents  # the key's hand-off is gone, never in the run
    check = run_cli(
        run.parent, "verify-log", str(run), "--key-env", "RIPREPLACE_AUDIT_KEY", "--public-key", str(public), env=env
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "HMAC verified" in check.stdout and "1 run-end signature(s) verified" in check.stdout
    assert "manifest.json, state.json, summary.json as run-end recorded" in check.stdout
    said = [
        r["data"]["msg"]
        for r in auditlog.iter_records(run / "audit.jsonl")
        if r["data"].get("msg", "").startswith("installed")
    ]
    assert said and all(m == "installed clamav; onboarding output: token ****" for m in said)


def test_the_audit_run_writes_run_start_to_run_end_around_its_summary(tmp_path: Path) -> None:
    site = careful_site(tmp_path)
    key, public = signing_keys(site)
    env = operator_env(site, key)
    result = run_cli(site, "audit", "-i", str(site / "inv.yml"), "--runs-dir", str(site / "runs"), env=env)
    assert result.returncode in (ExitCode.OK, ExitCode.COVERED), result.stdout + result.stderr
    (run,) = runs(site)
    assert_no_canary(run)
    records = list(auditlog.iter_records(run / "audit.jsonl"))
    assert (records[0]["type"], records[0]["src"]) == ("run-start", "wrapper")
    assert (records[-1]["type"], records[-1]["src"]) == ("run-end", "wrapper")
    assert set(records[-1]["data"]["files"]) == {"summary.json", "manifest.json"}
    check = run_cli(
        site, "verify-log", str(run), "--key-env", "RIPREPLACE_AUDIT_KEY", "--public-key", str(public), env=env
    )
    assert check.returncode == 0, check.stdout + check.stderr
    summary = json.loads((run / "summary.json").read_text())
    summary["hosts"]["h1"]["status"] = "clean" if summary["hosts"]["h1"]["status"] != "clean" else "covered"
    (run / "summary.json").write_text(json.dumps(summary))
    check = run_cli(site, "verify-log", str(run), env=env)
    assert check.returncode == ExitCode.LOG_INVALID and "summary.json was changed after the run ended" in check.stdout


@pytest.mark.parametrize("tamper", ["summary", "manifest", "cut-tail", "forged-chain"])
def test_each_tampering_exits_6(remediated: tuple[Path, Path, dict[str, str]], tmp_path: Path, tamper: str) -> None:
    original, public, env = remediated
    run = tmp_path / "runs" / original.name
    shutil.copytree(original, run, symlinks=True)  # each tampering on its own copy of the run
    log = run / "audit.jsonl"
    if tamper == "summary":
        summary = json.loads((run / "summary.json").read_text())
        summary["hosts"]["h2"]["status"] = "remediated"
        summary["counts"] = {"remediated": 4}
        (run / "summary.json").write_text(json.dumps(summary))
    elif tamper == "manifest":
        manifest = json.loads((run / "manifest.json").read_text())
        manifest["ticket"], manifest["operator"] = "CHG-FORGED", "mallory"
        (run / "manifest.json").write_text(json.dumps(manifest))
    elif tamper == "cut-tail":
        log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-5]))
    else:  # every record re-chained after an edit, by someone without the signing key (and without HMAC)
        chain = collection.load_plugin_util("audit_chain")
        lines = log.read_bytes().splitlines(keepends=True)
        prev = None
        for i, raw in enumerate(lines):
            record = dict(chain.parse_line(raw.rstrip(b"\n")).fields)
            if prev is not None:
                record["prev"] = prev
            if record["type"] == "host-state" and record["data"].get("state") == "failed":
                record["data"]["state"] = "verified"
            if record["type"] == "run-end":
                record["data"]["chain_head"] = prev
            lines[i], prev = chain.seal(record)
        log.write_bytes(b"".join(lines))
        manifest = json.loads((run / "manifest.json").read_text())
        manifest["audit_log"]["final_hash"] = prev
        (run / "manifest.json").write_text(json.dumps(manifest))
    args = ["--public-key", str(public)] if tamper == "forged-chain" else ["--key-env", "RIPREPLACE_AUDIT_KEY"]
    check = run_cli(run.parent, "verify-log", str(run), *args, env=env)
    assert check.returncode == ExitCode.LOG_INVALID and "TAMPERED" in check.stdout, check.stdout + check.stderr
    report = run_cli(run.parent, "report", str(run), "--format", "json", "--key-env", "RIPREPLACE_AUDIT_KEY", env=env)
    assert report.returncode == ExitCode.LOG_INVALID, report.stderr
    assert json.loads(report.stdout)["audit_log_ok"] is False
    if tamper == "cut-tail":
        resumed = run_cli(
            tmp_path,
            "remediate",
            "-i",
            str(original.parent.parent / "inv.yml"),
            "--ticket",
            "CHG-2",
            "--window",
            "now/PT1H",
            "--runs-dir",
            str(run.parent),
            "--resume",
            run.name,
            "--yes",
            env=env,
        )
        assert resumed.returncode == ExitCode.LOG_INVALID and "does not verify" in resumed.stderr, resumed.stderr
