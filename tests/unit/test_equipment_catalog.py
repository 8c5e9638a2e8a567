# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The catalog as of 2026: network entries with equipment rules, entries since 2024, Kaspersky corrections."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ripreplace import cli, collection

cat = collection.load_plugin_util("catalog")
ROOT = Path(__file__).resolve().parents[2]
VENDORS = {
    "huawei-network-equipment",
    "zte-network-equipment",
    "hikvision-surveillance-equipment",
    "dahua-surveillance-equipment",
    "hytera-radio-equipment",
}


@pytest.fixture(scope="module")
def bundled():
    return cat.load_catalogs()


def test_equipment_rules_compile_for_every_vendor(bundled):
    rules = cat.compile_equipment_rules(bundled)
    assert rules["format"] == "ripreplace-equipment-rules/1"
    ids = {e["id"] for e in rules["entries"]}
    assert VENDORS | {"dji-uas"} == ids
    by_id = {e["id"]: e for e in rules["entries"]}
    assert {i for i, e in by_id.items() if e["purpose_limited"]} == {
        "hikvision-surveillance-equipment",
        "dahua-surveillance-equipment",
        "hytera-radio-equipment",
    }
    prefixes = {r["prefix"] for e in rules["entries"] for r in e["rules"]["sysobjectid_prefix"]}
    assert {"1.3.6.1.4.1.2011", "1.3.6.1.4.1.3902", "1.3.6.1.4.1.39165", "1.3.6.1.4.1.1004849"} <= prefixes
    assert {"1.3.6.1.4.1.3902.1012", "1.3.6.1.4.1.3902.1082", "1.3.6.1.4.1.50001", "1.3.6.1.4.1.40297"} <= prefixes
    hytera = by_id["hytera-radio-equipment"]["rules"]["sysobjectid_prefix"]
    lwip = next(r for r in hytera if r["prefix"].endswith("26381"))
    assert lwip["confidence"] == "low"  # never sufficient alone
    probe = by_id["hikvision-surveillance-equipment"]["rules"]["probe"][0]
    assert probe["oid"] == "1.3.6.1.4.1.39165.1.1.0" and probe["when_sysobjectid_empty"] and probe["model"]
    for entry in rules["entries"]:
        for kind in cat.EQUIPMENT_RULE_KINDS:
            for rule in entry["rules"][kind]:
                assert re.match(r"^(P|S|UNCONFIRMED|site): .+", rule["source"]), (entry["id"], rule)
        for rule in entry["rules"]["oui_organizations"]:
            assert rule["confidence"] == "low" and rule["organization"].startswith("^")
    excluded = {x["organization"] for e in rules["entries"] for x in e["rules"]["oui_exclude"]}
    assert {"^Honor Device", "^Shanghai Dahua Scale Factory", "(?i)aztech", "(?i)naztec"} <= excluded
    assert all(not e["id"].startswith("kaspersky") for e in rules["entries"])  # software rules stay apart


def test_sysdescr_patterns_of_the_facts(bundled):
    huawei = [r["pattern"] for r in bundled.get("huawei-network-equipment")["equipment"]["sysdescr_regex"]]
    for descr in (
        "Huawei Versatile Routing Platform Software VRP (R) Software, Version 5.170",
        "VRP Software Version 8.180",
        "S5720 Software Version VRP V200R011",
        "Huawei YunShan OS Version 1.22.0.1",
    ):
        assert any(re.search(p, descr) for p in huawei), descr
    zte = [r["pattern"] for r in bundled.get("zte-network-equipment")["equipment"]["sysdescr_regex"]]
    assert any(re.search(p, "ZXR10 5250 Software") for p in zte)
    assert not any(re.search(p, "Linux core 6.1.0 #1 SMP x86_64") for p in huawei + zte)


