# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The audit log writer and verifier (plugins/plugin_utils/audit_chain.py), on their own.

The writer is a plain class with an injectable clock; the verifier is checked against the full
tamper matrix: modified, deleted, inserted, reordered, forged (with a key), truncated, partial last
line, and killed runs, which are "incomplete", not "tampered".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ripreplace import cli, collection

chain = collection.load_plugin_util("audit_chain")

KEY = b"k" * 32
T0 = dt.datetime(2026, 12, 5, 6, 0, 0, tzinfo=dt.UTC)


class FakeClock:
    """Wall clock and monotonic clock under the test's control."""

    def __init__(self) -> None:
        self.now = T0
        self.mono = 1000.0

    def wall(self) -> dt.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)
        self.mono += seconds


def make_log(path: Path, key: bytes | None = None, tasks: int = 6, clock: FakeClock | None = None) -> Path:
    """run-start, a decision, ``tasks`` task records, run-end: ``tasks + 3`` lines."""
    clock = clock or FakeClock()
    with chain.AuditLog(path, run_id="run-1", key=key, clock=clock.wall, monotonic=clock.monotonic) as log:
        log.run_start({"run": "run-1", "mode": "audit", "ticket": "CHG-1"})
        log.decision("window-check", ok=True, window="now/PT1H")
        for i in range(tasks):
            clock.advance(0.5)
            log.writer.append(chain.TASK, {"host": f"h{i}", "task": "detect", "status": "ok", "findings": []})
        log.run_end(status="successful", stats={"h0": {"ok": 1}})
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def fields(line: bytes) -> dict:
    parsed = chain.parse_line(line.rstrip(b"\n"))
    assert parsed is not None
    return dict(parsed.fields)


def forge(body: dict, key: bytes | None = None) -> bytes:
    """A record line built exactly like the writer does, by someone who has (or lacks) the key."""
    raw = chain.canonical(body)
    line = raw[:-1] + b',"hash":"' + hashlib.sha256(raw).hexdigest().encode() + b'"'
    if key is not None:
        line += b',"hmac":"' + hmac.digest(key, raw, "sha256").hex().encode() + b'"'
    return line + b"}\n"


def hash_of(line: bytes) -> str:
    parsed = chain.parse_line(line.rstrip(b"\n"))
    assert parsed is not None
    return parsed.hash


# ------------------------------------------------------------------------------------------
# the writer


def test_writer_records_are_chained_canonical_and_use_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    log = make_log(tmp_path / "audit.jsonl", clock=clock)
    lines = lines_of(log)
    assert len(lines) == 9
    prev = chain.GENESIS
    for seq, line in enumerate(lines):
        assert line.endswith(b"}\n") and line.count(b"\n") == 1
        record = json.loads(line)
        parsed = chain.parse_line(line[:-1])
        assert record["seq"] == seq and record["prev"] == prev and record["v"] == 1
        assert record["hash"] == hashlib.sha256(parsed.body).hexdigest()
        # the body is the canonical serialisation of the record without hash/hmac
        body = {k: v for k, v in record.items() if k not in ("hash", "hmac")}
        assert parsed.body == chain.canonical(body)
        prev = record["hash"]
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert first["type"] == "run-start" and first["ts"] == "2026-12-05T06:00:00.000Z"
    assert first["src"] == "wrapper" and first["run"] == "run-1"
    assert json.loads(lines[3])["ts"] == "2026-12-05T06:00:01.000Z"
    assert last["type"] == "run-end" and last["data"]["count"] == 9
    assert last["data"]["chain_head"] == json.loads(lines[-2])["hash"]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert chain.verify(log).ok


