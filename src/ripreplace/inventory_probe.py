# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Evaluate ``--limit`` patterns with Ansible's own inventory code; run by :mod:`ripreplace.inventory`.

``python -m ripreplace.inventory_probe`` reads ``{"inventory": PATH, "patterns": [...], "limit": TEXT}``
on stdin, loads the inventory exactly as ``ansible-inventory -i PATH --list`` does (same CLI class,
so ansible.cfg, vault identities and inventory plugins apply), and writes one JSON line:

- ``matches``: for each pattern, how many inventory hosts it matches (the pattern behind ``&``/``!``,
  as ``InventoryManager._match_one_pattern`` reads it; a plain host name as ``_evaluate_patterns``
  does; the implicit ``localhost`` is no inventory host and does not count);
- ``groups``: host -> its groups (ancestors and ``all`` included), for the hosts ``--limit TEXT``
  selects, as ``InventoryManager.subset`` and ``get_hosts`` select them for ansible-playbook;
- ``names``: every host and group name (for "did you mean");
- ``error``: ``{"index", "message"}`` when Ansible refuses a pattern (a subscript past the end).

Inventory errors go to stderr as ``ansible-inventory`` reports them, with its exit code.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def evaluate(inventory: Any, patterns: list[str], limit: str | None) -> dict[str, Any]:
    """The answer for an ``InventoryManager`` (separate from :func:`main`, so tests call it in-process)."""
    from ansible.errors import AnsibleError

    explicit = inventory.hosts  # name -> Host; the implicit localhost is not in it
    matches = []
    for index, pattern in enumerate(patterns):
        try:
            found = [explicit[pattern]] if pattern in explicit else inventory._match_one_pattern(pattern)
        except AnsibleError as exc:
            message = " ".join(str(getattr(exc, "message", exc)).split())
            return {"error": {"index": index, "message": message[:300]}}
        matches.append(len({h.name for h in found if h.name in explicit}))
    inventory.subset(limit)
    selected = inventory.get_hosts("all")
    groups = {h.name: sorted(g.name for g in h.get_groups()) for h in selected if h.name in explicit}
    names = sorted(set(explicit) | set(inventory.groups))
    return {"matches": matches, "groups": groups, "names": names}


def main() -> None:
    request = json.load(sys.stdin)
    from ansible.cli import CLI
    from ansible.cli.inventory import InventoryCLI

    class Probe(InventoryCLI):
        def run(self) -> int:
            CLI.run(self)
            _loader, inventory, _variables = self._play_prereqs()
            answer = evaluate(inventory, list(request["patterns"]), request["limit"])
            sys.stdout.write("\n" + json.dumps(answer) + "\n")
            return 0

    Probe.cli_executor(["ansible-inventory", "-i", str(request["inventory"]), "--list"])


if __name__ == "__main__":
    main()
