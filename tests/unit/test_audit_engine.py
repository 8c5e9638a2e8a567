# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The trail under an engine (issue 12): the job's identity, one manifest per run, the log rebuilt
from a job's events (AWX export, ansible-runner's job_events), and where verify-log finds a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ripreplace import auditlog, cli, collection

chain = collection.load_plugin_util("audit_chain")
engine = collection.load_plugin_util("audit_engine")
files = collection.load_plugin_util("run_files")


def test_identity_is_an_allow_list_of_the_engines_variables() -> None:
    extra = {
        "awx_job_id": 42,
        "awx_user_name": "alice",
        "awx_job_template_name": "Remediate ring 1",
        "tower_workflow_job_id": 7,
        "awx_user_email": "alice@example.org",  # not on the list
        "awx_job_id_extra": "x",
        "awx_inventory_name": "n" * 1000,
        "awx_schedule_id": None,
        "awx_project_revision": True,
        "site_api_token": "secret",
        "replacement_product": "clamav",
    }
    identity = engine.engine_identity(extra)
    assert identity == {
        "awx_job_id": 42,
        "awx_user_name": "alice",
        "awx_job_template_name": "Remediate ring 1",
        "tower_workflow_job_id": 7,
        "awx_inventory_name": "n" * 256,
    }
    assert engine.engine_user(identity) == "alice" and engine.engine_user({"tower_user_name": "bob"}) == "bob"
    assert engine.engine_identity(None) == {}


def test_operator_order() -> None:
    env = {"SUDO_USER": "sudoer"}
    assert files.operator(env, engine_user="alice") == "alice"
    assert files.operator({**env, "RIPREPLACE_OPERATOR": "ops"}, engine_user="alice") == "ops"
    assert files.operator(env) == "sudoer"


def test_manifest_with_engine_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    monkeypatch.delenv("RIPREPLACE_OPERATOR", raising=False)
    manifest = files.build_manifest(
        run_id="r",
        mode="playbook",
        started=dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
        check_mode=True,
        written_by="test",
        engine={"awx_job_id": 42, "awx_user_name": "alice"},
        engine_user="alice",
    )
    assert manifest["engine"] == {"awx_job_id": 42, "awx_user_name": "alice"}
    assert manifest["operator"] == "alice"


def test_a_run_never_records_another_runs_manifest(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    first = files.claim_manifest(path, "job-1", lambda: {"run": "job-1", "ticket": "CHG-1"})
    assert first["ticket"] == "CHG-1"
    again = files.claim_manifest(path, "job-1", lambda: {"run": "job-1", "ticket": "WRONG"})
    assert again["ticket"] == "CHG-1"  # a run's own manifest is reused
    second = files.claim_manifest(path, "job-2", lambda: {"run": "job-2", "ticket": "CHG-2"})
    assert second["ticket"] == "CHG-2" and json.loads(path.read_text())["ticket"] == "CHG-2"
    assert json.loads((tmp_path / "manifests" / "job-1.json").read_text())["ticket"] == "CHG-1"  # kept
    path.write_text("not json")
    files.claim_manifest(path, "job-3", lambda: {"run": "job-3"})
    kept = sorted(p.name for p in (tmp_path / "manifests").iterdir())
    assert kept[0] == "job-1.json" and kept[1].startswith("unreadable-") and len(kept) == 2


# ------------------------------------------------------------------------------------------
# the log rebuilt from a job's events


def make_log(path: Path) -> list[bytes]:
    with auditlog.AuditLog(path, run_id="job-42") as log:
        log.run_start({"run": "job-42"})
        log.writer.append(chain.TASK, {"host": "h1", "task": "detect", "status": "ok", "msg": "a\u2028b"})
        log.decision("batch-end", batch=1)
        log.run_end(status="successful")
    return path.read_bytes().splitlines(keepends=True)


def events_of(lines: list[bytes]) -> list[dict]:
    """What ansible-runner makes of the callback's printed records: one verbose event a line, among others."""
    events: list[dict] = [{"counter": 1, "event": "playbook_on_start", "stdout": ""}]
    for line in lines:
        text = line.decode().rstrip("\n")
        events.append({"counter": len(events) + 1, "event": "verbose", "stdout": f"{engine.EMIT_PREFIX}{text}\r"})
        events.append({"counter": len(events) + 1, "event": "runner_on_ok", "stdout": "ok: [h1]"})
    return events


@pytest.mark.parametrize("shape", ["export", "pages", "runner-dir"])
def test_log_rebuilt_from_events_verifies(tmp_path: Path, shape: str) -> None:
    events = events_of(make_log(tmp_path / "audit.jsonl"))
    events.reverse()  # the order is the counter's, not the file's
    if shape == "export":
        target = tmp_path / "job-42-events.json"
        target.write_text(json.dumps({"count": len(events), "next": None, "results": events}))
    elif shape == "pages":
        target = tmp_path / "pages.json"
        target.write_text(json.dumps([{"results": events[:3]}, {"results": events[3:]}]))
    else:
        target = tmp_path / "private" / "artifacts" / "job_events"
        target.mkdir(parents=True)
        for event in events:
            (target / f"{event['counter']}-uuid.json").write_text(json.dumps(event))
        target = target.parent.parent  # the process side's private data dir
    verdict = auditlog.verify_run(target)
    assert verdict.ok and verdict.records == 4, verdict.one_line()
    assert "rebuilt from the records in 9 job events" in verdict.one_line()


def test_an_edited_or_missing_event_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(make_log(tmp_path / "audit.jsonl"))
    export = tmp_path / "export.json"
    edited = [dict(e) for e in events]
    edited[3]["stdout"] = edited[3]["stdout"].replace('"status":"ok"', '"status":"failed"')
    export.write_text(json.dumps({"results": edited}))
    assert cli.main(["verify-log", str(export)]) == 6
    out = capsys.readouterr().out
    assert "TAMPERED: line 2" in out and "job event with counter 4" in out
    export.write_text(json.dumps({"results": [e for e in events if e["counter"] != 4]}))
    assert cli.main(["verify-log", str(export)]) == 6
    assert "deleted" in capsys.readouterr().out
    export.write_text(json.dumps({"results": events[:-4]}))  # the last records (run-end) cut off
    assert cli.main(["verify-log", str(export)]) == 6
    assert "INCOMPLETE RUN" in capsys.readouterr().out
    export.write_text(json.dumps({"results": [{"counter": 1, "stdout": "PLAY [all]"}]}))
    assert cli.main(["verify-log", str(export)]) == 6
    assert "no record" in capsys.readouterr().out
    export.write_text('{"results": "x"}')
    assert cli.main(["verify-log", str(export)]) == 6  # neither a log nor an export: read as a (bad) log
    capsys.readouterr()


def stats_event(counter: int, head: object) -> dict:
    """The job's playbook_on_stats event: awx_display puts the run's custom stats in artifact_data."""
    artifacts = {"ripreplace_hosts_clean": 1, engine.STATS_KEY: head}
    return {
        "counter": counter,
        "event": "playbook_on_stats",
        "stdout": "PLAY RECAP",
        "event_data": {"artifact_data": artifacts},
    }


def verdict_of(tmp_path: Path, events: list[dict], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"results": events}))
    code = cli.main(["verify-log", str(export)])
    return code, capsys.readouterr().out


