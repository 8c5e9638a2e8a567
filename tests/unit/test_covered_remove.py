# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""covered_remove's Remover, case by case from test_covered_remove.yaml (community.general opkg style).

Each case runs the real Remover against a fake host under a temporary root: files, symlinks and a
``/proc`` with ``exe`` links are real; at the edges, commands are answered from the table (exact
argv, in order), signals are recorded and end a fake process as the case says, and sleeps are
skipped. The module's real entry point is run once as AnsiballZ would, for check mode.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.collection_code import load

FIXTURES = Path(__file__).parent / "fixtures"
CASES = yaml.safe_load((Path(__file__).with_suffix(".yaml")).read_text())

remover_mod = load("plugins.module_utils.covered_remover")
module_file = load("plugins.modules.covered_remove")
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class Failed(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result["msg"])
        self.result = result


class FakeModule:
    """AnsibleModule at the edges: parameters, check mode, binaries and the commands of the case."""

    def __init__(self, case: dict[str, Any], fs_root: str) -> None:
        params = {"lock_timeout": 300, "stop_timeout": 15, "purge_paths": True}
        params.update(case.get("params") or {})
        self.params = params
        self.check_mode = bool(case.get("check_mode"))
        self._diff = bool(case.get("diff"))
        self.bins = case.get("bins") or {}
        commands = (case.get("mocks") or {}).get("run_command") or []
        # {fs_root}: the fake host's root, which the module names as dpkg-query --root / rpm --root.
        self.expected = [dict(c, command=[w.replace("{fs_root}", fs_root) for w in c["command"]]) for c in commands]
        self.ran: list[list[str]] = []

    def get_bin_path(self, name: str, required: bool = False) -> str | None:
        path = self.bins.get(name)
        if required and not path:
            self.fail_json(msg=f"Failed to find required executable {name!r}")
        return path

    def run_command(self, argv: list[str], check_rc: bool = False, environ_update: Any = None) -> tuple[int, str, str]:
        assert environ_update == C_LOCALE, argv
        assert self.expected, f"unexpected command {argv!r} (ran before: {self.ran!r})"
        want = self.expected.pop(0)
        assert argv == want["command"], f"ran {argv!r}, the case expects {want['command']!r}"
        self.ran.append(argv)
        return want.get("rc", 0), _text(want, "out"), _text(want, "err")

    def fail_json(self, **result: Any) -> None:
        raise Failed(result)


def _text(want: dict[str, Any], key: str) -> str:
    if f"{key}_file" in want:
        return (FIXTURES / want[f"{key}_file"]).read_text()
    return want.get(key, "")


class FakeHost:
    """The case's host under ``root``; processes are /proc/PID/exe links that signals remove."""

    def __init__(self, root: Path, spec: dict[str, Any]) -> None:
        self.root = root
        self.signals: list[list[Any]] = []
        self.dies_on = {p["pid"]: p.get("dies_on", "TERM") for p in spec.get("processes", [])}
        (root / "proc").mkdir(parents=True)
        for path in spec.get("files", []):
            self._file(path, "x\n", 0o644)
        for path in spec.get("executables", []):
            self._file(path, "#!/bin/sh\n", 0o755)
        for path in spec.get("dirs", []):
            self.local(path).mkdir(parents=True, exist_ok=True)
        for link, target in (spec.get("symlinks") or {}).items():
            self.local(link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(self.local(target), self.local(link))
        for proc in spec.get("processes", []):
            base = root / "proc" / str(proc["pid"])
            base.mkdir()
            os.symlink(proc["exe"], base / "exe")
            for kind, link in (proc.get("ns") or {}).items():
                (base / "ns").mkdir(exist_ok=True)
                os.symlink(link, base / "ns" / kind)
            if "cgroup" in proc:
                (base / "cgroup").write_text(proc["cgroup"])
        if spec.get("systemd"):
            self.local("/run/systemd/system").mkdir(parents=True)
        if spec.get("dpkg"):
            self._file("/var/lib/dpkg/status", "", 0o644)
        if "mountinfo" in spec:
            self._file("/proc/self/mountinfo", spec["mountinfo"], 0o444)
        if spec.get("modules"):
            lines = "".join(f"{m} 16384 0 - Live 0x0000000000000000\n" for m in spec["modules"])
            self._file("/proc/modules", lines, 0o444)

    def local(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def _file(self, path: str, text: str, mode: int) -> None:
        local = self.local(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text)
        local.chmod(mode)

    def kill(self, pid: int, sig: int) -> None:
        proc = self.root / "proc" / str(pid)
        if not proc.is_dir():
            raise ProcessLookupError(pid)
        self.signals.append([pid, signal.Signals(sig).name])
        dies = self.dies_on.get(pid, "TERM")
        if (dies == "TERM") or (dies == "KILL" and sig == signal.SIGKILL):
            shutil.rmtree(proc)


@pytest.fixture
def host_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def make(spec: dict[str, Any]) -> FakeHost:
        host = FakeHost(tmp_path / "host", spec)
        monkeypatch.setattr(remover_mod.os, "kill", host.kill)
        monkeypatch.setattr(remover_mod.time, "sleep", lambda _s: None)
        return host

    return make


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_remover_case(case: dict[str, Any], host_factory) -> None:
    host = host_factory(case.get("host") or {})
    module = FakeModule(case, str(host.root))
    want = case["output"]
    if "failed" in want:
        with pytest.raises(Failed) as failure:
            remover_mod.Remover(module, fs_root=str(host.root)).execute(with_diff=module._diff)
        assert want["failed"] in failure.value.result["msg"]
        result = None
    else:
        result = remover_mod.Remover(module, fs_root=str(host.root)).execute(with_diff=module._diff)
        assert result["changed"] is want["changed"]
        assert result["actions"] == want["actions"]
        if "diff_before" in want:
            assert result["diff"]["before"] == want["diff_before"]
    assert module.expected == [], f"commands the case expects and the module never ran: {module.expected!r}"
    after = case.get("after") or {}
    for path in after.get("exists", []):
        assert os.path.lexists(host.local(path)), f"{path} was deleted"
    for path in after.get("gone", []):
        assert not os.path.lexists(host.local(path)), f"{path} is still there"
    if "signals" in after:
        assert host.signals == after["signals"]
    if result is not None and not case.get("check_mode"):
        assert set(result["timings"]) >= {"started", "services", "processes", "packages", "paths", "finished"}


def test_module_entry_point_check_mode(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """main() as AnsiballZ runs it: an empty plan in check mode exits 0, not changed."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    args = {"ANSIBLE_MODULE_ARGS": {"plan": {"packages": []}, "_ansible_check_mode": True}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(args)))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as exit_info:
        module_file.main()
    assert exit_info.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is False and result["actions"] == []


def test_module_entry_point_refuses_negative_timeouts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    args = {"ANSIBLE_MODULE_ARGS": {"plan": {}, "lock_timeout": -1}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(args)))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        module_file.main()
    assert exit_info.value.code == 1
    assert "must not be negative" in json.loads(capsys.readouterr().out)["msg"]
