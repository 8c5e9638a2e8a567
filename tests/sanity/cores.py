# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Unit tests, the audit callback's playbook tests and ``ansible-test sanity`` on other ansible-cores.

The project venv runs ansible-core 2.19 (Python 3.11); the collection supports 2.16 and newer. This
runs the same checks on:

- ``2.16``: ansible-core 2.16 (what the execution environments of Ansible Automation Platform
  ship), on this interpreter's Python (2.16 runs on 3.10 to 3.12);
- ``newest``: the newest ansible-core the machine can install. 2.20 and later need Python 3.12+,
  looked for on PATH and under ~/.pyenv/versions; without one this says so and passes (the
  newest installable is then the project venv's own release, which make test already covers).

Each gets a virtualenv under ``.venvs/`` with that ansible-core, the project's dependencies from
pyproject.toml and the project itself (editable, no dependencies: so ``ripreplace verify-log`` is
there for the playbook tests); it is rebuilt only when the interpreter or those requirements
change (the newest release is looked up on every run, so a new release rebuilds it).

The releases run side by side (--jobs 2), each with its output in .venvs/logs/<release>.log; the
log of a release that failed is printed at the end.

Usage: python tests/sanity/cores.py [2.16|newest ...] [--skip-sanity] [--playbook-everywhere] [--jobs N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / ".venvs"
#: What runs besides sanity: every unit test, and the audit callback under real ansible-playbook.
UNIT = ["tests/unit", "-m", "not lab and not e2e and not slow and not fuzz"]  # as make test-unit
PLAYBOOK = ["tests/integration/test_audit_log_playbook.py"]
#: Where the playbook tests run: on both (on ansible-core 2.21 the loop results handed to callbacks carry
#: no 'failed'; the audit_log counts a loop's items from the item hooks instead, see audit_events.ItemCounts).
PLAYBOOK_ON = ("2.16", "newest")
#: The oldest (most mature) Python that the newest ansible-core releases accept comes first.
NEWEST_PYTHONS = ("3.12", "3.13", "3.14")


_PRINT = threading.Lock()


def say(message: str, log: IO[str] | None = None) -> None:
    with _PRINT:
        print(f"== cores: {message}", flush=True)
    if log is not None:
        print(f"== cores: {message}", file=log, flush=True)


def project_requirements(core: str) -> list[str]:
    """pyproject's dependencies with ``core`` for ansible-core, plus what the unit tests import.

    Not the linters of the test extra: ansible-lint and molecule need a newer ansible-core.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = [d for d in project["dependencies"] if not re.match(r"ansible-core\b", d)]
    runner = [d for d in project["optional-dependencies"]["test"] if re.match(r"(pytest(-timeout)?|hypothesis)\b", d)]
    return [core, *deps, *runner]


def python_version(python: str) -> tuple[int, int]:
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def find_newest_python() -> str | None:
    """A Python 3.12 or newer that runs (3.12 first): on PATH, else under ~/.pyenv/versions.

    A pyenv shim on PATH for a version that is not selected exits 127: such candidates are skipped.
    """
    candidates = [found for minor in NEWEST_PYTHONS if (found := shutil.which(f"python{minor}"))]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    versioned = []
    for path in pyenv.glob("3.*/bin/python3"):
        match = re.fullmatch(r"3\.(\d+)\.(\d+)", path.parent.parent.name)
        if match:
            versioned.append(((int(match.group(1)), int(match.group(2))), str(path)))
    candidates += [path for _, path in sorted(versioned)]
    for python in candidates:
        try:
            if python_version(python) >= (3, 12):
                return python
        except (OSError, subprocess.CalledProcessError):
            continue
    return None


def newest_core(python: str) -> str:
    """The newest ansible-core release pip would install on ``python`` (a dry run: nothing installed)."""
    pip = [python, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps", "--ignore-installed"]
    report = subprocess.run(
        [*pip, "--disable-pip-version-check", "--report", "-", "ansible-core"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (item,) = json.loads(report)["install"]
    return str(item["metadata"]["version"])


def ensure_venv(
    name: str, python: str, requirements: list[str], *, project: bool = True, log: IO[str] | None = None
) -> Path:
    """``.venvs/<name>`` with ``requirements`` (and the project, editable); rebuilt when they change."""
    venv = VENVS / name
    real = os.path.realpath(python)
    stamp_text = "\n".join([real, *requirements, str(project)])
    if project:
        stamp_text += (ROOT / "pyproject.toml").read_text() + (ROOT / "setup.py").read_text()
    stamp = hashlib.sha256(stamp_text.encode()).hexdigest()
    marker = venv / ".ripreplace-stamp"
    if marker.is_file() and marker.read_text() == stamp:
        return venv
    say(f"building {venv.relative_to(ROOT)} ({python}: {requirements[0]})", log)
    shutil.rmtree(venv, ignore_errors=True)
    out = {"stdout": log, "stderr": subprocess.STDOUT} if log is not None else {}
    subprocess.run([python, "-m", "venv", str(venv)], check=True, **out)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, **out)
    subprocess.run([*pip, *requirements], check=True, **out)
    if project:
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True, **out)
    marker.write_text(stamp)
    return venv


def run_checks(label: str, venv: Path, log: IO[str], *, sanity: bool, playbook: bool) -> list[str]:
    """Unit tests, the callback's playbook tests and sanity in ``venv``; the names of what failed."""
    py = str(venv / "bin" / "python")
    core = subprocess.run(
        [py, "-c", "from ansible.release import __version__; import sys; print(__version__, sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    say(f"{label}: ansible-core {core[0]} on Python {core[1]} ({venv.relative_to(ROOT)})", log)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    steps = [("unit tests", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNIT])]
    if playbook:
        steps.append(("audit callback playbook tests", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLAYBOOK]))
    else:
        say(f"{label}: audit callback playbook tests not run here (see PLAYBOOK_ON in {Path(__file__).name})", log)
    if sanity:
        steps.append(("ansible-test sanity", [py, str(ROOT / "tests" / "sanity" / "run.py")]))
    failed = []
    for what, cmd in steps:
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        verdict = "ok" if code == 0 else f"FAILED (exit {code})"
        say(f"{label}: {what}: {verdict} in {time.monotonic() - started:.0f} s", log)
        if code != 0:
            failed.append(f"{label} {what}")
    return failed


def run_release(which: str, args: argparse.Namespace, log: IO[str]) -> list[str]:
    """Build the release's venv and run its checks, output to ``log``; the names of what failed."""
    if which == "2.16":
        if not (3, 10) <= sys.version_info[:2] <= (3, 12):
            say(f"2.16: needs Python 3.10 to 3.12, this is {sys.version.split()[0]}: FAILED", log)
            return ["2.16 interpreter"]
        requirements = project_requirements("ansible-core==2.16.*")
        venv = ensure_venv("core-2.16", sys.executable, requirements, log=log)
    else:
        python = find_newest_python()
        if python is None:
            say(
                "newest: no Python 3.12+ on PATH or under ~/.pyenv/versions; ansible-core 2.20 and later "
                "need one, so the newest installable here is the project venv's (make test covers it)",
                log,
            )
            return []
        try:
            version = newest_core(python)
        except (subprocess.CalledProcessError, ValueError, KeyError) as exc:
            say(f"newest: cannot find the newest ansible-core for {python}: {exc}: FAILED", log)
            return ["newest lookup"]
        major, minor = python_version(python)
        requirements = project_requirements(f"ansible-core=={version}")
        venv = ensure_venv(f"core-newest-py{major}.{minor}", python, requirements, log=log)
    playbook = args.playbook_everywhere or which in PLAYBOOK_ON
    return run_checks(which, venv, log, sanity=not args.skip_sanity, playbook=playbook)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("which", nargs="*", help="2.16 and/or newest (default: both)")
    parser.add_argument("--skip-sanity", action="store_true", help="unit and playbook tests only")
    parser.add_argument("--playbook-everywhere", action="store_true", help="playbook tests on every release")
    parser.add_argument("--jobs", type=int, default=2, help="releases checked at once (default 2)")
    args = parser.parse_args(argv)
    releases = args.which or ["2.16", "newest"]
    unknown = sorted(set(releases) - {"2.16", "newest"})
    if unknown:
        parser.error(f"unknown release {', '.join(unknown)}: choose 2.16 or newest")
    logs = VENVS / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def job(which: str) -> list[str]:
        with open(logs / f"{which}.log", "w", encoding="utf-8") as log:
            try:
                return run_release(which, args, log)
            except subprocess.CalledProcessError as exc:
                say(f"{which}: {exc}: FAILED", log)
                return [f"{which} set-up"]

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = dict(zip(releases, pool.map(job, releases), strict=True))
    failed = [name for which in releases for name in results[which]]
    for which in releases:
        if results[which]:  # the whole log of a release that failed, so CI's output shows why
            print(f"== cores: {which}: log ({logs / (which + '.log')}) follows", flush=True)
            print((logs / f"{which}.log").read_text(encoding="utf-8"), flush=True)
    if failed:
        say("FAILED: " + ", ".join(failed))
        return 1
    say(f"all passed (logs in {logs.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
