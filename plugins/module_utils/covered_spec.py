# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The options of ripreplace.remediation.covered_facts, declared once.

The task's options are split by where they are read: the action plugin reads the controller's
options (catalog and exceptions files, the day) and sends the module the host's options (what to
scan, where, and the rules it compiled). The action plugin validates what the task gave it. The
module's argument spec also names the controller's options, so that its documentation and its spec
agree (ansible-test's validate-modules), but it never reads them: the action plugin never sends
them, and :func:`controller_options_given` makes the module refuse them if a caller tries.
Standard library only (runs on targets, Python 3.9 and later).
"""

from __future__ import annotations

import copy

FACTS_FORMAT = "ripreplace-covered-facts/1"
SCAN_KINDS = ("deb", "rpm", "service", "path", "process", "kernel_module")

#: Options the task gives and the module reads (the action plugin passes them through).
_SHARED = {
    "scan": {"type": "list", "elements": "str", "default": list(SCAN_KINDS), "choices": list(SCAN_KINDS)},
    "root": {"type": "path", "default": "/"},
    "lock_path": {"type": "path", "default": "/var/lib/ripreplace/lock"},
}

#: Options read on the controller by the action plugin only; never sent to the host.
_CONTROLLER = {
    "catalogs": {"type": "list", "elements": "path", "default": []},
    "bundled_catalog": {"type": "bool", "default": True},
    "exceptions": {"type": "list", "elements": "path", "default": []},
    "today": {"type": "str"},
}

#: Options the action plugin computes and the module reads.
_COMPILED = {
    "compiled_rules": {"type": "dict"},
    "active_exceptions": {"type": "list", "elements": "dict", "default": []},
}


def module_argument_spec():
    """What the module on the host takes (a fresh copy: AnsibleModule may annotate it)."""
    spec = dict(_SHARED, **_COMPILED)
    spec.update(_CONTROLLER)
    return copy.deepcopy(spec)


def controller_options_given(params):
    """Controller-only options that reached the module with a value other than their default."""
    return sorted(name for name, opt in _CONTROLLER.items() if params.get(name) != opt.get("default"))


def action_argument_spec():
    """What a task may give: validated by the action plugin on the controller."""
    return copy.deepcopy(dict(_SHARED, **_CONTROLLER))


def host_options(args):
    """The task's options that travel to the module unchanged."""
    return {name: args[name] for name in _SHARED}
