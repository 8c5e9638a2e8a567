# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The run of a read-only command (``audit``, ``equipment``): keys, run directory, manifest, the wrapper's log.

Both commands open a run the same way: the audit keys first (a configured key that cannot be read
is exit 2 with nothing started), then a run directory under ``--runs-dir``, the manifest (check
mode: nothing on any host changes), and the wrapper's run-start; the body runs the playbook, writes
``summary.json`` and calls :meth:`CheckRun.finish`, whose run-end records the summary's sha256::

    with checkrun.open_run(runs_dir, "audit", ...) as opened:
        result = runner.run_playbook(opened.run, request, on_event=collector)
        opened.finish(result.status, build_summary(...))
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ripreplace import auditlog, records, rundir, runfaults
from ripreplace.exceptions import UsageError


@dataclasses.dataclass(frozen=True)
class CheckRun:
    run: rundir.RunDir
    manifest: dict[str, Any]
    log: auditlog.AuditLog

    def finish(self, status: str, summary: records.Summary) -> None:
        """``summary.json``, then run-end (which records the summary's sha256 and the exit code)."""
        self.run.write_summary(summary)
        self.log.run_end(
            status=status,
            stats=summary["counts"],
            summary_path=self.run.summary_path,
            manifest_path=self.run.manifest_path,
            exit_code=summary["exit_code"],
        )


@contextlib.contextmanager
def open_run(
    runs_dir: Path,
    mode: str,
    *,
    inventory: Path | None,
    playbooks: Sequence[Path],
    catalogs: Sequence[Path],
    extra: Mapping[str, Any],
) -> Iterator[CheckRun]:
    """Open a check-mode run; the body writes its records and calls :meth:`CheckRun.finish`.

    If the body raises first, the wrapper's log closes the run with status ``error`` (auditlog.wrapper_run).
    """
    try:
        keys = auditlog.keys_from_env()  # a configured key that cannot be read: exit 2, nothing started
    except auditlog.AuditChainError as exc:
        raise UsageError(str(exc)) from None
    started = rundir.utcnow()
    with runfaults.starting(None):  # a runs directory that cannot be written: one line, exit 2
        run = rundir.RunDir.create(runs_dir.resolve(), mode)
    try:
        manifest = rundir.build_manifest(
            run_id=run.run_id,
            mode=mode,
            started=started,
            inventory=inventory,
            playbooks=playbooks,
            catalogs=catalogs,
            check_mode=True,
            extra=extra,
        )
        run.write_manifest(manifest)
        with auditlog.wrapper_run(run, manifest, keys) as log:
            yield CheckRun(run=run, manifest=manifest, log=log)
    except BaseException as exc:  # a write fault: exit 2 if nothing was recorded (the run removed), else 1
        fault = runfaults.after_error(exc, run, resume_hint=f"run the {mode} again once it can be written")
        if fault is exc:
            raise
        raise fault from exc
