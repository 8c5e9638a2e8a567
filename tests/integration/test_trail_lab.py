# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The trail on lab hosts (issues 11 and 12): real SSH, a covered product planted and removed.

1. ``ripreplace audit`` then ``ripreplace remediate`` of a light host, with canary secrets in the
   operator's environment (the HMAC key among them), in the site's inventory vars, in a vault value
   and in a site-declared secret var, and a signing key: no canary in any byte under either run
   directory; both logs verify with the HMAC key and the public key alone.
2. The collection's audit and remediate playbooks through ``ansible-runner transmit | worker |
   process`` (AWX's and Receptor's way) with AWX's identity variables: from the process side alone,
   ``verify-log`` exits 0; from a job-events export built from the run, the same; an edited event
   exits 6; the job id and user are in the manifest.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.hoststate import package_states
from tests.runner_stream import BIN, private_dir, transmit_worker_process

from ripreplace import auditlog
from ripreplace.lab import fakeapproved

pytestmark = pytest.mark.lab

ENV_CANARIES = {
    "RIPREPLACE_AUDIT_KEY": "CANARY-lab-hmackey-4d5e6f",
    "SITE_API_TOKEN": "CANARY-lab-envtoken-1a2b",
    "DB_PASSWORD": "CANARY-lab-envpassword-3c4d",
}
INVENTORY_CANARY = "CANARY-lab-invsecret-7e8f"
DECLARED_CANARY = "CANARY-lab-declared-9a0b"
VAULT_CANARY = "CANARY-lab-vault-c1d2"
CANARIES = [*ENV_CANARIES.values(), INVENTORY_CANARY, DECLARED_CANARY, VAULT_CANARY]


def site(lab: Any, workdir: Path) -> Path:
    """The lab inventory with the replacement's lab settings and the site's secrets (one of them vaulted)."""
    data = yaml.safe_load((lab.dir / "inventory.yml").read_text())
    data["all"]["vars"].update(
        {
            "replacement_clamav_signatures_url": lab.lab.state["repo_url"] + "clamav/",
            "replacement_clamav_official_databases": False,
            "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
            "site_db_password": INVENTORY_CANARY,
            "site_blob": DECLARED_CANARY,
            "ripreplace_secret_vars": ["site_blob"],
        }
    )
    inventory = workdir / "inventory.yml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    (workdir / "group_vars" / "all").mkdir(parents=True)
    password = workdir / "vault-password"
    password.write_text("lab-vault-password\n")
    argv = [str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file", str(password)]
    vaulted = subprocess.run(
        [*argv, VAULT_CANARY, "--name", "site_vault_blob"], capture_output=True, text=True, check=True, timeout=60
    )
    (workdir / "group_vars" / "all" / "vault.yml").write_text(vaulted.stdout)
    return inventory


def no_canary_under(run: Path) -> None:
    for path in run.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for canary in CANARIES:
                assert canary.encode() not in data, f"{canary} leaked into {path}"


def test_audit_and_remediation_leak_no_secret_and_verify(lab: Any, workdir: Path) -> None:
    host = lab.light_hosts[0]
    lab.reset(host)
    lab.plant(host, "kesl")
    inventory = site(lab, workdir)
    key = workdir / "signing.pem"
    auditlog.generate_signing_key(key)
    env = {
        **ENV_CANARIES,
        "ANSIBLE_VAULT_PASSWORD_FILE": str(workdir / "vault-password"),
        "RIPREPLACE_AUDIT_SIGNING_KEY_FILE": str(key),
    }
    runs = workdir / "runs"
    common = ("-i", str(inventory), "--limit", host, "--runs-dir", str(runs), "--output", "json")
    audit = lab.ripreplace("audit", *common, env=env, cwd=workdir)
    assert audit.returncode == 3, audit.stderr  # covered software found
    fix = lab.ripreplace(
        "remediate", *common, "--ticket", "CHG-11", "--window", "now/PT2H", "--yes", env=env, cwd=workdir
    )
    assert fix.returncode == 0, fix.stderr
    assert package_states(lab, host, "kesl") == {"kesl": "absent"}
    assert len(list(runs.iterdir())) == 2
    for run in runs.iterdir():
        no_canary_under(run)
        check = lab.ripreplace(
            "verify-log", str(run), "--key-env", "RIPREPLACE_AUDIT_KEY", "--public-key", f"{key}.pub", env=env
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "signature(s) verified" in check.stdout and "summary.json" in check.stdout


@pytest.mark.parametrize("playbook", ["audit", "remediate"])
def test_a_job_through_transmit_worker_process_keeps_its_trail(
    lab: Any, workdir: Path, tmp_path: Path, playbook: str
) -> None:
    host = lab.light_hosts[1]
    lab.reset(host)
    lab.plant(host, "kesl")
    inventory = yaml.safe_load(site(lab, workdir).read_text())
    extravars = {"awx_job_id": 911, "awx_user_name": "auditor-alice", "awx_job_template_name": f"ripreplace {playbook}"}
    extravars["ripreplace_targets"] = host  # remediate.yml's target (audit.yml audits every host, read-only)
    extravars.update(ripreplace_ticket="CHG-911", ripreplace_window="now/PT1H")  # remediate.yml's window guard
    src = private_dir(tmp_path, playbook, extravars, inventory, playbook=playbook)
    out = transmit_worker_process(tmp_path, src)
    check = lab.ripreplace("verify-log", str(out))
    assert check.returncode == 0, check.stdout + check.stderr
    manifest = json.loads((out / "artifacts" / "ripreplace" / "manifest.json").read_text())
    assert manifest["engine"]["awx_job_id"] == 911 and manifest["operator"] == "auditor-alice"
    if playbook == "remediate":
        assert package_states(lab, host, "kesl") == {"kesl": "absent"}
    events = sorted(
        (json.loads(p.read_text()) for p in (out / "artifacts" / "job_events").glob("*.json")),
        key=lambda e: e["counter"],
    )
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"count": len(events), "results": events}))
    assert lab.ripreplace("verify-log", str(export)).returncode == 0
    target = next(e for e in events if '"type":"task"' in e["stdout"] and f'"host":"{host}"' in e["stdout"])
    target["stdout"] = target["stdout"].replace(f'"host":"{host}"', '"host":"elsewhere"', 1)
    export.write_text(json.dumps({"results": events}))
    edited = lab.ripreplace("verify-log", str(export))
    assert edited.returncode == 6 and "TAMPERED" in edited.stdout, edited.stdout
