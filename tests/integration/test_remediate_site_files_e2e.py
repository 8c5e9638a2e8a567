# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace remediate --catalog FILE --exceptions FILE``: the files reach every detection of the run as
the detect role's extra vars, and the manifest records them, as an audit's does (stand-in playbook on
local-connection hosts, tests/remediate_site.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from tests.remediate_site import STANDIN, base, make_site, ripreplace, runs, touched

from ripreplace import collection
from ripreplace.constants import ExitCode

pytestmark = pytest.mark.e2e

KEEP_VARS = """\
  tasks:
    - name: Keep the detect role's extra vars as this run gives them
      ansible.builtin.copy:
        content: "{{ {'catalogs': detect_extra_catalogs, 'exceptions': detect_extra_exceptions} | to_json }}"
        dest: "{{ marker_dir }}/../extra-{{ inventory_hostname }}.json"
        mode: "0600"
"""


def test_site_catalogs_and_exceptions_reach_the_playbook_and_the_manifest(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "standin.yml").write_text(STANDIN.replace("  tasks:\n", KEEP_VARS, 1))
    example = collection.collection_root() / "inventories" / "example"
    shutil.copy(example / "covered-site.yml", site / "site.yml")
    shutil.copy(example / "exceptions.yml", site / "exc.yml")
    args = base(site, "--window", "now/PT1H", "--yes", "--output", "json")
    result = ripreplace(site, *args, "--catalog", "site.yml", "--exceptions", "exc.yml")  # relative to the cwd
    assert result.returncode == ExitCode.OK, result.stderr
    assert touched(site) == ["h1", "h2", "h3", "h4"]
    for host in ("h1", "h2", "h3", "h4"):
        given = json.loads((site / f"extra-{host}.json").read_text())
        assert given == {"catalogs": [str(site / "site.yml")], "exceptions": [str(site / "exc.yml")]}
    (run,) = runs(site)
    manifest = json.loads((run / "manifest.json").read_text())
    files = {f["path"]: f["sha256"] for f in manifest["catalog_files"]}
    assert files[str(site / "site.yml")] == hashlib.sha256((site / "site.yml").read_bytes()).hexdigest()
    assert any(p.endswith("covered.yml") for p in files)  # the bundled catalog, as in an audit's manifest
    tree = manifest["sha256"]["catalogs"]
    assert any(str(site / "site.yml") in p for p in tree) and any(str(site / "exc.yml") in p for p in tree)


def test_without_site_files_the_extra_vars_are_empty(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "standin.yml").write_text(STANDIN.replace("  tasks:\n", KEEP_VARS, 1))
    result = ripreplace(site, *base(site, "--window", "now/PT1H", "--yes", "--limit", "h1"))
    assert result.returncode == ExitCode.OK, result.stderr
    assert json.loads((site / "extra-h1.json").read_text()) == {"catalogs": [], "exceptions": []}
