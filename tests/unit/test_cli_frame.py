# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The CLI frame: help, version, usage errors on one line with exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ripreplace import __version__, cli
from ripreplace.constants import ExitCode


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ripreplace {__version__}"


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required" in err


def test_unknown_command_is_a_usage_error(capsys):
    assert cli.main(["frobnicate"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "frobnicate" in err


@pytest.mark.parametrize("module", cli.COMMAND_MODULES)
def test_every_command_has_help(module, capsys):
    name = module.replace("_", "-")
    assert cli.main([name, "--help"]) == 0
    assert "usage: ripreplace " + name in capsys.readouterr().out


def test_lab_bad_count_is_one_line(capsys):
    assert cli.main(["lab", "up", "--hosts", "-1"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "negative" in err


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "ripreplace", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and __version__ in result.stdout


def test_ripreplace_error_becomes_one_line_and_its_exit_code(monkeypatch, capsys):
    from ripreplace.exceptions import InputFileError

    def boom(_args):
        raise InputFileError("inventory.yml: no such file")

    parser = cli.build_parser()
    args = parser.parse_args(["lab", "status"])
    monkeypatch.setattr(cli, "build_parser", lambda: _FixedParser(args, boom))
    assert cli.main(["lab", "status"]) == ExitCode.USAGE
    assert capsys.readouterr().err == "ripreplace: error: inventory.yml: no such file\n"


class _FixedParser:
    def __init__(self, args, handler):
        self._args = args
        self._args.handler = handler

    def parse_args(self, _argv):
        return self._args


def _run_with_handler(monkeypatch, handler):
    args = cli.build_parser().parse_args(["lab", "status"])
    monkeypatch.setattr(cli, "build_parser", lambda: _FixedParser(args, handler))
    return cli.main(["lab", "status"])


def test_error_lines_escape_what_a_terminal_would_act_on(monkeypatch, capsys):
    from ripreplace.exceptions import InputFileError

    def boom(_args):
        raise InputFileError("evil\u202etxt.yml\x1b[2J: no such file\nsecond line")

    assert _run_with_handler(monkeypatch, boom) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == "ripreplace: error: evil\\u202etxt.yml\\x1b[2J: no such file\\nsecond line\n"


def test_an_unhandled_oserror_is_one_line_exit_1(monkeypatch, capsys):
    import errno

    def full(_args):
        raise OSError(errno.ENOSPC, "No space left on device", "runs/x/state.json")

    assert _run_with_handler(monkeypatch, full) == ExitCode.INTERNAL
    assert capsys.readouterr().err == "ripreplace: error: runs/x/state.json: No space left on device\n"


def test_a_closed_stdout_ends_quietly(monkeypatch, capsys):
    def pipe(_args):
        raise BrokenPipeError(32, "Broken pipe")

    assert _run_with_handler(monkeypatch, pipe) == ExitCode.INTERNAL
    assert capsys.readouterr().err == ""


def test_a_bug_keeps_its_traceback(monkeypatch):
    def bug(_args):
        raise KeyError("x")

    with pytest.raises(KeyError):
        _run_with_handler(monkeypatch, bug)


def _remediate(*extra: str) -> list[str]:
    base = ["remediate", "-i", "/nonexistent/inventory.yml", "--window", "now/PT1H", "--yes"]
    return base + (["--ticket", "CHG-1"] if "--ticket" not in extra else []) + list(extra)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (_remediate("--ticket", "CHG-\u202e4321"), "argument --ticket: 'CHG-\\u202e4321' has a control or invisible"),
        (_remediate("--ticket", "CHG-1\nInjected: yes"), "(U+000A at position 6)"),
        (_remediate("--ticket", "CHG\x1b[31m"), "(U+001B at position 4)"),
        (_remediate("--ticket", "\u200b"), "(U+200B at position 1)"),
        (_remediate("--ticket", "   "), "argument --ticket: must not be empty"),
        (_remediate("--ticket", "X" * 129), "must be at most 128 characters (got 129)"),
        (_remediate("--forks", "0"), "argument --forks: must be a positive number, got 0"),
        (_remediate("--forks", "-3"), "must be a positive number, got -3"),
        (_remediate("--forks", "1_000"), "not a whole number: '1_000'"),
        (_remediate("--forks", "\u0663"), "not a whole number: '\u0663'"),
        (_remediate("--forks", "99999999999999999999999"), "argument --forks: too large"),
        (_remediate("--forks", "10001"), "must be at most 10000, got 10001"),
        (_remediate("--forks", "1e3"), "not a whole number: '1e3'"),
        (["audit", "--forks", "", "--runs-dir", "x"], "not a whole number: ''"),
        (_remediate("--output", "x\x1b[2J"), "invalid choice: 'x\\x1b[2J'"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(argv, words, capsys):
    assert cli.main(argv) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert err.isascii() or err.rstrip("\n").isprintable()


def test_runs_dir_must_be_a_directory_it_can_write(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for where, words in [
        (afile, "exists and is not a directory"),
        (afile / "sub", f"{afile} is not a directory"),
        (tmp_path / ("x" * 300), "File name too long"),
    ]:
        for argv in (["audit", "--runs-dir", str(where)], _remediate("--runs-dir", str(where))):
            assert cli.main(argv) == ExitCode.USAGE
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "argument --runs-dir:" in err and words in err, err
    assert afile.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_runs_dir_that_cannot_be_written(tmp_path, capsys, monkeypatch):
    """The directory that would hold the runs must be writable: asked of the kernel with os.access (faked
    here for the one directory, since the tests run as root, who may write anywhere)."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    assert cli.main(["audit", "--runs-dir", str(locked / "runs")]) == ExitCode.USAGE
    assert f"cannot write in {locked} (permission denied)" in capsys.readouterr().err
