# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The audit_log callback in real ``ansible-playbook`` runs over the local connection (no lab).

Every ``v2_*`` hook the plugin implements is exercised by a real run (ok, changed, failed, skipped,
unreachable, loop items, retries, handlers, add_host); the log verifies with ``ripreplace
verify-log``; canary secrets (no_log result, password/token arguments, a secret-named extra var, a
vault value, a secret-named inventory var, a site-declared secret var) appear nowhere in the run
directory, while ordinary values (the product installed) are recorded; forks=20; a SIGKILL mid-run
leaves an "incomplete run", not a tampered log; the wrapper's API and the callback share one log
under ansible-runner; a standalone run signed with an Ed25519 key verifies with the public key.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ripreplace import collection

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.e2e
CALLBACK = "ripreplace.remediation.audit_log"
chain = collection.load_plugin_util("audit_chain")

CANARY_NO_LOG = "CANARY-nolog-7f3a9c1e"
CANARY_PASSWORD = "CANARY-password-51d2e8"
CANARY_TOKEN = "CANARY-token-a4b6c0d9"
CANARY_EXTRA = "CANARY-extravar-e8f1b2"
CANARY_VAULT = "CANARY-vault-3c9e07d1"
CANARY_INVENTORY = "CANARY-invpass-90ab1e"
CANARY_DECLARED = "CANARY-declared-5f2d7a"
CANARIES = (CANARY_NO_LOG, CANARY_PASSWORD, CANARY_TOKEN, CANARY_EXTRA, CANARY_VAULT, CANARY_INVENTORY, CANARY_DECLARED)
VAULT_PASSWORD = "vault-test-password"


