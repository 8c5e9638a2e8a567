# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Fuzz: the catalog, exceptions and window-file loaders (``ripreplace catalog validate``, ``remediate
--window-file``). Valid input passes; anything else is one line on stderr and exit 2; never a traceback
or a hang. See tests/fuzz.py for how inputs are made and bounded."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz import (
    FUZZ,
    FUZZ_CLI,
    HOSTILE_STRINGS,
    HOSTILE_YAML,
    documents,
    dump_yaml,
    no_hang,
    one_line,
    run_cli,
    scalars,
)

from ripreplace import catalogs, recurrence, windows
from ripreplace.exceptions import UsageError

pytestmark = pytest.mark.fuzz

SOURCE = {"grade": "site", "ref": "CMDB export 2026-11"}
CATALOG = {
    "format": "ripreplace-covered-catalog/1",
    "catalog_version": "2026.11",
    "entries": [
        {
            "id": "site-legacy-av",
            "vendor": "AO Kaspersky Lab",
            "product": "Kaspersky Anti-Virus 8 for Linux Workstation (site build)",
            "platform": "linux",
            "covered_list": {
                "entry": "AO Kaspersky Lab information security products",
                "added": "2022-03-25",
                "sources": ["https://docs.fcc.gov/public/attachments/DA-22-320A1.txt"],
            },
            "applies_to": {"groups": ["legacy"]},
            "signals": {
                "paths": [{"path": "/opt/kaspersky/kav4ws", "confidence": "high", "source": SOURCE}],
                "packages": [
                    {
                        "name": "kav4ws",
                        "managers": ["deb"],
                        "maintainer": "Kaspersky",
                        "confidence": "high",
                        "source": SOURCE,
                    }
                ],
            },
            "removal": {
                "packages": ["kav4ws"],
                "vendor_roots": ["/opt/kaspersky"],
                "leftover_paths": ["/opt/kaspersky/kav4ws"],
                "source": SOURCE,
            },
        }
    ],
}
EXCEPTIONS = {
    "format": "ripreplace-exceptions/1",
    "exceptions": [
        {
            "id": "EXC-2026-001",
            "host": "scada-gw1",
            "catalog_id": "kaspersky-kesl",
            "reason": "Vendor-certified SCADA gateway; replacement qualified in Q1",
            "ticket": "CHG-4711",
            "expires": "2027-03-31",
        },
        {
            "id": "EXC-2026-002",
            "group": "lab",
            "catalog_id": "kaspersky-kesl",
            "reason": "Lab hosts keep KESL for detection tests",
            "ticket": "CHG-4712",
            "expires": "2026-11-30",
        },
    ],
}
WINDOWS = {
    "format": "ripreplace-windows/1",
    "timezone": "America/New_York",
    "windows": [
        {
            "name": "web-saturday",
            "groups": ["web"],
            "rrule": "FREQ=WEEKLY;BYDAY=SA",
            "start": "01:00",
            "duration": "PT3H",
        },
        {
            "name": "db-monthly",
            "groups": ["db"],
            "rrule": "FREQ=MONTHLY;BYDAY=1SU",
            "start": "23:00",
            "duration": "PT2H",
            "timezone": "Europe/Berlin",
            "from": "2026-01-01",
        },
    ],
    "blackouts": [
        {"reason": "year-end change freeze", "start": "2026-12-19", "end": "2027-01-02"},
        {"reason": "db migration", "date": "2026-12-13", "groups": ["db"]},
        {"reason": "mirror", "start": "2026-12-05T03:00:00Z", "end": "2026-12-05T04:00:00Z"},
    ],
}

FREQS = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY", "FORTNIGHTLY", ""]
RULE_PARTS = st.one_of(
    st.builds("INTERVAL={}".format, st.integers(-2, 10**12)),
    st.builds("COUNT={}".format, st.integers(-1, 10**9)),
    st.builds("BYMONTH={}".format, st.integers(-1, 14)),
    st.builds("BYMONTHDAY={}".format, st.integers(-32, 32)),
    st.builds("BYYEARDAY={}".format, st.integers(-367, 367)),
    st.builds("BYWEEKNO={}".format, st.integers(-54, 54)),
    st.builds("BYSETPOS={}".format, st.integers(-400, 400)),
    st.builds("BYHOUR={}".format, st.integers(-1, 25)),
    st.builds("BYMINUTE={}".format, st.integers(-1, 61)),
    st.builds("BYDAY={}".format, st.sampled_from(["MO", "SA,SU", "1SU", "-1FR", "53MO", "XX", ""])),
    st.builds("UNTIL={}".format, st.sampled_from(["20250101T000000Z", "99991231T235959Z", "20261231", "x"])),
    st.builds("WKST={}".format, st.sampled_from(["MO", "SU", "ZZ"])),
    st.sampled_from(["DTSTART:20240101T000000", "RRULE:", "EXDATE:20261205T010000", "\n", ";", "="]),
)
rrules = st.builds(
    lambda freq, parts: ";".join([f"FREQ={freq}", *parts]),
    st.sampled_from(FREQS),
    st.lists(RULE_PARTS, max_size=4),
)
WINDOW_VALUES = st.one_of(
    rrules,
    st.sampled_from(["PT3H", "P1D", "P366D", "P367D", "P99999999D", "PT0S", "P1M", "-PT1H", "PT1.5H"]),
    st.sampled_from(["01:00", "23:59:59", "24:00", "1:00", "00:00"]),
    st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Kiritimati", "Europe", "posix/UTC", "../../etc", "x" * 100]),
    st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-29", "1800-01-01", "2027-01-01T00:00:00-05:00"]),
    st.dates(),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)


