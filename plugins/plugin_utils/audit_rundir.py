# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Verify a run directory as a whole: its log, and the files beside it that the log vouches for.

:func:`verify_run` is the one verdict ``ripreplace verify-log``, ``ripreplace report``, ``ripreplace
runs`` and ``remediate --resume`` give a run:

1. ``manifest.json`` must be a JSON object, and its ``audit_log`` entry (written when the run ended)
   well formed; a garbage manifest fails verification;
2. the chain verifies (:func:`audit_verify.verify`), ending where the manifest says it ended; a log
   without its last run-end is *tampered* when the manifest recorded that run-end, *incomplete*
   (a killed run) only when it never did;
3. every file the last run-end names under ``files`` (``summary.json``, ``manifest.json``,
   ``state.json``) still has the sha256 it recorded: a summary or manifest edited after the run
   fails verification, so a report never shows edited values beside "OK".
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from .audit_engine import RUNNER_SUBDIR, STATS_KEY, load_events, record_lines, stats_head
from .audit_record import AuditChainError, PathLike, parse_line
from .audit_sign import Verifier
from .audit_verify import TAMPERED, Verdict, verify, verify_lines
from .run_files import MANIFEST_NAME, file_digest

LOG_NAME = "audit.jsonl"
SUMMARY_NAME = "summary.json"
#: Files whose content a report shows: when present but not covered by run-end, the verdict says so.
SHOWN_FILES = (SUMMARY_NAME, MANIFEST_NAME)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _is_log(path: str) -> bool:
    """A log file, as opposed to a JSON export of a job's events.

    A file named ``*.jsonl``, or whose first line is a record, or that is not a whole JSON document
    of events, is a log: a damaged log is then reported as tampered, never taken for something else.
    """
    if path.endswith(".jsonl"):
        return True
    with open(path, "rb") as handle:
        first = handle.readline(1 << 20)
    if not first.strip() or parse_line(first.rstrip(b"\n")) is not None:
        return True
    try:
        load_events(path)
    except AuditChainError:
        return True
    return False


def _one(found: list[str], given: str, what: str) -> str | None:
    if len(found) > 1:
        raise AuditChainError(f"{given} holds {len(found)} {what}: name one ({', '.join(sorted(found)[:3])})")
    return found[0] if found else None


def _engine_source(given: str) -> tuple[str, str]:
    """In a directory without audit.jsonl: an ansible-runner private data dir or artifact directory.

    The shipped run directory (``[artifacts/[<ident>/]]ripreplace/``) when there is one, else the
    job's events (``[artifacts/[<ident>/]]job_events/``) to rebuild the log from.
    """
    prefixes = ("", "artifacts", os.path.join("artifacts", "*"))
    runs = [
        d
        for p in prefixes
        for d in glob.glob(os.path.join(given, p, RUNNER_SUBDIR))
        if os.path.isfile(os.path.join(d, LOG_NAME))
    ]
    run = _one(runs, given, "ripreplace runs")
    if run is not None:
        return "log", os.path.join(run, LOG_NAME)
    if glob.glob(os.path.join(given, "*.json")) and os.path.basename(os.path.normpath(given)) == "job_events":
        return "events", given
    events = [d for p in prefixes for d in glob.glob(os.path.join(given, p, "job_events")) if os.path.isdir(d)]
    found = _one(events, given, "job_events directories")
    if found is None:
        raise AuditChainError(f"{given} is a directory without {LOG_NAME} (nor an ansible-runner run or job events)")
    return "events", found


def resolve(path: PathLike) -> tuple[str, str]:
    """(kind, where): ``("log", <audit.jsonl>)`` or ``("events", <export file or job_events dir>)``.

    PATH is a run directory, a log file, a JSON export of a job's events (AWX's API shape), or the
    ``process`` side's private data dir of ``ansible-runner transmit | worker | process`` (or any
    artifact directory). Raises :class:`AuditChainError` with a one-line reason.
    """
    given = os.fspath(path)
    if os.path.isdir(given):
        log = os.path.join(given, LOG_NAME)
        kind, where = ("log", log) if os.path.isfile(log) else _engine_source(given)
    elif os.path.isfile(given):
        kind, where = "log", given
    elif os.path.exists(given):
        raise AuditChainError(f"{given} is not a regular file")
    else:
        raise AuditChainError(f"{given}: no such file or directory")
    if not os.access(where, os.R_OK):
        raise AuditChainError(f"{where}: permission denied")
    if kind == "log" and not _is_log(where):
        kind = "events"
    return kind, where


