"""Run ``ansible-test sanity`` on the collection content, offline-safe.

ansible-test needs the collection under ``ansible_collections/ripreplace/remediation``. This
copies the content that ``ansible-galaxy collection build`` ships (not the Python package,
its tests or benchmarks, which ruff and mypy check) into a persistent work tree, keeps that
tree's ``tests/output`` (ansible-test's cached virtualenvs) between runs, installs the offline
get-pip stand-in (see get_pip_offline.py), and runs sanity in ``--venv`` mode.

Usage: python tests/sanity/run.py [ansible-test sanity options...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("RIPREPLACE_SANITY_DIR", "/var/tmp/ripreplace-sanity"))
CONTENT = (
    "galaxy.yml",
    "meta",
    "plugins",
    "roles",
    "playbooks",
    "catalog",
    "docs",
    "inventories",
    "changelogs",
    "README.md",
    "LICENSE",
    "tests/config.yml",
    "tests/sanity",
)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "molecule", ".pytest_cache")


def _pip_version() -> str:
    from ansible_test._internal.python_requirements import get_venv_packages

    class _Python:  # get_venv_packages only reads .version
        version = f"{sys.version_info.major}.{sys.version_info.minor}"

    return get_venv_packages(_Python())["pip"]  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    dest = WORK / "ansible_collections" / "ripreplace" / "remediation"
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
    for part in CONTENT:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=IGNORE, dirs_exist_ok=True)
        elif src.is_file():
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{_pip_version().replace('.', '_')}.py"
    cache.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "tests" / "sanity" / "get_pip_offline.py", cache)
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    cmd = [
        str(Path(sys.executable).parent / "ansible-test"),
        "sanity",
        "--venv",
        "--python",
        py,
        "--color",
        "no",
        *argv,
    ]
    return subprocess.call(cmd, cwd=dest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
