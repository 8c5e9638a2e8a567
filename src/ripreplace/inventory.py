# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Read an Ansible inventory the way ansible does: the hosts after ``--limit`` and each host's groups.

Shared by every command that targets hosts (``audit``, ``remediate``, ``equipment``): they call
:func:`load_inventory`, and nothing else decides which hosts a command touches.

``--limit`` means exactly what was asked. Ansible drops what it cannot read in a pattern (``'['``,
``','`` and ``' '`` select every host; ``'light1,ligth2'`` quietly becomes ``light1``). Here:

1. :func:`limit_parts` splits the pattern as Ansible's ``split_host_pattern`` does (commas; without
   one, ``:`` or whitespace) and refuses what Ansible would drop or misread: an empty pattern or part,
   a character a terminal would act on, an unbalanced bracket, a subscript that is no range
   (``[3:1]``, ``[:3]``, the ambiguous ``[1-3]``), a bad ``~regex``, a bare ``&`` or ``!``, an
   unreadable ``@file`` (whose lines are parts too).
2. :mod:`ripreplace.inventory_probe`, run with this Python's Ansible in a subprocess (as
   ``ansible-inventory`` would be, so every inventory source and setting works), evaluates each part
   with Ansible's own matching and the whole pattern as ``--limit`` does.
3. Every part (and the pattern behind each ``&`` and ``!``) must match at least one inventory host,
   and the whole must select at least one.

Every failure is one :class:`UsageError` (or :class:`InputFileError`) line naming the part: exit 2,
before any host is touched.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from ripreplace import collection
from ripreplace.exceptions import InputFileError, UsageError
from ripreplace.safetext import invisible

#: Ansible's ``:``-separated form: runs of anything but whitespace, ``:`` and brackets, or whole
#: bracketed expressions (ansible.inventory.manager.split_host_pattern).
_COLON_PART = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
#: A trailing subscript as Ansible reads it (ansible.inventory.manager.PATTERN_WITH_SUBSCRIPT).
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
#: A trailing bracket that looks like a subscript but is none: Ansible would take it as a glob.
_RANGE_LIKE = re.compile(r"\[([-0-9:]*)\]$")
#: At most this much of an ``@file`` limit is read.
MAX_LIMIT_FILE = 1024 * 1024
#: How long the inventory may take to parse.
PROBE_TIMEOUT = 300


@dataclasses.dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: tuple[str, ...]  # sorted, after --limit
    groups: dict[str, frozenset[str]]  # host -> every group it belongs to (parents included, "all" too)


@dataclasses.dataclass(frozen=True)
class LimitPart:
    """One pattern of a ``--limit``, as Ansible will evaluate it."""

    text: str  # as given: "web", "!db1", "&site_a", "~web[0-9]+"
    origin: str = ""  # "" or where an @file line came from: "@retry.txt line 3"

    @property
    def label(self) -> str:
        return f"{self.text!r}" + (f" ({self.origin})" if self.origin else "")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 120 else text[:117] + "...")


def _is_address(text: str) -> bool:
    """Ansible keeps a comma-less pattern whole when it parses as an address (IPv6, ``web[1:3]``)."""
    from ansible.parsing.utils.addresses import parse_address

    try:
        parse_address(text, allow_ranges=True)
    except Exception:  # AnsibleError, or whatever else: ansible then splits the text
        return False
    return True


def _split(text: str, bad: Any) -> list[str]:
    """The patterns of ``text`` as ``split_host_pattern`` returns them, refusing what it would drop."""
    if "," in text:
        parts = text.split(",")
        for n, part in enumerate(parts):
            if not part.strip():
                raise bad(f"has an empty part (part {n + 1} of {len(parts)}: a comma at an end or two in a row)")
        return [p.strip() for p in parts]
    if _is_address(text):
        return [text.strip()]
    found = list(_COLON_PART.finditer(text))
    if not found:
        raise bad("is not a host pattern" + (" (unbalanced brackets)" if "[" in text or "]" in text else ""))
    edges = [0, *(x for m in found for x in (m.start(), m.end())), len(text)]
    gaps = [text[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2)]
    for n, gap in enumerate(gaps):
        if "[" in gap or "]" in gap:
            raise bad("has an unbalanced '[' or ']'")
        inner = 0 < n < len(gaps) - 1
        if gap.count(":") > (1 if inner else 0):
            raise bad("has an empty part (a ':' at an end or two in a row)")
    return [m.group() for m in found]


def _check_brackets(body: str) -> str | None:
    depth = 0
    for char in body:
        if char == "[":
            if depth:
                return "has a '[' inside brackets"
            depth = 1
        elif char == "]":
            if not depth:
                return "has a ']' without its '['"
            depth = 0
    return "has a '[' without its ']'" if depth else None


def _check_pattern(part: LimitPart) -> None:
    """One pattern's syntax, as Ansible's InventoryManager reads it."""
    text = part.text
    body = text[1:] if text[:1] in ("&", "!") else text
    problem = None
    if not body:
        problem = f"has no pattern after {text[:1]!r}"
    elif body.startswith("~"):
        try:
            with warnings.catch_warnings():  # "possible nested set" and the like: valid today, as for Ansible
                warnings.simplefilter("ignore")
                re.compile(body[1:])
        except re.error as exc:
            problem = f"is not a valid regular expression: {exc}"
        except RecursionError:
            problem = "is not a valid regular expression: nested too deeply"
        if not body[1:]:
            problem = "is an empty regular expression"
    elif body.startswith("@"):
        problem = "names an @file inside an @file" if part.origin else f"puts {text[0]!r} before an @file"
    else:
        problem = _check_brackets(body) or _check_subscript(body)
    if problem:
        raise UsageError(f"--limit part {part.label} {problem}")


