# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Fuzz: what reads a run directory back (``ripreplace runs show``/``list``, ``report``, ``verify-log``)
when its ``manifest.json``, ``summary.json``, ``state.json`` or ``audit.jsonl`` is damaged or forged.

The readers belong to other parts of ripreplace; they are driven only through the command line, as an
operator or an auditor would: exit 0 when the run is intact, 6 when the audit log does not verify
(``report``, ``verify-log``), 2 when an input cannot be read, and on any failure exactly one line on
stderr, never a traceback, never a hang. Seeds are real run directories written with the audit-log
writer (tests/report_runs.py); tests/fuzz.py makes and bounds the inputs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz import FUZZ, FUZZ_CLI, HOSTILE_JSON, damaged, documents, dump_json, json_scalars, mutated, run_cli
from tests.report_runs import audit_hosts, make_run

pytestmark = pytest.mark.fuzz

RUN = "20261205T060000Z-remediate-abc123"


def _state(run_id: str) -> dict[str, Any]:
    host = {
        "state": "verified",
        "reason": None,
        "batch": 1,
        "task": None,
        "run": run_id,
        "findings": [],
        "excepted": [],
        "replacement": {"product": "clamav", "healthy": True},
        "removed": ["kesl"],
        "verify": {"clean": True},
        "changed": "2026-12-05T06:10:00.000Z",
        "history": [{"state": "verified", "at": "2026-12-05T06:10:00.000Z", "run": run_id}],
    }
    failed = dict(host, state="failed", reason="'Remove kesl' failed: dpkg returned an error code (1)")
    return {
        "format": "ripreplace-state/2",
        "run": run_id,
        "updated": "2026-12-05T06:11:00.000Z",
        "hosts": {"web1": host, "db2": failed},
    }


@pytest.fixture(scope="module")
def seed() -> Iterator[Path]:
    """A remediate run directory written by the real audit-log writer, with a state.json beside it."""
    with tempfile.TemporaryDirectory(prefix="ripreplace-fuzz-seed-") as tmp:
        path = make_run(Path(tmp), RUN, mode="remediate", hosts=audit_hosts())
        (path / "state.json").write_text(json.dumps(_state(RUN)))
        yield path


