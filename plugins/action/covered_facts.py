# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Controller side of ripreplace.remediation.covered_facts.

Loads and validates the bundled catalog, site catalogs and exceptions files on the controller,
keeps the entries and exceptions that apply to this host (by ``inventory_hostname`` and
``group_names``), and runs the module with the compiled rules: targets need no catalog file.
Expired exceptions are reported in the facts and as a warning.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.ripreplace.remediation.plugins.module_utils.covered_spec import (
    action_argument_spec,
    host_options,
)
from ansible_collections.ripreplace.remediation.plugins.plugin_utils import catalog as catalog_utils

MODULE = "ripreplace.remediation.covered_facts"
_CACHE = {}


def _file_key(paths):
    key = []
    for path in paths:
        try:
            st = os.stat(path)
            key.append((path, st.st_mtime_ns, st.st_size))
        except OSError:
            key.append((path, None, None))
    return tuple(key)


def load_for_run(bundled, site_catalogs, exceptions_files):
    """Catalog + exceptions, cached per worker process while the files are unchanged."""
    paths = ([catalog_utils.BUNDLED_CATALOG] if bundled else []) + list(site_catalogs) + ["--"] + list(exceptions_files)
    key = (bundled, _file_key(paths))
    if key not in _CACHE:
        catalog = catalog_utils.load_catalogs(site_catalogs, bundled=bundled)
        exceptions, files = catalog_utils.load_exceptions(list(exceptions_files), known_ids=set(catalog.ids))
        _CACHE.clear()
        _CACHE[key] = (catalog, exceptions, files)
    return _CACHE[key]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    _VALID_ARGS = frozenset(action_argument_spec())

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=action_argument_spec())
        host = task_vars.get("inventory_hostname")
        groups = list(task_vars.get("group_names") or [])
        try:
            catalog, exceptions, exception_files = load_for_run(
                args["bundled_catalog"], args["catalogs"], args["exceptions"]
            )
            active, expired = catalog_utils.exceptions_for_host(exceptions, host, groups, today=args["today"])
        except catalog_utils.CatalogError as exc:
            raise AnsibleActionFail("catalog error: %s" % exc) from None
        rules = catalog_utils.compile_rules(catalog, host=host, groups=groups)
        module_args = dict(host_options(args), compiled_rules=rules, active_exceptions=active)
        module_result = self._execute_module(
            module_name=MODULE, module_args=module_args, task_vars=task_vars, wrap_async=False
        )
        result.update(module_result)
        facts = (result.get("ansible_facts") or {}).get("covered_software")
        if isinstance(facts, dict):
            facts["exceptions_expired"] = expired
            facts["exceptions_active"] = active
            facts["catalog"] = {
                "files": catalog.files,
                "exceptions_files": exception_files,
                "rules": len(rules["entries"]),
            }
            if expired:
                warnings = result.setdefault("warnings", [])
                warnings.extend(item["message"] for item in expired)
        # The module reads the host and never changes it; say so whatever it returned.
        result["changed"] = False
        return result
