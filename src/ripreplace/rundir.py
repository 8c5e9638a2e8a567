# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The run directory of docs/contracts.md: ``<runs-dir>/<run-id>/`` with manifest, audit log and summary.

Nothing already recorded is ever lost: a run directory is created once (never reused), and every
JSON file is written to a temporary name, fsynced and renamed into place.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ripreplace import __version__
from ripreplace.auditlog import files

MANIFEST = "manifest.json"
AUDIT_LOG = "audit.jsonl"
SUMMARY = "summary.json"
STATE = "state.json"  # remediate only: per-host campaign state, rewritten after every change
ARTIFACTS = "artifacts"

# One copy for the controller side, in the collection's plugins/plugin_utils/run_files.py (the
# audit_log callback must run without this package); re-exported here for the wrapper.
utcnow = files.utcnow
isotime = files.isotime
operator = files.operator
sha256_file = files.sha256_file
sha256_tree = files.sha256_tree
write_json_atomic = files.write_json_atomic
new_run_id = files.new_run_id


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
        try:
            (path / ARTIFACTS).mkdir(mode=0o700)
        except BaseException:
            path.rmdir()  # a full disk, say: leave nothing behind
            raise
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
    """The wrapper's manifest: the one builder the callback uses too, plus this package's version."""
    return files.build_manifest(
        run_id=run_id,
        mode=mode,
        started=started,
        check_mode=check_mode,
        playbooks=playbooks,
        inventory=[inventory] if inventory else [],
        catalogs=catalogs,
        ticket=ticket,
        window=window,
        written_by=f"ripreplace {__version__}",
        extra_versions={"ripreplace": __version__},
        extra=extra,
    )
