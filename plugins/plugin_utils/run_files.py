# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The files of a run, written once for the controller side: clock, hashes, atomic JSON, the manifest.

The ``audit_log`` callback (inside ``ansible-playbook``, where the ``ripreplace`` package may not be
installed: plain ansible-playbook, ansible-runner, AWX) and the ``ripreplace`` wrapper both write a
run's ``manifest.json``; both use :func:`build_manifest` here, so a manifest has one shape whoever
wrote it. The wrapper imports this file through ``ripreplace.collection.load_plugin_util``; it
imports only the standard library (ansible lazily, for its version).
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union

from .audit_record import canonical

PathLike = Union[str, "os.PathLike[str]"]

MANIFEST_FORMAT = "ripreplace-manifest/1"
#: More files than this under one hashed directory are not hashed one by one (a marker says so).
MAX_HASHED_FILES = 2000

#: The collection's root: plugins/plugin_utils/ -> plugins/ -> the collection.
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def utcnow() -> datetime.datetime:
    """Now, as an aware UTC datetime."""
    return datetime.datetime.now(datetime.timezone.utc)


def new_run_id(mode: str, now: datetime.datetime | None = None) -> str:
    """``20261203T224902Z-<mode>-1d0db7``: sorts by start time, unique by its random tail."""
    return f"{(now or utcnow()).strftime('%Y%m%dT%H%M%SZ')}-{mode}-{secrets.token_hex(3)}"


