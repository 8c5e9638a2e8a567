# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What a host looks like, for before/after comparisons in lab tests.

``listing(lab, host)`` lists every path of the host's root filesystem (type, mode, owner, size,
link target) and the sha256 of every regular file, except:
- /proc, /sys, /dev, /run, /tmp: kernel and runtime state, not the host's filesystem;
- /var/log/lastlog, /var/log/wtmp, /var/log/btmp: written by sshd/PAM at every login;
- /var/log/journal: systemd-journald records the SSH session on the systemd host;
- /var/log/kaspersky/*-daemon.log: written on their own by the fake products' daemons;
- /root/.ansible: ansible's remote temporary directory, made by the connection for any task.
"""

from __future__ import annotations

from typing import Any

EXCLUDE_PRUNE = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/log/journal", "/root/.ansible")
EXCLUDE_FILES = ("/var/log/lastlog", "/var/log/wtmp", "/var/log/btmp")
_PRUNE = " -o ".join(f"-path {p}" for p in EXCLUDE_PRUNE)
LISTING_SCRIPT = (
    f"find / -xdev \\( {_PRUNE} \\) -prune -o -printf '%y %m %u:%g %s %p -> %l\\n' | LC_ALL=C sort; "
    f"find / -xdev \\( {_PRUNE} \\) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum"
)


def listing(lab: Any, host: str) -> list[str]:
    out = lab.sh(host, "sh", "-c", LISTING_SCRIPT, timeout=600).stdout.splitlines()
    keep = []
    for line in out:
        path = line.split(" -> ")[0].split()[-1] if " -> " in line else line.split()[-1]
        if path in EXCLUDE_FILES or (path.startswith("/var/log/kaspersky/") and path.endswith("-daemon.log")):
            continue
        keep.append(line)
    return keep


def package_states(lab: Any, host: str, *names: str) -> dict[str, str]:
    """dpkg's two-letter state per package (ii, rc, ...; 'absent' when dpkg knows nothing of it).

    dpkg-query exits 1 when it knows a name not; any other failure (ssh's own, 255) is an error here, never
    read as 'absent'; the query only reads, so a session cut under load is tried again (Lab.sh rerun)."""
    query = lab.sh(host, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n", *names, check=False, rerun=True)
    assert query.returncode in (0, 1), f"dpkg-query on {host} failed (rc {query.returncode}): {query.stderr.strip()}"
    out = query.stdout
    states = dict.fromkeys(names, "absent")
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 2:
            states[words[0]] = words[1].strip()
        elif len(words) == 1:
            states[words[0]] = "absent"
    return states


def running_executables(lab: Any, host: str) -> set[str]:
    out = lab.sh(host, "sh", "-c", "readlink /proc/[0-9]*/exe 2>/dev/null | sort -u").stdout
    return set(out.split())