def site_secrets(tmp_path: Path) -> Path:
    """group_vars/all beside the inventory: a vault value, a secret-named var, a site-declared secret var."""
    group_vars = tmp_path / "group_vars" / "all"
    group_vars.mkdir(parents=True)
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    vaulted = subprocess.run(
        [
            str(BIN / "ansible-vault"),
            "encrypt_string",
            "--vault-password-file",
            str(password_file),
            CANARY_VAULT,
            "--name",
            "site_vault_blob",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    (group_vars / "vault.yml").write_text(vaulted)
    (group_vars / "site.yml").write_text(
        f"site_db_password: {CANARY_INVENTORY}\nsite_blob: {CANARY_DECLARED}\nripreplace_secret_vars: [site_blob]\n"
    )
    return password_file


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ansible_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()),
        ANSIBLE_CALLBACKS_ENABLED=CALLBACK,
        ANSIBLE_LOCAL_TEMP=str(tmp_path / ".ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / ".ansible-remote"),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_SSH_ARGS="-o ConnectTimeout=3 -o BatchMode=yes",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n"
        "  hosts:\n"
        "    localhost:\n"
        "      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return path


def playbook(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def ansible_playbook(tmp_path: Path, book: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory(tmp_path)), str(book), *args],
        cwd=tmp_path,
        env=env or ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def verify_log(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ripreplace"), "verify-log", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def the_run_dir(tmp_path: Path) -> Path:
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


EVERY_HOOK = """
- name: Make the fleet
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add local hosts
      ansible.builtin.add_host:
        name: "{{ item }}"
        groups: [fleet]
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
      loop: [web1, web2]
    - name: Add a host behind a closed loopback port
      ansible.builtin.add_host:
        name: gone
        groups: [fleet]
        ansible_connection: ssh
        ansible_host: 127.0.0.1
        ansible_port: "{{ closed_port }}"
        ansible_user: nobody

- name: Exercise every hook
  hosts: fleet
  gather_facts: false
  vars:
    hidden: "%(nolog)s"
  tasks:
    - name: Probe the host
      ansible.builtin.ping:
    - name: Change something
      ansible.builtin.command: "true"
      notify: Report the change
    - name: Never runs
      ansible.builtin.debug:
        msg: skipped
      when: false
    - name: Fail web2
      ansible.builtin.fail:
        msg: web2 is broken
      when: inventory_hostname == 'web2'
    - name: Fail but carry on
      ansible.builtin.fail:
        msg: tolerated
      ignore_errors: true
    - name: Loop over packages
      ansible.builtin.debug:
        msg: "package {{ item }}"
      loop: [alpha, beta, gamma]
      when: item != 'beta'
    - name: Loop with a failing item
      ansible.builtin.command: "test {{ item }} = ok"
      loop: [ok, bad]
      ignore_errors: true
    - name: Retry until the second attempt
      ansible.builtin.debug:
        msg: try
      register: attempt
      until: attempt.attempts | default(1) >= 2
      retries: 3
      delay: 0
    - name: Secret result
      ansible.builtin.debug:
        msg: "{{ hidden }}"
      no_log: true
    - name: Secret-named arguments
      ansible.builtin.set_fact:
        db_password: "%(password)s"
        api_token: "%(token)s"
        harmless: visible
    - name: Use the extra var
      ansible.builtin.debug:
        msg: "extra is {{ site_api_token }}"
    - name: Use the site's secrets and an ordinary value
      ansible.builtin.debug:
        msg: "vault {{ site_vault_blob }} named {{ site_db_password }} declared {{ site_blob }} product {{ product }}"
    - name: Keep what only looks secret
      ansible.builtin.set_fact:
        repo_keys: [/usr/share/keyrings/vendor.gpg]
        replacement_apt_repo_key_file: /etc/ripreplace/repo.asc
  handlers:
    - name: Report the change
      ansible.builtin.debug:
        msg: changed
"""


def test_every_hook_verifies_and_leaks_no_canary(tmp_path: Path) -> None:
    book = playbook(
        tmp_path,
        "every_hook.yml",
        EVERY_HOOK % {"nolog": CANARY_NO_LOG, "password": CANARY_PASSWORD, "token": CANARY_TOKEN},
    )
    vault_password = site_secrets(tmp_path)
    result = ansible_playbook(
        tmp_path,
        book,
        "-e",
        f"site_api_token={CANARY_EXTRA}",
        "-e",
        "product=clamav-visible",
        "-e",
        f"closed_port={closed_port()}",
        "--vault-password-file",
        str(vault_password),
    )
    assert result.returncode in (2, 4), result.stdout + result.stderr  # web2 failed, gone unreachable
    assert "audit_log" not in result.stderr, result.stderr  # the plugin raised no error
    run = the_run_dir(tmp_path)
    log = run / "audit.jsonl"

    check = verify_log(run)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("\n") == 1 and ": OK: " in check.stdout and "matches manifest.json" in check.stdout

    recs = records(log)
    types = [r["type"] for r in recs]
    assert types[0] == "run-start" and types[-1] == "run-end" and types[-2] == "playbook-end"
    assert {"playbook-start", "play-start", "task", "item", "retry", "host-state"} <= set(types)
    tasks = [r["data"] for r in recs if r["type"] == "task"]
    statuses = {(t["host"], t["task"]): t["status"] for t in tasks}
    assert statuses[("web1", "Probe the host")] == "ok"
    assert statuses[("web1", "Change something")] == "changed"
    assert statuses[("web1", "Never runs")] == "skipped"
    assert statuses[("web2", "Fail web2")] == "failed"
    assert statuses[("gone", "Probe the host")] == "unreachable"
    assert statuses[("web1", "Report the change")] == "ok"  # the handler
    tolerated = next(t for t in tasks if t["task"] == "Fail but carry on" and t["host"] == "web1")
    assert tolerated["ignore_errors"] is True and tolerated["msg"] == "tolerated"
    assert all(t["start"] <= t["end"] for t in tasks if "start" in t)
    changed = next(t for t in tasks if t["task"] == "Change something" and t["host"] == "web1")
    assert changed["args"] == {"_raw_params": "true"} and changed["rc"] == 0

    items = [r["data"] for r in recs if r["type"] == "item" and r["data"]["host"] == "web1"]
    assert {(i["item"], i["status"]) for i in items} >= {
        ("alpha", "ok"),
        ("beta", "skipped"),
        ("gamma", "ok"),
        ("ok", "changed"),
        ("bad", "failed"),
    }
    loop_task = next(t for t in tasks if t["task"] == "Loop with a failing item" and t["host"] == "web1")
    assert loop_task["items"] == {"count": 2, "changed": 2, "failed": 1, "skipped": 0}
    retries = [r["data"] for r in recs if r["type"] == "retry" and r["data"]["host"] == "web1"]
    assert retries and retries[0]["attempts"] == 1

    states = {(r["data"]["host"], r["data"]["state"]) for r in recs if r["type"] == "host-state"}
    assert {
        ("web1", "added"),
        ("web2", "added"),
        ("gone", "added"),
        ("web2", "failed"),
        ("gone", "unreachable"),
    } <= states

    end = recs[-1]["data"]
    assert end["count"] == len(recs) and end["status"] == "failed"
    assert end["stats"]["web2"]["failures"] == 1 and end["stats"]["gone"]["unreachable"] == 1
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["audit_log"]["final_hash"] == recs[-1]["hash"] and manifest["audit_log"]["records"] == len(recs)
    assert recs[0]["data"]["manifest"]["run"] == manifest["run"] == recs[0]["run"]
    assert str(book) in manifest["sha256"]["playbooks"]
    assert recs[0]["data"]["mode"] == "apply"

    # privacy: the markers say what was left out ...
    secret = next(t for t in tasks if t["task"] == "Secret result" and t["host"] == "web1")
    assert secret["result"] == chain.REDACTED_NO_LOG and secret["args"] == chain.REDACTED_NO_LOG
    named = next(t for t in tasks if t["task"] == "Secret-named arguments" and t["host"] == "web1")
    assert named["args"]["db_password"] == chain.REDACTED_SECRET and named["args"]["api_token"] == chain.REDACTED_SECRET
    assert named["args"]["harmless"] == "visible"
    extra = next(t for t in tasks if t["task"] == "Use the extra var" and t["host"] == "web1")
    assert extra["msg"] == f"extra is {chain.REDACTED_VALUE}" and "msg: secret value" in extra["redacted"]
    site = next(t for t in tasks if t["task"] == "Use the site's secrets and an ordinary value" and t["host"] == "web1")
    hidden = chain.REDACTED_VALUE
    assert site["msg"] == f"vault {hidden} named {hidden} declared {hidden} product clamav-visible"
    kept = next(t for t in tasks if t["task"] == "Keep what only looks secret" and t["host"] == "web1")
    assert kept["args"] == {
        "repo_keys": ["/usr/share/keyrings/vendor.gpg"],
        "replacement_apt_repo_key_file": "/etc/ripreplace/repo.asc",
    }
    start = next(r["data"] for r in recs if r["type"] == "playbook-start")
    assert start["extra_vars"].startswith("<redacted: extra vars")
    # ... and no canary is anywhere in the run directory
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"audit.jsonl", "manifest.json"}
    for path in files:
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary} leaked into {path}"
    assert (os.stat(log).st_mode & 0o777) == 0o600 and (os.stat(run).st_mode & 0o777) == 0o700


def test_check_mode_is_recorded(tmp_path: Path) -> None:
    book = playbook(
        tmp_path,
        "check.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: 'true'\n",
    )
    result = ansible_playbook(tmp_path, book, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    recs = records(the_run_dir(tmp_path) / "audit.jsonl")
    assert recs[0]["data"]["mode"] == "check" and recs[0]["data"]["manifest"]["check_mode"] is True
    assert next(r for r in recs if r["type"] == "task")["data"]["check_mode"] is True


FORKS = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.add_host:
        name: "node{{ item }}"
        groups: [many]
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
      loop: "{{ range(20) | list }}"
- hosts: many
  gather_facts: false
  tasks:
"""


def test_forks_20_with_hmac(tmp_path: Path) -> None:
    tasks = "".join(
        f"    - name: step {n}\n      ansible.builtin.debug:\n"
        f"        msg: '{'x' * 2000} {{{{ inventory_hostname }}}}'\n"
        for n in range(4)
    )
    tasks += "    - name: a module\n      ansible.builtin.command: 'true'\n"
    book = playbook(tmp_path, "forks.yml", FORKS + tasks)
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(os.urandom(32))
    key_file.chmod(0o600)
    env = ansible_env(tmp_path, RIPREPLACE_AUDIT_KEY_FILE=str(key_file))
    result = ansible_playbook(tmp_path, book, "--forks", "20", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    run = the_run_dir(tmp_path)
    recs = records(run / "audit.jsonl")  # every line is one whole JSON record
    tasks_done = [r for r in recs if r["type"] == "task" and r["data"]["host"].startswith("node")]
    assert len(tasks_done) == 20 * 5
    assert all("hmac" in r for r in recs)
    check = verify_log(run, "--key-file", str(key_file))
    assert check.returncode == 0 and "HMAC verified" in check.stdout, check.stdout + check.stderr
    other_key = tmp_path / "other.key"
    other_key.write_bytes(b"not the key")
    forged = verify_log(run, "--key-file", str(other_key))
    assert forged.returncode == 6 and "TAMPERED: line 1" in forged.stdout


SLOW = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.add_host:
        name: "slow{{ item }}"
        groups: [slow]
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
      loop: [1, 2, 3, 4]
- hosts: slow
  gather_facts: false
  tasks:
"""


def test_sigkill_mid_run_is_an_incomplete_run(tmp_path: Path) -> None:
    tasks = "".join(f"    - name: wait {n}\n      ansible.builtin.command: sleep 0.3\n" for n in range(40))
    book = playbook(tmp_path, "slow.yml", SLOW + tasks)
    proc = subprocess.Popen(
        [str(BIN / "ansible-playbook"), "-i", str(inventory(tmp_path)), str(book), "--forks", "4"],
        cwd=tmp_path,
        env=ansible_env(tmp_path, RIPREPLACE_AUDIT_FSYNC_INTERVAL="0.2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill below reaches its workers, nothing else
    )
    try:
        deadline = time.monotonic() + 60
        log = None
        while time.monotonic() < deadline:
            found = list((tmp_path / "runs").glob("*/audit.jsonl")) if (tmp_path / "runs").exists() else []
            if found and found[0].read_bytes().count(b'"type":"task"') >= 10:
                log = found[0]
                break
            time.sleep(0.05)
        assert log is not None, "the run never got going"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    data = log.read_bytes()
    complete = data[: data.rfind(b"\n") + 1].splitlines()
    assert all(chain.parse_line(line) is not None for line in complete)
    check = verify_log(log.parent)
    assert check.returncode == 6, check.stdout + check.stderr
    assert "INCOMPLETE RUN" in check.stdout and "TAMPERED" not in check.stdout
    assert check.stdout.count("\n") == 1
    # the wrapper (or anyone) can still close the killed run: the chain continues and verifies
    with chain.AuditLog(log, run_id=log.parent.name) as audit:
        audit.decision("stop", reason="ansible-playbook was killed")
        audit.run_end(status="killed")
    assert verify_log(log.parent).returncode == 0


def test_wrapped_mode_under_ansible_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the ripreplace wrapper does: manifest, run-start, decisions, two playbooks (batches)
    through ansible-runner with RIPREPLACE_WRAPPED=1, run-end; one chain, one run."""
    from ripreplace import rundir, runner

    for name in [k for k in os.environ if k.startswith(("ANSIBLE_", "RIPREPLACE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp_path / ".ansible-local"))
    run = rundir.RunDir.create(tmp_path / "runs", "remediate")
    manifest = {"format": "ripreplace-manifest/1", "run": run.run_id, "mode": "remediate", "ticket": "CHG-42"}
    run.write_manifest(manifest)
    book = playbook(
        tmp_path,
        "batch.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: batch work\n      ansible.builtin.command: 'true'\n",
    )
    inv = str(inventory(tmp_path))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with chain.AuditLog(run.audit_log_path, run_id=run.run_id) as audit:
        audit.run_start(manifest)
        audit.decision("window-check", ok=True, window="now/PT1H")
        for batch in (1, 2):
            audit.decision("batch-start", batch=batch, hosts=["localhost"])
            result = runner.run_playbook(run, runner.PlaybookRequest(playbook=book, inventory=inv, ident=f"b{batch}"))
            assert result.status == "successful", result
            # ansible-runner's own SIGINT/SIGTERM handlers, installed when no cancel_callback is given, are not
            # left behind: a Ctrl-C or SIGTERM to this process still does what it did before the run
            assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
            audit.decision("batch-end", batch=batch, status=result.status)
        end = audit.run_end(status="successful", stats={"localhost": "remediated"}, manifest_path=run.manifest_path)

    recs = records(run.audit_log_path)
    assert [r["type"] for r in recs].count("run-start") == 1 and [r["type"] for r in recs].count("run-end") == 1
    assert [r["type"] for r in recs].count("playbook-start") == 2 and [r["type"] for r in recs].count(
        "playbook-end"
    ) == 2
    assert {r["src"] for r in recs} == {"wrapper", "callback"} and {r["run"] for r in recs} == {run.run_id}
    assert [r["data"]["kind"] for r in recs if r["type"] == "decision"] == [
        "window-check",
        "batch-start",
        "batch-end",
        "batch-start",
        "batch-end",
    ]
    assert sum(1 for r in recs if r["type"] == "task") == 2
    saved = json.loads(run.manifest_path.read_text())
    assert saved["ticket"] == "CHG-42" and saved["audit_log"]["final_hash"] == end.hash
    check = verify_log(run.path)
    assert check.returncode == 0 and "matches manifest.json" in check.stdout, check.stdout + check.stderr


def test_standalone_run_end_is_signed_and_covers_the_manifest(tmp_path: Path) -> None:
    """A plain ansible-playbook run signs its run-end (key from openssl, the documented command): the
    public key alone verifies it; another public key, or an edited manifest, fails (exit 6)."""
    key = tmp_path / "signing.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", str(key)], check=True, timeout=60)
    public = tmp_path / "signing.pub.pem"
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(public)], check=True, timeout=60)
    book = playbook(
        tmp_path, "signed.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"
    )
    env = ansible_env(tmp_path, RIPREPLACE_AUDIT_SIGNING_KEY_FILE=str(key), RIPREPLACE_TICKET="CHG-7")
    result = ansible_playbook(tmp_path, book, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    run = the_run_dir(tmp_path)
    end = records(run / "audit.jsonl")[-1]
    assert end["type"] == "run-end" and len(end["sig"]) == 128 and end["data"]["signature"]["alg"] == "ed25519"
    assert set(end["data"]["files"]) == {"manifest.json"}

    check = verify_log(run, "--public-key", str(public))
    assert check.returncode == 0 and "1 run-end signature(s) verified" in check.stdout, check.stdout + check.stderr
    unchecked = verify_log(run)
    assert unchecked.returncode == 0 and "signature present but not checked" in unchecked.stdout
    other = tmp_path / "other"
    assert verify_log(other, "--gen-key", str(other)).returncode == 2  # --gen-key takes no PATH
    made = subprocess.run(
        [str(BIN / "ripreplace"), "verify-log", "--gen-key", str(other)], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0 and (tmp_path / "other.pub").is_file(), made.stderr
    assert oct((tmp_path / "other").stat().st_mode & 0o777) == "0o600"
    wrong = verify_log(run, "--public-key", str(tmp_path / "other.pub"))
    assert wrong.returncode == 6 and "TAMPERED" in wrong.stdout and "another key" in wrong.stdout

    manifest = json.loads((run / "manifest.json").read_text())
    manifest["ticket"] = "CHG-FORGED"
    (run / "manifest.json").write_text(json.dumps(manifest))
    forged = verify_log(run, "--public-key", str(public))
    assert forged.returncode == 6 and "manifest.json was changed after the run ended" in forged.stdout


def test_the_chain_head_is_in_the_stats_the_stdout_callback_reports(tmp_path: Path) -> None:
    """The run-end is written before the stdout callback reports the stats, and the chain head is a
    custom stat (``ripreplace_audit``, as set_stats makes one): the stdout callback (here the default
    one, showing custom stats; under ansible-runner awx_display, which turns them into the job's
    artifacts) sees the final hash of the finished chain, beside the play's own set_stats.
    ansible-playbook sends the stats after each playbook file: with two, each has its run-end and
    each stats report shows the head of its own."""
    first = playbook(
        tmp_path,
        "first.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.set_stats:\n        data: {site_count: 3}\n",
    )
    second = playbook(
        tmp_path, "second.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"
    )
    env = ansible_env(tmp_path, ANSIBLE_SHOW_CUSTOM_STATS="1")
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory(tmp_path)), str(first), str(second)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    run = the_run_dir(tmp_path)
    recs = records(run / "audit.jsonl")
    ends = [(n, r) for n, r in enumerate(recs, 1) if r["type"] == "run-end"]
    assert len(ends) == 2 and recs[-1]["type"] == "run-end", [r["type"] for r in recs]
    final = json.loads((run / "manifest.json").read_text())["audit_log"]["final_hash"]
    assert final == recs[-1]["hash"] and verify_log(run).returncode == 0
    reports = result.stdout.split("CUSTOM STATS")[1:]
    assert len(reports) == 2, result.stdout
    for (count, end), custom in zip(ends, reports, strict=True):
        assert custom.count(end["hash"]) == 1 and '"site_count": 3' in custom, custom
        assert f'"run_id": "{end["run"]}"' in custom and f'"records": {count}' in custom, custom


HALT = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Make the log immutable (its next append fails with EPERM)
      ansible.builtin.command:
        argv: [chattr, +i, "{{ log }}"]
      changed_when: false
      when: log is defined
    - name: A change the log could not record
      ansible.builtin.file:
        path: "{{ marker }}"
        state: touch
        mode: "0600"
"""


def test_a_log_that_cannot_be_opened_stops_the_playbook_before_its_first_task(tmp_path: Path) -> None:
    book = playbook(tmp_path, "halt.yml", HALT)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    marker = tmp_path / "changed"
    env = ansible_env(tmp_path, RIPREPLACE_AUDIT_LOG=str(blocker / "audit.jsonl"))
    result = ansible_playbook(tmp_path, book, "-e", f"marker={marker}", env=env)
    assert result.returncode == -signal.SIGTERM, result.stdout + result.stderr  # ended as by kill -TERM
    said = " ".join(result.stderr.split())  # ansible-core 2.16 wraps errors at 80 columns
    assert "the audit log is NOT being written" in said and "stopping the playbook" in said, said
    assert not marker.exists()
    # halt_on_error=false: the error is shown and the playbook goes on, without a log
    env["RIPREPLACE_AUDIT_HALT_ON_ERROR"] = "false"
    result = ansible_playbook(tmp_path, book, "-e", f"marker={marker}", env=env)
    assert result.returncode == 0 and marker.exists(), result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "the audit log is NOT being written" in said and "stopping the playbook" not in said, said
    # a value that is not a boolean (Ansible's lenient parsing would read "maybe" as false) halts, with a warning
    marker.unlink()
    env["RIPREPLACE_AUDIT_HALT_ON_ERROR"] = "maybe"
    result = ansible_playbook(tmp_path, book, "-e", f"marker={marker}", env=env)
    assert result.returncode == -signal.SIGTERM, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert "halt_on_error 'maybe' is not a boolean" in said and "stopping the playbook" in said, said
    assert not marker.exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"), reason="chattr +i needs root")
def test_a_record_that_cannot_be_written_stops_the_playbook_before_the_next_task(tmp_path: Path) -> None:
    book = playbook(tmp_path, "halt.yml", HALT)
    log = tmp_path / "run" / "audit.jsonl"
    marker = tmp_path / "changed"
    env = ansible_env(tmp_path, RIPREPLACE_AUDIT_LOG=str(log))
    try:
        result = ansible_playbook(tmp_path, book, "-e", f"marker={marker}", "-e", f"log={log}", env=env)
    finally:
        subprocess.run(["chattr", "-i", str(log)], check=False)
    assert result.returncode == -signal.SIGTERM, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert f"cannot write a task record to {log}" in said and "stopping the playbook" in said, said
    assert not marker.exists()
    # what the log holds verifies as an incomplete run (no run-end), never as tampered
    check = verify_log(log.parent)
    assert check.returncode == 6 and "INCOMPLETE RUN" in check.stdout and "TAMPERED" not in check.stdout, check.stdout
