# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Installation as a user does it: a fresh virtualenv, `pip install .`, and the offline tarball."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

pytestmark = pytest.mark.slow


def _run(argv, **kwargs):
    kwargs.setdefault("timeout", 900)
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{argv}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, repo_root):
    """README command (a)'s set-up: `python3 -m venv .venv && .venv/bin/pip install .`, in a copy of the repo."""
    work = tmp_path_factory.mktemp("install")
    src = work / "src"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for rel in filter(None, files):
        source = repo_root / rel
        if source.is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, src / rel)
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin" / "pip", "install", "-q", "."], cwd=src)
    return venv, src, work


def test_pip_install_gives_a_working_command_with_the_collection_inside(fresh_venv):
    venv, _src, work = fresh_venv
    result = _run([venv / "bin" / "ripreplace", "--version"], cwd=work)
    assert result.stdout.startswith("ripreplace ")
    code = (
        "from ripreplace import collection; r = collection.collection_root(); "
        "print(r); print((r / 'galaxy.yml').is_file(), (r / 'plugins').is_dir(), (r / 'roles').is_dir())"
    )
    out = _run([venv / "bin" / "python", "-c", code], cwd=work).stdout.split("\n")
    assert "site-packages/ripreplace/_collection/ansible_collections/ripreplace/remediation" in out[0]
    assert out[1] == "True True True"


def test_readme_audit_command_runs_from_the_installed_package(fresh_venv):
    venv, _src, work = fresh_venv
    cwd = work / "audit-here"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"  # as on a fresh machine: the venv is not on PATH
    result = subprocess.run(
        [str(venv / "bin" / "ripreplace"), "audit"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode in (0, 3), result.stdout + result.stderr
    runs = list((cwd / "runs").iterdir())
    assert len(runs) == 1
    for name in ("manifest.json", "audit.jsonl", "summary.json"):
        assert (runs[0] / name).is_file(), name
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert list(summary["hosts"]) == ["localhost"]
    assert summary["hosts"]["localhost"]["status"] in ("clean", "covered")


def test_galaxy_tarball_installs_offline_and_documents_itself(fresh_venv):
    venv, src, work = fresh_venv
    dist = work / "dist"
    _run([venv / "bin" / "ansible-galaxy", "collection", "build", "--output-path", dist], cwd=src)
    tarballs = list(dist.glob("ripreplace-remediation-*.tar.gz"))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert not any(n.startswith(("src/", ".venv")) for n in names)
    # Of tests/ only what ansible-test reads from an installed copy: its config and the sanity ignores.
    shipped_tests = {n for n in names if n.startswith("tests/")}
    assert "tests/config.yml" in shipped_tests and "tests/sanity/ignore-2.16.txt" in shipped_tests
    allowed = re.compile(r"tests/(config\.yml|sanity(/ignore-2\.\d+\.txt)?)?")
    assert all(allowed.fullmatch(n) for n in shipped_tests), shipped_tests
    # What ansible-builder introspect reads, and the full license text.
    for name in ("meta/execution-environment.yml", "requirements.txt", "bindep.txt", "LICENSE"):
        assert name in names, name
    target = work / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_GALAXY_SERVER_LIST"] = ""  # no server: install must not need one
    # --force: a copy installed elsewhere (e.g. ~/.ansible/collections) must not make this a no-op.
    _run(
        [venv / "bin" / "ansible-galaxy", "collection", "install", "--offline", "--force", "-p", target, tarballs[0]],
        cwd=work,
        env=env,
    )
    assert (target / "ansible_collections" / "ripreplace" / "remediation" / "MANIFEST.json").is_file()
    env["ANSIBLE_COLLECTIONS_PATH"] = str(target)
    listing = _run([venv / "bin" / "ansible-doc", "-l", "ripreplace.remediation", "--json"], cwd=work, env=env).stdout
    assert "ripreplace.remediation.covered_facts" in json.loads(listing)
