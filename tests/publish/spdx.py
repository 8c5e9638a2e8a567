# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""SPDX headers: every source file names its license and copyright in its first lines.

    python tests/publish/spdx.py          # the source files without the header (exit 1 if any)
    python tests/publish/spdx.py --fix    # add it: after a shebang, in place of the old two-line notice

Source files are the tracked (and untracked, not ignored) Python, YAML, TOML, Jinja, C and RST files,
the Makefile, .ci/run, MANIFEST.in and the requirement lists. Not data that is read back byte for
byte or regenerated: captured tool output (tests/unit/fixtures), SNMP recordings, JSON, Markdown,
changelog fragments and changelogs/changelog.yaml (antsibull-changelog rewrites them), the sanity
ignore files (ansible-test's own format).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPYRIGHT = "Copyright 2026 ripreplace developers"
SPDX = "SPDX-License-Identifier: Apache-2.0"
#: The notice the first files carried; --fix replaces it.
OLD_NOTICE = ("# Copyright: ripreplace developers\n", "# Apache License 2.0 (see LICENSE)\n")
HASH_SUFFIXES = (".py", ".yml", ".yaml", ".toml", ".cfg")
HASH_NAMES = ("Makefile", "MANIFEST.in", ".ci/run", "requirements.txt", "bindep.txt", "tests/publish/requirements.txt")
EXCLUDED = re.compile(r"^(tests/unit/fixtures/|changelogs/fragments/|changelogs/changelog\.yaml$|tests/sanity/ignore-)")
#: The header must be within the first lines (a shebang and a Jinja/C comment opener come first).
WITHIN = 5


def source_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    chosen = []
    for rel in sorted(set(listed)):
        path = ROOT / rel
        if EXCLUDED.match(rel) or not path.is_file():
            continue
        if rel in HASH_NAMES or rel.endswith((*HASH_SUFFIXES, ".j2", ".c", ".rst")):
            chosen.append(path)
    return chosen


def has_header(path: Path) -> bool:
    head = path.read_text(encoding="utf-8").splitlines()[:WITHIN]
    return any(SPDX in line for line in head) and any(COPYRIGHT in line for line in head)


def with_header(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    name = path.name
    if name.endswith(".j2"):
        # Ansible's template module and the report renderer trim the newline after a comment
        # (trim_blocks): the rendered file is unchanged.
        return f"{{# {COPYRIGHT}; {SPDX} #}}\n{text}"
    if name.endswith(".c"):
        return f"/* {COPYRIGHT}\n * {SPDX} */\n{text}"
    if name.endswith(".rst"):
        return f"..\n  {SPDX}\n  {COPYRIGHT}\n\n{text}"
    lines = text.splitlines(keepends=True)
    shebang = lines[:1] if lines and lines[0].startswith("#!") else []
    rest = lines[len(shebang) :]
    if tuple(rest[:2]) == OLD_NOTICE:
        rest = rest[2:]
    return "".join([*shebang, f"# {COPYRIGHT}\n", f"# {SPDX}\n", *rest])


def main(argv: list[str]) -> int:
    missing = [path for path in source_files() if not has_header(path)]
    if "--fix" in argv:
        for path in missing:
            path.write_text(with_header(path), encoding="utf-8")
        print(f"added the SPDX header to {len(missing)} file(s)")
        return 0
    for path in missing:
        print(f"{path.relative_to(ROOT)}: no '{SPDX}' and '{COPYRIGHT}' in its first {WITHIN} lines")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
