"""The run directory of DESIGN.md: ``<runs-dir>/<run-id>/`` with manifest, audit log and summary.

Nothing already recorded is ever lost: a run directory is created once (never reused), and every
JSON file is written to a temporary name, fsynced and renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ripreplace import __version__

MANIFEST = "manifest.json"
AUDIT_LOG = "audit.jsonl"
SUMMARY = "summary.json"
STATE = "state.json"  # remediate only: per-host campaign state, rewritten after every change
ARTIFACTS = "artifacts"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def isotime(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(mode: str, now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{mode}-{secrets.token_hex(3)}"


def operator() -> str:
    """Who runs this: the sudo caller when run through sudo, else the login name."""
    for var in ("RIPREPLACE_OPERATOR", "SUDO_USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(paths: Iterable[Path]) -> dict[str, str]:
    """sha256 of every file under the given files/directories, keyed by path."""
    out: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                out[str(child)] = sha256_file(child)
        elif path.is_file():
            out[str(path)] = sha256_file(path)
    return out


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dirfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


@dataclasses.dataclass(frozen=True)
class RunDir:
    """One run's directory. Create with :meth:`create`; it refuses to reuse an existing one."""

    path: Path
    run_id: str

    @classmethod
    def create(cls, runs_dir: Path, mode: str, run_id: str | None = None) -> RunDir:
        run_id = run_id or new_run_id(mode)
        path = runs_dir / run_id
        runs_dir.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700)  # FileExistsError if it exists: a run directory is never reused
        (path / ARTIFACTS).mkdir(mode=0o700)
        return cls(path=path, run_id=run_id)

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def audit_log_path(self) -> Path:
        return self.path / AUDIT_LOG

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def state_path(self) -> Path:
        return self.path / STATE

    @property
    def artifacts_path(self) -> Path:
        return self.path / ARTIFACTS

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        write_json_atomic(self.manifest_path, dict(manifest))

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        write_json_atomic(self.summary_path, dict(summary))


def ansible_core_version() -> str:
    from ansible.release import __version__ as ansible_version

    return str(ansible_version)


def build_manifest(
    *,
    run_id: str,
    mode: str,
    started: dt.datetime,
    inventory: Path | None,
    playbooks: Iterable[Path],
    catalogs: Iterable[Path],
    ticket: str | None = None,
    window: str | None = None,
    check_mode: bool,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": "ripreplace-manifest/1",
        "run": run_id,
        "mode": mode,
        "check_mode": check_mode,
        "operator": operator(),
        "ticket": ticket,
        "window": window,
        "started": isotime(started),
        "versions": {"ripreplace": __version__, "ansible-core": ansible_core_version()},
        "sha256": {
            "catalogs": sha256_tree(catalogs),
            "inventory": sha256_tree([inventory]) if inventory else {},
            "playbooks": sha256_tree(playbooks),
        },
    }
    if extra:
        manifest.update(extra)
    return manifest