@pytest.fixture(scope="module", autouse=True)
def _bounded() -> Iterator[Path]:
    """A private cache for the catalog's "validated before" markers, and a short RRULE time bound so an
    example that walks a rule for ever costs 0.3 s, not 3."""
    saved_cache, saved_seconds = os.environ.get("XDG_CACHE_HOME"), recurrence.EXPANSION_SECONDS
    with tempfile.TemporaryDirectory(prefix="ripreplace-fuzz-") as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp
        recurrence.EXPANSION_SECONDS = 0.3
        try:
            yield Path(tmp)
        finally:
            recurrence.EXPANSION_SECONDS = saved_seconds
            if saved_cache is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = saved_cache


def _write(data: bytes) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix="fuzz-", suffix=".yml", delete=False)  # noqa: SIM115
    with handle:
        handle.write(data)
    return Path(handle.name)


@FUZZ
@given(documents(CATALOG, dump_yaml, scalars, HOSTILE_YAML))
def test_site_catalog_loader(data: bytes) -> None:
    path = _write(data)
    try:
        with no_hang():
            catalog = catalogs.load_catalogs([str(path)], bundled=False)
        assert catalog.ids
    except catalogs.CatalogError as exc:
        one_line(str(exc))
        assert str(exc).startswith(f"{path}: ")
    finally:
        path.unlink()


@FUZZ
@given(documents(EXCEPTIONS, dump_yaml, scalars, HOSTILE_YAML))
def test_exceptions_loader(data: bytes) -> None:
    path = _write(data)
    try:
        with no_hang():
            items, _files = catalogs.load_exceptions([str(path)], known_ids={"kaspersky-kesl"})
        assert all(isinstance(i["id"], str) for i in items)
    except catalogs.CatalogError as exc:
        one_line(str(exc))
    finally:
        path.unlink()


@FUZZ_CLI
@given(documents(CATALOG, dump_yaml, scalars, HOSTILE_YAML) | documents(EXCEPTIONS, dump_yaml, scalars, HOSTILE_YAML))
def test_catalog_validate_command(data: bytes) -> None:
    """``ripreplace catalog validate FILE``, which merges a site catalog with the bundled one and checks an
    exceptions file's ids against it (fewer examples: each loads the bundled catalog)."""
    path = _write(data)
    try:
        code, out, _err = run_cli(["catalog", "validate", str(path)])
        assert code != 0 or "valid " in out
    finally:
        path.unlink()


@FUZZ
@given(documents(WINDOWS, dump_yaml, scalars, HOSTILE_YAML, extra=WINDOW_VALUES))
def test_window_file_through_remediate(data: bytes) -> None:
    """``remediate --window-file``: every window file ends in exit 2, the bad ones on their own line,
    the good ones at the missing inventory (checked after the windows): nothing reaches a host."""
    path = _write(data)
    try:
        _code, _out, err = run_cli(
            ["remediate", "-i", "/nonexistent/inventory.yml", "--ticket", "CHG-1", "--window-file", str(path), "--yes"],
            allowed=(2,),
        )
        assert "error:" in err
    finally:
        path.unlink()


@FUZZ
@given(
    documents(WINDOWS, dump_yaml, scalars, HOSTILE_YAML, extra=WINDOW_VALUES),
    st.lists(st.datetimes(min_value=dt.datetime(1, 1, 3), max_value=dt.datetime(9999, 12, 29)), max_size=3),
    st.sampled_from([frozenset({"web"}), frozenset({"db", "all"}), frozenset()]),
)
def test_window_file_answers_every_question(data: bytes, times: list[dt.datetime], groups: frozenset[str]) -> None:
    """A window file that loads answers open_at / next_open / last_close / blackout_at at any time."""
    path = _write(data)
    try:
        with no_hang():
            try:
                sched = windows.load_window_file(path)
            except UsageError as exc:
                one_line(str(exc))
                return
            for naive in [*times, dt.datetime(2026, 12, 5, 6)]:
                when = naive.replace(tzinfo=dt.UTC)
                try:
                    windows.open_at(sched, groups, when)
                    windows.next_open(sched, groups, when)
                    windows.last_close(sched, groups, when)
                    windows.blackout_at(sched, groups, when)
                except UsageError as exc:  # a rule too costly for a far-off time: one line, never a crash
                    one_line(str(exc))
    finally:
        path.unlink()


@FUZZ
@given(
    st.sampled_from(["name", "rrule", "start", "duration", "timezone", "from", "groups"]),
    st.integers(0, 1),
    st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=60),
)
def test_hostile_strings_in_every_window_field(key: str, index: int, value: str) -> None:
    """One field replaced by a hostile string, through the library loader."""
    doc = {**WINDOWS, "windows": [dict(WINDOWS["windows"][index], **{key: value})]}
    path = _write(dump_yaml(doc))
    try:
        with no_hang():
            windows.load_window_file(path)
    except UsageError as exc:
        one_line(str(exc))
    finally:
        path.unlink()
