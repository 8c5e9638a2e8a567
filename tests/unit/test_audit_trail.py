# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""A trail that proves itself (issue 11): run-end signatures, a cut tail, the run files run-end
covers, what redaction hides and keeps, and the environment a playbook gets (no secret).

The log's own writer and verifier are covered in test_audit_chain.py; these build on them.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from ripreplace import auditlog, childenv, cli, collection

chain = collection.load_plugin_util("audit_chain")

KEY = b"k" * 32


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "signing.pem"
    auditlog.generate_signing_key(path)
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def fields(line: bytes) -> dict:
    parsed = chain.parse_line(line.rstrip(b"\n"))
    assert parsed is not None
    return dict(parsed.fields)


def make_run(
    run: Path, *, key: bytes | None = None, signer: auditlog.Signer | None = None, summary: bool = True
) -> auditlog.Appended:
    """A run directory as the wrapper leaves it: manifest, log, state.json tracked, summary before run-end."""
    run.mkdir(parents=True, exist_ok=True)
    manifest = {"run": "r1", "mode": "remediate", "ticket": "CHG-1", "operator": "alice"}
    (run / "manifest.json").write_text(json.dumps(manifest))
    state = run / "state.json"
    state.write_text(json.dumps({"hosts": {"h1": {"state": "pending"}}}))
    with auditlog.AuditLog(run / "audit.jsonl", run_id="r1", key=key, signer=signer, tracked=[state]) as log:
        log.run_start(manifest)
        log.decision("batch-start", batch=1, hosts=["h1"])
        log.writer.append(chain.TASK, {"host": "h1", "task": "remove", "status": "changed"})
        state.write_text(json.dumps({"hosts": {"h1": {"state": "verified"}}}))
        log.decision("batch-end", batch=1)
        if summary:
            (run / "summary.json").write_text(json.dumps({"run": "r1", "hosts": {"h1": {"status": "remediated"}}}))
        return log.run_end(
            status="successful",
            summary_path=run / "summary.json" if summary else None,
            manifest_path=run / "manifest.json",
        )


# ------------------------------------------------------------------------------------------
# signatures


def test_signed_run_end_verifies_with_the_public_key_only(tmp_path: Path, signing_key: Path) -> None:
    signer = auditlog.load_signer(signing_key)
    make_run(tmp_path / "run", signer=signer)
    end = list(auditlog.iter_records(tmp_path / "run" / "audit.jsonl"))[-1]
    assert end["type"] == "run-end" and len(end["sig"]) == 128
    assert end["data"]["signature"] == {"alg": "ed25519", "key_id": signer.key_id}
    verifier = auditlog.load_verifier(Path(f"{signing_key}.pub"))
    verdict = auditlog.verify_run(tmp_path / "run", verifier=verifier)
    assert verdict.ok, verdict.one_line()
    assert "1 run-end signature(s) verified" in verdict.one_line()
    assert "signature present but not checked" in auditlog.verify_run(tmp_path / "run").one_line()


def test_a_chain_rewritten_without_the_signing_key_fails(tmp_path: Path, signing_key: Path) -> None:
    """No HMAC key: an editor can re-chain every record and the run-end, but cannot sign it."""
    run = tmp_path / "run"
    make_run(run, signer=auditlog.load_signer(signing_key))
    log = run / "audit.jsonl"
    lines = lines_of(log)
    body = fields(lines[2])
    body["data"]["status"] = "failed"
    prev = None
    for i in range(2, len(lines)):
        record = body if i == 2 else fields(lines[i])
        if prev is not None:
            record["prev"] = prev
        if record["type"] == "run-end":
            record["data"]["chain_head"] = prev
        line, prev = chain.seal(record)  # re-chained, the old signature dropped
        lines[i] = line
    write_lines(log, lines)
    (run / "manifest.json").write_text(json.dumps({"run": "r1", "mode": "remediate", "ticket": "CHG-1"}))
    verifier = auditlog.load_verifier(Path(f"{signing_key}.pub"))
    verdict = auditlog.verify(log, verifier=verifier)
    assert verdict.status == auditlog.TAMPERED and verdict.line == len(lines) and "not signed" in verdict.message
    # keeping the old signature on the new body does not help
    write_lines(log, [*lines[:-1], lines[-1][:-2] + b',"sig":"' + b"ab" * 64 + b'"}\n'])
    verdict = auditlog.verify(log, verifier=verifier)
    assert verdict.status == auditlog.TAMPERED and "does not verify" in verdict.message


