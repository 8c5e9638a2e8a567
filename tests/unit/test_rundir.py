# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import datetime as dt
import json
import re
import stat

import pytest

from ripreplace import __version__
from ripreplace.rundir import RunDir, build_manifest, new_run_id, sha256_tree, write_json_atomic


def test_run_id_is_sortable_and_unique():
    when = dt.datetime(2026, 12, 5, 6, 7, 8, tzinfo=dt.UTC)
    first, second = new_run_id("audit", when), new_run_id("audit", when)
    assert re.fullmatch(r"20261205T060708Z-audit-[0-9a-f]{6}", first)
    assert first != second


def test_run_directory_is_never_reused(tmp_path):
    run = RunDir.create(tmp_path, "audit", run_id="r1")
    assert run.artifacts_path.is_dir()
    assert (run.summary_path.name, run.state_path.name) == ("summary.json", "state.json")
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o700
    (run.path / "summary.json").write_text("{}")
    with pytest.raises(FileExistsError):
        RunDir.create(tmp_path, "audit", run_id="r1")
    assert (run.path / "summary.json").read_text() == "{}"  # nothing recorded is lost


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "summary.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"b": 2})
    assert json.loads(target.read_text()) == {"b": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_manifest_hashes_inputs(tmp_path):
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    book = tmp_path / "pb"
    book.mkdir()
    (book / "audit.yml").write_text("- hosts: all\n")
    manifest = build_manifest(
        run_id="r",
        mode="audit",
        started=dt.datetime.now(dt.UTC),
        inventory=inv,
        playbooks=[book],
        catalogs=[],
        ticket="CHG-1",
        check_mode=True,
    )
    assert manifest["versions"]["ripreplace"] == __version__
    assert manifest["sha256"]["inventory"] == {
        str(inv): "f7139b95a3bb91c521c9585c6be214d928dca0749121de32079b395f2b4c8a1b"
    }
    assert len(manifest["sha256"]["playbooks"][str(book / "audit.yml")]) == 64
    assert manifest["ticket"] == "CHG-1" and manifest["check_mode"] is True


def test_sha256_tree_known_value(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"abc")
    assert sha256_tree([f]) == {str(f): "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}


def test_wrapped_playbooks_stop_on_an_audit_record_they_cannot_write_whatever_the_environment(tmp_path, monkeypatch):
    from ripreplace import runner

    run = RunDir.create(tmp_path, "audit")
    monkeypatch.setenv("RIPREPLACE_AUDIT_HALT_ON_ERROR", "false")  # the operator's shell cannot turn it off
    env = runner.base_envvars(run)
    assert env["RIPREPLACE_AUDIT_HALT_ON_ERROR"] == "true" and env["RIPREPLACE_WRAPPED"] == "1"
