# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Typed access to the catalog logic for the wrapper (the code is plugins/plugin_utils/catalog.py).

``catalog.py`` is shared with the ``covered_facts`` action plugin, which ansible loads, so it lives
once in the collection and is untyped there. The wrapper calls it only through the functions
below, whose signatures mypy checks: a wrong argument to the catalog fails ``make lint``, not a run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ripreplace import collection

_cat: Any = collection.load_plugin_util("catalog")

#: A catalog or exceptions file is unreadable or invalid; ``str()`` is one line (``FILE: entry ID: problem``).
CatalogError: type[Exception] = _cat.CatalogError
CATALOG_FORMAT: str = _cat.CATALOG_FORMAT
EXCEPTIONS_FORMAT: str = _cat.EXCEPTIONS_FORMAT
BUNDLED_CATALOG: str = _cat.BUNDLED_CATALOG


class Catalog(Protocol):
    """The bundled and site catalogs, validated and merged (``catalog.Catalog``)."""

    entries: list[dict[str, Any]]
    origin: dict[str, str]  # entry id -> the file it came from
    files: list[dict[str, Any]]  # path, sha256, catalog_version, entries

    @property
    def ids(self) -> list[str]: ...

    def get(self, entry_id: str) -> dict[str, Any] | None: ...


def load_catalogs(site_paths: Iterable[str] = (), *, bundled: bool = True) -> Catalog:
    """The bundled catalog (unless ``bundled`` is false) plus site catalogs; raises :data:`CatalogError`."""
    catalog: Catalog = _cat.load_catalogs([str(p) for p in site_paths], bundled=bundled)
    return catalog


def load_catalog_file(path: str) -> dict[str, Any]:
    """One catalog file, validated against its schema; raises :data:`CatalogError`."""
    data: dict[str, Any] = _cat.load_catalog_file(path)
    return data


def load_exceptions(
    paths: Sequence[str], known_ids: set[str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every exception with its ``file``, one entry per file with its sha256); raises :data:`CatalogError`."""
    items, files = _cat.load_exceptions(list(paths), known_ids=known_ids)
    return list(items), list(files)


def load_yaml(path: str) -> Any:
    """A YAML file's content (safe loader, dates as strings); raises :data:`CatalogError`."""
    return _cat.load_yaml(path)


def parse_day(value: str | dt.date) -> dt.date:
    """A ``YYYY-MM-DD`` day; raises :data:`CatalogError`."""
    day: dt.date = _cat.parse_day(value)
    return day


def utc_today() -> dt.date:
    today: dt.date = _cat.utc_today()
    return today


def summarize_entry(entry: Mapping[str, Any]) -> dict[str, int]:
    """Signal counts by kind, for ``ripreplace catalog list``."""
    counts: dict[str, int] = _cat.summarize_entry(entry)
    return counts


def detection(entry: Mapping[str, Any]) -> str:
    """How ripreplace finds an entry: software, equipment, service-only, not detectable, data only."""
    how: str = _cat.detection(entry)
    return how


def read_text(path: str | os.PathLike[str], what: str = "file") -> str:
    """A file's text through the bounded reader (size, UTF-8); raises :data:`CatalogError` (one line)."""
    text: str = _cat.read_text(path, what)
    return text


def parse_yaml(path: str, text: str) -> dict[str, Any]:
    """A YAML mapping from ``text`` (safe loader, bounded after alias expansion); raises :data:`CatalogError`."""
    data: dict[str, Any] = _cat.parse_yaml(path, text)
    return data


def problem(exc: Exception) -> str:
    """The problem of a :data:`CatalogError` without its ``FILE: entry ID:`` prefix."""
    return str(getattr(exc, "problem", exc))
