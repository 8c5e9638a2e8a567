# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Shared by the engine tests: run one of the collection's playbooks as AWX and Receptor do, through
``ansible-runner transmit | ansible-runner worker | ansible-runner process``, with only the
audit_log callback enabled (no ripreplace wrapper)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ripreplace import collection

BIN = Path(sys.executable).parent


def private_dir(
    tmp_path: Path,
    name: str,
    extravars: dict[str, Any],
    inventory: dict[str, Any],
    *,
    envvars: dict[str, str] | None = None,
    playbook: str = "audit",
) -> Path:
    """An ansible-runner private data dir: one of the collection's playbooks over ``inventory``."""
    src = tmp_path / name
    (src / "project").mkdir(parents=True)
    (src / "inventory").mkdir()
    (src / "env").mkdir()
    (src / "project" / "site.yml").write_text(f"- ansible.builtin.import_playbook: ripreplace.remediation.{playbook}\n")
    (src / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
        "ANSIBLE_CALLBACKS_ENABLED": "ripreplace.remediation.audit_log",
        **(envvars or {}),
    }
    (src / "env" / "envvars").write_text(yaml.safe_dump(env))
    (src / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    return src


def transmit_worker_process(tmp_path: Path, src: Path) -> Path:
    """Run ``transmit | worker | process``; return the process side's private data dir."""
    worker, out = tmp_path / f"{src.name}-worker", tmp_path / f"{src.name}-process"
    worker.mkdir()
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    runner = str(BIN / "ansible-runner")
    transmit = subprocess.Popen([runner, "transmit", str(src), "-p", "site.yml"], stdout=subprocess.PIPE, env=env)
    work = subprocess.Popen(
        [runner, "worker", "--private-data-dir", str(worker)], stdin=transmit.stdout, stdout=subprocess.PIPE, env=env
    )
    assert transmit.stdout is not None and work.stdout is not None
    transmit.stdout.close()
    process = subprocess.run(
        [runner, "process", str(out)],
        stdin=work.stdout,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    work.stdout.close()
    assert work.wait(1800) == 0 and transmit.wait(60) == 0 and process.returncode == 0, process.stderr
    return out
