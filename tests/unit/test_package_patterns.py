# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Catalog package names with ``*``: KICS for Networks ships its ``kics4net*`` packages (vendor docs), so the
catalog names the prefix; covered_facts finds each such package, from dpkg's status file and from
``rpm -qa``, and plans every one for removal, while whole names stay whole (``kics`` never matches
``kics4net``, nor Checkmarx's ``kics`` a Kaspersky entry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.collection_code import load, scan_offline

FIXTURES = Path(__file__).parent / "fixtures"
parsers = load("plugins.module_utils.covered_parsers")
MAINTAINER = "AO Kaspersky Lab <support@kaspersky.invalid>"


def _stanza(name: str, maintainer: str = MAINTAINER) -> str:
    return (
        f"Package: {name}\nStatus: install ok installed\nMaintainer: {maintainer}\nArchitecture: amd64\n"
        f"Version: 4.2.0-118\nDescription: test stanza\n"
    )


class FakeModule:
    """AnsibleModule at the edges: rpm's answer canned (``rpm_out``), no other tool."""

    def __init__(self, rpm_out: str | None = None) -> None:
        self.rpm_out = rpm_out
        self.params: dict[str, Any] = {}

    def get_bin_path(self, name: str, required: bool = False) -> str | None:
        return "/usr/bin/rpm" if name == "rpm" and self.rpm_out is not None else None

    def run_command(self, argv: list[str], **_kw: Any) -> tuple[int, str, str]:
        if argv[0] == "/usr/bin/rpm" and "-qa" in argv:
            return 0, self.rpm_out or "", ""
        raise AssertionError(f"unexpected command {argv!r}")

    def fail_json(self, **kwargs: Any) -> None:
        raise RuntimeError(json.dumps(kwargs))


def _scan(root: Path, module: FakeModule) -> tuple[dict[str, Any], dict[str, Any]]:
    (root / "proc/self").mkdir(parents=True, exist_ok=True)
    kept, _excepted, plan, _scanner = scan_offline(module, root)
    return kept, plan


def test_every_kics4net_package_is_found_and_planned_from_dpkg(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    real = (FIXTURES / "dpkg-status-debian12-real.txt").read_text().rstrip("\n")
    stanzas = [real, _stanza("kics4net"), _stanza("kics4net-sensor")]
    stanzas.append(_stanza("kics", "Checkmarx <kics@checkmarx.invalid>"))  # the bare-name decoy
    (root / "var/lib/dpkg/status").write_text("\n\n".join(stanzas) + "\n")
    findings, plan = _scan(root, FakeModule())
    packages = {e["value"] for e in findings["kaspersky-kics-networks"]["evidence"] if e["kind"] == "deb"}
    assert packages == {"kics4net", "kics4net-sensor"}
    assert "kaspersky-kics" not in findings  # Checkmarx's kics: the name alone never counts
    planned = {(p["name"], p["catalog_id"]) for p in plan["packages"]}
    assert {("kics4net", "kaspersky-kics-networks"), ("kics4net-sensor", "kaspersky-kics-networks")} <= planned
    assert "kics" not in {p["name"] for p in plan["packages"]}


def test_every_kics4net_package_is_found_from_rpm(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    lines = [
        "kics4net-server\t0\t4.2.0\t118.el9\tx86_64\tAO Kaspersky Lab\tKaspersky\t\n",
        "kics4net-web\t0\t4.2.0\t118.el9\tx86_64\tAO Kaspersky Lab\tKaspersky\trpmlib(CompressedFileNames),\n",
        "bash\t0\t5.1.8\t9.el9\tx86_64\tRocky Enterprise Software Foundation\tRocky\t\n",
    ]
    findings, plan = _scan(root, FakeModule(rpm_out="".join(lines)))
    found = {e["value"] for e in findings["kaspersky-kics-networks"]["evidence"] if e["kind"] == "rpm"}
    assert found == {"kics4net-server", "kics4net-web"}
    assert {p["name"] for p in plan["packages"]} == {"kics4net-server", "kics4net-web"}


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("kics4net*", "kics4net", True),
        ("kics4net*", "kics4net-sensor", True),
        ("kics4net*", "kics", False),
        ("kics", "kics4net", False),  # a whole name is never a prefix
        ("kesl", "kesl-gui", False),
    ],
)
def test_package_name_patterns(pattern: str, name: str, matches: bool) -> None:
    assert parsers.package_name_matches(pattern, name) is matches
    assert (name in parsers.WantedNames([pattern])) is matches


def test_the_schema_takes_a_trailing_star_only(tmp_path: Path) -> None:
    from ripreplace import catalogs

    entry = {
        "id": "site-x",
        "vendor": "X",
        "product": "X",
        "platform": "linux",
        "covered_list": {
            "entry": "x",
            "added": "2022-03-25",
            "sources": ["https://www.fcc.gov/supplychain/coveredlist"],
        },
        "signals": {
            "packages": [
                {"name": "x*y", "managers": ["deb"], "confidence": "high", "source": {"grade": "site", "ref": "t"}}
            ]
        },
    }
    path = tmp_path / "site.yml"
    path.write_text(json.dumps({"format": "ripreplace-covered-catalog/1", "entries": [entry]}))
    with pytest.raises(catalogs.CatalogError, match="does not match"):
        catalogs.load_catalogs([str(path)])
    entry["signals"]["packages"][0]["name"] = "x*"
    path.write_text(json.dumps({"format": "ripreplace-covered-catalog/1", "entries": [entry]}))
    assert "site-x" in {e["id"] for e in catalogs.load_catalogs([str(path)]).entries}
