# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""report on a job-events export: what is not an export of a ripreplace run is one line, exit 2.
(The real export of a real run, and an edited one, are in tests/integration/test_engine_e2e.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ripreplace import cli


def _events(*stdouts: str) -> dict:
    return {"results": [{"counter": n, "event": "verbose", "stdout": s} for n, s in enumerate(stdouts, 1)]}


@pytest.mark.parametrize(
    ("doc", "expect"),
    [
        (_events(), "no ripreplace audit record (RIPREPLACE-AUDIT) in these job events"),
        (_events("PLAY [all]", "ok: [h1]"), "no ripreplace audit record"),
        (_events('RIPREPLACE-AUDIT {"type":"task","data":{}}'), "is not a run-start with a manifest"),
        (_events("RIPREPLACE-AUDIT not json"), "is not a run-start with a manifest"),
        ({"results": "x"}, "no such run"),
    ],
)
def test_what_is_no_export_of_a_run_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict, expect: str
) -> None:
    export = tmp_path / "events.json"
    export.write_text(json.dumps(doc))
    assert cli.main(["report", str(export), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and expect in captured.err, captured.err
    assert "Traceback" not in captured.err
