# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Ship the Ansible collection inside the Python package.

The repository root is the collection ``ripreplace.remediation``. A wheel built from it carries a
copy under ``ripreplace/_collection/ansible_collections/ripreplace/remediation`` so that
``pip install .`` gives a ``ripreplace`` command that needs no ``ansible-galaxy`` step.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COLLECTION_PARTS = (
    "galaxy.yml",
    "meta",
    "plugins",
    "roles",
    "playbooks",
    "catalog",
    "schemas",
    "README.md",
    "LICENSE",
    "requirements.txt",  # meta/execution-environment.yml names these two (ansible-builder introspect)
    "bindep.txt",
)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "molecule")


class BuildWithCollection(build_py):
    def run(self) -> None:
        super().run()
        dest = Path(self.build_lib) / "ripreplace" / "_collection" / "ansible_collections"
        dest = dest / "ripreplace" / "remediation"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for part in COLLECTION_PARTS:
            src = ROOT / part
            if src.is_dir():
                shutil.copytree(src, dest / part, ignore=IGNORE)
            elif src.is_file():
                shutil.copy2(src, dest / part)


setup(cmdclass={"build_py": BuildWithCollection})
