# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""KESL 12.x's layout, found and removed: its .deb puts the binaries under
``/var/opt/kaspersky/kesl/install_<version>/opt/kaspersky/kesl/`` (AUR PKGBUILDs 12.0.0.6672, 12.2.0.2412,
12.4.0.1225; docs/sources.md), so its running processes resolve there, not under /opt/kaspersky/kesl as
11.x's do. covered_facts must report such a process (and plan to end it), covered_remove must end it and
purge the install tree, on a fake host root (real files, real /proc/PID/exe links; signals at the edge).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from tests.collection_code import load, scan_offline

FIXTURES = Path(__file__).parent / "fixtures"
INSTALL = "/var/opt/kaspersky/kesl/install_12.4.0.1225"
EXE = f"{INSTALL}/opt/kaspersky/kesl/libexec/kesl"
SUPERVISOR = f"{INSTALL}/opt/kaspersky/kesl/libexec/kesl-supervisor"

remover_mod = load("plugins.module_utils.covered_remover")


class FakeModule:
    """AnsibleModule at the edges: no tools but dpkg-query, whose -S finds no owner; arguments as given."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params = params or {}
        self.check_mode = False
        self._diff = False
        self.ran: list[list[str]] = []

    def get_bin_path(self, name: str, required: bool = False) -> str | None:
        return "/usr/bin/dpkg-query" if name == "dpkg-query" else None

    def run_command(self, argv: list[str], **_kw: Any) -> tuple[int, str, str]:
        self.ran.append(list(argv))
        if "-S" in argv:  # the install tree's files: nobody's in this fake database
            return (
                1,
                "",
                "".join(f"dpkg-query: no path found matching pattern {p}\n" for p in argv[argv.index("-S") + 1 :]),
            )
        raise AssertionError(f"unexpected command {argv!r}")

    def fail_json(self, **kwargs: Any) -> None:
        raise RuntimeError(json.dumps(kwargs))


def _write(root: Path, path: str, text: str = "x\n", mode: int = 0o644) -> None:
    local = root / path.lstrip("/")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(text)
    local.chmod(mode)


def _process(root: Path, pid: int, exe: str, argv0: str) -> None:
    base = root / "proc" / str(pid)
    base.mkdir(parents=True)
    os.symlink(exe, base / "exe")
    (base / "cmdline").write_bytes(argv0.encode() + b"\0")


@pytest.fixture
def kesl12(tmp_path: Path) -> Path:
    """A host with KESL 12.4 installed as its package lays it out (no /opt/kaspersky/kesl/libexec at all)."""
    root = tmp_path / "root"
    status = "".join(
        (FIXTURES / n).read_text().rstrip("\n") + "\n\n"
        for n in ("dpkg-status-debian12-real.txt", "dpkg-status-kaspersky.txt")
    )
    _write(root, "/var/lib/dpkg/status", status)
    (root / "proc/self").mkdir(parents=True)
    for path in (EXE, SUPERVISOR, f"{INSTALL}/opt/kaspersky/kesl/bin/kesl-control"):
        _write(root, path, "\x7fELF", 0o755)
    _write(root, "/var/opt/kaspersky/kesl/common/kesl.ini", "[General]\n")
    _process(root, 1, "/usr/lib/systemd/systemd", "/sbin/init")
    _process(root, 2101, EXE, "kesl")  # argv0 a bare name: only the exe link tells where it runs from
    _process(root, 2102, SUPERVISOR, "/opt/kaspersky/kesl/libexec/kesl-supervisor")
    _process(root, 2103, "/usr/bin/bash", "/bin/bash")
    return root


def _detect(root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    kept, _excepted, plan, _scanner = scan_offline(FakeModule(), root)
    return kept, plan


def test_a_kesl12_process_under_install_ver_is_found_and_planned(kesl12: Path) -> None:
    findings, plan = _detect(kesl12)
    kesl = findings["kaspersky-kesl"]
    processes = {e["details"]["pid"]: e for e in kesl["evidence"] if e["kind"] == "process"}
    assert set(processes) == {2101, 2102}
    assert processes[2101]["value"] == EXE and processes[2101]["confidence"] == "high"
    assert processes[2101]["source"].startswith("S: EQ: KESL 12.x processes resolve under install_<ver>")
    paths = {e["value"]: e for e in kesl["evidence"] if e["kind"] == "path"}
    assert paths[INSTALL]["confidence"] == "high"  # the install_* signal names the tree itself
    assert "/opt/kaspersky/kesl" not in paths  # 12.x has none: the finding never needed it
    assert {(p["pid"], p["exe"], p["catalog_id"]) for p in plan["processes"]} == {
        (2101, EXE, "kaspersky-kesl"),
        (2102, SUPERVISOR, "kaspersky-kesl"),
    }
    assert "/var/opt/kaspersky" in {p["path"] for p in plan["paths"]}  # the install tree goes with its root


def test_removal_ends_the_install_ver_processes_and_purges_the_tree(kesl12: Path, monkeypatch) -> None:
    _findings, plan = _detect(kesl12)
    plan = dict(plan, packages=[], services=[])  # the package purge does not depend on the layout
    signals: list[tuple[int, str]] = []

    def kill(pid: int, sig: int) -> None:
        proc = kesl12 / "proc" / str(pid)
        if not proc.is_dir():
            raise ProcessLookupError(pid)
        signals.append((pid, signal.Signals(sig).name))
        shutil.rmtree(proc)  # ends on SIGTERM, as the agent does

    monkeypatch.setattr(remover_mod.os, "kill", kill)
    monkeypatch.setattr(remover_mod.time, "sleep", lambda _s: None)
    module = FakeModule({"plan": plan, "lock_timeout": 300, "stop_timeout": 15, "purge_paths": True})
    result = remover_mod.Remover(module, fs_root=str(kesl12)).execute()
    assert sorted(signals) == [(2101, "SIGTERM"), (2102, "SIGTERM")]  # never PID 1, never bash
    ended = {a["target"] for a in result["actions"] if a["phase"] == "processes"}
    assert ended == {f"2101 {EXE}", f"2102 {SUPERVISOR}"}
    assert not (kesl12 / INSTALL.lstrip("/")).exists() and not (kesl12 / "var/opt/kaspersky").exists()
    assert (kesl12 / "proc/2103").is_dir() and (kesl12 / "proc/1").is_dir()
