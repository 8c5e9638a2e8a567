# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What the operator sees in a terminal of 80 and of 160 columns: the command runs in a pseudo-terminal
(pexpect), its output is drawn by a terminal emulator (pyte) and the tests read the screen, scrollback
included, as a person would.

- ``remediate`` on the stand-in campaign (tests/remediate_site.py: local-connection hosts, no lab):
  the live block says the batch, each host in flight with its task, the counts, and a clock and time
  left that move while no event arrives; a new batch never shows the last one's task; finished hosts
  stay in the scrollback with their clock time; the block is gone at the end and the final table
  fits the terminal, long host names folded inside their cell.
- ``audit`` of local-connection hosts with a site catalog that finds a path under the test's
  directory: the table fits, a long host name and long evidence fold inside their cells.

No timed assertion: every wait is for screen content, with generous timeouts.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.remediate_site import BIN, base, make_site, write_inventory

from ripreplace import collection

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

pytestmark = pytest.mark.e2e

ROWS = 40
OUTPUT = Path(__file__).resolve().parents[1] / "output"
WAIT = 300  # seconds; a loaded machine is slow, a broken display never shows the content at all
LONG_HOST = "web-frontend-0001.datacenter-east.example.internal"
STAMP = r"\d\d:\d\d:\d\dZ"
BLOCK_HEAD = re.compile(r"^batch (\d+) of (\d+) · (\d+) host\(s\) · running \d+:\d\d")
CLOCK = re.compile(rf"^({STAMP}) · window closes \S+ · (\d+:\d\d:\d\d) left")


