# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Entry points that run inside a fresh mount namespace (``unshare --mount --fork``).

``python -m ripreplace.lab.chrootrun build ROOT -- ARGV...`` mounts /proc, /sys and /dev into
ROOT, chroots and runs ARGV: for building images. The mounts die with the namespace.

``python -m ripreplace.lab.chrootrun light ROOT HOSTNAME`` is the init of a light host: it runs
inside the host's network namespace and a new pid/uts/ipc/mount namespace, makes /proc, /sys,
/dev (tmpfs with the usual nodes and devpts) and /run, sets the hostname, chroots, and becomes
``tini -s -g -- /usr/sbin/sshd -D -e``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

_DEV_NODES = {  # name: (major, minor)
    "null": (1, 3),
    "zero": (1, 5),
    "full": (1, 7),
    "random": (1, 8),
    "urandom": (1, 9),
    "tty": (5, 0),
}


def _mount(*argv: str) -> None:
    subprocess.run(["mount", *argv], check=True)


def _private_root() -> None:
    _mount("--make-rprivate", "/")


def _mount_dev(root: Path) -> None:
    dev = root / "dev"
    dev.mkdir(exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", str(dev))
    for name, (major, minor) in _DEV_NODES.items():
        node = dev / name
        os.mknod(node, 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(node, 0o666)  # noqa: S103 - /dev/null and friends are world-writable on every system
    (dev / "pts").mkdir()
    _mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620,gid=5", "devpts", str(dev / "pts"))
    (dev / "ptmx").symlink_to("pts/ptmx")
    (dev / "shm").mkdir()
    _mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", str(dev / "shm"))
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        (dev / name).symlink_to(target)


def build(root: Path, argv: list[str]) -> int:
    _private_root()
    _mount("-t", "proc", "proc", str(root / "proc"))
    _mount("-t", "sysfs", "-o", "ro", "sysfs", str(root / "sys"))
    _mount_dev(root)
    os.chroot(root)
    os.chdir("/")
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive",
        "HOME": "/root",
    }
    return subprocess.run(argv, env=env, check=False).returncode


def light(root: Path, hostname: str) -> None:
    _private_root()
    _mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", str(root / "proc"))
    _mount("-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", str(root / "sys"))
    _mount_dev(root)
    _mount("-t", "tmpfs", "-o", "mode=755,nosuid,nodev", "tmpfs", str(root / "run"))
    (root / "run" / "sshd").mkdir(mode=0o755)
    (root / "run" / "lock").mkdir(mode=0o1777)
    socket.sethostname(hostname)
    os.chroot(root)
    os.chdir("/")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "container": "ripreplace-lab"}
    argv = ["tini", "-s", "-g", "--", "/usr/sbin/sshd", "-D", "-e"]
    os.execve("/usr/bin/tini", argv, env)  # noqa: S606 - argv list, a fixed program inside the host's root


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "build" and "--" in argv:
        sep = argv.index("--")
        return build(Path(argv[1]), argv[sep + 1 :])
    if len(argv) == 3 and argv[0] == "light":
        light(Path(argv[1]), argv[2])
        return 1  # execve does not return
    print("usage: chrootrun build ROOT -- ARGV... | light ROOT HOSTNAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
