# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""Which paths remediation may delete: only under a declared vendor root, never through a symlink
out of it, never a system directory itself.

One set of rules for every place that decides: covered_facts' removal plan and covered_remove on
the host, and the catalog's validation on the controller (``plugin_utils/catalog.py`` loads this
file outside ansible's collection loader, hence the relative import). Standard library only, and
compatible with the targets' Python (3.9 and later).
"""

from __future__ import annotations

import os

from .fs_paths import is_under, join, real

#: Directories that are never a vendor root and never purged themselves.
FORBIDDEN = frozenset(
    [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",  # noqa: S108 - a deny list, not a use of /tmp
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/lib",
        "/var/log",
        "/var/opt",
        "/var/tmp",  # noqa: S108 - a deny list, not a use of /tmp
        "/etc/opt",
        "/etc/init.d",
        "/etc/systemd",
        "/etc/systemd/system",
        "/lib/systemd",
        "/lib/systemd/system",
        "/usr/lib/systemd",
        "/usr/lib/systemd/system",
        "/usr/local/bin",
        "/usr/local/lib",
    ]
)

#: Where vendor package-manager repository definitions and signing keys may be deleted from.
REPO_DIRS = (
    "/etc/apt/sources.list.d",
    "/etc/apt/trusted.gpg.d",
    "/etc/apt/keyrings",
    "/usr/share/keyrings",
    "/etc/yum.repos.d",
    "/etc/zypp/repos.d",
    "/etc/pki/rpm-gpg",
)


def _normal(path):
    return isinstance(path, str) and path.startswith("/") and os.path.normpath(path) == path and "//" not in path


def root_problem(root):
    """Why ``root`` cannot be a vendor root whatever the host holds ("is ..."), or None."""
    if not _normal(root):
        return "is not a normalised absolute path"
    if ".." in root.split("/"):
        return "contains '..'"
    if root in FORBIDDEN:
        return "is a system directory"
    if len([p for p in root.split("/") if p]) < 2:
        return "is too shallow (needs at least two levels, as /opt/vendor)"
    return None


def leftover_problem(path, root):
    """Why ``path`` cannot be purged under the vendor root ``root`` whatever the host holds, or None."""
    if not _normal(path):
        return "is not a normalised absolute path"
    if ".." in path.split("/"):
        return "contains '..'"
    if path in FORBIDDEN:
        return "is a system directory"
    if not is_under(path, root):
        return "is not under its vendor root %s" % root
    return None


def check_root(root):
    """Return why ``root`` cannot be a vendor root, or None when it can."""
    problem = root_problem(root)
    return "vendor root %r %s" % (root, problem) if problem else None


def check_leftover(path, root):
    """Return why ``path`` cannot be purged under ``root`` whatever the host holds, or None."""
    problem = check_root(root)
    if problem:
        return problem
    problem = leftover_problem(path, root)
    return "%r %s" % (path, problem) if problem else None


def check_path(path, root, fs_root="/"):
    """Return why ``path`` must not be purged under ``root`` on this host, or None when it may be.

    On top of :func:`check_leftover`: the vendor root is a real directory (not a symlink), and the
    path resolves inside it, every symlink on the way followed, its own last component included
    (a symlink out of the root is refused, not unlinked: something unexpected is there).
    ``fs_root`` is where the host's filesystem is mounted (``/`` on a live host).
    """
    problem = check_leftover(path, root)
    if problem:
        return problem
    real_root = real(fs_root, root)
    if real_root != root:
        return "vendor root %s is itself a symlink (to %s)" % (root, real_root)
    resolved = real(fs_root, path)
    if not is_under(resolved, real_root):
        return "%r resolves to %s, outside its vendor root %s" % (path, resolved, root)
    return None


def check_repo_file(path, fs_root="/"):
    """Return why ``path`` cannot be deleted as a vendor repository file or key, or None."""
    if not _normal(path) or ".." in path.split("/"):
        return "%r is not a normalised absolute path" % (path,)
    if not any(os.path.dirname(path) == d for d in REPO_DIRS):
        return "%r is not in a package-manager repository directory (%s)" % (path, ", ".join(REPO_DIRS))
    full = join(fs_root, path)
    if os.path.islink(full) or (os.path.exists(full) and not os.path.isfile(full)):
        return "%r is not a regular file" % (path,)
    return None
