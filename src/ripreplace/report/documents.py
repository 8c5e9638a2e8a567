# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The JSON files of a run directory, read and checked before anything uses them.

``manifest.json``, ``summary.json`` and ``state.json`` are written by ripreplace, but they sit in a
directory anyone with access can edit, copy or half-write. Every value a report or ``runs show``
reads is checked for its type here, so a file with ``"hosts": "x"`` gives one line naming the file
and the key (:class:`~ripreplace.exceptions.InputFileError`, exit 2), never a traceback, and the
rest of the code can rely on the types it is given.

What is checked is what is read: a key the readers never look at may hold anything (a later
version may add keys). Missing keys and ``null`` are allowed wherever the readers have a meaning
for "not recorded".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ripreplace import rundir
from ripreplace.exceptions import InputFileError

STATE_FILE = rundir.STATE

_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _kind(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


class Checker:
    """Type checks on one document; the first wrong value raises with the file and the key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, expected: str, value: Any) -> None:
        raise InputFileError(f"{self.path}: {where}: expected {expected}, found {_kind(value)}")

    def object(self, doc: Mapping[str, Any], key: str, where: str, *, null: bool = True) -> Mapping[str, Any] | None:
        value = doc.get(key)
        if value is None and null:
            return None
        if not isinstance(value, dict):
            self.fail(f"{where}{key}", "an object" + (" or null" if null else ""), value)
        return value

    def objects(self, doc: Mapping[str, Any], key: str, where: str) -> Sequence[Mapping[str, Any]]:
        """A list of objects (missing or null: empty)."""
        value = doc.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(f"{where}{key}", "a list of objects", value)
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(f"{where}{key}[{i}]", "an object", item)
        return value

    def scalar(self, doc: Mapping[str, Any], key: str, where: str, types: tuple[type, ...], expected: str) -> None:
        value = doc.get(key)
        if value is None:
            return
        if isinstance(value, bool) and bool not in types:
            self.fail(f"{where}{key}", expected, value)
        if not isinstance(value, types):
            self.fail(f"{where}{key}", expected, value)

    def strings(self, doc: Mapping[str, Any], keys: Sequence[str], where: str) -> None:
        for key in keys:
            self.scalar(doc, key, where, (str,), "a string or null")

    def string_list(self, doc: Mapping[str, Any], key: str, where: str) -> None:
        value = doc.get(key)
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where}{key}", "a list of strings", value)


def read_json(path: Path) -> Any:
    """The decoded file; None when it does not exist. Unreadable or not JSON: InputFileError."""
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise InputFileError(f"{path}: cannot be read as JSON ({exc.__class__.__name__}: {exc})") from None


def _top(path: Path) -> dict[str, Any] | None:
    doc = read_json(path)
    if doc is not None and not isinstance(doc, dict):
        raise InputFileError(f"{path}: expected a JSON object, found {_kind(doc)}")
    return doc


# --------------------------------------------------------------------------- findings
def _check_finding(c: Checker, f: Mapping[str, Any], where: str) -> None:
    c.strings(f, ("catalog_id", "vendor", "product", "state", "confidence"), where)
    c.scalar(f, "review", where, (bool,), "true or false")
    listed = f.get("covered_list")
    if isinstance(listed, dict):
        c.strings(listed, ("entry", "added", "grade"), f"{where}covered_list.")
        c.string_list(listed, "sources", f"{where}covered_list.")
    elif listed is not None and not isinstance(listed, str):
        c.fail(f"{where}covered_list", "an object, a string or null", listed)
    for i, e in enumerate(c.objects(f, "evidence", where)):
        c.strings(e, ("kind", "confidence"), f"{where}evidence[{i}].")
        c.object(e, "details", f"{where}evidence[{i}].")
    exception = c.object(f, "exception", where)
    if exception is not None:
        c.strings(exception, ("id", "expires", "ticket", "reason", "scope", "message"), f"{where}exception.")


def _check_findings(c: Checker, entry: Mapping[str, Any], where: str) -> None:
    for key in ("findings", "excepted"):
        for i, f in enumerate(c.objects(entry, key, where)):
            _check_finding(c, f, f"{where}{key}[{i}].")
    for i, e in enumerate(c.objects(entry, "exceptions_expired", where)):
        c.strings(e, ("id", "expires", "ticket", "reason", "scope", "message"), f"{where}exceptions_expired[{i}].")


def _check_outcome(c: Checker, entry: Mapping[str, Any], where: str) -> None:
    """What summary and state entries share: findings, replacement, verify, removal actions."""
    _check_findings(c, entry, where)
    c.strings(entry, ("status", "state", "reason", "run"), where)
    c.scalar(entry, "batch", where, (int,), "an integer or null")
    c.scalar(entry, "targeted", where, (bool,), "true or false")
    replacement = c.object(entry, "replacement", where)
    if replacement is not None:
        c.strings(replacement, ("product", "name", "version", "reason"), f"{where}replacement.")
        c.scalar(replacement, "healthy", f"{where}replacement.", (bool,), "true, false or null")
    verify = c.object(entry, "verify", where)
    if verify is not None:
        c.strings(verify, ("outcome", "reason"), f"{where}verify.")
        c.scalar(verify, "protection_gap_seconds", f"{where}verify.", (int, float), "a number or null")
    removed = entry.get("removed")
    if removed is not None and not isinstance(removed, list):
        c.fail(f"{where}removed", "a list", removed)


def _check_hosts(c: Checker, doc: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    hosts = c.object(doc, "hosts", "", null=True)
    if hosts is None:
        return {}
    for name, entry in hosts.items():
        if not isinstance(entry, dict):
            c.fail(f"hosts.{name}", "an object", entry)
        _check_outcome(c, entry, f"hosts.{name}.")
    return hosts


# --------------------------------------------------------------------------- the three documents
def check_manifest(path: Path, doc: Mapping[str, Any]) -> None:
    c = Checker(path)
    c.strings(doc, ("format", "run", "mode", "started", "operator", "ticket"), "")
    window = doc.get("window")
    if window is not None and not isinstance(window, str | dict):
        c.fail("window", "a string, an object or null", window)
    log = c.object(doc, "audit_log", "")
    if log is not None:
        c.strings(log, ("final_hash",), "audit_log.")
        c.scalar(log, "records", "audit_log.", (int,), "an integer or null")
    resumes = c.object(doc, "resumes", "")
    if resumes is not None:
        c.strings(resumes, ("run", "final_hash"), "resumes.")
    for i, item in enumerate(c.objects(doc, "catalog_files", "")):
        c.strings(item, ("path", "sha256"), f"catalog_files[{i}].")


def check_summary(path: Path, doc: Mapping[str, Any]) -> None:
    c = Checker(path)
    c.strings(doc, ("format", "run", "mode", "finished"), "")
    c.scalar(doc, "exit_code", "", (int,), "an integer or null")
    counts = c.object(doc, "counts", "")
    for status, n in (counts or {}).items():
        if not isinstance(n, int) or isinstance(n, bool):
            c.fail(f"counts.{status}", "an integer", n)
    window = c.object(doc, "window", "")
    if window is not None:
        c.strings(window, ("kind", "text", "start", "end"), "window.")
    stop = c.object(doc, "stop", "")
    if stop is not None:
        c.strings(stop, ("reason", "by"), "stop.")
    for i, b in enumerate(c.objects(doc, "batches", "")):
        where = f"batches[{i}]."
        c.scalar(b, "batch", where, (int,), "an integer")
        c.string_list(b, "hosts", where)
        c.strings(b, ("started",), where)
        c.scalar(b, "seconds", where, (int, float), "a number or null")
        c.object(b, "counts", where)
        c.scalar(b, "canceled", where, (bool,), "true or false")
    _check_hosts(c, doc)


def check_state(path: Path, doc: Mapping[str, Any]) -> None:
    c = Checker(path)
    c.strings(doc, ("format", "run", "updated"), "")
    _check_hosts(c, doc)


@dataclasses.dataclass(frozen=True)
class RunDocuments:
    """The checked JSON files of one run directory (None: the file is absent)."""

    path: Path
    manifest: Mapping[str, Any]
    summary: Mapping[str, Any] | None
    state: Mapping[str, Any] | None

    @property
    def summary_hosts(self) -> Mapping[str, Mapping[str, Any]]:
        hosts = (self.summary or {}).get("hosts")
        return hosts if isinstance(hosts, dict) else {}

    @property
    def state_hosts(self) -> Mapping[str, Mapping[str, Any]]:
        hosts = (self.state or {}).get("hosts")
        return hosts if isinstance(hosts, dict) else {}


def read_run(path: Path) -> RunDocuments:
    """manifest.json (required), summary.json and state.json of a run directory, each type-checked."""
    manifest_path = path / rundir.MANIFEST
    manifest = _top(manifest_path)
    if manifest is None:
        raise InputFileError(f"{manifest_path}: no such file: not a run directory")
    check_manifest(manifest_path, manifest)
    summary = _top(path / rundir.SUMMARY)
    if summary is not None:
        check_summary(path / rundir.SUMMARY, summary)
    state = _top(path / STATE_FILE)
    if state is not None:
        check_state(path / STATE_FILE, state)
    return RunDocuments(path, manifest, summary, state)
