# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""catalog/approved.yml against catalog/approved.schema.json, and one-line errors for bad entries."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ripreplace import collection

cat = collection.load_plugin_util("catalog")

ROOT = Path(__file__).resolve().parents[2]
APPROVED = ROOT / "catalog" / "approved.yml"
SCHEMA = str(ROOT / "catalog" / "approved.schema.json")


def bundled() -> dict[str, Any]:
    return cat.load_yaml(APPROVED)


def check(data: dict[str, Any]) -> None:
    cat.validate(data, SCHEMA, "approved.yml", "products")


def test_bundled_catalog_is_valid() -> None:
    check(bundled())


def test_default_is_clamav_and_every_id_is_unique() -> None:
    data = bundled()
    ids = [p["id"] for p in data["products"]]
    assert data["default"] == "clamav"
    assert len(ids) == len(set(ids))
    assert {"clamav", "mdatp", "falcon-sensor", "sentinelone", "sophos", "eset", "trellix"} <= set(ids)


def test_supported_products_match_the_facts_file() -> None:
    products = {p["id"]: p for p in bundled()["products"]}
    assert products["clamav"]["packages"]["deb"] == ["clamav", "clamav-daemon", "clamav-freshclam", "clamdscan"]
    assert products["clamav"]["health"]["kind"] == "eicar_stdin"
    assert products["mdatp"]["health"]["checks"][0]["argv"] == ["mdatp", "health", "--field", "healthy"]
    assert products["mdatp"]["onboarding_path"] == "/etc/opt/microsoft/mdatp/mdatp_onboard.json"
    falcon = products["falcon-sensor"]["health"]["checks"]
    assert ["/opt/CrowdStrike/falconctl", "-g", "--rfm-state"] in [c["argv"] for c in falcon]
    assert products["sentinelone"]["health"]["checks"][0]["argv"][0] == "/opt/sentinelone/bin/sentinelctl"
    for data_only in ("sophos", "eset", "trellix"):
        assert products[data_only]["status"] == "data_only"
        assert products[data_only]["install_sources"] == []


def test_no_bundled_product_removes_first() -> None:
    # docs/contracts.md: the replacement is proven healthy before anything covered goes.
    assert all(p["remove_first"] is False for p in bundled()["products"])


def test_role_defaults_and_catalog_agree() -> None:
    import yaml

    defaults = yaml.safe_load((ROOT / "roles/replacement/defaults/main.yml").read_text())
    assert defaults["replacement_product"] == bundled()["default"]


def _mutate(path: list[Any], value: Any, delete: bool = False) -> dict[str, Any]:
    data = copy.deepcopy(bundled())
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "delete", "expected"),
    [
        (
            ["products", 0, "remove_first"],
            None,
            True,
            "approved.yml: entry clamav: 'remove_first' is a required property",
        ),
        (
            ["products", 1, "remove_first"],
            "no",
            False,
            "approved.yml: entry mdatp: remove_first: 'no' is not of type 'boolean'",
        ),
        (
            ["products", 0, "install_sources"],
            ["ftp"],
            False,
            "approved.yml: entry clamav: install_sources.0: 'ftp' is not one of",
        ),
        (
            ["products", 0, "packages", "deb"],
            ["bad name"],
            False,
            "approved.yml: entry clamav: packages.deb.0: 'bad name' does not match",
        ),
        (
            ["products", 2, "health", "checks", 0, "argv"],
            [],
            False,
            "approved.yml: entry falcon-sensor: health.checks.0.argv: [] should be non-empty",
        ),
        (
            ["products", 0, "surprise"],
            1,
            False,
            "approved.yml: entry clamav: Additional properties are not allowed ('surprise' was unexpected)",
        ),
        (
            ["format"],
            "ripreplace-approved-catalog/2",
            False,
            "approved.yml: format: 'ripreplace-approved-catalog/1' was expected",
        ),
    ],
)
def test_bad_entry_gives_one_line_error(path: list[Any], value: Any, delete: bool, expected: str) -> None:
    with pytest.raises(cat.CatalogError) as info:
        check(_mutate(path, value, delete))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(expected), message


def test_supported_product_needs_a_health_check() -> None:
    data = _mutate(["products", 1, "health"], None, delete=True)
    with pytest.raises(cat.CatalogError) as info:
        check(data)
    assert str(info.value).startswith("approved.yml: entry mdatp:")
    assert "health" in str(info.value)


def test_data_only_product_may_not_declare_install_sources() -> None:
    data = bundled()
    sophos = next(i for i, p in enumerate(data["products"]) if p["id"] == "sophos")
    with pytest.raises(cat.CatalogError) as info:
        check(_mutate(["products", sophos, "install_sources"], ["repo"]))
    assert str(info.value).startswith("approved.yml: entry sophos: install_sources")
