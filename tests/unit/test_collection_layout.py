# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The repository root is the collection; the package finds it with no Galaxy step."""

from __future__ import annotations

import yaml

from ripreplace import __version__, collection


def test_collections_path_exposes_the_collection(repo_root):
    root = collection.collection_root()
    assert root.parts[-3:] == ("ansible_collections", "ripreplace", "remediation")
    assert root.resolve() == repo_root
    assert (root / "galaxy.yml").is_file()


def test_versions_agree(repo_root):
    galaxy = yaml.safe_load((repo_root / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("ripreplace", "remediation")
    assert galaxy["version"] == __version__


def test_requires_ansible_admits_every_tested_core(repo_root):
    """2.16 (AAP's execution environments), 2.19 (the lab tests) and the running release; not 2.15."""
    from ansible.release import __version__ as running
    from packaging.specifiers import SpecifierSet

    runtime = yaml.safe_load((repo_root / "meta" / "runtime.yml").read_text())
    spec = SpecifierSet(runtime["requires_ansible"])
    for version in ("2.16.0", "2.19.0", "2.21.0", running):
        assert version in spec, version
    assert "2.15.13" not in spec


#: Sanity checks that only later ansible-core releases run, and the first minor that runs each
#: (2.21 checks modules and module_utils for subprocess calls: ansible/ansible PR 86416).
LATER_CHECKS: dict[str, int] = {}  # check name -> first minor that runs it (none needed today)


def test_sanity_ignores_exist_for_every_supported_minor(repo_root):
    """ansible-test reads tests/sanity/ignore-<major.minor>.txt; a supported release without one fails sanity."""
    names = {p.name for p in (repo_root / "tests" / "sanity").glob("ignore-*.txt")}
    assert {f"ignore-2.{minor}.txt" for minor in range(16, 22)} <= names
    for name in sorted(names):
        for line in (repo_root / "tests" / "sanity" / name).read_text().splitlines():
            assert " # " in line and line.split(" # ", 1)[1].strip(), f"{name}: no reason given: {line}"
    # CI runs sanity on 2.16, 2.19 and the newest only: the others' files must not drift from them. A
    # check that only later releases have is ignored from that release on (ansible-test calls an ignore
    # of a check it does not run "unnecessary", an error).
    reference = set((repo_root / "tests" / "sanity" / "ignore-2.19.txt").read_text().splitlines())
    for name in sorted(names):
        minor = int(name.removeprefix("ignore-2.").removesuffix(".txt"))
        lines = set((repo_root / "tests" / "sanity" / name).read_text().splitlines())
        assert reference <= lines, f"{name} lacks lines of ignore-2.19.txt: put each line in every ignore-2.*.txt"
        for extra in lines - reference:
            test = extra.split(" ")[1]
            assert minor >= LATER_CHECKS.get(test, 99), f"{name}: {extra!r} is not in ignore-2.19.txt"


def test_galaxy_build_ignores_python_side(repo_root):
    galaxy = yaml.safe_load((repo_root / "galaxy.yml").read_text())
    for part in ("src", "tests/unit", "tests/integration", "tests/*.py", ".venv", "runs", ".git"):
        assert part in galaxy["build_ignore"]
    # The sanity ignore files and tests/config.yml ship: ansible-test reads them from an installed copy.
    assert not {"tests", "tests/sanity", "tests/config.yml"} & set(galaxy["build_ignore"])


def test_load_plugin_util_is_cached(tmp_path, monkeypatch):
    util = collection.collection_root() / "plugins" / "plugin_utils"
    names = sorted(p.stem for p in util.glob("*.py") if p.stem != "__init__")
    assert names, "plugin_utils holds the shared controller-side code"
    first = collection.load_plugin_util(names[0])
    assert collection.load_plugin_util(names[0]) is first
