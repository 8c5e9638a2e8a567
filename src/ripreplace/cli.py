# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The ``ripreplace`` command: one parser builder + handler per sub-command.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function taking the parsed namespace and returning an :class:`ExitCode`).
``main(argv)`` is testable: it never calls ``sys.exit`` and turns every :class:`RipreplaceError`
into one line on stderr and its exit code. That line, and argparse's, is written with every
character that would not print as itself escaped (a message quoting a file name or a pattern cannot
move the cursor or reverse the text). An :class:`OSError` no command handled (a full disk, a
read-only directory) is one line too, exit 1; a closed stdout (``| head``) ends quietly. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ripreplace import __version__
from ripreplace.constants import ExitCode
from ripreplace.exceptions import RipreplaceError
from ripreplace.safetext import printable

#: Sub-command modules under ripreplace.commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "audit",
    "catalog",
    "equipment",
    "lab",
    "remediate",
    "report",
    "runs",
    "verify_log",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit code 2, and no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {printable(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ripreplace",
        description="Detect, replace and remove FCC Covered List software across a fleet, with an audit trail.",
    )
    parser.add_argument("--version", action="version", version=f"ripreplace {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"ripreplace.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except RipreplaceError as exc:
        print(f"ripreplace: error: {printable(str(exc))}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("ripreplace: interrupted", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    except BrokenPipeError:
        _quiet_stdout()
        return int(ExitCode.INTERNAL)
    except OSError as exc:
        print(f"ripreplace: error: {_describe(exc)}", file=sys.stderr)
        return int(ExitCode.INTERNAL)


def _describe(exc: OSError) -> str:
    """``cannot write runs/x/state.json: No space left on device`` from an OSError."""
    what = exc.strerror or exc.__class__.__name__
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    return printable(f"{where}: {what}" if where else str(exc) or what)


def _quiet_stdout() -> None:
    """Whoever read our output stopped (``| head``): send the rest nowhere, so the interpreter's own
    flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