def isotime(when: datetime.datetime) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2026-12-05T06:00:00.000Z``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: PathLike) -> str:
    """sha256 (hex) of a file's content, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(paths: Iterable[PathLike], limit: int = MAX_HASHED_FILES) -> dict[str, str]:
    """sha256 of every file under the given files and directories, keyed by absolute path.

    Directories are walked in sorted order, skipping ``__pycache__`` and hidden directories; an
    unreadable file gets an ``<unreadable: ...>`` marker instead of a hash; past ``limit`` files a
    ``<truncated>`` key says so (a manifest stays bounded).
    """
    out: dict[str, str] = {}
    for given in paths:
        path = os.path.abspath(os.fspath(given))
        if os.path.isfile(path):
            out[path] = _hash_or_marker(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if len(out) >= limit:
                    out["<truncated>"] = f"more than {limit} files"
                    return out
                full = os.path.join(root, name)
                out[full] = _hash_or_marker(full)
    return out


def _hash_or_marker(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        return f"<unreadable: {exc.strerror or exc}>"


def operator(environ: Mapping[str, str] | None = None, engine_user: str | None = None) -> str:
    """Who runs this: ``RIPREPLACE_OPERATOR``, else the engine's user (AWX's ``awx_user_name``), else the
    sudo caller, else the login name."""
    environ = os.environ if environ is None else environ
    if environ.get("RIPREPLACE_OPERATOR"):
        return environ["RIPREPLACE_OPERATOR"]
    if engine_user:
        return engine_user
    if environ.get("SUDO_USER"):
        return environ["SUDO_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def write_json_atomic(path: PathLike, data: Any) -> None:
    """Write JSON to a temporary file beside ``path`` (mode 0600), fsync, rename, fsync the directory.

    On any error the temporary file is removed and the error raised: ``path`` is either the old
    content or the new, never a part, and nothing is left behind.
    """
    target = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(parent, f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        name_fault(exc, target)
        raise
    try:
        dirfd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except OSError as exc:
        name_fault(exc, target)
        raise


def name_fault(exc: BaseException, path: PathLike) -> None:
    """Name ``path`` in an OSError that names no file (a failed write() or fsync() names none, a failed
    open() names the temporary file): the operator is told which run file could not be written."""
    if isinstance(exc, OSError):
        exc.filename = os.fspath(path)
        exc.filename2 = None


MANIFEST_NAME = "manifest.json"


def manifest_digest(path: PathLike) -> str:
    """sha256 of a manifest as run-end records it: its canonical JSON without the ``audit_log`` key.

    run-end is written before the final hash is repeated into the manifest (that key is the only
    one written after); the rest of the manifest is covered, whatever its layout on disk.
    """
    with open(path, "rb") as handle:
        data = json.loads(handle.read().decode("utf-8"))
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "audit_log"}
    return sha256_bytes(canonical(data))


def file_digest(path: PathLike) -> str:
    """sha256 a record holds for a run file: :func:`manifest_digest` for manifest.json, else its bytes."""
    if os.path.basename(os.fspath(path)) == MANIFEST_NAME:
        return manifest_digest(path)
    return sha256_file(path)


def digests(paths: Iterable[PathLike]) -> dict[str, str]:
    """{file name: sha256} of the run files that exist (a missing one is not listed)."""
    out: dict[str, str] = {}
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            out[os.path.basename(os.fspath(path))] = file_digest(path)
    return out


def collection_version(root: str = COLLECTION_ROOT) -> str | None:
    """The collection's version, from MANIFEST.json (an installed collection) or galaxy.yml (a checkout)."""
    for name in ("MANIFEST.json", "galaxy.yml"):
        try:
            with open(os.path.join(root, name), encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        if name == "MANIFEST.json":
            try:
                return str(json.loads(text)["collection_info"]["version"])
            except (ValueError, KeyError, TypeError):
                continue
        match = re.search(r"^version:\s*['\"]?([^'\"\s]+)", text, re.MULTILINE)
        if match:
            return match.group(1)
    return None


def ansible_core_version() -> str | None:
    try:
        from ansible.release import __version__ as version
    except ImportError:
        return None
    return str(version)


def versions(extra: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """The ``versions`` of a manifest: ansible-core, the collection, Python (and the wrapper's own)."""
    out: dict[str, str | None] = {
        "ansible-core": ansible_core_version(),
        "ripreplace.remediation": collection_version(),
        "python": sys.version.split()[0],
    }
    out.update(extra or {})
    return out


def build_manifest(
    *,
    run_id: str,
    mode: str,
    started: datetime.datetime,
    check_mode: bool,
    playbooks: Iterable[PathLike] = (),
    inventory: Iterable[PathLike] = (),
    catalogs: Iterable[PathLike] = (),
    ticket: str | None = None,
    window: str | None = None,
    written_by: str,
    extra_versions: Mapping[str, str | None] | None = None,
    extra: Mapping[str, Any] | None = None,
    engine: Mapping[str, Any] | None = None,
    engine_user: str | None = None,
) -> dict[str, Any]:
    """The content of ``manifest.json``: one shape for the wrapper and the callback (docs/audit-log.md).

    ``engine``: the job's identity from the engine's allow-listed variables (``audit_engine``).
    """
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "run": run_id,
        "mode": mode,
        "check_mode": bool(check_mode),
        "operator": operator(engine_user=engine_user),
        "ticket": ticket,
        "window": window,
        "started": isotime(started),
        "versions": versions(extra_versions),
        "sha256": {
            "playbooks": sha256_tree(playbooks),
            "inventory": sha256_tree(inventory),
            "catalogs": sha256_tree(catalogs),
        },
        "written_by": written_by,
    }
    if engine:
        manifest["engine"] = dict(engine)
    if extra:
        manifest.update(extra)
    return manifest


def claim_manifest(path: PathLike, run_id: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The manifest of run ``run_id`` at ``path``: the one there if it is that run's, else ``build()``'s.

    Another run's manifest (a log path shared by several jobs) or an unreadable file is first moved
    to ``manifests/<its run>.json`` beside it, so nothing recorded is lost and no run ever records
    another run's manifest. Raises OSError when the new manifest cannot be written.
    """
    target = os.fspath(path)
    try:
        with open(target, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raw = None
    if raw is not None:
        try:
            existing = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            existing = None
        if isinstance(existing, dict) and existing.get("run") == run_id:
            return existing
        other = existing.get("run") if isinstance(existing, dict) else None
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(other)) if other else f"unreadable-{sha256_bytes(raw)[:12]}"
        archive = os.path.join(os.path.dirname(os.path.abspath(target)), "manifests")
        os.makedirs(archive, mode=0o700, exist_ok=True)
        kept = os.path.join(archive, f"{name}.json")
        if os.path.exists(kept):  # never over another kept manifest
            kept = os.path.join(archive, f"{name}-{sha256_bytes(raw)[:12]}.json")
        os.replace(target, kept)
    manifest = build()
    write_json_atomic(target, manifest)
    return manifest
