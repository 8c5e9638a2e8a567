# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""Which paths remediation may delete: only under a declared vendor root, never through a symlink
out of it, never a system directory itself. Shared by the modules; standard library only, and
compatible with the targets' Python (3.9 and later)."""

from __future__ import annotations

import os

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


def is_under(path, root):
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/")


def _normal(path):
    return isinstance(path, str) and path.startswith("/") and os.path.normpath(path) == path and "//" not in path


def check_root(root):
    """Return why ``root`` cannot be a vendor root, or None when it can."""
    if not _normal(root):
        return "vendor root %r is not a normalised absolute path" % (root,)
    if ".." in root.split("/"):
        return "vendor root %r contains '..'" % (root,)
    if root in FORBIDDEN:
        return "vendor root %r is a system directory" % (root,)
    if len([p for p in root.split("/") if p]) < 2:
        return "vendor root %r is too shallow (needs at least two levels, as /opt/vendor)" % (root,)
    return None


def check_path(path, root, fs_root="/"):  # noqa: PLR0911 - one return per refusal reason
    """Return why ``path`` must not be purged under ``root``, or None when it may be.

    ``fs_root`` is where the host's filesystem is mounted (``/`` on a live host).
    """
    problem = check_root(root)
    if problem:
        return problem
    if not _normal(path):
        return "%r is not a normalised absolute path" % (path,)
    if ".." in path.split("/"):
        return "%r contains '..'" % (path,)
    if path in FORBIDDEN:
        return "%r is a system directory" % (path,)
    if not is_under(path, root):
        return "%r is not under its vendor root %s" % (path, root)
    real_root = os.path.realpath(_join(fs_root, root))
    if real_root != os.path.normpath(_join(fs_root, root)):
        return "vendor root %s is itself a symlink (to %s)" % (root, _unjoin(fs_root, real_root))
    if path == root:
        return None  # the root itself, checked above not to be a symlink
    # The path's parent must resolve inside the root; the path itself may be a symlink (it is
    # unlinked, never followed).
    parent = os.path.dirname(path)
    real_parent = os.path.realpath(_join(fs_root, parent))
    if not is_under(_unjoin(fs_root, real_parent), _unjoin(fs_root, real_root)):
        return "%r resolves to %s, outside its vendor root %s" % (path, _unjoin(fs_root, real_parent), root)
    full = _join(fs_root, path)
    if os.path.isdir(full) and not os.path.islink(full):
        real = os.path.realpath(full)
        if not is_under(_unjoin(fs_root, real), _unjoin(fs_root, real_root)):
            return "%r resolves to %s, outside its vendor root %s" % (path, _unjoin(fs_root, real), root)
    return None


def check_repo_file(path, fs_root="/"):
    if not _normal(path) or ".." in path.split("/"):
        return "%r is not a normalised absolute path" % (path,)
    if not any(os.path.dirname(path) == d for d in REPO_DIRS):
        return "%r is not in a package-manager repository directory (%s)" % (path, ", ".join(REPO_DIRS))
    full = _join(fs_root, path)
    if os.path.islink(full) or (os.path.exists(full) and not os.path.isfile(full)):
        return "%r is not a regular file" % (path,)
    return None


def _join(fs_root, path):
    if fs_root in ("", "/"):
        return path
    return os.path.join(fs_root, path.lstrip("/"))


def _unjoin(fs_root, path):
    if fs_root in ("", "/"):
        return path
    rel = os.path.relpath(path, fs_root)
    return "/" if rel == "." else "/" + rel
