# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Why a package transaction failed: the maintainer script's own message, not "dpkg returned an error code (1)"
(issue 11 item 10). Table-driven over captured apt-get output and typical dpkg / rpm failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.collection_code import load

pf = load("plugins.module_utils.package_failure")
FIXTURES = Path(__file__).parent / "fixtures"

APT_OUT = (FIXTURES / "apt-purge-kesl-failing-postrm.txt").read_text()
APT_ERR = (FIXTURES / "apt-purge-kesl-failing-postrm.err").read_text()
DPKG_ERR = """\
(Reading database ... 8337 files and directories currently installed.)
Removing kesl (12.4.0-1225) ...
kesl postrm: cannot unregister from the management server
dpkg: error processing package kesl (--purge):
 installed kesl package post-removal script subprocess returned error exit status 1
Errors were encountered while processing:
 kesl
"""
DPKG_WHY = "installed kesl package post-removal script subprocess returned error exit status 1"
RPM_ERR = """\
kesl postun: agent still registered
error: %postun(kesl-12.4.0-1225.x86_64) scriptlet failed, exit status 1
"""


@pytest.mark.parametrize(
    ("out", "err", "lines"),
    [
        (
            APT_OUT,
            APT_ERR,
            [
                "kesl postrm: cannot unregister from the management server (lab failure knob)",
                f"dpkg: kesl (--remove): {DPKG_WHY}",
            ],
        ),
        (
            "",
            DPKG_ERR,
            [
                "kesl postrm: cannot unregister from the management server",
                f"dpkg: kesl (--purge): {DPKG_WHY}",
            ],
        ),
        (
            "",
            RPM_ERR,
            [
                "kesl postun: agent still registered",
                "error: %postun(kesl-12.4.0-1225.x86_64) scriptlet failed, exit status 1",
            ],
        ),
        ("Reading package lists...\n", "E: Sub-process /usr/bin/dpkg returned an error code (1)\n", []),
        ("", "postrm: \x1b[2Jgone\u202e\n", ["postrm: \\x1b[2Jgone\\u202e"]),
    ],
    ids=["apt-get-captured", "dpkg", "rpm", "only-wrapping", "controls-escaped"],
)
def test_the_lines_that_say_why(out, err, lines):
    assert pf.messages(out, err) == lines


def test_the_reason_carries_the_scripts_message_and_falls_back_to_the_last_lines():
    assert pf.reason("apt-get", APT_OUT, APT_ERR) == (
        "package removal failed (apt-get): kesl postrm: cannot unregister from the management server (lab failure "
        f"knob) | dpkg: kesl (--remove): {DPKG_WHY}"
    )
    assert pf.reason("apt-get", "", "E: Sub-process /usr/bin/dpkg returned an error code (1)\n") == (
        "package removal failed (apt-get): E: Sub-process /usr/bin/dpkg returned an error code (1)"
    )
    assert pf.reason("rpm", "", "") == "package removal failed (rpm): no message"


def test_a_chatty_script_is_bounded():
    err = "".join(f"postrm line {n} " + "x" * 400 + "\n" for n in range(20))
    lines = pf.messages("", err)
    assert len(lines) == pf.MAX_LINES and lines[-1] == "(15 more line(s) in the task's stderr)"
    assert all(len(line) <= pf.MAX_LINE_CHARS for line in lines)
