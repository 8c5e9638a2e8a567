# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Text that reaches a terminal, a log or a record: one line of characters that print as themselves.

A ticket, a host pattern or a file name given by someone else can carry control characters (an
escape sequence that rewrites the screen), line breaks (a forged second log line) or invisible
Unicode (U+202E, a right-to-left override, shows ``CHG-1234`` for ``CHG-4321``). :func:`invisible`
finds the first such character, :func:`printable` writes every one as an escape for display, and
:func:`one_line` refuses text that has one.
"""

from __future__ import annotations

from ripreplace.exceptions import UsageError


def invisible(text: str) -> str | None:
    """The first character of ``text`` that does not print as itself (``str.isprintable``: controls,
    format characters such as bidi overrides and zero-width spaces, line and paragraph separators,
    surrogates, unassigned code points; any space but U+0020), as ``U+202E at position 4``."""
    for n, char in enumerate(text, 1):
        if char != " " and not char.isprintable():
            return f"U+{ord(char):04X} at position {n}"
    return None


def printable(text: str) -> str:
    """``text`` with every character :func:`invisible` would name written as a Python escape."""
    return "".join(c if c == " " or c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def one_line(text: str, *, what: str, max_chars: int) -> str:
    """``text`` stripped, or one :class:`UsageError` line: empty, longer than ``max_chars``, or with a
    character that does not print as itself."""
    value = text.strip()
    if not value:
        raise UsageError(f"{what} must not be empty")
    problem = invisible(value)
    if problem:
        raise UsageError(f"{what} '{printable(value[:60])}' has a control or invisible character ({problem})")
    if len(value) > max_chars:
        raise UsageError(f"{what} must be at most {max_chars} characters (got {len(value)})")
    return value
