# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What ``lab plant`` installed: the host's packages before and after, compared."""

from __future__ import annotations

from typing import Protocol

from ripreplace.lab.proc import run_ssh


class _Host(Protocol):
    def ssh_argv(self, name: str, *argv: str) -> list[str]: ...


def installed(lab: _Host, name: str) -> dict[str, str]:
    """What a lab host has installed, dpkg and rpm: ``"NAME (deb)"`` / ``"NAME (rpm)"`` -> version."""
    out: dict[str, str] = {}
    debs = run_ssh(lab.ssh_argv(name, "dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\\n"))
    for line in debs.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ii":
            out[f"{parts[1]} (deb)"] = parts[2]
    query = "! command -v rpm >/dev/null || rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}\\n'"
    rpms = run_ssh(lab.ssh_argv(name, "sh", "-c", query))
    for line in rpms.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[f"{parts[0]} (rpm)"] = parts[1]
    return out


def new_since(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """``"NAME VERSION (deb|rpm)"`` for every package new or at another version in ``after``, by name."""
    return [
        f"{key.split()[0]} {version} {key.split()[1]}"
        for key, version in sorted(after.items())
        if before.get(key) != version
    ]
