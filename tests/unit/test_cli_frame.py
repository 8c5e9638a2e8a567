"""The CLI frame: help, version, usage errors on one line with exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

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
