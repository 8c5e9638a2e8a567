# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The collection declares every Python package its plugins import (execution environments need them).

Module code runs on targets with the standard library only; any other import in plugins/ runs on
the controller (action, callback and plugin_utils code, and modules the collection runs on the
controller), so it must be in requirements.txt, which meta/execution-environment.yml hands to
ansible-builder.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

#: Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"yaml": "PyYAML", "dateutil": "python-dateutil"}
#: What ansible-core itself provides to every plugin.
PROVIDED = {"ansible", "ansible_collections", "__future__"}


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _declared(repo_root: Path) -> set[str]:
    names = set()
    for line in (repo_root / "requirements.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            names.add(re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower())
    return names


def test_every_third_party_import_of_the_plugins_is_declared(repo_root):
    declared = _declared(repo_root)
    missing = {}
    for path in sorted((repo_root / "plugins").rglob("*.py")):
        for name in _imported_top_levels(path) - PROVIDED - set(sys.stdlib_module_names):
            distribution = DISTRIBUTIONS.get(name, name)
            if distribution.lower() not in declared:
                missing.setdefault(distribution, []).append(str(path.relative_to(repo_root)))
    assert missing == {}, f"add to requirements.txt: {missing}"
    assert "jsonschema" in declared  # the scan sees the lazy import in plugin_utils/catalog.py


def test_meta_execution_environment_names_the_requirement_files(repo_root):
    meta = yaml.safe_load((repo_root / "meta" / "execution-environment.yml").read_text())
    assert meta["version"] == 1
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for name in meta["dependencies"].values():
        assert (repo_root / name).is_file(), name


def test_execution_environment_installs_the_collection_from_the_local_tarball_only(repo_root):
    ee = yaml.safe_load((repo_root / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    assert ee["dependencies"]["galaxy"] == {
        "collections": [{"name": "collections/ripreplace-remediation.tar.gz", "type": "file"}]
    }
    (build_file,) = ee["additional_build_files"]
    assert build_file == {"src": "build/ee/ripreplace-remediation.tar.gz", "dest": "collections"}