def locate(path: PathLike) -> tuple[str, str | None]:
    """(the log or the events it is rebuilt from, the manifest beside the log or None)."""
    kind, where = resolve(path)
    if kind == "events":
        return where, None
    manifest = os.path.join(os.path.dirname(os.path.abspath(where)), MANIFEST_NAME)
    return where, manifest if os.path.isfile(manifest) else None


def read_manifest(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the manifest, None) or (None, why it is not a manifest)."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        return None, f"{MANIFEST_NAME} cannot be read ({exc.strerror or exc})"
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None, f"{MANIFEST_NAME} is not valid JSON ({str(exc).splitlines()[0][:120]})"
    except RecursionError:
        return None, f"{MANIFEST_NAME} is not valid JSON (nested too deeply)"
    if not isinstance(data, dict):
        return None, f"{MANIFEST_NAME} is not a JSON object"
    return data, None


def expected_end(manifest: Mapping[str, Any], log_name: str) -> tuple[str | None, int | None, str | None]:
    """(final hash, record count, problem) that the manifest repeats for the log named ``log_name``."""
    entry = manifest.get("audit_log")
    if entry is None:
        return None, None, None
    if not isinstance(entry, dict):
        return None, None, f"{MANIFEST_NAME}: audit_log is not an object"
    if entry.get("file", log_name) != log_name:
        return None, None, None  # the manifest of another log file
    final_hash, records = entry.get("final_hash"), entry.get("records")
    if not isinstance(final_hash, str) or not _HEX64.match(final_hash):
        return None, None, f"{MANIFEST_NAME}: audit_log.final_hash is not a sha256"
    if not isinstance(records, int) or isinstance(records, bool) or records < 1:
        return None, None, f"{MANIFEST_NAME}: audit_log.records is not a positive count"
    return final_hash, records, None


def _tampered(verdict: Verdict, message: str) -> Verdict:
    return Verdict(
        TAMPERED,
        message,
        verdict.records,
        verdict.runs,
        line=verdict.run_end_line,
        final_hash=verdict.final_hash,
        run_end=verdict.run_end,
        run_end_line=verdict.run_end_line,
    )


def check_files(verdict: Verdict, directory: str) -> Verdict:
    """Compare the files the last run-end recorded with the files in ``directory`` (an OK verdict in)."""
    recorded = (verdict.run_end or {}).get("files")
    recorded = recorded if isinstance(recorded, dict) else {}
    where = f"run-end (line {verdict.run_end_line})"
    checked = []
    for name in sorted(recorded):
        if not isinstance(name, str) or os.path.basename(name) != name or name in ("", ".", ".."):
            return _tampered(verdict, f"{where} names a run file {name!r} outside the run directory")
        path = os.path.join(directory, name)
        try:
            actual = file_digest(path)
        except FileNotFoundError:
            return _tampered(verdict, f"{name} is missing, but {where} recorded its sha256: it was deleted")
        except (OSError, ValueError, RecursionError) as exc:
            return _tampered(verdict, f"{name} cannot be read or parsed ({exc!r:.120}); {where} recorded its sha256")
        if actual != recorded[name]:
            return _tampered(
                verdict,
                f"{name} was changed after the run ended: its sha256 is {actual[:16]}... but {where} recorded "
                f"{str(recorded[name])[:16]}...",
            )
        checked.append(name)
    if checked:
        verdict.notes.append(f"{', '.join(checked)} as run-end recorded")
    unchecked = [n for n in SHOWN_FILES if n not in recorded and os.path.isfile(os.path.join(directory, n))]
    if unchecked:
        verdict.notes.append(f"{', '.join(unchecked)} not covered by run-end: content not verified")
    return verdict


