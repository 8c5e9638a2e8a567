# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Run the collection's playbooks through ansible-runner's Python API.

The wrapper owns the environment of the run: the embedded collection on
ANSIBLE_COLLECTIONS_PATH, the audit_log callback enabled and pointed at the run directory, and
the ansible-playbook binary of this Python environment, without the operator's secrets (see
``childenv``). Events stream to a handler as they come.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ripreplace import auditlog, childenv, collection
from ripreplace.exceptions import RunnerError
from ripreplace.rundir import RunDir

EventHandler = Callable[[dict[str, Any]], None]
#: Polled by ansible-runner while the playbook runs; returning True cancels the run (status ``canceled``).
CancelCallback = Callable[[], bool]

#: Environment variables the audit_log callback reads (documented in the callback's DOCUMENTATION).
AUDIT_ENV = {
    "log": "RIPREPLACE_AUDIT_LOG",
    "run_id": "RIPREPLACE_RUN_ID",
    "manifest": "RIPREPLACE_MANIFEST",
    "wrapped": "RIPREPLACE_WRAPPED",
}


@dataclasses.dataclass(frozen=True)
class PlaybookRequest:
    playbook: Path
    inventory: str | dict[str, Any]
    limit: str | None = None
    forks: int = 5
    check: bool = False
    extravars: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    envvars: Mapping[str, str] = dataclasses.field(default_factory=dict)
    ident: str = "playbook"


@dataclasses.dataclass
class PlaybookResult:
    status: str  # successful | failed | timeout | canceled
    rc: int
    stats: dict[str, Any]


def _ansible_playbook_binary() -> str:
    """The ansible-playbook of this interpreter's environment, so a venv needs no PATH set-up."""
    candidate = Path(sys.executable).parent / "ansible-playbook"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("ansible-playbook")
    if not found:
        raise RunnerError("ansible-playbook not found: install ansible-core in this environment")
    return found


def base_envvars(run: RunDir) -> dict[str, str]:
    """Environment every wrapped playbook run gets."""
    bindir = str(Path(sys.executable).parent)
    return {
        "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
        "ANSIBLE_CALLBACKS_ENABLED": f"{collection.FQCN}.audit_log",
        AUDIT_ENV["log"]: str(run.audit_log_path),
        AUDIT_ENV["run_id"]: run.run_id,
        AUDIT_ENV["manifest"]: str(run.manifest_path),
        AUDIT_ENV["wrapped"]: "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        # SSH connection failures (exit 255: a broken control master, a reset, a timeout) are
        # retried with backoff before a host counts as unreachable; an inventory's
        # ansible_ssh_retries or the operator's own ANSIBLE_SSH_RETRIES wins.
        "ANSIBLE_SSH_RETRIES": os.environ.get("ANSIBLE_SSH_RETRIES", "3"),
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
    }


def result_message(res: Mapping[str, Any]) -> str:
    """The operator-facing message of a failed or unreachable task result, on one line."""
    for key in ("msg", "reason", "module_stderr", "stderr"):
        value = res.get(key)
        if value:
            text = " ".join(str(value).split())
            return text[:500]
    return "failed without a message"


def run_playbook(
    run: RunDir,
    request: PlaybookRequest,
    on_event: EventHandler | None = None,
    cancel_callback: CancelCallback | None = None,
) -> PlaybookResult:
    """Run one playbook and stream its events to ``on_event``; artifacts go to the run directory.

    ``cancel_callback`` is polled by ansible-runner; when it returns True the playbook is stopped
    (ansible-playbook gets SIGINT, then is killed) and the result's status is ``canceled``.
    The playbook's environment holds none of the operator's secrets (``childenv``): ansible-runner
    writes it into ``artifacts/<ident>/command``; the audit log's HMAC key reaches the callback as a
    private file that is removed when the playbook ends.
    """
    try:
        keys = auditlog.keys_from_env()
    except auditlog.AuditChainError as exc:
        raise RunnerError(str(exc)) from exc
    envvars = base_envvars(run)
    envvars.update(request.envvars)
    cmdline = "--check" if request.check else None

    def handler(event: dict[str, Any]) -> bool:
        if on_event is not None:
            on_event(event)
        return True  # keep the event in the artifacts

    # ansible-runner drops the playbook argument when ``binary`` is given (it switches to RAW mode), so the
    # binary is only checked here and found through PATH, which base_envvars() starts with its directory.
    _ansible_playbook_binary()
    with tempfile.TemporaryDirectory(prefix="ripreplace-runner-") as private, childenv.key_handoff(keys.hmac) as key:
        envvars.update(key)
        try:
            from ansible_runner.interface import init_runner

            runner = init_runner(
                private_data_dir=private,
                artifact_dir=str(run.artifacts_path),
                ident=request.ident,
                playbook=str(request.playbook),
                inventory=request.inventory,
                limit=request.limit,
                forks=request.forks,
                extravars=dict(request.extravars),
                envvars=envvars,
                cmdline=cmdline,
                quiet=True,
                suppress_env_files=True,
                event_handler=handler,
                cancel_callback=cancel_callback,
            )
            # ansible-runner seeds the environment with os.environ and writes it to artifacts/<ident>/command
            runner.config.env = childenv.scrub(runner.config.env, ours=envvars, secrets=[keys.hmac or b""])
            runner.run()
        except RunnerError:
            raise
        except Exception as exc:  # ansible-runner raises bare exceptions for config problems
            raise RunnerError(f"ansible-runner failed to start {request.playbook.name}: {exc}") from exc
    return PlaybookResult(status=str(runner.status), rc=int(runner.rc or 0), stats=dict(runner.stats or {}))
