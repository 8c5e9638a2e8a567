# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Why a package transaction failed, in the words that matter: the maintainer script's own message.

apt-get, dpkg and rpm wrap a failing maintainer script (postrm, prerm, %postun, ...) in lines of their
own (``Errors were encountered while processing:``, ``E: Sub-process /usr/bin/dpkg returned an error
code (1)``); the script's own message, the line an operator needs, is somewhere above. :func:`messages`
keeps the script's lines and the package manager's statement of which script failed, drops the
wrapping, and bounds and cleans the result (one printable line each). Standard library only (Python
3.9 and later).
"""

from __future__ import annotations

import re

MAX_LINES = 6
MAX_LINE_CHARS = 240

#: Lines apt-get, dpkg and rpm print around any transaction: never the reason.
_NOISE = re.compile(
    r"^(Reading package lists|Building dependency tree|Reading state information|The following packages"
    r"|\d+ upgraded, |After this operation|\(Reading database|Removing \S+ \(.*\) \.\.\.$"
    r"|Purging configuration files for \S+ \(.*\) \.\.\.$"
    r"|Processing triggers|Errors were encountered while processing:|E: Sub-process .* returned an error code"
    r"|dpkg: warning: while removing|WARNING: apt does not have a stable CLI|Need to get |Selecting previously"
    r"|debconf: |dpkg: too many errors, stopping|Processing was halted because there were too many errors"
    r"|\s*\d+%|\s+[\w.+:-]+\*?$)",
    re.IGNORECASE,
)
_DPKG_ERROR = re.compile(r"^dpkg: error processing (?:package|archive) (\S+) \(([^)]*)\):\s*$")


def clean(line: str, max_chars: int = MAX_LINE_CHARS) -> str:
    """One printable line: every character that would not print as itself written as an escape, bounded."""
    out = "".join(c if c == " " or c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)
    out = out.strip()
    return out if len(out) <= max_chars else out[: max_chars - 3] + "..."


def messages(stdout: str, stderr: str, max_lines: int = MAX_LINES) -> list[str]:
    """The lines of a failed transaction that say why: the scripts' own output and the package manager's
    ``dpkg: <package> (--purge): <which script failed>`` / ``error: %postun(...) scriptlet failed``."""
    lines = []
    for text in (stderr or "", stdout or ""):
        raw = text.splitlines()
        i = 0
        while i < len(raw):
            line = raw[i]
            match = _DPKG_ERROR.match(line.strip())
            if match:
                detail = []
                while i + 1 < len(raw) and raw[i + 1].startswith(" "):
                    i += 1
                    detail.append(raw[i].strip())
                lines.append("dpkg: %s (%s): %s" % (match.group(1), match.group(2), " ".join(detail)))
            elif line.strip() and not _NOISE.match(line):
                lines.append(line)
            i += 1
    seen = set()
    out = []
    for line in lines:
        text = clean(line)
        if text and text not in seen:
            seen.add(text)
            out.append(text)
    if len(out) > max_lines:
        more = "(%d more line(s) in the task's stderr)" % (len(out) - max_lines + 1)
        out = [*out[: max_lines - 1], more]
    return out


def reason(tool: str, stdout: str, stderr: str) -> str:
    """``package removal failed (apt-get): <script message> | dpkg: kesl (--purge): <which script failed>``."""
    said = messages(stdout, stderr)
    if not said:  # nothing but the wrapping: its last lines, as before
        said = [clean(line) for line in (stderr or stdout or "").strip().splitlines() if line.strip()][-3:]
    return "package removal failed (%s): %s" % (tool, " | ".join(said) or "no message")
