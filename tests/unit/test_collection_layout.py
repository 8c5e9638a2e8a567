"""The repository root is the collection; the package finds it with no Galaxy step."""

from __future__ import annotations

import re

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


def test_requires_ansible_covers_2_19_to_2_21(repo_root):
    runtime = yaml.safe_load((repo_root / "meta" / "runtime.yml").read_text())
    spec = runtime["requires_ansible"]
    assert re.fullmatch(r">=2\.19\.0,<2\.22", spec)


def test_galaxy_build_ignores_python_side(repo_root):
    galaxy = yaml.safe_load((repo_root / "galaxy.yml").read_text())
    for part in ("src", "tests", ".venv", "runs", ".git"):
        assert part in galaxy["build_ignore"]


def test_load_plugin_util_is_cached(tmp_path, monkeypatch):
    util = collection.collection_root() / "plugins" / "plugin_utils"
    names = sorted(p.stem for p in util.glob("*.py") if p.stem != "__init__")
    assert names, "plugin_utils holds the shared controller-side code"
    first = collection.load_plugin_util(names[0])
    assert collection.load_plugin_util(names[0]) is first
