# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What the lab needs from the machine, checked before anything is touched."""

from __future__ import annotations

import os
import shutil

from ripreplace.exceptions import LabPrerequisiteError

#: tool -> Debian package that provides it.
TOOLS = {
    "ip": "iproute2",
    "unshare": "util-linux",
    "mount": "mount",
    "chroot": "coreutils",
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "socat": "socat",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "dpkg-deb": "dpkg",
    "dpkg-scanpackages": "dpkg-dev",
    "rpmbuild": "rpm",
    "gcc": "gcc",
}

#: tool -> Debian package the report browser test needs (tests/integration/test_report_browser.py);
#: not lab prerequisites: ``require()`` never checks them.
REPORT_TEST_TOOLS = {
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}
REPORT_TEST_PACKAGES = tuple(sorted(set(REPORT_TEST_TOOLS.values())))

#: The packages that make a Debian 12 machine ready for the lab and the whole test suite (used by the
#: README and ``make deps-debian``).
DEBIAN_PACKAGES = sorted(set(TOOLS.values()) | {"libc6-dev", "zstd"} | set(REPORT_TEST_PACKAGES))


def missing_tools(tools: dict[str, str] | None = None) -> dict[str, str]:
    tools = TOOLS if tools is None else tools
    return {tool: pkg for tool, pkg in tools.items() if shutil.which(tool) is None}


def require(*, need_root: bool = True, tools: dict[str, str] | None = None) -> None:
    """Raise one line naming what is missing and how to install it."""
    if need_root and os.geteuid() != 0:
        raise LabPrerequisiteError("the lab needs root (network namespaces, mounts): run it as root or with sudo")
    missing = missing_tools(tools)
    if missing:
        pkgs = " ".join(sorted(set(missing.values())))
        raise LabPrerequisiteError(f"the lab needs {', '.join(sorted(missing))}: apt-get install -y {pkgs}")


if __name__ == "__main__":  # used by the Makefile before any virtualenv exists
    print(" ".join(DEBIAN_PACKAGES))
