"""How the command's text looks: fitted to the terminal it is in, plain when piped.

- On a terminal, rich measures the terminal (no fixed width): a table never overflows; a value too
  long for its cell folds inside the cell (``overflow="fold"``) instead of being cut or wrapping
  the whole row into fragments.
- Piped or redirected (a file, ``grep``, a CI log): no ANSI sequences, no colour, and lines as long
  as their content (one table row is one line), so ``grep`` and ``awk`` read whole rows.
- ``--output json`` never comes here: the envelope is written by ``json.dump``.

Every value that comes from a host or a file goes through :func:`cell` / :func:`printable`: a
remote message cannot carry rich markup or terminal control sequences onto the operator's screen.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

#: Width of piped output: wide enough that no row of ours wraps; lines are only as long as their content.
PIPE_WIDTH = 8192


def is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


def console(stream: TextIO | None = None) -> Console:
    """A console for ``stream`` (default stdout): measured from the terminal, or plain when piped."""
    stream = stream or sys.stdout
    if is_terminal(stream):
        return Console(file=stream, highlight=False, emoji=False)
    return Console(
        file=stream,
        highlight=False,
        emoji=False,
        width=PIPE_WIDTH,
        color_system=None,
        force_terminal=False,
        no_color=True,
    )


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on (controls, bidi overrides, zero-width and
    line separators) written as an escape, so a message quoting a host or a file cannot rewrite the screen."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


def cell(value: object, style: str = "") -> Text:
    """A table cell or a line from data: no markup is interpreted, control characters are escaped."""
    return Text(printable("" if value is None else str(value)), style=style)


#: A column that folds keeps at least this many cells while short columns keep their width.
MIN_FOLDING_WIDTH = 10


def table(out: Console, columns: Sequence[str], rows: Iterable[Sequence[Text]], *, short: Sequence[str] = ()) -> Table:
    """A table for ``out`` whose columns fold a value too long for them inside the cell.

    ``short`` names columns of short words (a status, a count, a confidence): they keep the width of
    their longest value and the other columns give up room first (rich wraps those at spaces and
    folds a long word, a host name or a path, inside the cell). On a terminal too narrow for that,
    every column gives up room.
    """
    materialised = [list(row) for row in rows]
    widths = [
        max([len(name)] + [row[i].cell_len for row in materialised if i < len(row)]) for i, name in enumerate(columns)
    ]
    folding = [i for i, name in enumerate(columns) if name not in short]
    fixed = sum(w for i, w in enumerate(widths) if i not in folding)
    room = out.width - (3 * len(columns) + 1)  # one border and two spaces of padding a column, one closing border
    keep_short = room - fixed >= MIN_FOLDING_WIDTH * len(folding)
    result = Table()
    for i, name in enumerate(columns):
        result.add_column(name, width=widths[i] if keep_short and i not in folding else None, overflow="fold")
    for row in materialised:
        result.add_row(*row)
    return result


def title(out: Console, text: str) -> None:
    """The heading line of a table: bold on a terminal, plain when piped."""
    out.print(cell(text, "bold"), overflow="fold")


def line(out: Console, text: str, style: str = "") -> None:
    """One line of data (never markup), folded at the terminal's width, whole when piped."""
    out.print(cell(text, style), overflow="fold")