def test_writer_refuses_records_outside_a_run_and_a_foreign_run(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with chain.AuditWriter(path, run_id="run-1") as writer:
        with pytest.raises(chain.AuditLogClosed):
            writer.append(chain.TASK, {"host": "h"})
        writer.append(chain.RUN_START, {"manifest": {}})
        with pytest.raises(chain.AuditChainError, match="unknown record type"):
            writer.append("nonsense", {})
    with chain.AuditWriter(path, run_id="run-2") as other, pytest.raises(chain.AuditChainError, match="open run"):
        other.append(chain.TASK, {"host": "h"})
    with chain.AuditWriter(path) as adopter:  # no run id: continues the open run
        adopter.append(chain.TASK, {"host": "h"})
        assert adopter.open_run() == "run-1"
    with chain.AuditWriter(path, run_id="run-1") as writer:
        writer.append(chain.RUN_END, {"status": "ok"})
        with pytest.raises(chain.AuditLogClosed):
            writer.append(chain.TASK, {"host": "h"})
        writer.run_id = "run-2"  # a second run may follow in the same file
        writer.append(chain.RUN_START, {"manifest": {}})
        writer.append(chain.RUN_END, {"status": "ok"})
    verdict = chain.verify(path)
    assert verdict.ok and verdict.runs == 2 and verdict.records == 5


def test_decision_api_validates_kind_and_host_state(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with chain.AuditLog(path, run_id="r") as log:
        log.run_start({"run": "r"})
        with pytest.raises(chain.AuditChainError, match="decision kind"):
            log.decision("Batch Start!")
        log.decision("batch-start", batch=1, hosts=["a", "b"])
        log.host_state("a", "deferred", reason="outside the window")
        end = log.run_end(status="deferred")
    records = list(chain.iter_records(path))
    assert [r["type"] for r in records] == ["run-start", "decision", "host-state", "run-end"]
    assert records[1]["data"] == {"kind": "batch-start", "batch": 1, "hosts": ["a", "b"]}
    assert records[2]["data"]["state"] == "deferred"
    assert end.count == 4 and end.hash == records[-1]["hash"]


def test_writer_continues_a_chain_written_by_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    wrapper = chain.AuditLog(path, run_id="r", source="wrapper")
    callback = chain.AuditWriter(path, run_id="r", source="callback")
    wrapper.run_start({"run": "r"})
    callback.append(chain.PLAYBOOK_START, {"playbook": "a.yml"})
    wrapper.decision("batch-start", batch=1)
    callback.append(chain.TASK, {"host": "h", "status": "ok"})
    callback.append(chain.PLAYBOOK_END, {"stats": {}})
    wrapper.run_end(status="successful")
    callback.close()
    wrapper.close()
    records = list(chain.iter_records(path))
    assert [r["src"] for r in records] == ["wrapper", "callback", "wrapper", "callback", "callback", "wrapper"]
    assert chain.verify(path).ok


def test_fsync_in_groups_by_the_injected_monotonic_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    done = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(threading.current_thread().name)
        real_fsync(fd)
        done.set()

    monkeypatch.setattr(os, "fsync", fsync)
    clock = FakeClock()
    writer = chain.AuditWriter(
        tmp_path / "a.jsonl", run_id="r", clock=clock.wall, monotonic=clock.monotonic, fsync_interval=30
    )
    writer.append(chain.RUN_START, {})
    for _ in range(20):
        writer.append(chain.TASK, {"host": "h"})
    assert synced == []  # 21 records within the interval: one group, due 30 s after the last sync
    writer.append(chain.RUN_END, {"status": "ok"})
    assert synced == [threading.current_thread().name]  # run-end is always synced, at once
    writer.close()
    assert len(synced) == 1  # nothing dirty left: the pending timer was cancelled

    synced.clear()
    done.clear()
    writer = chain.AuditWriter(
        tmp_path / "b.jsonl", run_id="r", clock=clock.wall, monotonic=clock.monotonic, fsync_interval=30
    )
    clock.advance(31)  # the last sync is older than the interval: the next record's group is due now
    writer.append(chain.RUN_START, {})
    assert done.wait(5)
    assert synced and synced[0] != threading.current_thread().name  # synced by the timer, off this thread
    writer.close()


def test_a_quiet_log_is_synced_by_the_timer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced = threading.Event()
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.set(), real_fsync(fd)))
    writer = chain.AuditWriter(tmp_path / "a.jsonl", run_id="r", fsync_interval=0.05)
    writer.append(chain.RUN_START, {})
    writer.append(chain.TASK, {"host": "h"})
    assert synced.wait(5), "records stayed unsynced past the interval"
    writer.close()


