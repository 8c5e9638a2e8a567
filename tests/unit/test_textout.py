# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""textout: tables fitted to the terminal, folded cells, plain text when piped."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from ripreplace import textout

ANSI = re.compile(r"\x1b\[")
SGR = re.compile(r"\x1b\[[0-9;]*m")
LONG_HOST = "a-very-long-hostname-of-the-datacenter-rack-17.example.internal"
LONG_EVIDENCE = "deb:kesl 12.4.0-1225, service:kesl (systemd, active), path:/var/opt/kaspersky/kesl/a/long/path/x"
COLUMNS = ["host", "status", "finding", "state", "conf.", "evidence"]
SHORT = ["status", "state", "conf."]


def _rows() -> list[list[object]]:
    c = textout.cell
    return [
        [c(LONG_HOST), c("unreachable", "bold red"), c("kaspersky-kesl"), c("installed"), c("high"), c(LONG_EVIDENCE)],
        [c("h2"), c("clean", "green"), c("-"), c(""), c(""), c("")],
    ]


def _terminal(width: int) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, height=24, force_terminal=True, color_system="standard"), buf


def _plain(text: str) -> str:
    return SGR.sub("", text)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_piped_console_is_plain_and_rows_are_whole_lines():
    buf = io.StringIO()
    out = textout.console(buf)
    assert not out.is_terminal and out.width == textout.PIPE_WIDTH
    out.print(textout.table(out, COLUMNS, _rows(), short=SHORT))
    text = buf.getvalue()
    assert not ANSI.search(text)
    (row,) = [ln for ln in text.splitlines() if LONG_HOST in ln]
    assert LONG_EVIDENCE in row and "unreachable" in row  # one row, one line: grep finds it whole
    assert max(len(ln) for ln in text.splitlines()) < 300  # as long as the content, not the pipe width
    assert all(ln == ln.rstrip() for ln in text.splitlines())


def test_terminal_console_is_measured_not_fixed(monkeypatch):
    for columns in ("97", "213"):
        monkeypatch.setenv("COLUMNS", columns)  # what rich reads when the stream has no size of its own
        out = textout.console(Tty())
        assert out.is_terminal and out.width == int(columns)


def test_table_fits_80_columns_and_folds_long_values_inside_their_cell():
    out, buf = _terminal(80)
    out.print(textout.table(out, COLUMNS, _rows(), short=SHORT))
    lines = _plain(buf.getvalue()).splitlines()
    assert max(len(ln) for ln in lines) <= 80
    body = [ln for ln in lines if ln.startswith("│")]
    assert body and all(ln.endswith("│") for ln in body)  # every row line is whole: nothing overflowed
    host_cells = "".join(ln.split("│")[1].strip() for ln in body)
    assert host_cells == LONG_HOST + "h2"  # folded inside its cell, every character kept
    statuses = [ln.split("│")[2].strip() for ln in body]
    assert "unreachable" in statuses  # short columns keep their width
    evidence = "".join(ln.split("│")[6].strip() for ln in body)
    assert evidence.replace(" ", "").startswith(LONG_EVIDENCE.replace(" ", "")[:60])


def test_table_on_a_very_narrow_terminal_still_fits():
    out, buf = _terminal(40)
    out.print(textout.table(out, COLUMNS, _rows(), short=SHORT))
    plain = _plain(buf.getvalue())
    assert max(len(ln) for ln in plain.splitlines()) <= 40
    assert "h2" in plain


def test_cells_take_no_markup_and_escape_terminal_controls():
    buf = io.StringIO()
    out = textout.console(buf)
    textout.line(out, "[bold]kesl[/bold] postrm said \x1b[2J\x1b]0;owned\x07 done\u202e")
    text = buf.getvalue()
    assert "[bold]kesl[/bold]" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text
    assert textout.cell(None).plain == ""


@pytest.mark.parametrize(
    ("term", "redraws"),
    [("xterm-256color", True), ("screen", True), ("", True), ("dumb", False), ("DUMB", False), ("unknown", False)],
)
def test_a_dumb_terminal_gets_plain_progress_not_a_live_block(monkeypatch, term, redraws):
    monkeypatch.setenv("TERM", term)
    assert textout.can_redraw(Tty()) is redraws
    assert textout.can_redraw(io.StringIO()) is False  # piped: never, whatever TERM says


def test_is_terminal_survives_a_closed_stream():
    buf = io.StringIO()
    buf.close()
    assert textout.is_terminal(buf) is False
    assert textout.is_terminal(object()) is False


def test_identifiers_stay_whole_when_the_room_allows():
    out, buf = _terminal(160)
    out.print(textout.table(out, COLUMNS, _rows(), short=SHORT, keep=["host"]))
    lines = _plain(buf.getvalue()).splitlines()
    assert max(len(ln) for ln in lines) <= 160
    assert any(LONG_HOST in ln for ln in lines)  # the host whole on its line, the evidence folds instead
    assert not any(LONG_EVIDENCE in ln for ln in lines)


@pytest.mark.parametrize("room", [30, 45, 61, 100, 141, 400])
def test_fit_never_exceeds_the_room_and_keeps_short_columns(room):
    natural = [50, 11, 32, 9, 5, 180]
    widths = textout._fit(natural, {1, 3, 4}, {0}, room)
    if widths is None:
        assert room - 25 < textout.MIN_FOLDING_WIDTH * 3
        return
    assert sum(widths) <= room
    assert [widths[i] for i in (1, 3, 4)] == [11, 9, 5]
    assert all(textout.MIN_FOLDING_WIDTH <= widths[i] <= natural[i] for i in (0, 2, 5))
    if room >= 141:
        assert widths[0] == 50  # the host name whole
