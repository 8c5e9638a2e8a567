"""The ``ripreplace`` command: one parser builder + handler per sub-command.

Each module in :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function taking the parsed namespace and returning an :class:`ExitCode`).
``main(argv)`` is testable: it never calls ``sys.exit`` and turns every :class:`RipreplaceError`
into one line on stderr and its exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ripreplace import __version__
from ripreplace.constants import ExitCode
from ripreplace.exceptions import RipreplaceError

#: Sub-command modules under ripreplace.commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "audit",
    "catalog",
    "lab",
    "remediate",
    "report",
    "runs",
    "verify_log",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit code 2, and no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


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
        print(f"ripreplace: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("ripreplace: interrupted", file=sys.stderr)
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