def test_entries_since_2024_and_services(bundled):
    added = {e["id"]: e["covered_list"]["added"] for e in bundled.entries}
    assert added["dji-uas"] == added["autel-uas"] == added["foreign-uas"] == "2025-12-22"
    assert added["foreign-consumer-routers"] == "2026-03-23"
    assert added["kaspersky-lab-inc"].startswith("2024-09")
    services = {e["id"] for e in bundled.entries if e["platform"] == "service"}
    assert services == {
        "china-mobile-international-usa",
        "china-telecom-americas",
        "china-unicom-americas",
        "pacific-networks-comnet",
    }
    for entry in bundled.entries:
        assert entry["covered_list"]["sources"], entry["id"]
        if entry["platform"] == "service":
            assert cat.detection(entry) == "service-only" and entry["detection_note"]
    assert added["pacific-networks-comnet"] == added["china-unicom-americas"] == "2022-09-20"
    assert cat.detection(bundled.get("foreign-consumer-routers")) == "not detectable"


def test_kaspersky_corrections(bundled):
    kesl = bundled.get("kaspersky-kesl")["signals"]
    paths = {p["path"]: p for p in kesl["paths"]}
    assert paths["/var/opt/kaspersky/kesl/install_*"]["confidence"] == "high"
    assert paths["/opt/kaspersky/kesl/bin/kesl-control"]["source"]["grade"] == "P"
    assert paths["/usr/bin/kesl-control"]["confidence"] == "low"
    assert any(p["exe"].startswith("/var/opt/kaspersky/kesl/install_*/") for p in kesl["processes"])
    gui = {p["name"]: p for p in bundled.get("kaspersky-kesl-gui")["signals"]["packages"]}
    agent = {p["name"]: p for p in bundled.get("kaspersky-network-agent")["signals"]["packages"]}
    for signal in (gui["kesl-gui-astra"], agent["klnagent64-astra"]):
        assert signal["confidence"] == "low" and signal["source"]["grade"] == "UNCONFIRMED"
    ksc = bundled.get("kaspersky-security-center")
    units = {"kladminserver_srv", "klnagent_srv", "klwebsrv_srv", "kliam_srv"}
    assert {s["name"] for s in ksc["signals"]["services"]} == units == set(ksc["removal"]["services"])
    kwts = bundled.get("kaspersky-kwts")["signals"]
    assert "/opt/kaspersky/kwts/bin/kwts-control" in {p["path"] for p in kwts["paths"]}
    klms = {p["path"]: p for p in bundled.get("kaspersky-klms")["signals"]["paths"]}
    assert klms["/opt/kaspersky/klms"]["source"]["grade"] == "P"
    rules = cat.compile_rules(bundled)
    assert {"kaspersky-kwts", "kaspersky-kics-networks"} <= {e["id"] for e in rules["entries"]}


def _site(tmp_path, entry):
    data = {"format": "ripreplace-covered-catalog/1", "entries": [entry]}
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(data))
    return path