def test_fsync_interval_zero_syncs_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    with chain.AuditWriter(tmp_path / "a.jsonl", run_id="r", fsync_interval=0) as writer:
        writer.append(chain.RUN_START, {})
        writer.append(chain.TASK, {})
        assert len(synced) == 2


def test_partial_last_line_is_recovered_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with chain.AuditWriter(path, run_id="r") as writer:
        writer.append(chain.RUN_START, {})
        writer.append(chain.TASK, {"host": "h"})
    with path.open("ab") as handle:  # a writer killed in the middle of its line
        handle.write(b'{"data":{"host":"h2","sta')
    verdict = chain.verify(path)
    assert verdict.status == chain.INCOMPLETE and verdict.line == 3 and "truncated" in verdict.message
    with chain.AuditLog(path, run_id="r") as log:  # the wrapper continues after the killed playbook
        log.decision("stop", reason="playbook killed")
        log.run_end(status="failed")
    records = list(chain.iter_records(path))
    assert [r["type"] for r in records] == ["run-start", "task", "truncation", "decision", "run-end"]
    assert records[2]["data"]["bytes"] == len(b'{"data":{"host":"h2","sta')
    assert chain.verify(path).ok
    # the fragment itself cannot be altered unnoticed: the truncation record holds its sha256
    data = path.read_bytes().replace(b'"host":"h2","sta', b'"host":"h9","sta')
    path.write_bytes(data)
    bad = chain.verify(path)
    assert bad.status == chain.TAMPERED and bad.line == 3


def test_corrupt_last_line_is_not_continued(tmp_path: Path) -> None:
    path = make_log(tmp_path / "audit.jsonl")
    with path.open("ab") as handle:
        handle.write(b"garbage\n")
    with chain.AuditWriter(path, run_id="run-1") as writer, pytest.raises(chain.AuditChainError, match="last line"):
        writer.append(chain.RUN_START, {})


def test_existing_log_with_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    chain.AuditWriter(path, run_id="r").close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# ------------------------------------------------------------------------------------------
# the tamper matrix


@pytest.fixture(params=[None, KEY], ids=["no-key", "hmac"])
def key(request: pytest.FixtureRequest) -> bytes | None:
    return request.param


def test_intact_log_verifies(tmp_path: Path, key: bytes | None) -> None:
    verdict = chain.verify(make_log(tmp_path / "a.jsonl", key=key), key=key)
    assert verdict.ok and verdict.records == 9 and verdict.runs == 1
    assert verdict.one_line().startswith("OK: 9 records")
    if key:
        assert "HMAC verified" in verdict.one_line()


def test_modified_record_is_named(tmp_path: Path, key: bytes | None) -> None:
    path = make_log(tmp_path / "a.jsonl", key=key)
    lines = lines_of(path)
    lines[4] = lines[4].replace(b'"status":"ok"', b'"status":"failed"')
    write_lines(path, lines)
    verdict = chain.verify(path, key=key)
    assert verdict.status == chain.TAMPERED and verdict.line == 5 and verdict.seq == 4
    assert "modified" in verdict.message


def test_modified_record_with_recomputed_hash(tmp_path: Path) -> None:
    """Without the key an editor can recompute the hash: the chain breaks at the next record;
    with a key the edited record itself is named, as forged."""
    for key in (None, KEY):
        path = make_log(tmp_path / f"a-{key is None}.jsonl", key=key)
        lines = lines_of(path)
        body = {k: v for k, v in fields(lines[4]).items()}
        body["data"]["status"] = "failed"
        lines[4] = forge(body)
        write_lines(path, lines)
        verdict = chain.verify(path, key=key)
        assert verdict.status == chain.TAMPERED
        if key is None:
            assert verdict.line == 6 and "chain broken" in verdict.message
        else:
            assert verdict.line == 5 and "no HMAC" in verdict.message


def test_deleted_record_is_named(tmp_path: Path, key: bytes | None) -> None:
    path = make_log(tmp_path / "a.jsonl", key=key)
    lines = lines_of(path)
    del lines[4]
    write_lines(path, lines)
    verdict = chain.verify(path, key=key)
    assert verdict.status == chain.TAMPERED and verdict.line == 5
    assert "deleted" in verdict.message and "from 3 to 5" in verdict.message


