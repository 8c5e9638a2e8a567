# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The environment a playbook gets from the wrapper: nothing secret of the operator's, keys by file.

ansible-runner writes the whole environment of ``ansible-playbook`` into
``artifacts/<ident>/command`` (and, with local connections, hosts' facts carry it into the fact
cache), and that directory ships with the run. So the wrapper never passes a secret through the
environment (docs/audit-log.md, *Secrets*):

- variables whose name looks secret (``*PASSWORD*``, ``*PASSWD*``, ``*PASSPHRASE*``, ``*SECRET*``,
  ``*TOKEN*``, ``*CREDENTIAL*``, ``*KEY*``) are not inherited, unless the name says it holds a path
  or a switch (``*_FILE``, ``*_PATH``, ``*_DIR``, ``*_SOCK``, ``*_CHECKING``) or is an ansible setting
  (``ANSIBLE_*`` is dropped only for password/passphrase/secret/token/credential); names listed in
  ``RIPREPLACE_SECRET_ENV`` (comma-separated) are dropped too, names in ``RIPREPLACE_PASS_ENV`` kept;
- the audit log's keys are never inherited (``RIPREPLACE_AUDIT_KEY``, the variable
  ``RIPREPLACE_AUDIT_KEY_ENV`` names, ``RIPREPLACE_AUDIT_SIGNING_KEY_FILE``: the wrapper itself
  writes and signs run-end), nor any variable whose value contains the HMAC key;
- the HMAC key reaches the callback as a file: mode 0600 in a 0700 directory on a memory file
  system (``/dev/shm`` where it exists) outside the run directory, named by
  ``RIPREPLACE_AUDIT_KEY_FILE``, and removed when the playbook ends (a hand-off left by a killed
  wrapper is removed by the next one).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ripreplace import auditlog

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|KEY", re.IGNORECASE)
#: For ANSIBLE_* settings (ANSIBLE_HOST_KEY_CHECKING, ANSIBLE_PARAMIKO_LOOK_FOR_KEYS, ...) ``KEY`` alone is no secret.
ANSIBLE_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL", re.IGNORECASE)
NOT_A_SECRET = re.compile(r".*_(?:FILE|PATH|DIR|SOCK|CHECKING)", re.IGNORECASE)
SECRET_ENV = "RIPREPLACE_SECRET_ENV"  # noqa: S105 - a variable name, not a secret
PASS_ENV = "RIPREPLACE_PASS_ENV"  # noqa: S105 - a variable name
HANDOFF_PREFIX = "ripreplace-key-"


def _names(value: str | None) -> set[str]:
    return {n.strip() for n in (value or "").split(",") if n.strip()}


def looks_secret(name: str) -> bool:
    """True when a variable's name says it holds a secret (see the module doc)."""
    if NOT_A_SECRET.fullmatch(name):
        return False
    pattern = ANSIBLE_SECRET_NAME if name.upper().startswith("ANSIBLE_") else SECRET_NAME
    return bool(pattern.search(name))


def never_inherited(environ: Mapping[str, str]) -> set[str]:
    """Names that carry the audit log's keys, whatever they look like."""
    return {
        auditlog.ENV_KEY,
        environ.get(auditlog.ENV_KEY_ENV) or auditlog.ENV_KEY,
        auditlog.ENV_SIGNING_KEY_FILE,
    }


def scrub(env: Mapping[str, str], *, ours: Mapping[str, str], secrets: Iterable[bytes] = ()) -> dict[str, str]:
    """``env`` without the operator's secrets; ``ours`` (what the wrapper sets) is kept as given."""
    dropped = never_inherited(env) | _names(env.get(SECRET_ENV))
    passed = _names(env.get(PASS_ENV)) - dropped
    values = [s.decode("utf-8", "replace") for s in secrets if s]
    out: dict[str, str] = {}
    for name, value in env.items():
        if name in ours:
            out[name] = ours[name]
            continue
        if name in dropped or any(v in value for v in values):
            continue
        if looks_secret(name) and name not in passed:
            continue
        out[name] = value
    for name, value in ours.items():
        out.setdefault(name, value)
    return out


def _handoff_base() -> str:
    # a memory file system first; mkdtemp makes a private 0700 directory there (no predictable name)
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""):  # noqa: S108
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return tempfile.gettempdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_handoffs(base: str) -> None:
    """Remove key hand-offs that a killed wrapper of this user left behind."""
    with contextlib.suppress(OSError):
        for entry in Path(base).glob(f"{HANDOFF_PREFIX}*"):
            parts = entry.name[len(HANDOFF_PREFIX) :].split("-", 1)
            with contextlib.suppress(OSError, ValueError):
                if entry.is_dir() and entry.stat().st_uid == os.getuid() and not _alive(int(parts[0])):
                    shutil.rmtree(entry)


@contextlib.contextmanager
def key_handoff(key: bytes | None) -> Iterator[dict[str, str]]:
    """Write ``key`` to a private file for the callback; yield the variables naming it; remove it after."""
    if key is None:
        yield {}
        return
    base = _handoff_base()
    remove_stale_handoffs(base)
    directory = tempfile.mkdtemp(prefix=f"{HANDOFF_PREFIX}{os.getpid()}-", dir=base)  # mode 0700
    path = os.path.join(directory, "audit.key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        yield {auditlog.ENV_KEY_FILE: path}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