class Terminal:
    """A command in a pseudo-terminal of ``cols`` x ``ROWS``, its output drawn on a pyte screen."""

    def __init__(self, argv: list[str], *, cols: int, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
        env.update(TERM="xterm-256color", ANSIBLE_COLLECTIONS_PATH=str(collection.collections_path()))
        self.cols = cols
        self.screen = pyte.HistoryScreen(cols, ROWS, history=20000, ratio=0.5)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(argv[0], argv[1:], dimensions=(ROWS, cols), cwd=str(cwd), env=env)
        self.ended = False

    def pump(self) -> None:
        try:
            self.stream.feed(self.child.read_nonblocking(65536, timeout=0.2))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            self.ended = True

    def _text(self, line: Any) -> str:
        return "".join(line[x].data for x in range(self.cols)).rstrip()

    def lines(self) -> list[str]:
        """The scrollback then the screen, as text (the blank lines below the cursor left out)."""
        history = [self._text(line) for line in self.screen.history.top]
        shown = [line.rstrip() for line in self.screen.display]
        while shown and not shown[-1]:
            shown.pop()
        return history + shown

    def save(self, name: str) -> Path:
        """The whole screen, scrollback included, as text in tests/output/ (gitignored) for review."""
        OUTPUT.mkdir(exist_ok=True)
        path = OUTPUT / f"terminal-{name}-{self.cols}.txt"
        path.write_text(self.dump() + "\n", encoding="utf-8")
        return path

    def dump(self) -> str:
        return "\n".join(self.lines())

    def wait_for(self, what: str, found: Callable[[list[str]], Any], timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout  # only a give-up bound, never asserted on
        while True:
            result = found(self.lines())
            if result:
                return result
            if self.ended or time.monotonic() > deadline:
                pytest.fail(f"the screen never showed {what}; it shows:\n{self.dump()}")
            self.pump()

    def finish(self) -> int:
        self.wait_for("the end of the command", lambda _lines: self.ended, timeout=WAIT)
        self.child.close()
        return int(self.child.exitstatus)


def block(lines: list[str]) -> list[str]:
    """The live block: from its head line (the last one on screen) to the end."""
    heads = [n for n, line in enumerate(lines) if BLOCK_HEAD.match(line)]
    return [line for line in lines[heads[-1] :] if line] if heads else []


def clock(lines: list[str]) -> re.Match[str] | None:
    """The block's clock line: the time now and the time left in the window."""
    return next((m for line in block(lines) if (m := CLOCK.match(line))), None)


def host_row(lines: list[str], host: str) -> re.Match[str] | None:
    """A host's line in the live block: host, state, task, time on it."""
    for line in block(lines):
        match = re.match(rf"^{re.escape(host)}\s+(\w+)\s+(.+?)\s+(\d+:\d\d)$", line)
        if match:
            return match
    return None


def table_lines(lines: list[str]) -> list[str]:
    """The final table: from its top border to its bottom border."""
    top = max(n for n, line in enumerate(lines) if line.startswith("┏"))
    bottom = next(n for n in range(top, len(lines)) if lines[n].startswith("└"))
    return lines[top : bottom + 1]


def column(rows: list[str], index: int, sep: str = "") -> str:
    """The text of one column over the table's body rows, joined (a folded value comes back whole)."""
    return sep.join(row.split("│")[index].strip() for row in rows)


def assert_fits(table: list[str], cols: int) -> list[str]:
    """Every line of the table is whole: it starts and ends with a border and is no wider than the terminal."""
    assert all(len(line) <= cols for line in table)
    body = [line for line in table if line.startswith("│")]
    assert body, table
    for line in table:
        assert line[0] in "┏┃┡│└" and line[-1] in "┓┃┩│┘", "a broken table line (overflow):\n" + "\n".join(table)
    return body


# --------------------------------------------------------------------------- remediate
@pytest.fixture
def campaign_site(tmp_path: Path) -> Path:
    site = make_site(tmp_path)
    write_inventory(site, {"h1": {"pause": 8}, "h2": {"fail_me": True}, "h3": {"pause": 1}}, count=3)
    inventory = json.loads((site / "inv.yml").read_text())
    inventory["all"]["children"]["web"]["hosts"][LONG_HOST] = {"pause": 1}
    (site / "inv.yml").write_text(json.dumps(inventory))
    return site


@pytest.mark.parametrize("cols", [80, 160])
def test_remediate_live_display_and_final_summary(campaign_site: Path, cols: int) -> None:
    argv = [str(BIN / "ripreplace"), *base(campaign_site, "--window", "now/PT2H", "--batches", "1,50%,100%")]
    term = Terminal([*argv, "--max-fail", "100"], cols=cols, cwd=campaign_site)

    term.wait_for("the confirmation prompt", lambda lines: any("Type 'yes' to start:" in ln for ln in lines))
    term.child.sendline("yes")

    # Batch 1: h1 alone, on its long task. The clock and the time left move while no event arrives.
    row = term.wait_for(
        "h1 on its long task", lambda lines: (m := host_row(lines, "h1")) and "Take a while" in m[2] and m
    )
    assert row[1] in ("pending", "replaced")
    head = term.wait_for("the block's head", lambda lines: block(lines)[:1])
    assert BLOCK_HEAD.match(head[0]).groups() == ("1", "3", "1")  # type: ignore[union-attr]
    first = term.wait_for("the clock line", clock)
    term.wait_for(
        "the clock ticking during the same task",
        lambda lines: (
            (m := clock(lines))
            and m[1] != first[1]
            and m[2] != first[2]
            and (r := host_row(lines, "h1")) is not None
            and "Take a while" in r[2]
        ),
    )
    assert any(ln.startswith("hosts 0 verified · 0 failed · 4 remaining of 4") for ln in block(term.lines()))

    # Batch 2 starts with no task of batch 1 on show.
    lines = term.wait_for("batch 2", lambda lines: (b := block(lines)) and BLOCK_HEAD.match(b[0])[1] == "2" and lines)
    shown = block(lines)
    for line in shown[3:]:  # only batch 2's hosts, waiting or on a task of this batch
        assert line.startswith(("h2 ", "h3 ", "2 waiting to start: h2, h3")), shown
    assert any(ln.startswith("hosts 1 verified · 0 failed · 3 remaining of 4") for ln in shown)

    assert term.finish() == 4
    term.save("remediate")
    lines = term.lines()
    text = "\n".join(lines)
    # The block is gone; the scrollback keeps every finished host with its clock time.
    assert not any(BLOCK_HEAD.match(ln) or ln.startswith("hosts ") for ln in lines), text
    assert re.search(rf"^{STAMP} batch 1/3: 1 host\(s\): h1 \(window: ", text, re.M)
    assert re.search(rf"^{STAMP}   h1: verified$", text, re.M)
    assert re.search(rf"^{STAMP}   h2: failed: .*postrm of kesl failed", text, re.M)
    assert re.search(rf"^{STAMP}   h3: verified$", text, re.M)
    assert re.search(rf"^{STAMP}   {re.escape(LONG_HOST)}: verified$", text, re.M)
    assert re.search(rf"^{STAMP} batch 3 done in \d+ s: 1 verified", text, re.M)
    # The final summary replaces the block: a table that fits, then the exit line.
    table = table_lines(lines)
    body = assert_fits(table, cols)
    assert lines.index(table[0]) > max(n for n, ln in enumerate(lines) if re.match(rf"^{STAMP} ", ln))
    assert column(body, 1) == "h1h2h3" + LONG_HOST  # folded inside its cell at 80, whole at 160
    if cols >= 160:
        assert any(LONG_HOST in row for row in body)
    else:
        assert not any(LONG_HOST in row for row in body)
    assert "failed: postrm of kesl failed" in " ".join(column(body, 5, " ").split())
    assert lines[-1].startswith("exit 4: some hosts failed")


# --------------------------------------------------------------------------- audit
SITE_CATALOG = """\
format: ripreplace-covered-catalog/1
catalog_version: "pty-test-1"
entries:
  - id: site-terminal-width-test-product
    vendor: AO Kaspersky Lab
    product: A product with a long name and a long path
    platform: linux
    covered_list:
      entry: >-
        AO Kaspersky Lab: "Information security products, solutions, and services supplied,
        directly or indirectly, by AO Kaspersky Lab ..."
      added: "2022-03-25"
      sources: [https://docs.fcc.gov/public/attachments/DA-22-320A1.txt]
    signals:
      paths:
        - {{path: "{path}", confidence: high, source: {{grade: site, ref: "pty test"}}}}
    removal:
      vendor_roots: ["{root}"]
      leftover_paths: ["{path}"]
      source: {{grade: site, ref: "pty test"}}
"""


@pytest.mark.parametrize("cols", [80, 160])
def test_audit_table_fits_the_terminal(tmp_path: Path, cols: int) -> None:
    root = tmp_path / "opt" / "vendor"
    found = root / "agent" / "var" / "lib" / "a-very-long-directory-name-without-any-spaces-at-all"
    found.mkdir(parents=True)
    (tmp_path / "site.yml").write_text(SITE_CATALOG.format(path=found, root=root))
    inventory = {
        "all": {
            "hosts": {LONG_HOST: {}, "h2": {}},
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "detect_become": False,
                "detect_scan": ["deb", "rpm", "service", "path"],  # not processes: lab hosts' would show
            },
        }
    }
    (tmp_path / "inv.yml").write_text(json.dumps(inventory))
    argv = [str(BIN / "ripreplace"), "audit", "-i", "inv.yml", "--catalog", "site.yml", "--runs-dir", "runs"]
    term = Terminal(argv, cols=cols, cwd=tmp_path)
    assert term.finish() == 3
    term.save("audit")
    lines = term.lines()
    body = assert_fits(table_lines(lines), cols)
    hosts = column(body, 1)
    assert LONG_HOST in hosts and "h2" in hosts.replace(LONG_HOST, "")
    evidence = column(body, 6)
    assert f"path:{found}" in evidence.replace(" ", "") or f"path:{found}" in evidence
    if cols < 160:
        assert not any(LONG_HOST in row for row in body)  # folded inside its cell
    assert any(ln.startswith("exit 3: covered software found") for ln in lines)
