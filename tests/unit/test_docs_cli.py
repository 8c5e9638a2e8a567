# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The docs say what the command does: every option the README and docs/ show exists in ``--help``; every
option ``--help`` lists is in the synopsis where the docs give one; documented defaults are the code's.

A synopsis is a command line in a fenced block with ``[--option ...]`` in it (``ripreplace audit -i
INVENTORY [--limit PATTERN] ...``): for its command, the synopses together must name every option
``--help`` shows (hidden test hooks excepted). Examples (fenced or inline ``ripreplace ...`` code)
must only use options that exist.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ripreplace import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPTION = re.compile(r"(?<![\w/.-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
COMMAND_LINE = re.compile(r"^\s*(?:sudo\s+)?ripreplace\s+(.*)$")
INLINE = re.compile(r"`(?:sudo )?ripreplace ([^`]+)`")
COMMENT = re.compile(r"\s+#\s.*$")


@dataclasses.dataclass(frozen=True)
class Usage:
    where: str  # file:line
    text: str  # after "ripreplace"
    fenced: bool

    @property
    def synopsis(self) -> bool:
        return self.fenced and "[-" in self.text


def _fenced_commands(path: Path) -> Iterator[Usage]:
    lines = path.read_text(encoding="utf-8").splitlines()
    fenced = False
    current: tuple[int, str] | None = None
    for number, raw in enumerate(lines, 1):
        if raw.lstrip().startswith("```"):
            if current:
                yield Usage(f"{path.name}:{current[0]}", current[1], True)
            fenced, current = not fenced, None
            continue
        if not fenced:
            continue
        line = COMMENT.sub("", raw)
        match = COMMAND_LINE.match(line)
        continues = current is not None and (current[1].endswith("\\") or re.match(r"^\s+[\[(|-]", line))
        if continues and current is not None:
            current = (current[0], current[1].rstrip("\\").rstrip() + " " + line.strip())
        elif match:
            if current:
                yield Usage(f"{path.name}:{current[0]}", current[1], True)
            current = (number, match.group(1).strip())
        elif current:
            yield Usage(f"{path.name}:{current[0]}", current[1], True)
            current = None


def _inline_commands(path: Path) -> Iterator[Usage]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for match in INLINE.finditer(line):
            yield Usage(f"{path.name}:{number}", match.group(1), False)


def documented() -> list[Usage]:
    return [u for path in DOCS for u in (*_fenced_commands(path), *_inline_commands(path))]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def resolve(usage: Usage) -> tuple[str, argparse.ArgumentParser] | None:
    """(command path, its parser) for a documented line; None for prose that names no command."""
    parser = cli.build_parser()
    words = usage.text.split()
    path: list[str] = []
    while words and (subs := _subparsers(parser)):
        if words[0] not in subs:
            if not usage.fenced and not path:
                return None  # prose such as `ripreplace audit|remediate` or `ripreplace <version>`
            raise AssertionError(f"{usage.where}: 'ripreplace {usage.text}': {words[0]!r} is no sub-command")
        path.append(words.pop(0))
        parser = subs[path[-1]]
    return " ".join(path), parser


def _options(parser: argparse.ArgumentParser, *, shown_only: bool) -> dict[str, tuple[str, ...]]:
    """dest -> option strings, for every optional argument (``--help`` itself excepted)."""
    out = {}
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        if shown_only and action.help == argparse.SUPPRESS:
            continue
        out[action.dest] = tuple(action.option_strings)
    return out


USAGES = documented()


def test_the_docs_show_commands():
    synopses = {resolve(u)[0] for u in USAGES if u.synopsis and resolve(u)}  # type: ignore[index]
    assert {"audit", "remediate", "report", "lab up", "lab plant", "runs list", "catalog list"} <= synopses


@pytest.mark.parametrize("usage", USAGES, ids=lambda u: u.where)
def test_every_documented_option_exists(usage):
    resolved = resolve(usage)
    if resolved is None:
        return
    command, parser = resolved
    known = {s for strings in _options(parser, shown_only=False).values() for s in strings}
    for option in OPTION.findall(usage.text):
        assert option in known, f"{usage.where}: 'ripreplace {command}' has no option {option} (see --help)"


def test_every_option_of_help_is_in_the_synopsis():
    listed: dict[str, set[str]] = {}
    parsers: dict[str, argparse.ArgumentParser] = {}
    for usage in USAGES:
        if usage.synopsis and (resolved := resolve(usage)):
            listed.setdefault(resolved[0], set()).update(OPTION.findall(usage.text))
            parsers[resolved[0]] = resolved[1]
    missing = {
        command: sorted(
            "/".join(strings)
            for strings in _options(parsers[command], shown_only=True).values()
            if not set(strings) & options
        )
        for command, options in listed.items()
    }
    assert {c: m for c, m in missing.items() if m} == {}, "options in --help missing from the docs' synopsis"


def _help(*words: str) -> str:
    parser = cli.build_parser()
    for word in words:
        parser = _subparsers(parser)[word]
    return parser.format_help()


def _default(words: tuple[str, ...], dest: str) -> object:
    parser = cli.build_parser()
    for word in words:
        parser = _subparsers(parser)[word]
    return parser.get_default(dest)


# (doc, pattern giving the documented default, command words, dest)
DEFAULTS = [
    ("docs/lab.md", r"`DIR` defaults to `([^`]+)`", ("lab", "up"), "dir"),
    ("docs/lab.md", r"# default (\d+) light", ("lab", "up"), "hosts"),
    ("docs/lab.md", r"# default \d+ light \+ (\d+) systemd", ("lab", "up"), "systemd_hosts"),
    ("docs/remediate.md", r"The default is `([^`]+)`", ("remediate",), "batches"),
    ("docs/remediate.md", r"the default (\d+) stops at the first failure", ("remediate",), "max_fail"),
    ("docs/reports.md", r"`--runs-dir` \(default `\./([^`]+)`\)", ("report",), "runs_dir"),
    ("docs/reports.md", r"default format is `([^`]+)`", ("report",), "format"),
]


@pytest.mark.parametrize(("doc", "pattern", "words", "dest"), DEFAULTS, ids=[f"{d[2][-1]}-{d[3]}" for d in DEFAULTS])
def test_documented_defaults_are_the_code_defaults(doc, pattern, words, dest):
    match = re.search(pattern, (ROOT / doc).read_text(encoding="utf-8"))
    assert match, f"{doc} no longer states the default of {' '.join(words)} {dest}: update this test"
    documented_value = match.group(1)
    code = _default(words, dest)
    if dest == "dir" and os.environ.get("RIPREPLACE_LAB_DIR"):
        pytest.skip("RIPREPLACE_LAB_DIR is set: the default shown is the environment's")
    assert str(code) == documented_value, f"{doc} says {documented_value}, the code {code}"
    assert re.search(rf"default:? \.?/?{re.escape(documented_value)}", " ".join(_help(*words).split())), (
        f"'ripreplace {' '.join(words)} --help' does not state the default {documented_value}"
    )
