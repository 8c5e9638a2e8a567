# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""How the command's text looks: fitted to the terminal it is in, plain when piped.

- On a terminal, rich measures the terminal (no fixed width): a table never overflows; a value too
  long for its cell folds inside the cell (``overflow="fold"``) instead of being cut or wrapping
  the whole row into fragments.
- Piped or redirected (a file, ``grep``, a CI log): no ANSI sequences, no colour, and lines as long
  as their content (one table row is one line), so ``grep`` and ``awk`` read whole rows.
- ``--output json`` never comes here: the envelope is written by ``json.dump``.

Every value that comes from a host or a file goes through :func:`cell` / :func:`printable` (safetext's): a
remote message cannot carry rich markup or terminal control sequences onto the operator's screen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ripreplace.safetext import printable

__all__ = ["can_redraw", "cell", "console", "is_terminal", "line", "printable", "table", "title"]

#: Width of piped output: wide enough that no row of ours wraps; lines are only as long as their content.
PIPE_WIDTH = 8192


def is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


#: Terminals that cannot move the cursor back: a live display would print every frame as new lines.
DUMB_TERMINALS = frozenset({"dumb", "unknown"})


def can_redraw(stream: Any) -> bool:
    """A terminal a live display can redraw in place: a tty whose ``TERM`` is not ``dumb`` (Emacs'
    shell, some serial and CI consoles); there progress is printed as plain lines instead."""
    return is_terminal(stream) and os.environ.get("TERM", "").strip().lower() not in DUMB_TERMINALS


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


def cell(value: object, style: str = "") -> Text:
    """A table cell or a line from data: no markup is interpreted, control characters are escaped."""
    return Text(printable("" if value is None else str(value)), style=style)


#: A column that folds keeps at least this many cells while short columns keep their width.
MIN_FOLDING_WIDTH = 10
#: An identifier column (``keep``) is whole when every other folding column still gets this many cells.
FAIR_WIDTH = 20


def _fit(natural: list[int], short: set[int], keep: set[int], room: int) -> list[int] | None:
    """Content widths for a table wider than ``room``: short columns whole, identifiers next (whole
    while every other column keeps :data:`FAIR_WIDTH` cells), then the others in proportion to what they lack.
    None when even that cannot hold (rich then narrows every column)."""
    widths = list(natural)
    flexible = [i for i in range(len(natural)) if i not in short]
    left = room - sum(natural[i] for i in short)
    if not flexible or left < MIN_FOLDING_WIDTH * len(flexible):
        return None
    for i in flexible:
        widths[i] = min(natural[i], MIN_FOLDING_WIDTH)
    spare = left - sum(widths[i] for i in flexible)
    kept = [i for i in flexible if i in keep]
    budget = left - sum(min(natural[i], FAIR_WIDTH) for i in flexible if i not in keep)
    whole = sum(natural[i] for i in kept) <= budget
    for i in kept:
        extra = max(0, (natural[i] if whole else min(natural[i], budget // len(kept))) - widths[i])
        widths[i] += min(extra, spare)
        spare -= min(extra, spare)
    for group in ([i for i in flexible if i not in keep], flexible):  # the prose first, then anyone
        spare = _share(widths, natural, group, spare)
    return widths


def _share(widths: list[int], natural: list[int], group: Sequence[int], spare: int) -> int:
    """Give ``spare`` cells to the columns of ``group`` in proportion to what each lacks; what is left."""
    while spare > 0:
        lacking = {i: natural[i] - widths[i] for i in group if widths[i] < natural[i]}
        if not lacking:
            break
        total = sum(lacking.values())
        given = 0
        for i, lack in lacking.items():
            share = min(lack, max(1, spare * lack // total), spare - given)
            widths[i] += share
            given += share
        spare -= given
    return spare


def table(
    out: Console,
    columns: Sequence[str],
    rows: Iterable[Sequence[Text]],
    *,
    short: Sequence[str] = (),
    keep: Sequence[str] = (),
) -> Table:
    """A table for ``out`` whose columns fold a value too long for them inside the cell.

    ``short`` names columns of short words (a status, a count, a confidence): they keep their width.
    ``keep`` names identifier columns (a host name): whole where the room allows, before prose
    columns (a reason, the evidence) get the rest. A value still too long folds inside its cell (rich
    wraps prose at spaces and folds a long word, a path, inside the cell); nothing overflows.
    """
    materialised = [list(row) for row in rows]
    natural = [
        max([len(name)] + [row[i].cell_len for row in materialised if i < len(row)]) for i, name in enumerate(columns)
    ]
    room = out.width - (3 * len(columns) + 1)  # one border and two spaces of padding a column, one closing border
    widths = None
    if sum(natural) > room:
        index = {name: i for i, name in enumerate(columns)}
        widths = _fit(natural, {index[n] for n in short}, {index[n] for n in keep}, room)
    result = Table()
    for i, name in enumerate(columns):
        result.add_column(name, width=widths[i] if widths else None, overflow="fold")
    for row in materialised:
        result.add_row(*row)
    return result


def title(out: Console, text: str) -> None:
    """The heading line of a table: bold on a terminal, plain when piped."""
    out.print(cell(text, "bold"), overflow="fold")


def line(out: Console, text: str, style: str = "") -> None:
    """One line of data (never markup), left whole: the terminal wraps it (and copies it back whole)."""
    out.print(cell(text, style), soft_wrap=True)
