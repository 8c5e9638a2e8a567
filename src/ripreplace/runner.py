# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Run the collection's playbooks through ansible-runner's Python API.

The wrapper owns the environment of the run: the embedded collection on
ANSIBLE_COLLECTIONS_PATH, the audit_log callback enabled and pointed at the run directory, and
the ansible-playbook binary of this Python environment, without the operator's secrets (see
``childenv``). Events stream to a handler as they come.
"""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ripreplace import auditlog, childenv, collection
from ripreplace.exceptions import RunnerError
from ripreplace.rundir import RunDir
from ripreplace.safetext import printable

EventHandler = Callable[[dict[str, Any]], None]
#: Polled by ansible-runner while the playbook runs; returning True cancels the run (status ``canceled``).
CancelCallback = Callable[[], bool]

#: Environment variables the audit_log callback reads (documented in the callback's DOCUMENTATION).
AUDIT_ENV = {
    "log": "RIPREPLACE_AUDIT_LOG",
    "run_id": "RIPREPLACE_RUN_ID",
    "manifest": "RIPREPLACE_MANIFEST",
    "wrapped": "RIPREPLACE_WRAPPED",
    "halt": "RIPREPLACE_AUDIT_HALT_ON_ERROR",
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
    #: tags whose tasks this run does not execute at all (``--skip-tags``): no worker, no event, per host
    skip_tags: tuple[str, ...] = ()


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
        # a record the callback cannot write stops the playbook before its next task, whatever the
        # operator's environment says: the wrapper's run must hold every change it made
        AUDIT_ENV["halt"]: "true",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
    } | performance_envvars()


def _ansible_cfg() -> Path | None:
    """The ansible.cfg a wrapped playbook reads (ansible's order; the run's working directory is a fresh
    private directory, so there is no ./ansible.cfg)."""
    candidates = [os.environ.get("ANSIBLE_CONFIG", ""), "~/.ansible.cfg", "/etc/ansible/ansible.cfg"]
    for candidate in candidates:
        path = Path(candidate).expanduser() if candidate else None
        if path is not None and path.is_file():
            return path
    return None


def _configured_in_cfg(key: str, sections: tuple[str, ...]) -> bool:
    path = _ansible_cfg()
    if path is None:
        return False
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return True  # unreadable here: leave the decision to ansible and the operator
    return any(parser.has_option(section, key) for section in sections if parser.has_section(section))


def performance_envvars() -> dict[str, str]:
    """Performance defaults of wrapped runs (docs/capacity.md); whatever the operator set wins.

    ``ANSIBLE_PIPELINING``: a module goes to the host on the SSH session's stdin instead of being
    written to a temporary file first: one SSH round trip per task instead of 3 to 4 (needs no
    ``requiretty`` in sudoers for become). Left alone when the operator's environment or ansible.cfg
    sets it; an inventory's ``ansible_ssh_pipelining`` wins over both.

    ``ANSIBLE_SSH_RETRIES`` 3: SSH connection failures (exit 255: a broken control master, a reset, a
    timeout) are retried with backoff before a host counts as unreachable. Left alone when the
    operator's environment or ansible.cfg (``[ssh_connection] retries``) sets it; an inventory's
    ``ansible_ssh_retries`` wins over both.
    """
    out: dict[str, str] = {}
    operator_env = any(name in os.environ for name in ("ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"))
    if not operator_env and not _configured_in_cfg("pipelining", ("defaults", "connection", "ssh_connection")):
        out["ANSIBLE_PIPELINING"] = "True"
    if "ANSIBLE_SSH_RETRIES" not in os.environ and not _configured_in_cfg("retries", ("ssh_connection", "connection")):
        out["ANSIBLE_SSH_RETRIES"] = "3"
    return out


def result_message(res: Mapping[str, Any]) -> str:
    """The operator-facing message of a failed or unreachable task result, on one line."""
    for key in ("msg", "reason", "module_stderr", "stderr"):
        value = res.get(key)
        if value:
            text = printable(" ".join(str(value).split()))  # a host's words: escaped, bounded
            return text if len(text) <= 500 else text[:497] + "..."
    return "failed without a message"


@contextlib.contextmanager
def _cancel_on_signals(cancel_callback: CancelCallback | None) -> Iterator[CancelCallback | None]:
    """A run without its own cancel_callback is cancelled by SIGINT or SIGTERM, for this run only.

    ansible-runner, given none, installs handlers for both signals in the whole process and never
    restores them: afterwards a Ctrl-C or a SIGTERM to the process (the next command of an in-process
    caller, a test session) only set an event nobody reads. Here they are installed for the run and the
    previous handlers restored when it ends.
    """
    if cancel_callback is not None or threading.current_thread() is not threading.main_thread():
        yield cancel_callback  # (outside the main thread ansible-runner installs nothing either)
        return
    received: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(received)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    with (
        tempfile.TemporaryDirectory(prefix="ripreplace-runner-") as private,
        childenv.key_handoff(keys.hmac) as key,
        _cancel_on_signals(cancel_callback) as cancel,
    ):
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
                skip_tags=",".join(request.skip_tags) or None,
                quiet=True,
                suppress_env_files=True,
                event_handler=handler,
                cancel_callback=cancel,
            )
            # ansible-runner seeds the environment with os.environ and writes it to artifacts/<ident>/command
            runner.config.env = childenv.scrub(runner.config.env, ours=envvars, secrets=[keys.hmac or b""])
            runner.run()
        except RunnerError:
            raise
        except OSError as exc:  # its artifacts could not be written mid-run (a full disk): the playbook is ended
            end_playbooks()
            if exc.filename is None:
                exc.filename = str(run.artifacts_path / request.ident)
            raise
        except Exception as exc:  # ansible-runner raises bare exceptions for config problems
            end_playbooks()
            raise RunnerError(f"ansible-runner failed to start {request.playbook.name}: {exc}") from exc
        finally:
            drop_temp_files(run.artifacts_path / request.ident)
    return PlaybookResult(status=str(runner.status), rc=int(runner.rc or 0), stats=dict(runner.stats or {}))


def end_playbooks(grace: float = 10.0) -> list[int]:
    """End the ansible-playbook processes this process started, when ansible-runner gave up on one mid-run
    (it raises out of its loop and leaves the child running): SIGINT to each one's process group (pexpect
    makes it a session leader), as a cancel does, then SIGKILL after ``grace`` seconds. Returns their pids."""
    me = os.getpid()
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == me and b"ansible-playbook" in cmdline:
            children.append(int(entry))
    found = list(children)
    deadline = time.monotonic() + grace
    for sig in (signal.SIGINT, signal.SIGKILL):
        for pid in children:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), sig)
        while children and time.monotonic() < deadline:
            children = [pid for pid in children if not _reaped(pid)]
            time.sleep(0.1)
        deadline = time.monotonic() + grace
    return found


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def drop_temp_files(directory: Path) -> list[Path]:
    """Remove the temporary files ansible-runner and its event callback left in a batch's artifacts (``*.tmp``:
    an event they could not finish writing, on a full disk); each is incomplete by construction."""
    dropped = []
    for path in directory.rglob("*.tmp") if directory.is_dir() else ():
        with contextlib.suppress(OSError):
            path.unlink()
            dropped.append(path)
    return dropped