def _shipped_stats_head(log: str) -> tuple[str | None, str | None, str | None]:
    """(final hash, where, problem): the chain head in the job's stats, for a run directory an
    ansible-runner job shipped back (``artifacts/[<ident>/]ripreplace/``, with ``job_events/`` beside
    it); all None elsewhere. ``problem`` when a stats event was edited (see ``stats_head``)."""
    run = os.path.dirname(os.path.abspath(log))
    events = os.path.join(os.path.dirname(run), "job_events")
    if os.path.basename(run) != RUNNER_SUBDIR or not os.path.isdir(events):
        return None, None, None
    for name in sorted(glob.glob(os.path.join(events, "*.json")), key=_event_counter, reverse=True):
        try:  # the stats event is among the last: read from the end, parse only a file that may hold it
            with open(name, "rb") as handle:
                if b"playbook_on_stats" not in handle.read():
                    continue
            loaded = [e for e in load_events(name) if e.get("event") == "playbook_on_stats"]
        except (OSError, AuditChainError):
            continue  # an unreadable event file: the log is verified on its own
        if loaded:
            try:
                return (*stats_head(loaded), None)
            except AuditChainError as exc:
                return None, None, str(exc)
    return None, None, None


def _event_counter(path: str) -> int:
    """ansible-runner names an event file ``<counter>-<uuid>.json``."""
    head = os.path.basename(path).split("-", 1)[0]
    return int(head) if head.isdigit() else -1


def verify_events(where: str, *, key: bytes | None = None, verifier: Verifier | None = None) -> Verdict:
    """The log rebuilt from a job's events (see ``audit_engine``), verified like the file."""
    events = load_events(where)
    counters: list[Any] = []
    try:
        head, source = stats_head(events)
    except AuditChainError as exc:
        return Verdict(TAMPERED, str(exc), 0, 0)
    lines = record_lines(events, counters)
    verdict = verify_lines(lines, key=key, verifier=verifier, expected_final_hash=head, expected_from=source or "")
    if verdict.line is not None and 0 < verdict.line <= len(counters):
        verdict.notes.append(f"record {verdict.line} is in the job event with counter {counters[verdict.line - 1]}")
    if verdict.ok and head is not None:
        verdict.notes.append(f"final hash matches the job's stats ({STATS_KEY})")
    verdict.notes.append(f"rebuilt from the records in {len(events)} job events")
    return verdict


def verify_run(path: PathLike, *, key: bytes | None = None, verifier: Verifier | None = None) -> Verdict:
    """The verdict of a run directory (or of a log file and the manifest beside it); see the module doc.

    Also a job's events (an AWX export, or ``ansible-runner process``'s private data dir): the log is
    rebuilt from them, and checked as a chain (with the key / public key given). Raises
    :class:`AuditChainError` when there is nothing to read (one line).
    """
    kind, where = resolve(path)
    if kind == "events":
        return verify_events(where, key=key, verifier=verifier)
    log, manifest_path = locate(where)
    manifest, problem = (None, None) if manifest_path is None else read_manifest(manifest_path)
    expected_hash = expected_records = None
    if manifest is not None:
        expected_hash, expected_records, problem = expected_end(manifest, os.path.basename(log))
    stats_hash, stats_source, stats_problem = _shipped_stats_head(log)
    source = MANIFEST_NAME
    if stats_hash is not None and expected_hash is None and problem is None:
        expected_hash, source = stats_hash, str(stats_source)
    verdict = verify(
        log,
        key=key,
        expected_final_hash=expected_hash,
        expected_records=expected_records,
        verifier=verifier,
        expected_from=source,
    )
    if verdict.status == TAMPERED:
        return verdict
    if problem is not None:
        return _tampered(verdict, f"{problem}: the manifest was replaced or corrupted")
    if not verdict.ok:
        return verdict
    if stats_problem is not None or (stats_hash is not None and stats_hash != verdict.final_hash):
        return _tampered(
            verdict,
            stats_problem
            or f"the log ends with hash {str(verdict.final_hash)[:16]}... but {stats_source} records "
            f"{str(stats_hash)[:16]}...: the log was cut or rewritten after the job",
        )
    if expected_hash is not None:
        verdict.notes.append(f"final hash matches {source}")
        if stats_hash is not None and source == MANIFEST_NAME:
            verdict.notes.append(f"and the job's stats ({STATS_KEY})")
    elif manifest is not None:
        verdict.notes.append(f"{MANIFEST_NAME} repeats no final hash: not cross-checked")
    return check_files(verdict, os.path.dirname(os.path.abspath(log)))