def test_signing_key_files_are_checked(tmp_path: Path, signing_key: Path) -> None:
    with pytest.raises(auditlog.AuditKeyError, match="cannot read"):
        auditlog.load_signer(tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_text("\n")
    with pytest.raises(auditlog.AuditKeyError, match="empty"):
        auditlog.load_signer(tmp_path / "empty.pem")
    (tmp_path / "junk.pem").write_text("not a key\n")
    with pytest.raises(auditlog.AuditKeyError, match="not an unencrypted PEM private key"):
        auditlog.load_signer(tmp_path / "junk.pem")
    rsa = tmp_path / "rsa.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(rsa)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(auditlog.AuditKeyError, match="not an Ed25519 key"):
        auditlog.load_signer(rsa)
    with pytest.raises(auditlog.AuditKeyError, match="not a PEM or OpenSSH public key"):
        auditlog.load_verifier(signing_key)  # the private key is not a public key file
    with pytest.raises(auditlog.AuditKeyError, match="exists"):
        auditlog.generate_signing_key(signing_key)


def test_public_key_as_an_openssh_line(tmp_path: Path, signing_key: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    signer = auditlog.load_signer(signing_key)
    make_run(tmp_path / "run", signer=signer)
    pem = serialization.load_pem_public_key(Path(f"{signing_key}.pub").read_bytes())
    ssh = tmp_path / "key.pub"
    ssh.write_bytes(pem.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH) + b" audit\n")
    verifier = auditlog.load_verifier(ssh)
    assert verifier.key_id == signer.key_id
    assert auditlog.verify_run(tmp_path / "run", verifier=verifier).ok


# ------------------------------------------------------------------------------------------
# a cut tail is tampering when the manifest says the run ended


def test_cut_tail_with_the_manifest_is_tampered_and_without_it_incomplete(tmp_path: Path) -> None:
    run = tmp_path / "run"
    end = make_run(run, key=KEY)
    log = run / "audit.jsonl"
    full = lines_of(log)
    write_lines(log, full[:-2])  # the last two records, run-end included, deleted
    verdict = auditlog.verify_run(run, key=KEY)
    assert verdict.status == auditlog.TAMPERED and "removed from its end" in verdict.message
    assert f"record {end.count}" in verdict.message
    # the same cut, the manifest's final hash also removed: a killed run as far as anyone can tell
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["audit_log"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    verdict = auditlog.verify_run(run, key=KEY)
    assert verdict.status == auditlog.INCOMPLETE and "TAMPERED" not in verdict.one_line()


def test_partial_last_line_after_a_recorded_run_end_is_tampered(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run)
    log = run / "audit.jsonl"
    data = log.read_bytes()
    log.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 41])  # run-end cut to 40 bytes
    verdict = auditlog.verify_run(run)
    assert verdict.status == auditlog.TAMPERED and "removed from its end" in verdict.message


def test_a_log_not_holding_the_manifests_hash_is_tampered(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run)
    log = run / "audit.jsonl"
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["audit_log"]["records"] = 3  # as long as the cut log, but its hash is elsewhere
    (run / "manifest.json").write_text(json.dumps(manifest))
    write_lines(log, lines_of(log)[:3])
    verdict = auditlog.verify_run(run)
    assert verdict.status == auditlog.TAMPERED and "no record of the log has" in verdict.message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\xffgarbage", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"audit_log": "x"}', "audit_log is not an object"),
        (b'{"audit_log": {"final_hash": "nothex", "records": 3}}', "not a sha256"),
        (b'{"audit_log": {"final_hash": "' + b"a" * 64 + b'", "records": true}}', "not a positive count"),
    ],
)
def test_a_garbage_manifest_fails_verification(tmp_path: Path, content: bytes, reason: str) -> None:
    run = tmp_path / "run"
    make_run(run)
    (run / "manifest.json").write_bytes(content)
    verdict = auditlog.verify_run(run)
    assert verdict.status == auditlog.TAMPERED and reason in verdict.message, verdict.one_line()


# ------------------------------------------------------------------------------------------
# the files run-end covers


def test_run_end_covers_summary_manifest_and_state(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run)
    records = list(auditlog.iter_records(run / "audit.jsonl"))
    assert set(records[-1]["data"]["files"]) == {"summary.json", "manifest.json", "state.json"}
    batch_end = next(r for r in records if r["type"] == "decision" and r["data"]["kind"] == "batch-end")
    assert batch_end["data"]["files"]["state.json"] == auditlog.files.sha256_file(run / "state.json")
    verdict = auditlog.verify_run(run)
    assert verdict.ok and "manifest.json, state.json, summary.json as run-end recorded" in verdict.one_line()
    assert "final hash matches manifest.json" in verdict.one_line()
    assert "not cross-checked" not in verdict.one_line() and "job's stats" not in verdict.one_line()
    # the manifest's own layout may change (it is compared as canonical JSON, without audit_log)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps(manifest, indent=8, sort_keys=False))
    assert auditlog.verify_run(run).ok


