# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The bundled catalog, the schemas and plugin_utils/catalog.py: loading, validation errors, exceptions."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

import pytest
import yaml

from ripreplace import collection

cat = collection.load_plugin_util("catalog")
cat_files = collection.load_plugin_util("catalog_files")  # the bounded reader the catalog re-exports

SITE_OK = """\
format: ripreplace-covered-catalog/1
entries:
  - id: site-legacy-av
    vendor: AO Kaspersky Lab
    product: Kaspersky Anti-Virus 8 for Linux Workstation (site build)
    platform: linux
    covered_list:
      entry: AO Kaspersky Lab information security products
      added: 2022-03-25
      sources: [https://docs.fcc.gov/public/attachments/DA-22-320A1.txt]
    applies_to: {groups: [legacy]}
    signals:
      paths:
        - {path: /opt/kaspersky/kav4ws, confidence: high, source: {grade: site, ref: "CMDB export 2026-11"}}
    removal:
      vendor_roots: [/opt/kaspersky]
      leftover_paths: [/opt/kaspersky/kav4ws]
      source: {grade: site, ref: "site runbook"}
"""

EXC_OK = """\
format: ripreplace-exceptions/1
exceptions:
  - id: EXC-2026-001
    host: scada-gw1
    catalog_id: kaspersky-kics
    reason: Vendor-certified SCADA gateway; replacement qualified in Q1
    ticket: CHG-4711
    expires: 2027-03-31
  - id: EXC-2026-002
    group: lab
    catalog_id: kaspersky-kesl
    reason: Lab hosts keep KESL for detection tests
    ticket: CHG-4712
    expires: "2026-11-30"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# --------------------------------------------------------------------------- the bundled catalog
@pytest.fixture(scope="module")
def bundled():
    return cat.load_catalogs()


def test_bundled_catalog_validates_and_ids_are_unique(bundled):
    assert len(bundled.ids) == len(set(bundled.ids))
    assert bundled.files[0]["catalog_version"]


@pytest.mark.parametrize(
    ("entry_id", "packages"),
    [
        ("kaspersky-kesl", {"kesl", "kesl-astra"}),
        ("kaspersky-kesl-gui", {"kesl-gui", "kesl-gui-astra"}),
        ("kaspersky-network-agent", {"klnagent", "klnagent64", "klnagent64-astra"}),
        ("kaspersky-kics", {"kics", "kics-gui"}),
        ("kaspersky-kess", {"kess", "kess-gui"}),
        ("kaspersky-klms", {"klms"}),
        ("kaspersky-security-center", {"ksc64", "ksc-web-console"}),
        ("kaspersky-endpoint-agent", {"epagent"}),
        ("kaspersky-kav4fs", {"kav4fs"}),
        ("kaspersky-kav4proxy", {"kav4proxy"}),
        ("kaspersky-kav4lms", {"kav4lms"}),
        ("kaspersky-kwts", {"kwts", "kwts-worker"}),
        ("kaspersky-kics-networks", {"kics4net*"}),  # every kics4net... package (test_package_patterns.py)
    ],
)
def test_every_linux_product_of_the_issue_has_its_packages(bundled, entry_id, packages):
    entry = bundled.get(entry_id)
    assert entry is not None and entry["platform"] == "linux"
    assert {p["name"] for p in entry["signals"]["packages"]} == packages
    assert entry["covered_list"]["added"] == "2022-03-25"
    assert "https://docs.fcc.gov/public/attachments/DA-22-320A1.txt" in entry["covered_list"]["sources"]


@pytest.mark.parametrize(
    ("entry_id", "path"),
    [
        ("kaspersky-kuma", "/opt/kaspersky/kuma"),
        ("kaspersky-scan-engine", "/opt/kaspersky/ScanEngine"),
        ("kaspersky-kpsn", "/usr/local/ksn"),
    ],
)
def test_unpackaged_products_are_found_by_path(bundled, entry_id, path):
    assert path in [p["path"] for p in bundled.get(entry_id)["signals"]["paths"]]


def test_network_agent_has_both_unit_names(bundled):
    names = {s["name"] for s in bundled.get("kaspersky-network-agent")["signals"]["services"]}
    assert names == {"klnagent", "klnagent64"}


@pytest.mark.parametrize("entry_id", ["kaspersky-kics", "kaspersky-endpoint-agent"])
def test_colliding_names_are_never_matched_bare(bundled, entry_id):
    for signal in bundled.get(entry_id)["signals"]["packages"]:
        assert signal["maintainer"] and signal["vendor"]
    for signal in bundled.get(entry_id)["signals"].get("services", []):
        assert signal["file_contains"]


def test_kuma_units_need_a_kaspersky_path(bundled):
    for signal in bundled.get("kaspersky-kuma")["signals"]["services"]:
        assert "/opt/kaspersky" in signal["file_contains"]


def test_every_signal_has_a_source_and_unconfirmed_is_low(bundled):
    for entry in bundled.entries:
        groups = list((entry.get("signals") or {}).values()) + list((entry.get("platform_signals") or {}).values())
        for group in groups:
            for signal in group:
                assert signal["source"]["ref"]
                if signal["source"]["grade"] == "UNCONFIRMED":
                    assert signal["confidence"] == "low", (entry["id"], signal)


def test_leftovers_under_vendor_roots(bundled):
    for entry in bundled.entries:
        removal = entry.get("removal") or {}
        for path in removal.get("leftover_paths", []):
            assert any(path == r or path.startswith(r + "/") for r in removal["vendor_roots"]), (entry["id"], path)


def test_non_linux_platforms_recorded_as_data(bundled):
    platforms = {e["platform"] for e in bundled.entries}
    assert platforms == {"linux", "windows", "macos", "network", "service"}
    rules = cat.compile_rules(bundled)
    assert all(not e["id"].startswith(("huawei", "zte", "hikvision")) for e in rules["entries"])
    assert "kaspersky-windows-endpoint" not in [e["id"] for e in rules["entries"]]


def test_removal_order_hints(bundled):
    assert bundled.get("kaspersky-kesl")["removal"]["after"] == ["kaspersky-kesl-gui"]
    assert "kaspersky-kesl" in bundled.get("kaspersky-network-agent")["removal"]["after"]


# --------------------------------------------------------------------------- catalog errors
def _bad(mutate):
    data = yaml.safe_load(SITE_OK)
    mutate(data["entries"][0])
    return yaml.safe_dump(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("entries: [\n", "not valid YAML (line 2"),
        ("- a\n- b\n", "expected a YAML mapping at the top, got list"),
        (
            SITE_OK.replace("format: ripreplace-covered-catalog/1", "format: other/9"),
            "'ripreplace-covered-catalog/1' was expected",
        ),
        (_bad(lambda e: e.pop("vendor")), "entry site-legacy-av: 'vendor' is a required property"),
        (_bad(lambda e: e.update(id="Bad_ID")), "entry Bad_ID: id: 'Bad_ID' does not match"),
        (
            _bad(lambda e: e["signals"]["paths"][0].update(confidence="certain")),
            "entry site-legacy-av: signals.paths.0.confidence: 'certain' is not one of",
        ),
        (
            _bad(lambda e: e["signals"]["paths"][0].update(source={"grade": "UNCONFIRMED", "ref": "x"})),
            "entry site-legacy-av: signals.paths.0.confidence: an UNCONFIRMED source allows only confidence 'low'",
        ),
        (
            _bad(lambda e: e["signals"]["paths"][0].update(path="relative/path")),
            "entry site-legacy-av: signals.paths.0.path: 'relative/path' does not match",
        ),
        (
            _bad(lambda e: e["removal"].update(leftover_paths=["/srv/data"])),
            "entry site-legacy-av: removal.leftover_paths /srv/data is not under any declared vendor root",
        ),
        (
            _bad(lambda e: e["removal"].update(vendor_roots=["/opt"], leftover_paths=["/opt/kaspersky"])),
            "entry site-legacy-av: removal.vendor_roots /opt is a system directory",
        ),
        (
            _bad(lambda e: e["removal"].update(after=["no-such-entry"])),
            "entry site-legacy-av: removal.after names unknown id no-such-entry",
        ),
        (
            _bad(
                lambda e: e["signals"].update(
                    packages=[
                        {
                            "name": "x",
                            "managers": ["deb"],
                            "maintainer": "([",
                            "confidence": "high",
                            "source": {"grade": "site", "ref": "r"},
                        }
                    ]
                )
            ),
            "signals.packages.0.maintainer: '([' is not a 'regex'",
        ),
        (
            _bad(lambda e: e["covered_list"].update(added="March 2022")),
            "entry site-legacy-av: covered_list.added: 'March 2022' is not a 'date'",
        ),
        (_bad(lambda e: e.update(platform="windows")), "entry site-legacy-av:"),
        (_bad(lambda e: e.update(id="kaspersky-kesl")), "entry kaspersky-kesl: duplicate id (already defined in"),
    ],
)
def test_site_catalog_errors_are_one_line_naming_file_entry_problem(tmp_path, text, expected):
    path = write(tmp_path, "site.yml", text)
    with pytest.raises(cat.CatalogError) as err:
        cat.load_catalogs([path])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": ")
    assert expected in message


def test_missing_file(tmp_path):
    with pytest.raises(cat.CatalogError, match=r"nope.yml: no such file$"):
        cat.load_catalogs([tmp_path / "nope.yml"])


def test_site_catalog_merges_and_scopes_by_group(tmp_path):
    path = write(tmp_path, "site.yml", SITE_OK)
    catalog = cat.load_catalogs([path])
    assert catalog.origin["site-legacy-av"] == str(path)
    assert [f["path"] for f in catalog.files][-1] == str(path)
    in_group = [e["id"] for e in cat.compile_rules(catalog, host="ws1", groups=["legacy"])["entries"]]
    other = [e["id"] for e in cat.compile_rules(catalog, host="ws2", groups=["web"])["entries"]]
    assert "site-legacy-av" in in_group and "site-legacy-av" not in other
    assert "kaspersky-kesl" in other


def test_site_only_catalog(tmp_path):
    catalog = cat.load_catalogs([write(tmp_path, "site.yml", SITE_OK)], bundled=False)
    assert catalog.ids == ["site-legacy-av"]
    with pytest.raises(cat.CatalogError, match="no catalog given"):
        cat.load_catalogs([], bundled=False)


def test_compiled_rules_carry_sources_and_defaults(bundled):
    rules = cat.compile_rules(bundled)
    kesl = next(e for e in rules["entries"] if e["id"] == "kaspersky-kesl")
    assert kesl["signals"]["packages"][0]["source"].startswith("P: facts 2")
    assert kesl["signals"]["services"][0]["kinds"] == ["systemd", "sysv"]
    assert "source" not in kesl["removal"]
    assert "kesl" in cat.rule_names(rules, "packages")


# --------------------------------------------------------------------------- exceptions
def test_exceptions_load_and_apply_by_host_and_group_with_expiry(tmp_path, bundled):
    path = write(tmp_path, "exceptions.yml", EXC_OK)
    items, files = cat.load_exceptions([path], known_ids=set(bundled.ids))
    assert [i["id"] for i in items] == ["EXC-2026-001", "EXC-2026-002"]
    assert items[0]["expires"] == "2027-03-31"  # unquoted YAML date normalised to a string
    assert files[0]["sha256"]
    active, expired = cat.exceptions_for_host(items, "scada-gw1", ["ics"], today="2027-03-31")
    assert [a["id"] for a in active] == ["EXC-2026-001"] and expired == []  # expiry day is inclusive
    active, expired = cat.exceptions_for_host(items, "scada-gw1", ["ics"], today="2027-04-01")
    assert active == [] and expired[0]["id"] == "EXC-2026-001"
    assert "expired on 2027-03-31 (ticket CHG-4711): it no longer applies" in expired[0]["message"]
    active, expired = cat.exceptions_for_host(items, "light1", ["lab", "light"], today="2026-12-01")
    assert active == [] and [e["scope"] for e in expired] == ["group:lab"]
    active, _ = cat.exceptions_for_host(items, "light1", ["lab"], today=datetime.date(2026, 11, 30))
    assert [a["catalog_id"] for a in active] == ["kaspersky-kesl"]
    assert cat.exceptions_for_host(items, "web1", ["web"], today="2026-01-01") == ([], [])


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace("    host: scada-gw1\n", ""), "entry EXC-2026-001: give exactly one of 'host' or 'group'"),
        (
            lambda t: t.replace("    host: scada-gw1\n", "    host: scada-gw1\n    group: ics\n"),
            "entry EXC-2026-001: give exactly one of 'host' or 'group'",
        ),
        (lambda t: t.replace("    ticket: CHG-4711\n", ""), "entry EXC-2026-001: 'ticket' is a required property"),
        (
            lambda t: t.replace("expires: 2027-03-31", "expires: next spring"),
            "entry EXC-2026-001: expires: 'next spring' is not a 'date'",
        ),
        (
            lambda t: t.replace("catalog_id: kaspersky-kics", "catalog_id: kaspersky-kicks"),
            "entry EXC-2026-001: catalog_id kaspersky-kicks is not in the catalog",
        ),
        (lambda t: t.replace("EXC-2026-002", "EXC-2026-001"), "entry EXC-2026-001: duplicate exception id"),
        (
            lambda t: t.replace("Vendor-certified SCADA gateway; replacement qualified in Q1", "ok"),
            "entry EXC-2026-001: reason: 'ok' is too short",
        ),
    ],
)
def test_exception_errors(tmp_path, bundled, mutate, expected):
    path = write(tmp_path, "exceptions.yml", mutate(EXC_OK))
    with pytest.raises(cat.CatalogError) as err:
        cat.load_exceptions([path], known_ids=set(bundled.ids))
    assert str(err.value).startswith(str(path) + ": ")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_example_files_validate(bundled):
    root = collection.collection_root()
    site = root / "inventories" / "example" / "covered-site.yml"
    exc = root / "inventories" / "example" / "exceptions.yml"
    catalog = cat.load_catalogs([site])
    cat.load_exceptions([exc], known_ids=set(catalog.ids))


# --------------------------------------------------------------------------- hostile files
_LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"format: x\n\xff\xfe bad\n", "not UTF-8 text (byte 0xff at offset 10)"),
        (bytes(range(256)), "not UTF-8 text (byte 0x80 at offset 128)"),
        (b"format: \x00\n", "not valid YAML (offset 8): character U+0000: control characters are not allowed"),
        (b"a: &a [*a]\n", "a YAML alias refers to a node that contains it"),
        (b"a: &a {b: {c: *a}}\n", "a YAML alias refers to a node that contains it"),
        (_LAUGHS.encode(), "more than 200000 YAML nodes once aliases are expanded"),
        (("x: " + "[" * 70 + "]" * 70 + "\n").encode(), "nested more than 64 levels deep"),
        (("x: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "not valid YAML"),
        (b"- a\n", "expected a YAML mapping at the top, got list"),
        (b"", "expected a YAML mapping at the top, got NoneType"),
        (b"a: !!python/object:os.system x\n", "not valid YAML (line 1, column 4)"),
    ],
)
@pytest.mark.parametrize("loader", ["catalog", "exceptions"])
def test_hostile_files_are_one_line_errors(tmp_path, content, expected, loader):
    path = tmp_path / "hostile.yml"
    path.write_bytes(content)
    with pytest.raises(cat.CatalogError) as err:
        if loader == "catalog":
            cat.load_catalogs([path])
        else:
            cat.load_exceptions([path])
    message = str(err.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert message.isprintable()


def test_shared_aliases_within_the_bound_load(tmp_path):
    """Anchors and aliases are ordinary YAML: a catalog may share a block between entries."""
    text = SITE_OK.replace("    removal:\n", "    removal: &removal\n")
    second = SITE_OK.split("entries:\n", 1)[1].replace("site-legacy-av", "site-legacy-av2")
    second = second.split("    removal:")[0] + "    removal: *removal\n"
    path = write(tmp_path, "site.yml", text + second)
    catalog = cat.load_catalogs([path])
    assert catalog.get("site-legacy-av2")["removal"] == catalog.get("site-legacy-av")["removal"]


def test_a_file_too_large_and_a_directory_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(cat_files, "MAX_FILE_BYTES", 1024)
    path = write(tmp_path, "site.yml", SITE_OK + "# padding\n" * 200)
    with pytest.raises(cat.CatalogError, match=r"site.yml: larger than 1024 bytes: not a catalog"):
        cat.load_catalogs([path], bundled=False)
    with pytest.raises(cat.CatalogError, match=r": is a directory, not a catalog"):
        cat.load_catalogs([tmp_path], bundled=False)


def test_messages_quoting_a_file_escape_terminal_controls(tmp_path):
    path = write(tmp_path, "site.yml", SITE_OK.replace("/opt/kaspersky/kav4ws]", '"/srv/\\u202e\\e[2Jx"]'))
    with pytest.raises(cat.CatalogError) as err:
        cat.load_catalogs([path])
    assert "not under any declared vendor root" in str(err.value)
    assert "/srv/\\u202e\\x1b[2Jx" in str(err.value) and str(err.value).isprintable()


def test_check_shape_counts_every_use_of_an_alias():
    shared = ["x"] * 9  # 10 nodes
    data = {"a": [shared, shared, shared]}  # 1 + (1 + 3 * 10) = 32 nodes expanded
    cat.check_shape("x.yml", data, max_nodes=32)
    with pytest.raises(cat.CatalogError, match=r"more than 31 YAML nodes"):
        cat.check_shape("x.yml", data, max_nodes=31)
    cat.check_shape("x.yml", {"a": [[[1]]]}, max_depth=4)
    with pytest.raises(cat.CatalogError, match=r"nested more than 3 levels"):
        cat.check_shape("x.yml", {"a": [[[1]]]}, max_depth=3)
