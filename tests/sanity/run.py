# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Run ``ansible-test sanity`` on the collection content, offline-safe.

ansible-test needs the collection under ``ansible_collections/ripreplace/remediation``. This
builds the collection tarball (``ansible-galaxy collection build``: exactly what ships, not the
Python package, its tests or benchmarks, which ruff and mypy check) and unpacks it with
galaxy.yml into a persistent work tree, one per ansible-core minor release, keeps that tree's
``tests/output`` (ansible-test's cached virtualenvs) between runs, installs the offline get-pip
stand-in (see get_pip_offline.py), and runs sanity in ``--venv`` mode with the ansible-test of
the interpreter running this script. A lock file makes concurrent runs on one tree wait.

Usage: python tests/sanity/run.py [ansible-test sanity options...]
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ansible.release import __version__ as CORE_VERSION

ROOT = Path(__file__).resolve().parents[2]
CORE_MINOR = ".".join(CORE_VERSION.split(".")[:2])
WORK = Path(os.environ.get("RIPREPLACE_SANITY_DIR") or f"/var/tmp/ripreplace-sanity/core-{CORE_MINOR}")
BIN = Path(sys.executable).parent


def _pip_version() -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    class _Python:  # get_venv_packages only reads .version
        version = f"{sys.version_info.major}.{sys.version_info.minor}"

    return get_venv_packages(_Python())["pip"]  # type: ignore[arg-type]


def _refresh(dest: Path) -> None:
    """Replace the work tree's content by the collection tarball's, keeping tests/output."""
    dest.mkdir(parents=True, exist_ok=True)
    for child in dest.iterdir():
        if child.name == "tests":
            for sub in child.iterdir():
                if sub.name != "output":
                    shutil.rmtree(sub) if sub.is_dir() else sub.unlink()
        elif child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    with tempfile.TemporaryDirectory(prefix="ripreplace-sanity-build-") as out:
        build = [str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", out]
        subprocess.run(build, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        (tarball,) = Path(out).glob("ripreplace-remediation-*.tar.gz")
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
    shutil.copy2(ROOT / "galaxy.yml", dest / "galaxy.yml")


def main(argv: list[str]) -> int:
    dest = WORK / "ansible_collections" / "ripreplace" / "remediation"
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another sanity run on {WORK}", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        _refresh(dest)
        cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{_pip_version().replace('.', '_')}.py"
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "tests" / "sanity" / "get_pip_offline.py", cache)
        py = f"{sys.version_info.major}.{sys.version_info.minor}"
        print(f"ansible-test sanity: ansible-core {CORE_VERSION}, Python {py}, in {dest}", flush=True)
        cmd = [str(BIN / "ansible-test"), "sanity", "--venv", "--python", py, "--color", "no", *argv]
        return subprocess.call(cmd, cwd=dest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
