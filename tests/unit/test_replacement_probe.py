# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The replacement_probe module's decision, on this machine's real commands (dpkg-query, cat, sh).

Healthy only when every package is installed, the service is active and every check passes; a
sensitive check's output is never returned; the recorded fact is read back as JSON. The lab test
(tests/integration/test_remediate_rerun_lab.py) probes a real ClamAV.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.collection_code import load

probe_module = load("plugins.modules.replacement_probe")
timed_command = load("plugins.module_utils.timed_command")

pytestmark = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg")


def _module(monkeypatch):
    """A real AnsibleModule, built in this process as AnsiballZ would build it."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {}})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    return basic.AnsibleModule(argument_spec={})


@pytest.fixture
def run(monkeypatch):
    """timed_command's runner over a real AnsibleModule's run_command."""
    return timed_command.runner(_module(monkeypatch))


@pytest.fixture
def run_late(monkeypatch):
    """The same, on a machine so busy that each command has ended before its stdin is written (seen in CI):
    run_command's own hook, called between starting the command and writing its stdin, waits for it."""
    module = _module(monkeypatch)
    real = module.run_command

    def run_command(args, before_communicate_callback=None, **kwargs):
        def ended_first(proc):
            before_communicate_callback(proc)
            proc.wait()

        return real(args, before_communicate_callback=ended_first, **kwargs)

    module.run_command = run_command
    return timed_command.runner(module)


def params(tmp_path: Path, **more):
    base = {
        "packages": ["dpkg"],
        "version_package": "dpkg",
        "service": "ripreplace-no-such-service",
        "service_manager": "sysvinit",
        "checks": [],
        "timeout": 30,
        "fact_path": "",
    }
    base.update(more)
    return base


def test_a_missing_package_is_not_healthy_and_its_checks_are_not_reported(tmp_path, run):
    result = probe_module.probe(params(tmp_path, packages=["dpkg", "ripreplace-no-such-package"]), run)
    assert result["installed"] == {"dpkg": "ii", "ripreplace-no-such-package": "absent"}
    assert result["all_installed"] is False and result["healthy"] is False and result["checks"] == []
    assert result["reason"] == "not installed: ripreplace-no-such-package" and result["version"]


def test_an_inactive_service_is_not_healthy(tmp_path, run):
    result = probe_module.probe(params(tmp_path), run)
    assert result["all_installed"] is True and result["healthy"] is False
    assert result["checks"][0]["name"] == "ripreplace-no-such-service service active"
    assert result["checks"][0]["ok"] is False and result["reason"].startswith(
        "ripreplace-no-such-service service active:"
    )


def test_checks_with_stdin_rc_and_expect_and_a_sensitive_one(tmp_path, run):
    fact = tmp_path / "ripreplace.fact"
    fact.write_text(json.dumps({"format": "ripreplace-fact/1", "outcome": "verified"}))
    service = tmp_path / "svc"
    service.write_text("#!/bin/sh\necho running\n")
    service.chmod(0o755)
    checks = [
        {
            "name": "found",
            "argv": ["sh", "-c", "cat; exit 1"],
            "stdin": "stream: X FOUND",
            "rc": 1,
            "expect": " FOUND$",
        },
        {"name": "clean", "argv": ["cat"], "stdin": "stream: OK", "rc": 0, "expect": ""},
        {"name": "secret", "argv": ["echo", "cid=abc"], "stdin": None, "rc": 0, "expect": "^cid=", "sensitive": True},
    ]
    # the service "manager" is the init script's path: /etc/init.d/<name> -> point it at the stand-in script
    result = probe_module.probe(
        params(tmp_path, service="../.." + str(service), checks=checks, fact_path=str(fact)), run
    )
    assert [c["ok"] for c in result["checks"]] == [True, True, True, True], result
    assert result["healthy"] is True and result["reason"] == ""
    assert result["checks"][3]["detail"] == "output not logged (sensitive)"
    assert result["fact"] == {"format": "ripreplace-fact/1", "outcome": "verified"}
    checks[0]["expect"] = " MISSING$"
    result = probe_module.probe(params(tmp_path, service="../.." + str(service), checks=checks), run)
    assert result["healthy"] is False and result["reason"].startswith("found: stream: X FOUND")
    assert result["fact"] is None


def test_a_check_that_hangs_is_cut_at_its_timeout_and_is_not_healthy(tmp_path, run):
    service = tmp_path / "svc"
    service.write_text("#!/bin/sh\necho running\n")
    service.chmod(0o755)
    checks = [{"name": "hangs", "argv": ["sleep", "30"], "stdin": None, "rc": 0, "expect": ""}]
    result = probe_module.probe(params(tmp_path, service="../.." + str(service), checks=checks, timeout=1), run)
    assert result["healthy"] is False and result["checks"][1]["ok"] is False
    assert result["checks"][1]["detail"] == "sleep: timed out after 1 s", result


