# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Import the collection's own Python code (module_utils, modules, action plugins) in unit tests.

Module code imports its shared code as ``ansible_collections.ripreplace.remediation.plugins.
module_utils.X`` (AnsiballZ ships it to the host); controller code (action plugins, plugin_utils)
is imported through Ansible's collection finder, which also loads the collection's metadata that
some of Ansible's own helpers read. A test process must therefore configure that finder once, with
this checkout's collection on its path, before anything imports ``ansible_collections``: the first
configuration wins for the whole process (Ansible allows one), so every test that needs Ansible's
plugin loader calls :func:`init_ansible` instead of ``init_plugin_loader`` itself. Under a plain
``sys.path`` import the collection has no metadata, and a later test that needs it fails with
"collection metadata was not loaded" (seen when pytest ran every file in one process).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ripreplace import collection

PREFIX = f"ansible_collections.{collection.NAMESPACE}.{collection.NAME}"


def init_ansible() -> None:
    """Ansible's plugin and collection loaders, as ansible-playbook sets them up, with this checkout's collection."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    path = str(collection.collections_path())
    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader([path])
    elif path not in AnsibleCollectionConfig.collection_paths:
        raise RuntimeError(
            f"Ansible's collection finder was configured without {path}: "
            "call tests.collection_code.init_ansible() instead of init_plugin_loader()"
        )


def load(dotted: str) -> ModuleType:
    """``load("plugins.module_utils.purge_safety")`` -> that module of this checkout's collection."""
    init_ansible()
    return importlib.import_module(f"{PREFIX}.{dotted}")


def scan_offline(module, root, *, rules=None, exceptions=()):
    """covered_facts' scan and removal plan over an offline root, as the module runs them (``rules``: the
    bundled catalog compiled, by default): (kept findings by catalog id, excepted by catalog id, plan, scanner).
    ``module`` stands in for AnsibleModule at the edges."""
    scanning = load("plugins.module_utils.covered_scan")
    planning = load("plugins.module_utils.covered_plan")
    if rules is None:
        catalog = collection.load_plugin_util("catalog")
        rules = catalog.compile_rules(catalog.load_catalogs())
    scanner = scanning.Scanner(module, rules, root=str(root)).run()
    kept, excepted = planning.split_exceptions(planning.build_findings(rules, scanner), list(exceptions))
    plan = planning.build_plan(rules, scanner, kept, root=str(root), excepted=excepted)
    return {f["catalog_id"]: f for _, f in kept}, {f["catalog_id"]: f for _, f in excepted}, plan, scanner