def _check_subscript(body: str) -> str | None:
    match = _SUBSCRIPT.match(body)
    if match:
        _expr, _index, start, sep, end = match.groups()
        if sep == "-":
            return f"uses [{start}-{end}]: Ansible reads it as a host subscript, not a glob; write [{start}:{end}]"
        if end and int(end) < int(start):
            return f"has the range [{start}:{end}], whose end comes before its start"
        return None
    tail = _RANGE_LIKE.search(body)
    problem = None
    if tail and not tail.group(1):
        problem = "has empty brackets []"
    elif tail and tail.start() == 0:
        problem = f"is a subscript {tail.group()} with no pattern before it"
    elif tail and ":" in tail.group(1):
        problem = f"has {tail.group()}, which is not a subscript ([N], [N:M] or [N:])"
    return problem


def _limit_file(part: str, bad: Any) -> list[LimitPart]:
    """The non-empty lines of an ``@file`` limit, each a pattern (as Ansible reads them)."""
    path = Path(part[1:])
    if not part[1:]:
        raise bad("has '@' without a file name after it")
    try:
        if not path.is_file():
            raise bad(f"reads hosts from {str(path)!r}: {'not a regular file' if path.exists() else 'no such file'}")
        with path.open("rb") as handle:
            raw = handle.read(MAX_LIMIT_FILE + 1)
    except OSError as exc:
        raise bad(f"reads hosts from {str(path)!r}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_LIMIT_FILE:
        raise bad(f"reads hosts from {str(path)!r}: larger than {MAX_LIMIT_FILE} bytes")
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise bad(
            f"reads hosts from {str(path)!r}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at {exc.start})"
        ) from None
    out = [LimitPart(line.strip(), f"{part} line {n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not out:
        raise bad(f"reads hosts from {str(path)!r}, which names none")
    return out


def limit_parts(text: str) -> tuple[LimitPart, ...]:
    """The patterns of a ``--limit`` as Ansible will evaluate them, each checked; one :class:`UsageError`
    line naming what is wrong otherwise. ``@file`` parts become one part per line of the file."""

    def bad(problem: str) -> UsageError:
        return UsageError(f"--limit {_shown(text)} {problem}")

    if not text.strip():
        raise bad("is empty: give a host pattern (e.g. web,db1) or leave --limit out")
    hidden = invisible(text)
    if hidden:
        raise bad(f"contains a control or invisible character ({hidden})")
    parts: list[LimitPart] = []
    for piece in _split(text, bad):
        if piece.startswith("@"):
            parts.extend(_limit_file(piece, bad))
        else:
            parts.append(LimitPart(piece))
    for part in parts:
        hidden = invisible(part.text)
        if hidden:
            raise UsageError(f"--limit part {part.label} contains a control or invisible character ({hidden})")
        _check_pattern(part)
    return tuple(parts)


def _probe(inventory: Path, patterns: list[str], limit: str | None) -> dict[str, Any]:
    """Run :mod:`ripreplace.inventory_probe` with this Python's Ansible; its JSON answer."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
            "ANSIBLE_HOST_PATTERN_MISMATCH": "ignore",
            "ANSIBLE_COLLECTIONS_PATH": str(collection.collections_path()),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
        }
    )
    request = json.dumps({"inventory": str(inventory), "patterns": patterns, "limit": limit})
    argv = [sys.executable, "-m", "ripreplace.inventory_probe"]
    try:
        proc = subprocess.run(
            argv, input=request, capture_output=True, text=True, env=env, check=False, timeout=PROBE_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise InputFileError(f"{inventory}: the inventory took more than {PROBE_TIMEOUT} s to parse") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("[WARNING]")]
        detail = next((ln for ln in lines if "rror" in ln), lines[0] if lines else f"rc={proc.returncode}")
        detail = detail.replace("[ERROR]: ", "")
        raise InputFileError(f"{inventory}: cannot parse inventory: {detail[:300]}")
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise InputFileError(f"{inventory}: the inventory probe gave no answer") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{inventory}: the inventory probe gave no answer")
    return data


def _suggest(pattern: str, names: list[str]) -> str:
    close = difflib.get_close_matches(pattern.lstrip("&!"), names, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_inventory(inventory: Path, limit: str | None) -> Inventory:
    """Hosts (after ``--limit``, checked as the module docstring says) and their groups; one-line errors."""
    if not inventory.exists():
        raise InputFileError(f"{inventory}: inventory not found")
    parts = limit_parts(limit) if limit is not None else ()
    answer = _probe(inventory, [p.text for p in parts], limit)
    if answer.get("error"):
        part = parts[int(answer["error"]["index"])]
        raise UsageError(f"--limit {_shown(limit or '')}: Ansible refuses {part.label}: {answer['error']['message']}")
    known = [str(n) for n in answer.get("names", [])]
    for part, count in zip(parts, answer.get("matches", []), strict=True):
        if not count:
            which = f"--limit {part.label}" if limit == part.text else f"--limit {_shown(limit or '')}: {part.label}"
            raise UsageError(f"{which} matches no host in {inventory}" + _suggest(part.text, known))
    groups = {str(h): frozenset(str(g) for g in gs) | {"all"} for h, gs in (answer.get("groups") or {}).items()}
    if not groups:
        if limit is not None:
            raise UsageError(f"--limit {_shown(limit)} matches no host in {inventory} (its parts exclude each other)")
        raise InputFileError(f"{inventory}: the inventory has no hosts")
    return Inventory(path=inventory, hosts=tuple(sorted(groups)), groups=groups)


def inventory_hosts(inventory: Path, limit: str | None) -> list[str]:
    """Hosts of an inventory (after --limit), parsed by ansible itself; one-line errors."""
    return list(load_inventory(inventory, limit).hosts)