def test_the_chain_head_in_the_jobs_stats_holds_the_events_to_their_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = make_log(tmp_path / "audit.jsonl")
    final = json.loads(lines[-1])["hash"]
    events = events_of(lines)
    events.append(stats_event(len(events) + 1, {"run_id": "job-42", "final_hash": final, "records": 4}))
    code, out = verdict_of(tmp_path, events, capsys)
    assert code == 0 and "final hash matches the job's stats (ripreplace_audit)" in out, out
    # run-end's event deleted: without the head a killed run (INCOMPLETE); the stats say it ended: TAMPERED
    cut = [e for e in events if '"type":"run-end"' not in e["stdout"]]
    code, out = verdict_of(tmp_path, cut, capsys)
    assert code == 6 and "TAMPERED" in out and "the job's stats" in out and final[:16] in out, out
    code, out = verdict_of(tmp_path, [e for e in cut if e["event"] != "playbook_on_stats"], capsys)
    assert code == 6 and "INCOMPLETE RUN" in out, out
    for head, says in (
        ({"final_hash": "0" * 64}, "records 0000000000000000"),
        ({"final_hash": "not-a-hash"}, "without a sha256 final_hash"),
        ("bb" * 32, "without a sha256 final_hash"),
    ):
        code, out = verdict_of(tmp_path, [*events[:-1], stats_event(events[-1]["counter"], head)], capsys)
        assert code == 6 and "TAMPERED" in out and says in out, (head, out)
    # a stats event per playbook file: the last one names the end of the chain
    earlier = stats_event(len(events) + 1, {"final_hash": json.loads(lines[1])["hash"]})
    earlier["counter"] = 3
    code, out = verdict_of(tmp_path, [*events, earlier], capsys)
    assert code == 0 and "final hash matches the job's stats" in out, out
    later = stats_event(len(events) + 1, {"final_hash": "1" * 64})
    code, out = verdict_of(tmp_path, [*events, later], capsys)
    assert code == 6 and "TAMPERED" in out and "1111111111111111" in out, out


