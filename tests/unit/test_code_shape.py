# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Rooms stay small: no Python file over 600 lines and no function over 80 lines in src/ and plugins/.

A long function or file hides its structure from the reader (issue: smaller rooms); this keeps the
limits from creeping back. Split by concern, never by a suppression.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
FILES = sorted(p for d in ("src", "plugins") for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def test_there_is_code_to_check():
    assert len(FILES) > 50


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_or_function_too_long(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_FILE_LINES, f"{path.name}: {text.count(chr(10))} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: " + ", ".join(long)
