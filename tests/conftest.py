# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Shared pytest set-up.

Lab tests (``@pytest.mark.lab``) need root and the lab's tools. A developer without them sees
them skipped with the reason; under CI (``CI=true``) a missing prerequisite fails the run instead,
so a green CI always means the lab tests ran.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # A SIGTERM (CI time-out, a killed session) unwinds like Ctrl-C, so the lab fixture's
    # finalizer still takes its hosts, namespaces and mounts down.
    signal.signal(signal.SIGTERM, _interrupt)


def _lab_unavailable() -> str | None:
    from ripreplace.exceptions import LabPrerequisiteError
    from ripreplace.lab import prereq

    try:
        prereq.require()
    except LabPrerequisiteError as exc:
        return str(exc)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lab_items = [item for item in items if item.get_closest_marker("lab")]
    if not lab_items:
        return
    reason = _lab_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(f"lab tests cannot run under CI: {reason}")
    for item in lab_items:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def collections_path() -> Path:
    from ripreplace import collection

    return collection.collections_path()


@pytest.fixture(scope="session")
def ansible_env(collections_path: Path) -> dict[str, str]:
    """Environment for running ansible-playbook/ansible-doc against this checkout's collection."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
        }
    )
    return env


@pytest.fixture(autouse=True)
def _blocking_standard_streams() -> None:
    """Standard streams stay blocking for every test: a child (ssh, a browser) that set O_NONBLOCK on
    a stream it shared with pytest would make every later ansible-playbook refuse to start ("Ansible
    requires blocking IO on stdin/stdout/stderr"), failing tests that have nothing to do with it."""
    for fd in (0, 1, 2):
        try:
            if not os.get_blocking(fd):
                os.set_blocking(fd, True)
        except OSError:  # closed or not a file descriptor this process may change
            continue