def test_deleted_first_record_is_named(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    write_lines(path, lines_of(path)[1:])
    verdict = chain.verify(path)
    assert verdict.status == chain.TAMPERED and verdict.line == 1 and "deleted" in verdict.message


def test_inserted_copy_is_named(tmp_path: Path, key: bytes | None) -> None:
    path = make_log(tmp_path / "a.jsonl", key=key)
    lines = lines_of(path)
    lines.insert(5, lines[2])  # replay of an earlier, validly signed record
    write_lines(path, lines)
    verdict = chain.verify(path, key=key)
    assert verdict.status == chain.TAMPERED and verdict.line == 6
    assert "inserted" in verdict.message


def test_inserted_forged_record(tmp_path: Path) -> None:
    """A record made to fit (right seq, right prev, right hash): with a key it is named at once
    (no HMAC, or an HMAC from another key); without one, the next record is out of sequence."""
    for key, forger_key in ((None, None), (KEY, None), (KEY, b"x" * 32)):
        path = make_log(tmp_path / f"a-{key is None}-{forger_key is None}.jsonl", key=key)
        lines = lines_of(path)
        before = fields(lines[4])
        body = {
            "data": {"host": "h9", "task": "detect", "status": "ok", "findings": []},
            "prev": hash_of(lines[4]),
            "run": "run-1",
            "seq": before["seq"] + 1,
            "src": "callback",
            "ts": before["ts"],
            "type": "task",
            "v": 1,
        }
        lines.insert(5, forge(body, forger_key))
        write_lines(path, lines)
        verdict = chain.verify(path, key=key)
        assert verdict.status == chain.TAMPERED
        if key is None:
            assert verdict.line == 7 and "inserted" in verdict.message
        elif forger_key is None:
            assert verdict.line == 6 and "no HMAC" in verdict.message
        else:
            assert verdict.line == 6 and "HMAC does not match" in verdict.message


def test_reordered_records_are_named(tmp_path: Path, key: bytes | None) -> None:
    path = make_log(tmp_path / "a.jsonl", key=key)
    lines = lines_of(path)
    lines[3], lines[4] = lines[4], lines[3]
    write_lines(path, lines)
    verdict = chain.verify(path, key=key)
    assert verdict.status == chain.TAMPERED and verdict.line == 4
    assert "reordered" in verdict.message


def test_wrong_key_is_named_at_the_first_record(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl", key=KEY)
    verdict = chain.verify(path, key=b"y" * 32)
    assert verdict.status == chain.TAMPERED and verdict.line == 1 and "wrong key" in verdict.message


def test_unkeyed_log_checked_with_a_key_is_forged(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    verdict = chain.verify(path, key=KEY)
    assert verdict.status == chain.TAMPERED and verdict.line == 1 and "no HMAC" in verdict.message


def test_keyed_log_without_the_key_says_hmac_not_checked(tmp_path: Path) -> None:
    verdict = chain.verify(make_log(tmp_path / "a.jsonl", key=KEY))
    assert verdict.ok and "not checked" in verdict.one_line()


def test_truncated_log_is_incomplete_not_tampered(tmp_path: Path, key: bytes | None) -> None:
    path = make_log(tmp_path / "a.jsonl", key=key)
    write_lines(path, lines_of(path)[:5])
    verdict = chain.verify(path, key=key)
    assert verdict.status == chain.INCOMPLETE
    assert verdict.one_line().startswith("INCOMPLETE RUN: run run-1") and "no run-end" in verdict.message
    assert "TAMPERED" not in verdict.one_line()


def test_partial_last_line_is_reported_as_truncation(tmp_path: Path, key: bytes | None) -> None:
    path = make_log(tmp_path / "a.jsonl", key=key)
    data = path.read_bytes()
    cut = data.rindex(b"\n", 0, len(data) - 1) + 1 + 40  # 40 bytes into the last line
    path.write_bytes(data[:cut])
    verdict = chain.verify(path, key=key)
    assert verdict.status == chain.INCOMPLETE and verdict.line == 9
    assert "partial record of 40 bytes (truncated)" in verdict.message
    assert "all 8 complete records" in verdict.message


def test_malformed_line_in_the_middle_is_tampered(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    for bad in (b"\n", b"not json\n", lines_of(path)[3][:50] + b"\n"):
        lines = lines_of(path)
        lines.insert(3, bad)
        write_lines(tmp_path / "b.jsonl", lines)
        verdict = chain.verify(tmp_path / "b.jsonl")
        assert verdict.status == chain.TAMPERED and verdict.line == 4 and "not a valid record" in verdict.message


def test_record_appended_after_run_end_is_named(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    lines = lines_of(path)
    last = fields(lines[-1])
    body = {**last, "type": "task", "seq": last["seq"] + 1, "prev": hash_of(lines[-1]), "data": {"host": "x"}}
    lines.append(forge(body))
    write_lines(path, lines)
    verdict = chain.verify(path)
    assert verdict.status == chain.TAMPERED and verdict.line == 10 and "after run-end" in verdict.message


def test_record_spliced_from_another_run_is_named(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    lines = lines_of(path)
    body = fields(lines[4])
    body["run"] = "run-other"
    lines[4] = forge(body)
    # re-chain what follows, as a careful forger without a key would
    for i in range(5, len(lines)):
        nxt = fields(lines[i])
        nxt["prev"] = hash_of(lines[i - 1])
        if nxt["type"] == "run-end":
            nxt["data"]["chain_head"] = nxt["prev"]
        lines[i] = forge(nxt)
    write_lines(path, lines)
    verdict = chain.verify(path)
    assert verdict.status == chain.TAMPERED and verdict.line == 5 and "run-other" in verdict.message


def test_manifest_final_hash_catches_a_rewritten_tail(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    final = chain.verify(path).final_hash
    assert chain.verify(path, expected_final_hash=final, expected_records=9).ok
    verdict = chain.verify(path, expected_final_hash="0" * 64)
    assert verdict.status == chain.TAMPERED and "manifest" in verdict.message
    verdict = chain.verify(path, expected_final_hash=final, expected_records=12)
    assert verdict.status == chain.TAMPERED and "12" in verdict.message


def test_run_end_with_wrong_count_is_tampered(tmp_path: Path) -> None:
    path = make_log(tmp_path / "a.jsonl")
    lines = lines_of(path)
    body = fields(lines[-1])
    body["data"]["count"] = 3
    lines[-1] = forge(body)
    write_lines(path, lines)
    verdict = chain.verify(path)
    assert verdict.status == chain.TAMPERED and verdict.line == 9 and "count" in verdict.message


def test_killed_run_followed_by_another_run_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with chain.AuditWriter(path, run_id="killed") as writer:
        writer.append(chain.RUN_START, {})
        writer.append(chain.TASK, {})
    with chain.AuditWriter(path, run_id="next") as writer:
        writer.append(chain.RUN_START, {})
        writer.append(chain.RUN_END, {"status": "ok"})
    verdict = chain.verify(path)
    assert verdict.status == chain.INCOMPLETE and "killed" in verdict.message and verdict.runs == 2


def test_empty_log_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.touch()
    assert chain.verify(path).status == chain.INCOMPLETE


# ------------------------------------------------------------------------------------------
# concurrency: processes and threads never interleave within a line

_CHILD = r"""
import sys
from ripreplace import collection
chain = collection.load_plugin_util("audit_chain")
path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with chain.AuditWriter(path, run_id="run-1", source=f"w{worker}", fsync_interval=0.2) as writer:
    for i in range(count):
        writer.append(chain.TASK, {"worker": worker, "i": i, "pad": worker * 3000})
"""


def test_concurrent_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with chain.AuditWriter(path, run_id="run-1") as writer:
        writer.append(chain.RUN_START, {})
    workers, count = 6, 150
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(w), str(count)]) for w in range(workers)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    with chain.AuditWriter(path, run_id="run-1") as writer:
        writer.append(chain.RUN_END, {"status": "ok"})
    lines = lines_of(path)
    assert len(lines) == workers * count + 2
    seen: dict[str, list[int]] = {}
    for line in lines[1:-1]:
        record = json.loads(line)  # every line is one whole record
        seen.setdefault(record["data"]["worker"], []).append(record["data"]["i"])
    assert all(items == list(range(count)) for items in seen.values()) and len(seen) == workers
    verdict = chain.verify(path)
    assert verdict.ok, verdict.one_line()


def test_concurrent_threads_share_one_writer(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writer = chain.AuditWriter(path, run_id="r", fsync_interval=0.01)
    writer.append(chain.RUN_START, {})

    def work(n: int) -> None:
        for i in range(200):
            writer.append(chain.TASK, {"t": n, "i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.append(chain.RUN_END, {})
    writer.close()
    verdict = chain.verify(path)
    assert verdict.ok and verdict.records == 8 * 200 + 2


# ------------------------------------------------------------------------------------------
# privacy and bounds


def test_redactor_drops_secret_named_fields_at_any_depth() -> None:
    redactor = chain.Redactor()
    data = {
        "name": "pkg",
        "Password": "p1",
        "nested": {"api_TOKEN": "t1", "list": [{"client_secret": "s1", "ssh_key_file": "/k"}, {"ok": 1}]},
        "DB_PASSWD": "p2",
        "passphrase": "p3",
        "credentials": {"user": "u"},
    }
    clean, redacted = redactor.clean(data)
    text = json.dumps(clean)
    for secret in ("p1", "t1", "s1", "p2", "p3", '"u"'):
        assert secret not in text
    assert clean["name"] == "pkg" and clean["nested"]["list"][1] == {"ok": 1}
    assert clean["Password"] == chain.REDACTED_SECRET
    assert "nested.list[0].client_secret: secret-named field" in redacted
    # a name that says where a key lives is no secret (issue 11: "*key* except known non-secret keys")
    assert clean["nested"]["list"][0]["ssh_key_file"] == "/k"
    assert len(redacted) == 6


def test_redactor_scrubs_secret_values_inside_strings() -> None:
    redactor = chain.Redactor()
    redactor.set_scrub_values(redactor.scrub_values_from({"a": "CANARY-1234", "b": ["short", 12345678], "c": True}))
    clean, redacted = redactor.clean({"msg": "value is CANARY-1234!", "n": "12345678", "s": "short"})
    assert clean["msg"] == f"value is {chain.REDACTED_VALUE}!"
    assert clean["n"] == chain.REDACTED_VALUE
    assert clean["s"] == "short"  # below the minimum length: not scrubbed
    assert redacted == ["msg: secret value", "n: secret value"]


def test_redactor_bounds_and_json_safety() -> None:
    redactor = chain.Redactor(max_string=100, max_items=5, max_depth=3)
    deep = {"a": {"b": {"c": {"d": 1}}}}
    clean, _ = redactor.clean(
        {
            "long": "x" * 1000,
            "many": list(range(50)),
            "deep": deep,
            "set": {3, 1, 2},
            "bytes": b"\xff\xfeab",
            "nan": float("nan"),
            "surrogate": "bad\udc80",
            7: "int key",
            "obj": object(),
        }
    )
    assert clean["long"].startswith("x" * 100) and clean["long"].endswith("<truncated 900 chars>")
    assert clean["many"][-1] == "<truncated 45 more items>" and len(clean["many"]) == 6
    assert clean["deep"]["a"]["b"] == "<truncated: too deep or too large>"
    assert clean["set"] == [1, 2, 3]
    assert clean["nan"] == "nan" and clean["7"] == "int key"
    chain.canonical(clean)  # strict JSON, valid UTF-8


def test_manifest_sha256_paths_are_not_mistaken_for_secrets(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with chain.AuditLog(path, run_id="r") as log:
        log.run_start({"sha256": {"catalogs": {"/c/token-vendors.yml": "ab"}}, "api_key": "K"})
    record = next(chain.iter_records(path))
    assert record["data"]["manifest"]["sha256"]["catalogs"] == {"/c/token-vendors.yml": "ab"}
    assert record["data"]["manifest"]["api_key"] == chain.REDACTED_SECRET


# ------------------------------------------------------------------------------------------
# keys and the manifest


def test_load_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"secret-key\n")
    assert chain.load_key(key_file=key_file) == b"secret-key"
    assert chain.load_key(key_env="K", environ={"K": "from-env"}) == b"from-env"
    assert chain.load_key(key_env="K", environ={}) is None
    assert chain.load_key() is None
    with pytest.raises(chain.AuditKeyError, match="cannot read"):
        chain.load_key(key_file=tmp_path / "missing")
    (tmp_path / "empty").write_bytes(b"\n")
    with pytest.raises(chain.AuditKeyError, match="empty"):
        chain.load_key(key_file=tmp_path / "empty")


def test_run_end_repeats_the_final_hash_into_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"run": "r", "ticket": "CHG-1", "nested": {"x": 1}}))
    with chain.AuditLog(tmp_path / "audit.jsonl", run_id="r") as log:
        log.run_start({"run": "r"})
        end = log.run_end(status="successful", manifest_path=manifest)
    data = json.loads(manifest.read_text())
    assert data["ticket"] == "CHG-1" and data["nested"] == {"x": 1}  # nothing recorded is lost
    assert data["audit_log"]["final_hash"] == end.hash and data["audit_log"]["records"] == 2
    assert data["audit_log"]["file"] == "audit.jsonl"
    assert stat.S_IMODE(os.stat(manifest).st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))


# ------------------------------------------------------------------------------------------
# ripreplace verify-log


def test_verify_log_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    manifest = run / "manifest.json"
    manifest.write_text("{}")
    with chain.AuditLog(run / "audit.jsonl", run_id="r", key=KEY) as log:
        log.run_start({"run": "r"})
        log.run_end(status="successful", manifest_path=manifest)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)

    assert cli.main(["verify-log", str(run), "--key-file", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "OK: 2 records" in out and "HMAC verified" in out and "matches manifest" in out
    assert cli.main(["verify-log", str(run / "audit.jsonl")]) == 0
    capsys.readouterr()

    assert cli.main(["verify-log", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["verify-log", str(tmp_path)]) == 2  # a directory without audit.jsonl
    assert cli.main(["verify-log", str(run), "--key-file", str(tmp_path / "nokey")]) == 2
    assert cli.main(["verify-log", str(run), "--key-env", "RIPREPLACE_TEST_UNSET_KEY"]) == 2
    capsys.readouterr()

    assert cli.main(["verify-log", str(run), "--key-file", str(manifest)]) == 6
    assert "TAMPERED: line 1" in capsys.readouterr().out

    # The run-end cut off while manifest.json repeats its hash: tampered (issue 11), not a killed run ...
    lines = lines_of(run / "audit.jsonl")
    write_lines(run / "audit.jsonl", lines[:1])
    assert cli.main(["verify-log", str(run)]) == 6
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "TAMPERED" in out and "removed from its end" in out
    # ... a killed run (the manifest never got the final hash) is incomplete, never tampered
    manifest.write_text("{}")
    assert cli.main(["verify-log", str(run)]) == 6
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "INCOMPLETE RUN" in out and "TAMPERED" not in out


def test_verify_log_help() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["verify-log", "--help"])
    assert exc.value.code == 0


def test_a_big_log_verifies_whole(tmp_path: Path) -> None:
    """Every record of a big log is read and chained (no timing here: machines vary; throughput is
    measured side by side in bench/bench_audit_log.py and recorded in docs/performance.md)."""
    path = tmp_path / "a.jsonl"
    with chain.AuditWriter(path, run_id="r", fsync_interval=5) as writer:
        writer.append(chain.RUN_START, {})
        for i in range(5000):
            writer.append(chain.TASK, {"host": f"h{i % 25}", "task": "t", "status": "ok"})
        writer.append(chain.RUN_END, {})
    verdict = chain.verify(path)
    assert verdict.ok and verdict.records == 5002, verdict
    last = json.loads(path.read_text().splitlines()[-1])
    assert verdict.message.endswith(f"final hash {last['hash']}"), verdict