def _seed_json(name: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = make_run(Path(tmp), RUN, mode="remediate", hosts=audit_hosts())
        if name == "state.json":
            return _state(RUN)
        return json.loads((path / name).read_text())


def _seed_log() -> list[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = make_run(Path(tmp), RUN, mode="remediate", hosts=audit_hosts())
        return [json.loads(line) for line in (path / "audit.jsonl").read_text().splitlines()]


LOG = _seed_log()


@st.composite
def logs(draw: st.DrawFn) -> bytes:
    """An audit.jsonl cut, reordered, edited or garbled."""
    records = [json.dumps(r, sort_keys=True, separators=(",", ":")) for r in LOG]
    action = draw(st.sampled_from(["edit", "edit", "drop", "dup", "swap", "append", "bytes", "tail", "deep"]))
    n = draw(st.integers(0, len(records) - 1))
    if action == "edit":
        records[n] = json.dumps(draw(mutated(LOG[n], json_scalars)), default=str)
    elif action == "drop":
        del records[n]
    elif action == "dup":
        records.insert(n, records[n])
    elif action == "swap":
        m = draw(st.integers(0, len(records) - 1))
        records[n], records[m] = records[m], records[n]
    elif action == "append":
        records.append(draw(st.sampled_from([b.decode("latin-1") for b in HOSTILE_JSON]) | st.text(max_size=40)))
    elif action == "tail":
        records = records[:n]
    elif action == "deep":  # a record's layout (hash trailer and all) around JSON nested past the parser's limit
        records[n] = '{"data":' + "[" * 3000 + "]" * 3000 + ',"hash":"' + "a" * 64 + '"}'

    data = ("\n".join(records) + "\n").encode("utf-8", "replace")
    return draw(damaged(data)) if action == "bytes" else data


FILES = {
    "manifest.json": documents(_seed_json("manifest.json"), dump_json, json_scalars, HOSTILE_JSON),
    "summary.json": documents(_seed_json("summary.json"), dump_json, json_scalars, HOSTILE_JSON),
    "state.json": documents(_seed_json("state.json"), dump_json, json_scalars, HOSTILE_JSON),
    "audit.jsonl": logs(),
}
damage = st.sampled_from(sorted(FILES)).flatmap(lambda name: st.tuples(st.just(name), FILES[name]))


def _same_records(a: bytes, b: bytes) -> bool:
    try:
        return [json.loads(x) for x in a.splitlines() if x.strip()] == [json.loads(x) for x in b.splitlines()]
    except (ValueError, RecursionError):
        return False


def _damaged_run(seed: Path, name: str, data: bytes) -> Path:
    runs = Path(tempfile.mkdtemp(prefix="ripreplace-fuzz-runs-"))
    path = runs / RUN
    shutil.copytree(seed, path)
    (path / name).write_bytes(data)
    return path


def test_the_seed_run_is_intact(seed: Path) -> None:
    _code, out, _ = run_cli(["verify-log", str(seed)], allowed=(0,))
    assert ": OK: " in out
    run_cli(["runs", "show", RUN, "--runs-dir", str(seed.parent)], allowed=(0,))


@FUZZ
@given(damage, st.sampled_from(["text", "json"]))
def test_runs_show_and_list(seed: Path, change: tuple[str, bytes], output: str) -> None:
    path = _damaged_run(seed, *change)
    try:
        run_cli(["runs", "show", RUN, "--runs-dir", str(path.parent), "--output", output])
        run_cli(["runs", "list", "--runs-dir", str(path.parent), "--output", output])
    finally:
        shutil.rmtree(path.parent)


@FUZZ_CLI
@given(damage, st.sampled_from(["html", "csv", "json", "junit", "md"]))
def test_report(seed: Path, change: tuple[str, bytes], fmt: str) -> None:
    """Exit 0 or 6: the report was written (one line says where) and, for 6, one more line gives the
    audit log's verdict; exit 2: one line, nothing written."""
    path = _damaged_run(seed, *change)
    target = path.parent / f"report.{fmt}"
    try:
        code, _out, err = run_cli(["report", str(path), "--format", fmt, "-o", str(target)], allowed=(0, 2, 6))
        lines = err.splitlines()
        if code == 2:
            assert not target.exists()
        else:
            assert target.is_file() and lines[0].startswith("ripreplace: wrote ")
            assert len(lines) == (2 if code == 6 else 1), err
    finally:
        shutil.rmtree(path.parent)


@FUZZ
@given(damage)
def test_verify_log(seed: Path, change: tuple[str, bytes]) -> None:
    """Exit 0 or 6: one verdict line on stdout, nothing on stderr; exit 2: one line on stderr."""
    name, data = change
    path = _damaged_run(seed, name, data)
    try:
        for target in (path, path / "audit.jsonl"):
            code, out, err = run_cli(["verify-log", str(target)], allowed=(0, 2, 6))
            if code != 2:
                assert len(out.splitlines()) == 1 and err == "", (out, err)
                assert ": OK" in out if code == 0 else ": OK" not in out
        if name == "audit.jsonl" and not _same_records(data, (seed / name).read_bytes()):
            assert code != 0, out  # a log whose records changed never verifies
    finally:
        shutil.rmtree(path.parent)


@FUZZ
@given(FILES["state.json"])
def test_state_reader_of_resume(data: bytes) -> None:
    """``remediate --resume`` reads the run's state.json with campaign.load_state: a state or one line."""
    from ripreplace import campaign
    from ripreplace.exceptions import UsageError

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.json"
        path.write_bytes(data)
        try:
            state = campaign.load_state(path)
        except UsageError as exc:
            assert "\n" not in str(exc)
            return
        assert isinstance(state["hosts"], dict)
