# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Find the ``ripreplace.remediation`` collection that this package runs.

A wheel carries the collection under ``ripreplace/_collection/ansible_collections/...`` (see
``setup.py``). In a source checkout (editable install, tests) the repository root *is* the
collection; it is exposed through a symlink in a per-user cache so that ansible finds it under
an ``ansible_collections/ripreplace/remediation`` path. Galaxy is never needed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

NAMESPACE = "ripreplace"
NAME = "remediation"
FQCN = f"{NAMESPACE}.{NAME}"

_PACKAGE_DIR = Path(__file__).resolve().parent
_EMBEDDED = _PACKAGE_DIR / "_collection"


def _source_checkout_root() -> Path | None:
    root = _PACKAGE_DIR.parent.parent
    if (root / "galaxy.yml").is_file() and (root / "plugins").is_dir() and (root / "src" / "ripreplace").is_dir():
        return root
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ripreplace"


@functools.cache
def collections_path() -> Path:
    """A directory holding ``ansible_collections/ripreplace/remediation``, for ANSIBLE_COLLECTIONS_PATH."""
    checkout = _source_checkout_root()
    if checkout is None:
        if (_EMBEDDED / "ansible_collections" / NAMESPACE / NAME / "galaxy.yml").is_file():
            return _EMBEDDED
        raise FileNotFoundError(f"the {FQCN} collection is missing from {_EMBEDDED}; reinstall ripreplace")
    # One link per checkout, so two checkouts on one machine never shadow each other.
    key = hashlib.sha256(str(checkout).encode()).hexdigest()[:12]
    base = _cache_dir() / "collections" / key
    link = base / "ansible_collections" / NAMESPACE / NAME
    if not (link.is_symlink() and link.resolve() == checkout):
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{NAME}.{os.getpid()}")
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(checkout, target_is_directory=True)
        tmp.replace(link)
    return base


def collection_root() -> Path:
    """The collection's own directory (holds galaxy.yml, playbooks/, roles/, catalog/)."""
    return collections_path() / "ansible_collections" / NAMESPACE / NAME


def playbook(name: str) -> Path:
    return collection_root() / "playbooks" / f"{name}.yml"


def catalog_dir() -> Path:
    return collection_root() / "catalog"


def plugin_utils_dir() -> Path:
    """``plugins/plugin_utils`` of the collection this package runs (no cache link needed)."""
    checkout = _source_checkout_root()
    root = checkout if checkout is not None else _EMBEDDED / "ansible_collections" / NAMESPACE / NAME
    return root / "plugins" / "plugin_utils"


_PLUGIN_UTILS = "ripreplace._plugin_utils"


def load_plugin_util(name: str) -> ModuleType:
    """Import ``plugins/plugin_utils/<name>.py`` of the collection, as ``ripreplace._plugin_utils.<name>``.

    Controller-side logic shared by the plugins (which ansible loads) and by this package lives
    there once; this loads it without ansible's collection loader. The directory is a package here
    (as it is under ansible's loader), so its modules import each other relatively. The package's
    own code reaches them typed through ``ripreplace.auditlog`` and ``ripreplace.catalogs``.
    """
    if _PLUGIN_UTILS not in sys.modules:
        spec = importlib.machinery.ModuleSpec(_PLUGIN_UTILS, None, is_package=True)
        spec.submodule_search_locations = [str(plugin_utils_dir())]
        sys.modules[_PLUGIN_UTILS] = importlib.util.module_from_spec(spec)
    return importlib.import_module(f"{_PLUGIN_UTILS}.{name}")