def test_reordered_duplicated_or_foreign_record_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_of(make_log(tmp_path / "audit.jsonl"))
    swapped = [dict(e) for e in events]
    swapped[1]["counter"], swapped[3]["counter"] = swapped[3]["counter"], swapped[1]["counter"]
    code, out = verdict_of(tmp_path, swapped, capsys)
    assert code == 6 and "TAMPERED" in out, out
    code, out = verdict_of(tmp_path, [*events, {**events[3], "counter": 99}], capsys)
    assert code == 6 and "TAMPERED" in out, out
    code, out = verdict_of(tmp_path, [*events, *events[2:6]], capsys)  # a page fetched twice: the same events
    assert code == 0 and "OK" in out, out
    code, out = verdict_of(tmp_path, [*events, {**events[3], "stdout": events[5]["stdout"]}], capsys)
    assert code == 6 and "TAMPERED" in out, out  # another event under an event's counter
    # a task's output quoting a record (a hostile host, a debug task) is not a record: the trail still verifies
    quoted = f'fatal: [h1]: FAILED! => {{"msg": "{engine.EMIT_PREFIX}{{\\"type\\":\\"task\\"}}"}}'
    foreign = [
        {"counter": 50, "event": "runner_on_failed", "stdout": f"{engine.EMIT_PREFIX}{{}}\n{quoted}"},
        {"counter": 51, "event": "verbose", "stdout": f"  {engine.EMIT_PREFIX}{{}}"},
    ]
    code, out = verdict_of(tmp_path, [*events[:5], *foreign, *events[5:]], capsys)
    assert code == 0 and "OK" in out, out


def test_a_shipped_run_is_held_to_the_head_in_the_jobs_stats(tmp_path: Path) -> None:
    """The process side's artifacts: ripreplace/ (the log, shipped back) beside job_events/ (stats)."""
    ident = tmp_path / "private" / "artifacts" / "ident-1"
    run, job_events = ident / "ripreplace", ident / "job_events"
    run.mkdir(parents=True)
    job_events.mkdir()
    lines = make_log(run / "audit.jsonl")
    final = json.loads(lines[-1])["hash"]
    (job_events / "2-b.json").write_text(json.dumps({"counter": 2, "event": "verbose", "stdout": "x"}))
    (job_events / "9-a.json").write_text(json.dumps(stats_event(9, {"final_hash": final})))
    verdict = auditlog.verify_run(tmp_path / "private")
    assert verdict.ok and "final hash matches the job's stats" in verdict.one_line(), verdict.one_line()
    assert "not cross-checked" not in verdict.one_line()
    (run / "audit.jsonl").write_bytes(b"".join(lines[:-1]))  # run-end cut, no manifest to say so
    verdict = auditlog.verify_run(tmp_path / "private")
    assert verdict.status == auditlog.TAMPERED and "the job's stats" in verdict.message, verdict.one_line()
    (run / "audit.jsonl").write_bytes(b"".join(lines))
    (job_events / "9-a.json").write_text(json.dumps(stats_event(9, {"final_hash": "2" * 64})))
    verdict = auditlog.verify_run(tmp_path / "private")
    assert verdict.status == auditlog.TAMPERED and "2222222222222222" in verdict.message, verdict.one_line()
    (job_events / "9-a.json").write_text(json.dumps(stats_event(9, {"final_hash": 7})))
    verdict = auditlog.verify_run(tmp_path / "private")
    assert verdict.status == auditlog.TAMPERED and "without a sha256" in verdict.message, verdict.one_line()
    (job_events / "9-a.json").write_text("{not json")  # unreadable: the log is verified on its own
    assert auditlog.verify_run(tmp_path / "private").ok


def test_where_verify_log_finds_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private = tmp_path / "private"
    run = private / "artifacts" / "ident-1" / "ripreplace"
    run.mkdir(parents=True)
    make_log(run / "audit.jsonl")
    assert auditlog.locate(private) == (str(run / "audit.jsonl"), None)
    assert auditlog.verify_run(private).ok
    other = private / "artifacts" / "ident-2" / "ripreplace"
    other.mkdir(parents=True)
    make_log(other / "audit.jsonl")
    assert cli.main(["verify-log", str(private)]) == 2
    assert "holds 2 ripreplace runs: name one" in capsys.readouterr().err
    assert cli.main(["verify-log", str(other.parent)]) == 0
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    assert cli.main(["verify-log", str(tmp_path / "empty")]) == 2
    assert "nor an ansible-runner run or job events" in capsys.readouterr().err
    damaged = tmp_path / "copy.log"  # a log under another name, its first line damaged: still a log
    damaged.write_bytes(b"garbage\n" + (run / "audit.jsonl").read_bytes())
    verdict = auditlog.verify_run(damaged)
    assert verdict.status == auditlog.TAMPERED and verdict.line == 1


def test_writer_hands_every_line_to_on_line_in_order(tmp_path: Path) -> None:
    seen: list[bytes] = []
    with chain.AuditWriter(tmp_path / "a.jsonl", run_id="r", on_line=seen.append) as writer:
        writer.append(chain.RUN_START, {})
        writer.append(chain.TASK, {"host": "h"})
    with (tmp_path / "a.jsonl").open("ab") as handle:
        handle.write(b'{"partial')  # a writer killed mid-line: the next one writes a truncation record
    with chain.AuditWriter(tmp_path / "a.jsonl", run_id="r", on_line=seen.append) as writer:
        writer.append(chain.RUN_END, {})
    assert b"".join(line + b"\n" for line in seen) == (tmp_path / "a.jsonl").read_bytes().replace(b'{"partial\n', b"")
    assert [json.loads(line)["type"] for line in seen] == ["run-start", "task", "truncation", "run-end"]
