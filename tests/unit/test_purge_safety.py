# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""purge_safety: what remediation may delete, case by case.

Static cases (no filesystem) first, then cases on a fake host under a temporary root with real
directories and symlinks. Each row is (input, the refusal's text or None when allowed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.collection_code import load

ps = load("plugins.module_utils.purge_safety")
fs_paths = load("plugins.module_utils.fs_paths")

ROOTS = [
    ("/opt/kaspersky", None),
    ("/var/opt/kaspersky", None),
    ("/etc/opt/kaspersky", None),
    ("/var/log/kaspersky", None),
    ("/usr/local/ksn", None),
    ("/", "is a system directory"),
    ("/opt", "is a system directory"),
    ("/usr/share", "is a system directory"),
    ("/etc/systemd/system", "is a system directory"),
    ("/kaspersky", "too shallow"),
    # The FHS deny-list: the directories themselves and anything above them.
    ("/etc/ssh", "is a system directory"),
    ("/var/lib/dpkg", "is a system directory"),
    ("/usr/lib/x86_64-linux-gnu", "is a system directory"),
    ("/usr/lib/aarch64-linux-gnu", "is a system directory"),
    ("/root/.ssh", "is a system directory"),
    ("/boot/grub", "is a system directory"),
    ("/etc/pam.d", "is a system directory"),
    ("/usr/share/doc", "is a system directory"),
    ("/home/alice", "is a system directory"),
    ("/etc/rc2.d", "is a system directory"),
    ("/usr/lib/python3.11", "is a system directory"),
    ("/var/spool/cron", "is a system directory"),
    ("/usr/local/bin", "is a system directory"),
    ("/var/lib", "is a system directory"),
    ("/usr/lib", "is a system directory"),
    ("/lib", "is a system directory"),
    # below a system directory, the deny-list has nothing to say (the owner proof does)
    ("/usr/share/doc/kesl", None),
    ("/etc/ssh/sshd_config.d", None),
    ("/usr/lib/kaspersky", None),
    ("/var/lib/kaspersky", None),
    ("/opt/kaspersky/*", "contains a wildcard"),
    ("/opt/kasp[e]rsky", "contains a wildcard"),
    ("opt/kaspersky", "not a normalised absolute path"),
    ("/opt/kaspersky/", "not a normalised absolute path"),
    ("/opt//kaspersky", "not a normalised absolute path"),
    ("/opt/kaspersky/../../etc", "not a normalised absolute path"),
    ("", "not a normalised absolute path"),
    (None, "not a normalised absolute path"),
]


@pytest.mark.parametrize(("root", "refusal"), ROOTS, ids=[repr(r) for r, _ in ROOTS])
def test_check_root(root, refusal):
    problem = ps.check_root(root)
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem


LEFTOVERS = [
    ("/opt/kaspersky/kesl", "/opt/kaspersky", None),
    ("/opt/kaspersky", "/opt/kaspersky", None),
    ("/opt/kasperskyx", "/opt/kaspersky", "is not under its vendor root"),
    ("/etc/passwd", "/opt/kaspersky", "is a system directory"),
    ("/srv/data", "/opt/kaspersky", "is not under its vendor root"),
    ("/opt/kaspersky2/x", "/opt/kaspersky", "is not under its vendor root"),
    ("/opt/kaspersky/../../etc", "/opt/kaspersky", "not a normalised absolute path"),
    ("/opt/kaspersky/kesl", "/opt", "is a system directory"),
    ("/usr/share", "/usr/share", "is a system directory"),
    ("/usr/share/doc", "/usr/share/doc", "is a system directory"),
    ("/opt/kaspersky/kesl/*/tmp", "/opt/kaspersky", None),
]


@pytest.mark.parametrize(("path", "root", "refusal"), LEFTOVERS, ids=[f"{p} in {r}" for p, r, _ in LEFTOVERS])
def test_check_leftover(path, root, refusal):
    problem = ps.check_leftover(path, root)
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem


def _host(tmp_path: Path) -> Path:
    """A host with the Kaspersky roots, a system directory to protect and the usual traps."""
    root = tmp_path / "host"
    for d in (
        "opt/kaspersky/kesl/bin",
        "var/opt/kaspersky",
        "usr/share/doc/dpkg",
        "srv/data",
        "data/kaspersky",
        "etc/apt/sources.list.d",
    ):
        (root / d).mkdir(parents=True)
    (root / "usr/share/doc/dpkg/copyright").write_text("x")
    (root / "etc/apt/sources.list.d/kaspersky.list").write_text("deb http://example.invalid ./\n")
    (root / "etc/apt/sources.list.d/kaspersky-dir.list").mkdir()
    os.symlink(root / "usr/share/doc", root / "var/opt/kaspersky/klnagent")  # absolute, out of the root
    os.symlink("../../../srv/data", root / "opt/kaspersky/kesl/data")  # relative, out of the root
    os.symlink("bin", root / "opt/kaspersky/kesl/bin-link")  # relative, inside
    (root / "etc/opt").mkdir(parents=True)
    os.symlink(root / "data/kaspersky", root / "etc/opt/kaspersky")  # the vendor root is a symlink
    os.symlink(root / "etc/apt/sources.list.d/kaspersky.list", root / "etc/apt/sources.list.d/link.list")
    return root


ON_HOST = [
    ("/opt/kaspersky/kesl", "/opt/kaspersky", None),
    ("/opt/kaspersky/kesl/bin-link", "/opt/kaspersky", None),
    ("/opt/kaspersky/missing", "/opt/kaspersky", None),
    ("/opt/kaspersky", "/opt/kaspersky", None),
    ("/var/opt/kaspersky/klnagent", "/var/opt/kaspersky", "resolves to /usr/share/doc, outside its vendor root"),
    ("/opt/kaspersky/kesl/data", "/opt/kaspersky", "resolves to /srv/data, outside its vendor root"),
    ("/opt/kaspersky/kesl/data/x", "/opt/kaspersky", "resolves to /srv/data/x, outside its vendor root"),
    ("/etc/opt/kaspersky/kesl", "/etc/opt/kaspersky", "vendor root /etc/opt/kaspersky is itself a symlink"),
    ("/etc/opt/kaspersky", "/etc/opt/kaspersky", "is itself a symlink"),
]


@pytest.mark.parametrize(("path", "root", "refusal"), ON_HOST, ids=[p for p, _r, _x in ON_HOST])
def test_check_path_on_a_host(tmp_path, path, root, refusal):
    host = _host(tmp_path)
    problem = ps.check_path(path, root, fs_root=str(host))
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem


REPO_FILES = [
    ("/etc/apt/sources.list.d/kaspersky.list", None),
    ("/etc/apt/sources.list.d/absent.list", None),
    ("/etc/apt/sources.list.d/link.list", "is not a regular file"),
    ("/etc/apt/sources.list.d/kaspersky-dir.list", "is not a regular file"),
    ("/etc/apt/sources.list.d/sub/kaspersky.list", "is not in a package-manager repository directory"),
    ("/etc/passwd", "is not in a package-manager repository directory"),
    ("/etc/apt/sources.list.d/../../passwd", "is not a normalised absolute path"),
]


@pytest.mark.parametrize(("path", "refusal"), REPO_FILES, ids=[p for p, _ in REPO_FILES])
def test_check_repo_file(tmp_path, path, refusal):
    host = _host(tmp_path)
    problem = ps.check_repo_file(path, fs_root=str(host))
    if refusal is None:
        assert problem is None
    else:
        assert problem is not None and refusal in problem


@pytest.mark.parametrize(
    ("path", "root", "under"),
    [
        ("/opt/kaspersky", "/opt/kaspersky", True),
        ("/opt/kaspersky/kesl", "/opt/kaspersky/", True),
        ("/opt/kasperskyx", "/opt/kaspersky", False),
        ("/opt", "/opt/kaspersky", False),
        ("/etc", "/", True),
    ],
)
def test_is_under_by_components(path, root, under):
    assert fs_paths.is_under(path, root) is under


@pytest.mark.parametrize(
    ("path", "entry"),
    [
        ("/", "/bin"),
        ("/usr", "/usr"),
        ("/usr/lib", "/usr/lib"),
        ("/usr/lib/x86_64-linux-gnu", "/usr/lib/*-linux-gnu*"),
        ("/root/.ssh", "/root/*"),
        ("/etc/ssh", "/etc/ssh"),
        ("/etc/ssh/sshd_config.d", None),
        ("/opt/kaspersky", None),
        ("/usr/local/ksn", None),
    ],
)
def test_system_directory_at_or_above(path, entry):
    assert ps.system_directory(path) == entry


def test_every_system_directory_and_everything_above_it_is_refused():
    for entry in ps.SYSTEM_DIRS:
        parts = [p.replace("*", "x").replace("?", "1") for p in entry.split("/") if p]
        for depth in range(len(parts) + 1):
            path = "/" + "/".join(parts[:depth])
            assert ps.root_problem(path) is not None, path
            assert ps.check_leftover(path, "/opt/kaspersky") is not None, path
