# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate``: bad input is one line and exit 2 and touches no host (no playbook runs).

The end-to-end runs of the command (stand-in playbook, resume, SIGKILL) are in
tests/integration/test_remediate_cli_e2e.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.remediate_site import base, make_site, runs, touched

from ripreplace import cli
from ripreplace.constants import ExitCode


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--window", "2026-12-05T01:00:00/PT3H"], "has no UTC offset"),
        (["--window", "now/PT0S"], "longer than zero"),
        (["--window", "tomorrow"], "not an ISO 8601 interval"),
        (["--window", "now/PT1H", "--batches", "1,0"], "--batches"),
        (["--window", "now/PT1H", "--batches", "200%"], "more than 100%"),
        (["--window", "now/PT1H", "--max-fail", "120"], "--max-fail"),
        (["--window", "now/PT1H", "--batch-estimate", "soon"], "--batch-estimate"),
        (["--window", "now/PT1H", "--replacement", "norton"], "not in the approved catalog"),
        (["--window", "now/PT1H", "--replacement", "sophos"], "data_only"),
        (["--window", "now/PT1H", "--limit", "nosuchhost"], "matches no host"),
        (["--window", "now/PT1H", "--resume", "20260101T000000Z-remediate-000000"], "no run"),
        (["--window", "now/PT1H", "--resume", ".."], "not a run id"),
        (["--window", "now/PT1H", "--resume", "."], "not a run id"),
        (["--window", "now/PT1H", "--max-fail", "1_0"], "--max-fail"),
        (["--window", "now/PT1H", "--batches", "1" * 23], "--batches"),
        (["--window", "now/PT1H", "--forks", "0"], "positive"),
        (["--window-file", "/nonexistent/windows.yml"], "window file not found"),
        (["--window", "now/PT1H", "--window-file", "x.yml"], "not allowed with"),
        ([], "one of the arguments --window --window-file is required"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_touches_no_host(site, capsys, extra, words):
    code = cli.main([*base(site, *extra), "--yes"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert err.count("\n") == 1 and words in err, err
    assert touched(site) == [] and runs(site) == []


UNKNOWN_ID_EXCEPTION = """\
format: ripreplace-exceptions/1
exceptions:
  - {id: EXC-1, host: h1, catalog_id: no-such-entry, reason: a vendor-certified gateway, ticket: CHG-1,
     expires: "2099-01-01"}
"""


@pytest.mark.parametrize(
    ("option", "content", "words"),
    [
        ("--catalog", None, "no such file"),
        ("--catalog", "format: ripreplace-covered-catalog/1\nentries:\n  - {id: x-y, vendor: v}\n", "entry x-y"),
        ("--exceptions", None, "no such file"),
        ("--exceptions", UNKNOWN_ID_EXCEPTION, "no-such-entry"),
    ],
)
def test_bad_site_catalog_or_exceptions_is_one_line_exit_2_as_for_audit(site, capsys, option, content, words):
    path = site / "site-file.yml"
    if content is not None:
        path.write_text(content)
    code = cli.main([*base(site, "--window", "now/PT1H", option, str(path)), "--yes"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert err.count("\n") == 1 and words in err and "site-file.yml" in err, err
    assert touched(site) == [] and runs(site) == []
    audit = cli.main(["audit", "-i", str(site / "inv.yml"), option, str(path), "--runs-dir", str(site / "runs")])
    assert audit == ExitCode.USAGE and capsys.readouterr().err == err  # the same line as audit's


def test_bad_inventory_and_ticket(site, capsys):
    (site / "bad.yml").write_text("all: [unclosed\n")
    args = base(site, "--window", "now/PT1H", "--yes")
    args[2] = str(site / "bad.yml")
    assert cli.main(args) == ExitCode.USAGE
    assert "cannot parse inventory" in capsys.readouterr().err
    args = base(site, "--window", "now/PT1H", "--yes")
    args[4] = "  "
    assert cli.main(args) == ExitCode.USAGE
    assert "--ticket" in capsys.readouterr().err
    assert touched(site) == [] and runs(site) == []


def test_bad_window_file_is_one_line(site, capsys):
    (site / "w.yml").write_text("format: ripreplace-windows/1\nwindows: []\n")
    assert cli.main([*base(site, "--window-file", str(site / "w.yml")), "--yes"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "w.yml" in err
    assert touched(site) == []
