# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Import the collection's own Python code (module_utils, modules, action plugins) in unit tests.

Module code imports its shared code as ``ansible_collections.ripreplace.remediation.plugins.
module_utils.X`` (AnsiballZ ships it to the host). In a test the same import works once the
directory holding this checkout's ``ansible_collections/ripreplace/remediation`` link is on
``sys.path``: every level is a namespace package, so nothing else is needed.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from ripreplace import collection

PREFIX = f"ansible_collections.{collection.NAMESPACE}.{collection.NAME}"


def load(dotted: str) -> ModuleType:
    """``load("plugins.module_utils.purge_safety")`` -> that module of this checkout's collection."""
    path = str(collection.collections_path())
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module(f"{PREFIX}.{dotted}")
