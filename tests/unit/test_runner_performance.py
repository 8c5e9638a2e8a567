# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The performance defaults of wrapped playbook runs (``runner.performance_envvars``): on unless the operator
configured otherwise, in the environment or in ansible.cfg."""

from __future__ import annotations

from pathlib import Path

import pytest

from ripreplace import runner
from ripreplace.rundir import RunDir


@pytest.fixture
def clean_env(monkeypatch, tmp_path: Path) -> Path:
    for name in ("ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING", "ANSIBLE_SSH_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "ansible.cfg"
    monkeypatch.setenv("ANSIBLE_CONFIG", str(cfg))
    return cfg


@pytest.mark.parametrize(
    ("cfg_text", "env", "expected"),
    [
        (None, {}, "True"),  # no ansible.cfg: pipelining on
        ("[defaults]\nforks = 20\n", {}, "True"),  # a cfg that says nothing about it
        ("[defaults]\npipelining = False\n", {}, None),  # the operator's cfg decides
        ("[connection]\npipelining = False\n", {}, None),
        ("[ssh_connection]\npipelining = True\n", {}, None),
        (None, {"ANSIBLE_PIPELINING": "False"}, None),  # the operator's environment decides
        (None, {"ANSIBLE_SSH_PIPELINING": "0"}, None),
        ("[defaults\nbroken", {}, None),  # unreadable here: ansible decides, the wrapper adds nothing
    ],
)
def test_pipelining_on_unless_the_operator_configured_it(clean_env, monkeypatch, cfg_text, env, expected):
    assert _defaults(clean_env, monkeypatch, cfg_text, env, "ANSIBLE_PIPELINING") == (expected, expected)


def _defaults(clean_env: Path, monkeypatch, cfg_text: str | None, env: dict[str, str], name: str) -> tuple:
    """``name`` in the performance defaults and in a wrapped run's environment, under this cfg and environment."""
    if cfg_text is not None:
        clean_env.write_text(cfg_text)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run = RunDir.create(clean_env.parent / "runs", "audit")
    return runner.performance_envvars().get(name), runner.base_envvars(run).get(name)


@pytest.mark.parametrize(
    ("cfg_text", "env", "expected"),
    [
        (None, {}, "3"),  # transient SSH failures retried with backoff
        ("[ssh_connection]\npipelining = True\n", {}, "3"),
        ("[ssh_connection]\nretries = 0\n", {}, None),  # the operator's ansible.cfg decides (it was overridden)
        ("[connection]\nretries = 5\n", {}, None),
        (None, {"ANSIBLE_SSH_RETRIES": "0"}, None),  # the operator's environment decides (and reaches the child)
    ],
)
def test_ssh_retries_unless_the_operator_configured_them(clean_env, monkeypatch, cfg_text, env, expected):
    assert _defaults(clean_env, monkeypatch, cfg_text, env, "ANSIBLE_SSH_RETRIES") == (expected, expected)
