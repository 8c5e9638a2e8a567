# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Site catalogs and exceptions files named on the command line (``--catalog``, ``--exceptions``).

``audit`` and ``remediate`` take them the same way: :func:`check` loads and validates them with the
bundled catalog before any host is touched (one line, exit 2, on any problem: an unreadable file, a
schema error, an exception naming an id no catalog has), and :meth:`SiteFiles.extravars` hands them
to the detect role as ``detect_extra_catalogs`` / ``detect_extra_exceptions``, which every detection
of a run (the first scan, the re-scans of remove and verify) adds to the inventory's own
``detect_catalogs`` / ``detect_exceptions``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ripreplace import catalogs
from ripreplace.exceptions import InputFileError


@dataclasses.dataclass(frozen=True)
class SiteFiles:
    catalogs: tuple[Path, ...]  # absolute: ansible-runner runs from its private data directory
    exceptions: tuple[Path, ...]
    catalog_files: tuple[dict[str, Any], ...]  # the bundled catalog and each site catalog: path, sha256, ...
    exception_count: int

    @property
    def paths(self) -> list[Path]:
        return [*self.catalogs, *self.exceptions]

    def extravars(self) -> dict[str, list[str]]:
        return {
            "detect_extra_catalogs": [str(p) for p in self.catalogs],
            "detect_extra_exceptions": [str(p) for p in self.exceptions],
        }


def check(catalog_paths: Sequence[Path], exception_paths: Sequence[Path]) -> SiteFiles:
    """Load and validate the site catalogs (over the bundled one) and the exceptions; InputFileError (exit 2)."""
    site_catalogs = tuple(p.resolve() for p in catalog_paths)  # the manifest records absolute paths
    site_exceptions = tuple(p.resolve() for p in exception_paths)
    try:
        catalog = catalogs.load_catalogs([str(p) for p in site_catalogs])
        items, _files = catalogs.load_exceptions([str(p) for p in site_exceptions], known_ids=set(catalog.ids))
    except catalogs.CatalogError as exc:
        raise InputFileError(str(exc)) from None
    return SiteFiles(
        catalogs=site_catalogs,
        exceptions=site_exceptions,
        catalog_files=tuple(catalog.files),
        exception_count=len(items),
    )
