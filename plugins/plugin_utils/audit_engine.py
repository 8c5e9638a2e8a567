# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The trail under an engine (ansible-runner, AWX / Automation Controller, Receptor).

- Identity: the job's identity from an allow-list of the engine's variables (``awx_*`` and their
  ``tower_*`` aliases), never any other extra var.
- Records in the job's events: under ansible-runner the callback also prints every record as one
  line ``RIPREPLACE-AUDIT <record>``; ansible-runner turns each line into a ``verbose`` event, which
  the engine keeps (AWX stores job events; ``ansible-runner process`` writes ``job_events/``). The log
  is rebuilt from those events in ``counter`` order and verified like the file.
- The chain head in the job's stats: the callback sets the custom stat ``ripreplace_audit`` (run id,
  final hash, record count) before the ``playbook_on_stats`` event is written; the verifier of the
  events holds the rebuilt chain to it.
- Where the log goes under ansible-runner: ``$AWX_ISOLATED_DATA_DIR/ripreplace/``, the job's artifact
  directory, which the worker ships back to the ``process`` side (``artifacts/[<ident>/]ripreplace``).
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .audit_record import AuditChainError, PathLike

#: Prefix of a record line in the job's stdout (and so in its events).
EMIT_PREFIX = "RIPREPLACE-AUDIT "
#: Set by ansible-runner (and AWX) to the job's artifact directory.
ARTIFACT_DIR_ENV = "AWX_ISOLATED_DATA_DIR"
RUNNER_SUBDIR = "ripreplace"
#: The custom stat (``set_stats``, aggregated) that carries the chain head: in the ``artifact_data`` of
#: the job's ``playbook_on_stats`` event, and so in AWX's job ``artifacts`` (see ``audit_stats``).
STATS_KEY = "ripreplace_audit"
_HEX64 = frozenset("0123456789abcdef")

#: The engine's job identity recorded in the manifest (suffixes of ``awx_`` and ``tower_``).
IDENTITY_FIELDS = (
    "job_id",
    "job_launch_type",
    "job_template_id",
    "job_template_name",
    "workflow_job_id",
    "workflow_job_name",
    "workflow_job_template_id",
    "workflow_job_template_name",
    "user_id",
    "user_name",
    "schedule_id",
    "schedule_name",
    "inventory_id",
    "inventory_name",
    "project_revision",
    "project_scm_branch",
    "execution_node",
)
IDENTITY_VARS = tuple(f"{prefix}_{field}" for prefix in ("awx", "tower") for field in IDENTITY_FIELDS)
_MAX_VALUE = 256


def engine_identity(extra_vars: Mapping[str, Any] | None) -> dict[str, Any]:
    """The allow-listed engine variables present in ``extra_vars`` (scalars only, bounded)."""
    out: dict[str, Any] = {}
    for name in IDENTITY_VARS:
        value = (extra_vars or {}).get(name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            out[name] = value
        elif isinstance(value, str):
            out[name] = value[:_MAX_VALUE]
    return out


def engine_user(identity: Mapping[str, Any]) -> str | None:
    """Who launched the job, per the engine."""
    for name in ("awx_user_name", "tower_user_name"):
        if isinstance(identity.get(name), str) and identity[name]:
            return str(identity[name])
    return None


def runner_run_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """The run directory of a standalone run under ansible-runner: inside the job's artifact directory."""
    environ = os.environ if environ is None else environ
    artifacts = environ.get(ARTIFACT_DIR_ENV)
    return os.path.join(artifacts, RUNNER_SUBDIR) if artifacts else None


# --------------------------------------------------------------------------- reading events back


def load_events(path: PathLike) -> list[dict[str, Any]]:
    """Job events from an AWX API export (``{"results": [...]}``, or several pages in a list) or from a
    ``job_events`` directory of ansible-runner (one JSON file per event). Raises :class:`AuditChainError`."""
    given = os.fspath(path)
    if os.path.isdir(given):
        events = []
        for name in sorted(glob.glob(os.path.join(given, "*.json"))):
            events.extend(_events_in(_read_json(name), name))
        return events
    return _events_in(_read_json(given), given)


def _read_json(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        raise AuditChainError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise AuditChainError(f"{path}: not a JSON job-events export ({str(exc)[:120]})") from None


def _events_in(data: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "results" in data:
        data = data["results"]
    elif isinstance(data, dict) and "event" in data:
        data = [data]  # one runner event file
    elif isinstance(data, list) and all(isinstance(p, dict) and "results" in p for p in data) and data:
        data = [event for page in data for event in (page.get("results") or [])]  # several API pages
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise AuditChainError(f"{where}: not a job-events export (a 'results' list of events)")
    return data


def record_lines(events: Iterable[Mapping[str, Any]], counters: list[Any] | None = None) -> Iterator[bytes]:
    """The log's lines (with newline) carried by the events, in event ``counter`` order: the lines that
    start with ``RIPREPLACE-AUDIT `` in ``verbose`` events (the callback prints each record alone). An
    event repeated whole (same counter, same content) counts once; two different events with one
    counter both count, so the chain breaks there.

    ``counters``, when given, receives the counter of the event each line came from (to name it).
    """

    def counter(event: Mapping[str, Any]) -> int:
        value = event.get("counter")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    seen: dict[Any, Mapping[str, Any]] = {}
    for event in sorted(events, key=counter):
        number = counter(event)
        if number > 0 and seen.get(number) == event:
            continue  # the same event twice (a page fetched twice): one event; a different one is kept, and fails
        seen.setdefault(number, event)
        stdout = event.get("stdout")
        if event.get("event") != "verbose" or not isinstance(stdout, str) or EMIT_PREFIX not in stdout:
            continue  # only the callback's own lines: a task's output quoting the prefix is not a record
        for raw in stdout.split("\n"):  # not splitlines(): a record may hold U+2028 and other separators
            line = raw.rstrip("\r")
            if line.startswith(EMIT_PREFIX):
                if counters is not None:
                    counters.append(event.get("counter"))
                yield line[len(EMIT_PREFIX) :].encode("utf-8") + b"\n"


def stats_head(events: Iterable[Mapping[str, Any]]) -> tuple[str | None, str | None]:
    """(the final hash the job's stats carry, where) or (None, None) when no stats event carries one.

    The last stats event (by counter) that carries ``ripreplace_audit`` names the end of the chain:
    ansible-playbook reports the stats after each playbook file, so a job given several files has a
    stats event, and a run-end, per file. Raises :class:`AuditChainError` when a stats event carries
    ``ripreplace_audit`` without a sha256 final hash: the events were edited.
    """

    def counter(event: Mapping[str, Any]) -> int:
        value = event.get("counter")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    last: tuple[str | None, Any] = (None, None)
    for event in sorted(events, key=counter):
        data = event.get("event_data") if event.get("event") == "playbook_on_stats" else None
        artifacts = data.get("artifact_data") if isinstance(data, Mapping) else None
        if not isinstance(artifacts, Mapping) or STATS_KEY not in artifacts:
            continue
        head = artifacts[STATS_KEY]
        final = head.get("final_hash") if isinstance(head, Mapping) else None
        if not isinstance(final, str) or len(final) != 64 or not set(final) <= _HEX64:
            raise AuditChainError(
                f"the job's stats event (counter {event.get('counter')}) carries {STATS_KEY} without a sha256 "
                "final_hash: the events were edited"
            )
        last = (final, event.get("counter"))
    if last[0] is None:
        return None, None
    return last[0], f"the job's stats ({STATS_KEY} in the stats event, counter {last[1]})"