def test_a_check_that_closes_its_stdin_early_is_judged_not_a_crash(tmp_path, run):
    """clamdscan may close stdin once it has judged the stream: a broken pipe is the check's result."""
    service = tmp_path / "svc"
    service.write_text("#!/bin/sh\necho running\n")
    service.chmod(0o755)
    checks = [{"name": "early", "argv": ["sh", "-c", "exec 0<&-; echo judged"], "stdin": "x" * 1_000_000, "rc": 0}]
    result = probe_module.probe(params(tmp_path, service="../.." + str(service), checks=checks), run)
    assert result["checks"][1] == {"name": "early", "ok": True, "detail": "judged"}, result


@pytest.mark.parametrize("size", [68, 200_000])  # the EICAR string (buffered, breaks on close), a large stream
def test_a_check_that_exits_before_reading_its_stdin_reports_its_own_message(tmp_path, run_late, size):
    """clamdscan without clamd exits at once: its message and status are the check's result, not a broken pipe."""
    service = tmp_path / "svc"
    service.write_text("#!/bin/sh\necho running\n")
    service.chmod(0o755)
    argv = ["sh", "-c", "exec 0<&-; echo 'ERROR: Could not connect to clamd' >&2; exit 2"]
    checks = [{"name": "eicar", "argv": argv, "stdin": "x" * size, "rc": 1, "expect": " FOUND$"}]
    result = probe_module.probe(params(tmp_path, service="../.." + str(service), checks=checks), run_late)
    assert result["checks"][1] == {"name": "eicar", "ok": False, "detail": "ERROR: Could not connect to clamd"}, result
    assert result["reason"] == "eicar: ERROR: Could not connect to clamd"


def test_a_check_whose_command_is_missing_says_so(tmp_path, run):
    checks = [{"name": "gone", "argv": ["ripreplace-no-such-command"], "stdin": None, "rc": 0, "expect": ""}]
    result = probe_module.probe(params(tmp_path, checks=checks), run)
    gone = result["checks"][1]
    assert gone["ok"] is False and "ripreplace-no-such-command" in gone["detail"], result


def _script(tmp_path: Path, rc: int) -> str:
    """A stand-in init script (``service`` is /etc/init.d/<name>: point it here) that says it ran."""
    script = tmp_path / f"init-{rc}"
    script.write_text(f"#!/bin/sh\necho init script ran\nexit {rc}\n")
    script.chmod(0o755)
    return "../.." + str(script)


def test_a_pidfile_naming_the_live_process_counts_as_active_without_the_init_script(tmp_path, run):
    """Under sysvinit a pid file that names a live process of the expected name answers (the init script,
    which would say "not running" here, is not run); any other answer is the init script's."""
    import os
    import subprocess

    pidfile = tmp_path / "svc.pid"
    child = subprocess.Popen(["sleep", "60"])
    try:
        pidfile.write_text(f"{child.pid}\n")
        shortcut = {"service_pidfile": str(pidfile), "service_process": "sleep"}
        result = probe_module.probe(params(tmp_path, service=_script(tmp_path, 3), **shortcut), run)
        assert result["checks"][0] == {
            "name": _script(tmp_path, 3) + " service active",
            "ok": True,
            "detail": f"sleep is running (pid {child.pid} in {pidfile})",
        }
        assert result["healthy"] is True
        # the wrong process name, a pid file with no number, no pid file: the init script decides (rc 3: not running)
        for pid_text, process in ((f"{child.pid}\n", "clamd"), ("garbage\n", "sleep"), (None, "sleep")):
            if pid_text is None:
                pidfile.unlink()
            else:
                pidfile.write_text(pid_text)
            shortcut = {"service_pidfile": str(pidfile), "service_process": process}
            result = probe_module.probe(params(tmp_path, service=_script(tmp_path, 3), **shortcut), run)
            assert result["checks"][0]["ok"] is False, (pid_text, process)
            assert result["checks"][0]["detail"] == "init script ran", (pid_text, process)
        pidfile.write_text(f"{child.pid}\n")
        assert probe_module._sysv_pid(str(pidfile), "sleep") == child.pid
    finally:
        child.kill()
        child.wait()
    # a dead process (reaped: its pid is free) never counts
    assert probe_module._sysv_pid(str(pidfile), "sleep") is None
    # a zombie never counts: a child that exited and is not reaped yet
    zombie = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # it has exited; not reaped: a zombie
        pidfile.write_text(f"{zombie.pid}\n")
        assert probe_module._sysv_pid(str(pidfile), "true") is None
    finally:
        zombie.wait()
