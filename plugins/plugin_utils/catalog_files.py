# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Catalog, exceptions and window files read with bounds: one line for every fault, never a hang.

A file is at most 16 MiB of UTF-8; its YAML is checked after aliases are expanded (at most 200,000
nodes, 64 levels), so recursive aliases and alias bombs are refused; dates become ISO strings.
Every error is a :class:`CatalogError` whose text is one printable line: ``FILE: entry ID: problem``.
Part of the catalog logic (``catalog.py`` re-exports these names); standard library and PyYAML only.
"""

from __future__ import annotations

import datetime
import hashlib

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def printable(text):
    """``text`` with every character a terminal would act on (controls, bidi overrides, zero-width and
    line separators) written as an escape, so a message quoting a file cannot rewrite the screen."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


class CatalogError(Exception):
    """A catalog or exceptions file is unreadable or invalid. ``str()`` is one line."""

    def __init__(self, path, problem, entry_id=None):
        self.path = str(path)
        self.entry_id = entry_id
        self.problem = printable(" ".join(str(problem).split()))
        where = self.path if entry_id is None else "%s: entry %s" % (self.path, entry_id)
        super().__init__(printable("%s: %s" % (where, self.problem)))


# --------------------------------------------------------------------------- loading
def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _dates_to_strings(value):
    """YAML turns an unquoted 2027-01-31 into a date; the schema speaks strings (format: date)."""
    if isinstance(value, dict):
        return {k: _dates_to_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_to_strings(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


#: Bounds on what a catalog or exceptions file may be, so that no file can hang or exhaust whatever
#: reads it: its size, and the YAML it holds once aliases are expanded (a billion-laughs bomb is a
#: few hundred bytes) and how deep it nests. The bundled catalog is ~31 KB and ~1,500 nodes.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 200000
MAX_DEPTH = 64


def read_text(path, what="file"):
    """The file's text: at most MAX_FILE_BYTES of UTF-8; every failure is a one-line CatalogError."""
    path = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise CatalogError(path, "no such file") from None
    except IsADirectoryError:
        raise CatalogError(path, "is a directory, not a %s" % what) from None
    except OSError as exc:
        raise CatalogError(path, "cannot read: %s" % (exc.strerror or exc)) from None
    if len(raw) > MAX_FILE_BYTES:
        size = "%d MiB" % (MAX_FILE_BYTES >> 20) if MAX_FILE_BYTES >= 1 << 20 else "%d bytes" % MAX_FILE_BYTES
        raise CatalogError(path, "larger than %s: not a %s" % (size, what))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(
            path, "not UTF-8 text (byte 0x%02x at offset %d): not a %s" % (raw[exc.start], exc.start, what)
        ) from None


def _children(node):
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return node
    return ()


def check_shape(path, data, max_nodes=MAX_NODES, max_depth=MAX_DEPTH):
    """Refuse YAML that would hang or exhaust whatever walks it: an alias that contains itself, more
    than ``max_nodes`` nodes once aliases are expanded, nesting deeper than ``max_depth``. Iterative,
    and linear in the distinct nodes (an alias already measured is not walked again)."""
    measured = {}  # id(container) -> its expanded node count
    active = {id(data)}  # containers on the current path: meeting one again is a cycle
    frames = [[data, iter(_children(data)), 1]]  # [container, its children, expanded size so far]
    while frames:
        frame = frames[-1]
        child = next(frame[1], frames)  # ``frames`` doubles as the end marker
        if child is frames:
            frames.pop()
            active.discard(id(frame[0]))
            measured[id(frame[0])] = frame[2]
            if frames:
                frames[-1][2] += frame[2]
                if frames[-1][2] > max_nodes:
                    break
            continue
        if not isinstance(child, (dict, list)):
            frame[2] += 1
        elif id(child) in active:
            raise CatalogError(path, "a YAML alias refers to a node that contains it (a recursive structure)")
        elif id(child) in measured:
            frame[2] += measured[id(child)]
        elif len(frames) >= max_depth:
            raise CatalogError(path, "nested more than %d levels deep" % max_depth)
        else:
            active.add(id(child))
            frames.append([child, iter(_children(child)), 1])
            continue
        if frame[2] > max_nodes:
            break
    if frames or measured.get(id(data), 0) > max_nodes:
        raise CatalogError(path, "more than %d YAML nodes once aliases are expanded (an alias bomb?)" % max_nodes)


def parse_yaml(path, text):
    """A YAML mapping from ``text`` (safe loader), checked by :func:`check_shape`; one-line errors."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (C or pure Python)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):
            char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
            where, problem = " (offset %d)" % exc.position, "character U+%04X: %s" % (char, exc.reason)
        raise CatalogError(path, "not valid YAML%s: %s" % (where, problem)) from None
    except RecursionError:
        raise CatalogError(path, "not valid YAML: nested too deeply") from None
    if not isinstance(data, dict):
        raise CatalogError(path, "expected a YAML mapping at the top, got %s" % type(data).__name__)
    check_shape(path, data)
    return data


def load_yaml(path, what="catalog or exceptions file"):
    path = str(path)
    return _dates_to_strings(parse_yaml(path, read_text(path, what)))