@pytest.mark.parametrize("name", ["summary.json", "manifest.json", "state.json"])
def test_an_edited_run_file_is_tampered(tmp_path: Path, name: str) -> None:
    run = tmp_path / "run"
    make_run(run)
    data = json.loads((run / name).read_text())
    if name == "summary.json":
        data["hosts"]["h1"]["status"] = "failed"
    elif name == "manifest.json":
        data["operator"] = "mallory"
    else:
        data["hosts"]["h1"]["state"] = "failed"
    (run / name).write_text(json.dumps(data))
    verdict = auditlog.verify_run(run)
    assert verdict.status == auditlog.TAMPERED and f"{name} was changed after the run ended" in verdict.message
    (run / name).unlink()
    verdict = auditlog.verify_run(run)
    assert verdict.status == auditlog.TAMPERED and f"{name} is missing" in verdict.message


def test_a_summary_run_end_does_not_cover_is_named(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run, summary=False)
    (run / "summary.json").write_text("{}")
    verdict = auditlog.verify_run(run)
    assert verdict.ok and "summary.json not covered by run-end: content not verified" in verdict.one_line()


def test_verify_log_command_with_public_key_and_gen_key(
    tmp_path: Path, signing_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_run(tmp_path / "run", signer=auditlog.load_signer(signing_key))
    assert cli.main(["verify-log", str(tmp_path / "run"), "--public-key", f"{signing_key}.pub"]) == 0
    assert "signature(s) verified" in capsys.readouterr().out
    assert cli.main(["verify-log", str(tmp_path / "run"), "--public-key", str(tmp_path / "nope")]) == 2
    assert "--public-key" in capsys.readouterr().err
    assert cli.main(["verify-log"]) == 2
    assert cli.main(["verify-log", "--gen-key", str(tmp_path / "new.pem")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "new.pem.pub" in out
    assert stat.S_IMODE((tmp_path / "new.pem").stat().st_mode) == 0o600
    assert cli.main(["verify-log", "--gen-key", str(tmp_path / "new.pem")]) == 2  # never overwritten
    (tmp_path / "run" / "summary.json").write_text("{}")
    assert cli.main(["verify-log", str(tmp_path / "run")]) == 6
    assert "summary.json was changed" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# redaction: secrets, not every value


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("db_password", True),
        ("ansible_ssh_pass", True),
        ("ansible_become_pass", True),
        ("api_key", True),
        ("signing_key", True),
        ("private_key", True),
        ("client_secret", True),
        ("vault_token", True),
        ("passphrase", True),
        ("aws_credentials", True),
        ("repo_key_passphrase", True),
        ("replacement_product", False),
        ("repo_keys", False),
        ("replacement_apt_repo_key_file", False),
        ("ansible_ssh_private_key_file", False),
        ("host_key_checking", False),
        ("public_key", False),
        ("gpg_key", False),
        ("key_id", False),
        ("key", False),
        ("keys", False),
        ("keyrings", False),
        ("monkey", False),
        ("compass", False),
        ("passthrough", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert chain.is_secret_name(name) is secret


class EncryptedString:
    """Stands in for ansible's vault value: its str() is the plaintext."""

    def __init__(self, plaintext: str) -> None:
        self._plaintext = plaintext

    def __str__(self) -> str:
        return self._plaintext


def test_secret_values_from_variables() -> None:
    variables = {
        "replacement_product": "clamav",
        "site_db_password": "hunter2-long",
        "nested": {"inner": {"api_token": "tok-123456"}, "plain": "visible-value"},
        "vaulted": EncryptedString("vault-plain-1"),
        "deep": [{"x": EncryptedString("vault-plain-2")}],
        "site_blob": "declared-value",
        "other_blob": "other-declared",
        "ripreplace_secret_vars": ["site_blob"],
        "ansible_facts": {"password": "not-searched"},
    }
    found = chain.secret_values(variables, declared=["other_blob"])
    assert found == {"hunter2-long", "tok-123456", "vault-plain-1", "vault-plain-2", "declared-value", "other-declared"}


def test_redactor_scrubs_learnt_secret_values_and_keeps_the_rest() -> None:
    redactor = chain.Redactor()
    assert redactor.add_scrub_values({"hunter2-long", "abc"})  # "abc" is too short to scrub
    assert not redactor.add_scrub_values({"hunter2-long"})
    clean, redacted = redactor.clean({"msg": "pw hunter2-long installed clamav", "args": {"product": "clamav"}})
    assert clean == {"msg": f"pw {chain.REDACTED_VALUE} installed clamav", "args": {"product": "clamav"}}
    assert redacted == ["msg: secret value"]


# ------------------------------------------------------------------------------------------
# the environment a playbook gets


def test_child_environment_holds_no_secret() -> None:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "RIPREPLACE_AUDIT_KEY": "the-hmac-key",
        "RIPREPLACE_AUDIT_KEY_ENV": "MY_AUDIT",
        "MY_AUDIT": "the-hmac-key",
        "RIPREPLACE_AUDIT_SIGNING_KEY_FILE": "/etc/ripreplace/signing.pem",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "GITHUB_TOKEN": "gh",
        "DB_PASSWORD": "db",
        "VAULT_PASSPHRASE": "vp",
        "DATABASE_URL": "postgres://u:pw@h/db",
        "RIPREPLACE_SECRET_ENV": "DATABASE_URL",
        "INNOCENT": "contains the-hmac-key inside",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PARAMIKO_LOOK_FOR_KEYS": "False",
        "ANSIBLE_VAULT_PASSWORD_FILE": "/etc/ansible/vault-pass",
        "ANSIBLE_PRIVATE_KEY_FILE": "/root/.ssh/id_ed25519",
        "ANSIBLE_NET_PASSWORD": "netpw",
        "VMWARE_PASSWORD": "needed-by-an-inventory-plugin",
        "RIPREPLACE_PASS_ENV": "VMWARE_PASSWORD",
    }
    ours = {"RIPREPLACE_AUDIT_KEY_FILE": "/dev/shm/x/audit.key", "PATH": "/venv/bin:/usr/bin"}
    out = childenv.scrub(env, ours=ours, secrets=[b"the-hmac-key"])
    assert out == {
        "PATH": "/venv/bin:/usr/bin",
        "HOME": "/root",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PARAMIKO_LOOK_FOR_KEYS": "False",
        "ANSIBLE_VAULT_PASSWORD_FILE": "/etc/ansible/vault-pass",
        "ANSIBLE_PRIVATE_KEY_FILE": "/root/.ssh/id_ed25519",
        "VMWARE_PASSWORD": "needed-by-an-inventory-plugin",
        "RIPREPLACE_PASS_ENV": "VMWARE_PASSWORD",
        "RIPREPLACE_AUDIT_KEY_FILE": "/dev/shm/x/audit.key",
    }


def test_key_handoff_is_private_and_removed(tmp_path: Path) -> None:
    with childenv.key_handoff(None) as env:
        assert env == {}
    with childenv.key_handoff(b"the-key") as env:
        path = Path(env[auditlog.ENV_KEY_FILE])
        assert path.read_bytes() == b"the-key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.parent.name.startswith(f"ripreplace-key-{os.getpid()}-")
    assert not path.exists() and not path.parent.exists()


def test_stale_handoff_of_a_dead_wrapper_is_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"ripreplace-key-{dead.pid}-abc"
    stale.mkdir(mode=0o700)
    (stale / "audit.key").write_bytes(b"old")
    live = tmp_path / f"ripreplace-key-{os.getpid()}-def"
    live.mkdir(mode=0o700)
    childenv.remove_stale_handoffs(str(tmp_path))
    assert not stale.exists() and live.is_dir()


def test_keys_from_env(tmp_path: Path, signing_key: Path) -> None:
    assert auditlog.keys_from_env({}) == auditlog.Keys()
    keys = auditlog.keys_from_env({"RIPREPLACE_AUDIT_KEY_ENV": "X", "X": "k1", "RIPREPLACE_AUDIT_KEY": "k0"})
    assert keys.hmac == b"k1" and keys.signer is None and keys.verifier is None
    keys = auditlog.keys_from_env({"RIPREPLACE_AUDIT_SIGNING_KEY_FILE": str(signing_key)})
    assert keys.signer is not None and keys.verifier is not None and keys.verifier.key_id == keys.signer.key_id
    assert "k1" not in repr(auditlog.keys_from_env({"RIPREPLACE_AUDIT_KEY": "k1"}))
    with pytest.raises(auditlog.AuditKeyError):
        auditlog.keys_from_env({"RIPREPLACE_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "missing")})
