"""Read an Ansible inventory the way ansible does: hosts after --limit and each host's groups.

Shared by ``ripreplace audit`` (targets) and ``ripreplace remediate`` (targets, and the groups
that select a host's change windows). ``ansible-inventory --list`` parses it, so every inventory
source ansible accepts works; a parse failure is one :class:`InputFileError` line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ripreplace import collection
from ripreplace.exceptions import InputFileError, UsageError


@dataclasses.dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[str, ...]  # sorted, after --limit
    groups: dict[str, frozenset[str]]  # host -> every group it belongs to (parents included, "all" too)


def _ansible_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() else name


def _list(inventory: Path, limit: str | None) -> dict[str, Any]:
    if not inventory.exists():
        raise InputFileError(f"{inventory}: inventory not found")
    argv = [_ansible_bin("ansible-inventory"), "-i", str(inventory), "--list"]
    if limit:
        argv += ["--limit", limit]
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
            "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
        }
    )
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=300)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("[WARNING]")]
        detail = next((ln for ln in lines if "rror" in ln), lines[0] if lines else f"rc={proc.returncode}")
        detail = detail.replace("[ERROR]: ", "")
        raise InputFileError(f"{inventory}: cannot parse inventory: {detail[:300]}")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{inventory}: ansible-inventory gave no JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{inventory}: ansible-inventory gave no inventory")
    return data


def load_inventory(inventory: Path, limit: str | None) -> Inventory:
    """Hosts (after --limit) and their groups; one-line errors, exit 2."""
    data = _list(inventory, limit)
    direct: dict[str, set[str]] = {}
    children: dict[str, list[str]] = {}
    for name, group in data.items():
        if name == "_meta" or not isinstance(group, dict):
            continue
        children[name] = [str(c) for c in group.get("children", [])]
        for host in group.get("hosts", []):
            direct.setdefault(str(host), set()).add(name)
    parents: dict[str, set[str]] = {}
    for parent, kids in children.items():
        for kid in kids:
            parents.setdefault(kid, set()).add(parent)

    def closure(group: str, seen: set[str]) -> set[str]:
        if group in seen:
            return seen
        seen.add(group)
        for parent in parents.get(group, ()):
            closure(parent, seen)
        return seen

    groups: dict[str, frozenset[str]] = {}
    for host, names in direct.items():
        found: set[str] = {"all"}
        for name in names:
            closure(name, found)
        groups[host] = frozenset(found)
    if not groups:
        if limit:
            raise UsageError(f"--limit {limit!r} matches no host in {inventory}")
        raise InputFileError(f"{inventory}: the inventory has no hosts")
    return Inventory(path=inventory, hosts=tuple(sorted(groups)), groups=groups)


def inventory_hosts(inventory: Path, limit: str | None) -> list[str]:
    """Hosts of an inventory (after --limit), parsed by ansible itself; one-line errors."""
    return list(load_inventory(inventory, limit).hosts)
