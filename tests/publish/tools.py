# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The publishing tools in their own virtualenv, and the builds they check.

``.venvs/publish`` holds ansible-builder, galaxy-importer, antsibull-docs and antsibull-changelog
(tests/publish/requirements.txt): galaxy-importer pins ansible-lint and attrs, which the project
venv must not share. The tests in this directory use it; so does ``make ee-context``:

    python tests/publish/tools.py ee-context DIR    # the execution environment's build context
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script (make ee-context)
    sys.path.insert(0, str(ROOT))

from tests.sanity.cores import ensure_venv  # noqa: E402

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
#: The name execution-environment.yml copies the tarball from (its version is in its MANIFEST.json).
EE_TARBALL = ROOT / "build" / "ee" / "ripreplace-remediation.tar.gz"


def tools() -> Path:
    """The bin/ directory of the publishing tools' virtualenv (built on first use)."""
    lines = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    return ensure_venv("publish", sys.executable, [line for line in lines if line], project=False) / "bin"


#: antsibull-docs run with temporary directory names that never end in '_': its linter puts the
#: temporary path into the RST it checks, where 'antsibull-docs-abcdefg_/' reads as a reference to
#: an unknown target and fails the lint (1 run in 37). The patch changes nothing else.
_ANTSIBULL_DOCS = (
    "import sys, tempfile; "
    "tempfile._RandomNameSequence.characters = 'abcdefghijklmnopqrstuvwxyz0123456789'; "
    "from antsibull_docs.cli.antsibull_docs import run; "
    "sys.exit(run(['antsibull-docs', *sys.argv[1:]]))"
)


def antsibull_docs() -> list[str]:
    """The command that runs antsibull-docs (see _ANTSIBULL_DOCS)."""
    return [str(tools() / "python"), "-c", _ANTSIBULL_DOCS]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's Ansible settings, with the tools first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "GALAXY_IMPORTER_"))}
    env["PATH"] = f"{tools()}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def build_tarball(out: Path) -> Path:
    """``ansible-galaxy collection build`` of the repository into ``out``; the tarball's path."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("ripreplace-remediation-*.tar.gz"):
        old.unlink()
    cmd = [str(tools() / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out)]
    subprocess.run(cmd, cwd=ROOT, env=clean_env(), check=True, stdout=subprocess.DEVNULL)
    (tarball,) = out.glob("ripreplace-remediation-*.tar.gz")
    return tarball


def install_tarball(tarball: Path, collections: Path) -> Path:
    """The tarball installed offline under ``collections``; the collection's directory."""
    cmd = [str(tools() / "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", str(collections)]
    env = clean_env(ANSIBLE_GALAXY_SERVER_LIST="")
    subprocess.run([*cmd, str(tarball)], env=env, check=True, stdout=subprocess.DEVNULL)
    return collections / "ansible_collections" / "ripreplace" / "remediation"


def ee_context(context: Path) -> Path:
    """``ansible-builder create`` of execution-environment.yml into ``context``; its Containerfile."""
    with tempfile.TemporaryDirectory(prefix="ripreplace-ee-") as out:
        tarball = build_tarball(Path(out))
        EE_TARBALL.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tarball, EE_TARBALL)
    cmd = [str(tools() / "ansible-builder"), "create", "--file", str(ROOT / "execution-environment.yml")]
    cmd += ["--context", str(context), "--output-filename", "Containerfile"]
    subprocess.run(cmd, cwd=ROOT, env=clean_env(), check=True)
    return context / "Containerfile"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "ee-context":
        print("usage: python tests/publish/tools.py ee-context DIR", file=sys.stderr)
        return 2
    print(ee_context(Path(argv[1]).resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