SRC = {"grade": "S", "ref": "x"}
NET = {
    "id": "site-camera",
    "vendor": "Example",
    "product": "Example camera",
    "platform": "network",
    "covered_list": {"entry": "x", "added": "2021-03-12", "sources": ["https://www.fcc.gov/supplychain/coveredlist"]},
    "equipment": {
        "sysdescr_regex": [{"pattern": "ExampleCam", "confidence": "high", "source": {"grade": "site", "ref": "t"}}]
    },
}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e["equipment"]["sysdescr_regex"][0].update(pattern="(unclosed"), "is not a 'regex'"),
        (
            lambda e: e["equipment"].update(
                oui_organizations=[{"organization": "Hikvision", "confidence": "low", "source": SRC}]
            ),
            "does not match '^\\\\^'",
        ),
        (
            lambda e: e["equipment"].update(
                oui_organizations=[{"organization": "^X", "confidence": "high", "source": SRC}]
            ),
            "a MAC OUI is only ever a reason to review",
        ),
        (
            lambda e: e.update(platform="service", detection_note="a service"),
            "platform service does not take equipment",
        ),
        (lambda e: e["equipment"]["sysdescr_regex"][0].pop("source"), "'source' is a required property"),
        (lambda e: e.update(signals={"paths": []}), "platform network does not take signals"),
    ],
)
def test_bad_network_entries_are_refused(tmp_path, capsys, mutate, message):
    entry = json.loads(json.dumps(NET))
    mutate(entry)
    path = _site(tmp_path, entry)
    assert cli.main(["catalog", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ripreplace: error: {path}: entry site-camera") and message in err, err
    assert len(err.strip().splitlines()) == 1


def test_site_network_entry_and_cli_listing(tmp_path, capsys):
    path = _site(tmp_path, NET)
    assert cli.main(["catalog", "validate", str(path)]) == 0
    assert "valid site catalog, 1 entry" in capsys.readouterr().out
    assert cli.main(["catalog", "list", "--catalog", str(path), "--platform", "network", "--output", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["result"]}
    assert rows["site-camera"]["detection"] == "equipment"
    assert rows["foreign-uas"]["detection"] == "not detectable" and rows["foreign-uas"]["detection_note"]
    assert cli.main(["catalog", "list", "--platform", "service"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(" service-only " in ln for ln in lines)


def test_validate_the_bundled_catalog(capsys):
    assert cli.main(["catalog", "validate", str(ROOT / "catalog" / "covered.yml")]) == 0
    assert "valid bundled catalog" in capsys.readouterr().out


def test_every_registry_spelling_of_a_covered_organisation_is_matched_or_excluded():
    """netaddr's IEEE registry spells some names several ways ("HUAWEI TECHNOLOGIES CO.,LTD" and "Huawei
    Technologies Co., Ltd."; "Zhejiang Dahua Technology Co., Ltd." and "ZHEJIANG DAHUA TECHNOLOGYCO.,LTD"):
    every organisation naming a covered vendor is matched by a rule or excluded as a look-alike."""
    import netaddr
    from tests import collection_code

    er = collection_code.load("plugins.module_utils.equipment_rules")
    rules = er.Rules(cat.compile_equipment_rules(cat.load_catalogs()))
    registry = Path(netaddr.__file__).parent / "eui" / "oui.txt"
    orgs = set()
    for line in registry.read_text(encoding="utf-8", errors="replace").splitlines():
        if "(hex)" in line:
            org = line.split("(hex)", 1)[1].strip()
            if re.search(r"(?i)huawei|hikvision|dahua|hytera|\bzte\b|dji technology|^honor device", org):
                orgs.add(org)
    assert len(orgs) >= 10, orgs  # the registry was read
    outcome = {}
    for org in sorted(orgs):
        entry, _rule, exclusion = rules.match_oui(org)
        outcome[org] = exclusion["catalog_id"] + " (excluded)" if exclusion else (entry["id"] if entry else None)
    assert None not in outcome.values(), {o: v for o, v in outcome.items() if v is None}
    assert (
        outcome["Huawei Technologies Co., Ltd."] == outcome["HUAWEI TECHNOLOGIES CO.,LTD"] == "huawei-network-equipment"
    )
    assert outcome["ZHEJIANG DAHUA TECHNOLOGYCO.,LTD"] == "dahua-surveillance-equipment"
    assert outcome.get("Honor Device Co., Ltd.") == "huawei-network-equipment (excluded)"
    assert rules.match_oui("ZTEC Instruments, Inc.")[0] is None  # 'zte' inside another name is no match


def test_network_agent_uninstall_password_is_hex_encoded():
    agent = bundled_entry("kaspersky-windows-network-agent")
    uninstall = " ".join(s["value"] for s in agent["platform_signals"]["uninstall"])
    assert "KLUNINSTPASSWD" in uninstall and "hex-encoded" in uninstall


def bundled_entry(entry_id):
    return cat.load_catalogs().get(entry_id)
