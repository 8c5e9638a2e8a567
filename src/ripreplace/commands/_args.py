# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Argument types shared by the sub-commands: each failure is one line from argparse, exit 2."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from ripreplace.exceptions import UsageError
from ripreplace.safetext import invisible, one_line, printable

#: More parallel hosts than this is a typo, not a controller (ansible runs one process per fork).
MAX_FORKS = 10_000
_WHOLE = re.compile(r"[+-]?[0-9]{1,12}")


def positive_int(text: str) -> int:
    """A whole number of at least 1 (``--forks``), at most :data:`MAX_FORKS`."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    if value > MAX_FORKS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_FORKS}, got {value}")
    return value


def count(text: str) -> int:
    """A whole number of at least 0 (``--hosts``)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def _whole(text: str) -> int:
    """Decimal ASCII digits, an optional sign, surrounding blanks allowed; nothing else (no ``1_000``,
    no other scripts' digits, no 5000-digit numbers)."""
    if not _WHOLE.fullmatch(text.strip()):
        if re.fullmatch(r"[+-]?[0-9]+", text.strip()):
            raise argparse.ArgumentTypeError(f"too large: {text.strip()[:40]}")
        raise argparse.ArgumentTypeError(f"not a whole number: '{printable(text[:40])}'")
    return int(text.strip())


def ticket(text: str) -> str:
    """``--ticket``: one line of printable characters (no control characters, no bidi overrides)."""
    try:
        return one_line(text, what="--ticket", max_chars=128)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--ticket ")) from None


def runs_dir(text: str) -> Path:
    """``--runs-dir`` of a command that writes a run: a directory, or one that can be made there."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    hidden = invisible(text)
    if hidden:
        raise argparse.ArgumentTypeError(f"'{printable(text)}' has a control or invisible character ({hidden})")
    path = Path(text)
    try:
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text[:200]} exists and is not a directory")
        existing = path.absolute()
        while not existing.exists():
            existing = existing.parent
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text[:200]}: {exc.strerror or exc}") from None
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        try:
            readonly = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
        except OSError:
            readonly = False
        why = "read-only file system" if readonly else "permission denied"
        raise argparse.ArgumentTypeError(f"{text}: cannot write in {existing} ({why})")
    return path


def add_scan_arguments(parser: argparse.ArgumentParser, *, what: str, forks_help: str) -> None:
    """The arguments a read-only scan (``audit``, ``equipment``) shares: ``--limit``, ``--catalog``,
    ``--runs-dir``, ``--forks``, ``--output``. ``what`` says what ``--limit`` restricts ("audit")."""
    parser.add_argument("--limit", metavar="PATTERN", help=f"{what} only hosts matching this Ansible host pattern")
    add_catalog_argument(parser)
    parser.add_argument(
        "--runs-dir", metavar="DIR", type=runs_dir, default="runs", help="where run directories go (default: ./runs)"
    )
    parser.add_argument("--forks", metavar="N", type=positive_int, default=5, help=forks_help)
    parser.add_argument("--output", choices=("text", "json"), default="text", help="report format on stdout")


def add_catalog_argument(
    parser: argparse.ArgumentParser, help: str = "a site catalog added to the bundled one (repeatable)"
) -> None:
    """``--catalog FILE`` (repeatable): site catalogs added to the bundled one."""
    parser.add_argument("--catalog", metavar="FILE", type=Path, action="append", default=[], help=help)
