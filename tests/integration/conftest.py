# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The lab fixture: one real fleet per test session (light hosts and a systemd host).

Tests that change a host call ``lab.reset(host)`` (fresh root filesystem, ~0.5 s) before or
after. The contract (used by every lab test):

``lab.dir``, ``lab.inventory``, ``lab.hosts``, ``lab.light_hosts``, ``lab.systemd_hosts``,
``lab.plant(host, *pkgs)``, ``lab.sh(host, *argv, check=True)``, ``lab.reset(*hosts)``,
``lab.fake_rpm(name)``, ``lab.ansible_playbook(playbook, *args, env=None)``,
``lab.ripreplace(*args, env=None)``, ``lab.set_link(host, up)``, ``lab.lab`` (the fleet object).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from ripreplace.lab.fleet import Lab

BIN = Path(sys.executable).parent
LIGHT_HOSTS = 3
SYSTEMD_HOSTS = 1


class LabHandle:
    def __init__(self, lab: Lab, env: Mapping[str, str]) -> None:
        self.lab = lab
        self.dir = lab.dir
        self.inventory = lab.inventory
        self._env = dict(env)

    @property
    def hosts(self) -> list[str]:
        return list(self.lab.hosts)

    @property
    def light_hosts(self) -> list[str]:
        return [n for n, h in self.lab.hosts.items() if h.kind == "light"]

    @property
    def systemd_hosts(self) -> list[str]:
        return [n for n, h in self.lab.hosts.items() if h.kind == "systemd"]

    def plant(self, host: str, *packages: str) -> None:
        self.lab.plant(host, list(packages))

    def sh(
        self, host: str, *argv: str, check: bool = True, timeout: float = 300, rerun: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return self.lab.sh(host, *argv, check=check, timeout=timeout, rerun=rerun)

    def reset(self, *hosts: str) -> None:
        self.lab.reset(list(hosts or self.hosts))

    def set_link(self, host: str, up: bool) -> None:
        self.lab.set_link(host, up)

    def fake_rpm(self, name: str) -> Path:
        return self.lab.fake_package(f"{name}.rpm")

    def _run(
        self, argv: list[str], env: Mapping[str, str] | None, cwd: Path | None
    ) -> subprocess.CompletedProcess[str]:
        full = dict(self._env)
        if env:
            full.update(env)
        return subprocess.run(argv, env=full, cwd=cwd, capture_output=True, text=True, check=False, timeout=900)

    def ansible_playbook(
        self, playbook: str | Path, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self._run([str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(playbook), *args], env, cwd)

    def ripreplace(
        self, *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self._run([str(BIN / "ripreplace"), *args], env, cwd)


@pytest.fixture(scope="session")
def lab(ansible_env: dict[str, str]) -> Iterator[LabHandle]:
    directory = Path(tempfile.mkdtemp(prefix="ripreplace-test-lab-", dir="/var/tmp"))
    fleet = Lab(directory)
    try:
        fleet.up(light=LIGHT_HOSTS, systemd=SYSTEMD_HOSTS)
        yield LabHandle(fleet, ansible_env)
    finally:
        fleet.down(quiet=True)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory for commands that write ./runs."""
    os.chmod(tmp_path, 0o700)
    return tmp_path
