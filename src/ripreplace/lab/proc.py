"""Run lab commands as argv lists; failures become one-line LabErrors."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ripreplace.exceptions import LabError

#: A locale that keeps tool output parsable, and no inherited apt front-end prompts.
_ENV = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}


def run(
    argv: Sequence[str | Path],
    *,
    check: bool = True,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 600,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(_ENV)
    if env:
        full_env.update(env)
    args = [str(a) for a in argv]
    try:
        proc = subprocess.run(
            args,
            input=input_text,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{args[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(args[:3])}... did not finish in {timeout} s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        last = detail[-1] if detail else "no output"
        raise LabError(f"{' '.join(args[:4])} failed (rc={proc.returncode}): {last}")
    return proc
