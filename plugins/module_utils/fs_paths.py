# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Paths of the host seen from a filesystem root: ``/`` on a live host, a directory for an image.

Every module of the collection that turns a host path into a local one (or back), or asks whether
one path lies under another, does it here. Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import glob
import os


def is_live(fs_root):
    return fs_root in ("", "/")


def join(fs_root, path):
    """The local path of the host path ``path`` under ``fs_root``."""
    if is_live(fs_root):
        return path
    return os.path.join(fs_root, path.lstrip("/"))


def unjoin(fs_root, local):
    """The host path of the local path ``local`` (the inverse of :func:`join`)."""
    if is_live(fs_root):
        return local
    rel = os.path.relpath(local, fs_root)
    return "/" if rel == "." else "/" + rel


def is_under(path, root):
    """``path`` is ``root`` or lies below it (by path components, not by string prefix)."""
    root = root.rstrip("/") or "/"
    if root == "/":
        return path.startswith("/")
    return path == root or path.startswith(root + "/")


def has_glob(text):
    return any(ch in text for ch in "*?[")


def real(fs_root, path):
    """The host path that ``path`` resolves to, every symlink followed (the last one too)."""
    base = "/" if is_live(fs_root) else os.path.realpath(fs_root)
    return unjoin(base, os.path.realpath(join(base, path)))


def existing(fs_root, pattern):
    """Host paths that exist (without following a final symlink) for a path or glob pattern."""
    if has_glob(pattern):
        prefix = join(fs_root, "/").rstrip("/")
        return sorted(p[len(prefix) :] if prefix else p for p in glob.glob(join(fs_root, pattern)))
    try:
        os.lstat(join(fs_root, pattern))
    except OSError:
        return []
    return [pattern]
