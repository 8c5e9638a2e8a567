# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Equipment classification, the action plugin's inventory reading, the lab device directory, the summary."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests import collection_code

from ripreplace import catalogs, cli, collection, equipment, records, runner
from ripreplace.exceptions import UsageError
from ripreplace.lab import snmp as labsnmp

ROOT = Path(__file__).resolve().parents[2]


def _load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# module_utils are stdlib-only and importable as plain files once their collection import resolves
er = _load("plugins/module_utils/equipment_rules.py", "equipment_rules_under_test")
_cat = collection.load_plugin_util("catalog")
RULES = er.Rules(_cat.compile_equipment_rules(_cat.load_catalogs()))
ENTRIES = {e["id"]: e for e in RULES.entries}


def _scan(system=None, probes=None, tables=None, reachable=True, error=None):
    return SimpleNamespace(
        reachable=reachable,
        error=error,
        system=system or {},
        probes=probes or {},
        tables=tables or {},
        walk_error=None,
    )


def _device(name, address="192.0.2.1", **extra):
    return dict({"name": name, "address": address, "version": "2c", "community": "x"}, **extra)


def _classify(scan, device=None, macs=None, registry=None):
    device = device or _device("d")
    devices, excluded = er.build_devices([device], {device["name"]: scan}, macs or {}, RULES, registry)
    return devices, excluded


@pytest.mark.parametrize(
    ("oid", "prefix", "under"),
    [
        ("1.3.6.1.4.1.2011.2.224.1", "1.3.6.1.4.1.2011", True),
        ("1.3.6.1.4.1.2011", "1.3.6.1.4.1.2011", True),
        (".1.3.6.1.4.1.2011.5", "1.3.6.1.4.1.2011", True),
        ("1.3.6.1.4.1.20110.1", "1.3.6.1.4.1.2011", False),
        ("1.3.6.1.4.1.201", "1.3.6.1.4.1.2011", False),
        ("", "1.3.6.1.4.1.2011", False),
    ],
)
def test_sysobjectid_prefix_is_by_whole_arcs(oid, prefix, under):
    assert er.oid_under(oid, prefix) is under


@pytest.mark.parametrize(
    ("system", "probes", "catalog_id", "kinds", "status"),
    [
        (
            {"sysobjectid": "1.3.6.1.4.1.2011.2.224.1", "sysdescr": "Huawei Versatile Routing Platform Software"},
            {},
            "huawei-network-equipment",
            {"snmp_sysobjectid", "snmp_sysdescr"},
            "covered",
        ),
        (
            {"sysobjectid": "1.3.6.1.4.1.9.1.1", "sysdescr": "S5720 Software Version VRP V200R011"},
            {},
            "huawei-network-equipment",
            {"snmp_sysdescr"},
            "covered",
        ),
        (
            {"sysobjectid": "1.3.6.1.4.1.3902.1082.500.1", "sysdescr": "C600"},
            {},
            "zte-network-equipment",
            {"snmp_sysobjectid"},
            "covered",
        ),
        (
            {"sysobjectid": "", "sysdescr": "IP CAMERA"},
            {"1.3.6.1.4.1.39165.1.1.0": "DS-2CD2043G0-I"},
            "hikvision-surveillance-equipment",
            {"snmp_probe"},
            "review",
        ),
        (
            {"sysobjectid": "1.3.6.1.4.1.26381", "sysdescr": "lwIP"},
            {},
            "hytera-radio-equipment",
            {"snmp_sysobjectid"},
            "review",
        ),
        ({"sysobjectid": "1.3.6.1.4.1.8072.3.2.10", "sysdescr": "Linux gw 6.1.0"}, {}, None, set(), "clean"),
    ],
)
def test_system_rules(system, probes, catalog_id, kinds, status):
    devices, _ = _classify(_scan(system=system, probes=probes))
    record = devices["d"]
    assert record["status"] == status
    assert [f["catalog_id"] for f in record["findings"]] == ([catalog_id] if catalog_id else [])
    assert {e["kind"] for f in record["findings"] for e in f["evidence"]} == kinds
    for finding in record["findings"]:
        assert records.validate(finding, "finding") == []


def test_probe_counts_only_with_an_empty_sysobjectid():
    # a device with a real sysObjectID that also answers the camera OID is not a camera by that probe
    scan = _scan(system={"sysobjectid": "1.3.6.1.4.1.8072.3.2.10"}, probes={"1.3.6.1.4.1.39165.1.1.0": "DS-X"})
    assert _classify(scan)[0]["d"]["status"] == "clean"
    # and an empty answer to the probe is no model
    scan = _scan(system={"sysobjectid": ""}, probes={"1.3.6.1.4.1.39165.1.1.0": ""})
    assert _classify(scan)[0]["d"]["status"] == "clean"


def test_purpose_limited_entries_are_review_unless_the_site_says_otherwise():
    scan = _scan(system={"sysobjectid": "1.3.6.1.4.1.1004849.2.1.1"})
    finding = _classify(scan)[0]["d"]["findings"][0]
    assert finding["review"] and finding["purpose_review"] and finding["confidence"] == "high"
    finding = _classify(scan, device=_device("d", covered_purpose=True))[0]["d"]["findings"][0]
    assert not finding["review"] and not finding["purpose_review"]
    # a site's word never lifts a low-confidence finding: 26381 alone stays review
    lwip = _scan(system={"sysobjectid": "1.3.6.1.4.1.26381"})
    assert _classify(lwip, device=_device("d", covered_purpose=True))[0]["d"]["status"] == "review"


def test_entity_module_in_another_vendors_chassis():
    rows = {
        "1": {"mfg": "Juniper Networks", "model": "EX4300", "serial": "S1"},
        "1001": {"mfg": "HUAWEI TECHNOLOGIES CO., LTD", "model": "OSX010000", "serial": "HA1"},
    }
    scan = _scan(system={"sysobjectid": "1.3.6.1.4.1.2636.1"}, tables={"entity": rows})
    record = _classify(scan)[0]["d"]
    assert record["status"] == "covered" and record["model"] == "EX4300" and record["serial"] == "S1"
    (finding,) = record["findings"]
    assert finding["confidence"] == "medium"  # never more than medium from ENTITY, whatever the rule says
    assert finding["evidence"][0]["details"] == {"index": "1001", "model": "OSX010000", "serial": "HA1"}


def _registry(tmp_path):
    text = (
        "OUI/MA-L\t\tOrganization\n\n"
        "44-47-CC   (hex)\t\tHangzhou Hikvision Digital Technology Co.,Ltd.\n"
        "4447CC     (base 16)\t\tHangzhou Hikvision Digital Technology Co.,Ltd.\n\n"
        "90-FF-D6   (hex)\t\tHonor Device Co., Ltd.\n90FFD6     (base 16)\t\tHonor Device Co., Ltd.\n\n"
        "00-11-22   (hex)\t\tSomebody Else Inc.\n001122     (base 16)\t\tSomebody Else Inc.\n\n"
        "40-2C-76   (hex)\t\tShanghai Dahua Scale Factory\n"
        "100000-1FFFFF     (base 16)\t\tShanghai Dahua Scale Factory\n"
    )
    path = tmp_path / "oui.txt"
    path.write_text(text)
    registry = er.OuiRegistry()
    assert registry.load(path, RULES.oui_wanted()) == 3  # the unrelated organisation is never kept
    return registry


def test_oui_matches_review_only_and_lookalikes_are_excluded(tmp_path):
    registry = _registry(tmp_path)
    assert registry.lookup("40:2c:76:1f:00:01") == ("Shanghai Dahua Scale Factory", 28)
    assert registry.lookup("40:2c:76:2f:00:01") == (None, None)
    macs = {
        m: {"mac": m, "addresses": [a], "seen_by": [{"host": "h1", "source": "ip-neigh", "address": a}]}
        for m, a in (
            ("44:47:cc:00:00:01", "192.0.2.50"),  # Hikvision, nothing scanned there: OUI-only device
            ("44:47:cc:00:00:02", "192.0.2.1"),  # Hikvision at the scanned device's address: merged
            ("90:ff:d6:00:00:03", "192.0.2.51"),  # Honor: excluded
            ("40:2c:76:1a:00:04", "192.0.2.52"),  # Shanghai Dahua Scale: excluded look-alike
        )
    }
    scan = _scan(system={"sysobjectid": "1.3.6.1.4.1.8072.3.2.10"})
    devices, excluded = _classify(scan, macs=macs, registry=registry)
    assert set(devices) == {"d", "mac:44:47:cc:00:00:01"}
    only = devices["mac:44:47:cc:00:00:01"]
    assert only["status"] == "review" and only["discovered"] and "OUI-only" in only["reason"]
    assert devices["d"]["status"] == "review" and devices["d"]["findings"][0]["evidence"][0]["kind"] == "oui"
    assert {x["organization"] for x in excluded} == {"Honor Device Co., Ltd.", "Shanghai Dahua Scale Factory"}


@pytest.mark.parametrize(
    ("value", "mac"),
    [
        ("00-E0-FC-12-34-56", "00:e0:fc:12:34:56"),
        (b"\x00\xe0\xfc\x12\x34\x56", "00:e0:fc:12:34:56"),
        ("00e0.fc12.3456", "00:e0:fc:12:34:56"),
        ("nonsense", None),
        (b"\x00\x01", None),
    ],
)
def test_mac_forms(value, mac):
    assert er.normalise_mac(value) == mac


def test_unreachable_and_lldp_neighbours():
    lldp = {"0.3.1": {"sysname": "agg-7", "sysdesc": "ZTE ZXR10 5960", "chassis": b"\x4c\xac\x0a\x11\x22\x33"}}
    scans = {
        "r": _scan(system={"sysobjectid": "1.3.6.1.4.1.8072.3.2.10"}, tables={"lldp": lldp}),
        "s": _scan(reachable=False, error="SNMP 2c: No SNMP response received before timeout"),
    }
    devices, _ = er.build_devices([_device("r"), _device("s", "192.0.2.9")], scans, {}, RULES, None)
    assert devices["s"]["status"] == "unreachable" and "timeout" in devices["s"]["reason"]
    neighbour = devices["lldp:agg-7"]
    assert neighbour["status"] == "covered" and neighbour["findings"][0]["confidence"] == "medium"
    assert neighbour["findings"][0]["evidence"][0]["details"]["chassis_id"] == "4c:ac:0a:11:22:33"
    assert er.counts(devices)["status"] == {"clean": 1, "covered": 1, "unreachable": 1}


# --------------------------------------------------------------------------- action plugin helpers
@functools.cache
def _action():
    return collection_code.load("plugins.action.covered_equipment_facts")


def test_devices_from_host_variables():
    mod = _action()
    v2 = mod.device_from_hostvars("cam", {"ansible_host": "10.0.0.5", "snmp_community": "s3cret", "site": "HQ"})
    assert v2 == {"name": "cam", "address": "10.0.0.5", "version": "2c", "community": "s3cret", "site": "HQ"}
    v3 = mod.device_from_hostvars("sw", {"snmp_v3_user": "u", "snmp_v3_auth_key": "a", "snmp_port": "1161"})
    assert v3 == {"name": "sw", "address": "sw", "port": 1161, "version": "3", "v3_user": "u", "v3_auth_key": "a"}


def test_neighbour_tables_from_registered_results():
    mod = _action()
    out = json.dumps(
        [
            {"dst": "10.0.0.9", "dev": "eth0", "lladdr": "44:47:cc:00:00:01", "state": ["REACHABLE"]},
            {"dst": "10.0.0.8", "dev": "eth0", "state": ["FAILED"]},
        ]
    )
    table, status = mod.neighbour_table("h", {"rc": 0, "stdout": out})
    assert table == {"host": "h", "entries": [{"dst": "10.0.0.9", "lladdr": "44:47:cc:00:00:01"}]}
    assert status == {"status": "read", "entries": 1}
    assert mod.neighbour_table("h", None)[1]["status"] == "not read"
    assert mod.neighbour_table("h", {"rc": 1, "stderr": 'Option "-json" is unknown'})[1] == {
        "status": "failed",
        "reason": 'Option "-json" is unknown',
    }


# --------------------------------------------------------------------------- lab device directory
@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no NAME.snmprec or NAME.silent file"),
        ({"bad name.snmprec": ""}, "a device name is letters"),
        ({"a.snmprec": "", "lab.yml": "devices: {b: {site: x}}\n"}, "no device file for b"),
        ({"a.snmprec": "", "lab.yml": "devices: {a: {colour: red}}\n"}, "device a: unknown settings"),
        ({"a.snmprec": "", "lab.yml": "hosts: []\n"}, "expected a mapping"),
    ],
)
def test_bad_device_directories(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UsageError, match=message):
        labsnmp.load_dir(tmp_path)


def test_the_projects_fixtures_load():
    devices, neighbours = labsnmp.load_dir(ROOT / "src" / "ripreplace" / "lab" / "data" / "snmp")
    names = {d.name for d in devices}
    assert {"hikvision-camera", "intelbras-camera", "lwip-sensor", "netsnmp-linux", "silent"} <= names
    assert next(d for d in devices if d.name == "silent").source is None
    assert set(neighbours) == {"light1"}


# --------------------------------------------------------------------------- summary and command line
def _inputs(tmp_path, devices=("cam",), linux=("web1",)):
    request = equipment.EquipmentRequest(inventory=tmp_path / "inv.yml", limit=None, catalogs=(), runs_dir=tmp_path)
    return equipment.ValidatedInputs(request=request, devices=devices, linux=linux, catalog_files=())


def test_summary_of_a_scan_that_did_not_run(tmp_path):
    collector = equipment.ScanCollector(failed="pysnmp>=7.1 is required")
    result = runner.PlaybookResult(status="failed", rc=2, stats={})
    summary = equipment.build_summary(run_id="r1", inputs=_inputs(tmp_path), collector=collector, playbook=result)
    assert summary["exit_code"] == 4 and summary["hosts"]["cam"]["status"] == "failed"
    assert "pysnmp" in summary["hosts"]["cam"]["reason"]
    assert summary["equipment"]["neighbour_sources"]["web1"]["status"] == "not read"
    assert records.validate(summary, "summary") == []


def test_summary_of_devices(tmp_path):
    scan = _scan(system={"sysobjectid": "1.3.6.1.4.1.2011.2.224.1", "sysdescr": "VRP (R) software"})
    devices, _ = _classify(scan, device=_device("cam"))
    collector = equipment.ScanCollector(facts={"devices": devices, "neighbour_sources": {"web1": {"status": "read"}}})
    result = runner.PlaybookResult(status="successful", rc=0, stats={})
    summary = equipment.build_summary(run_id="r2", inputs=_inputs(tmp_path), collector=collector, playbook=result)
    assert summary["exit_code"] == 3 and summary["products"] == {"huawei-network-equipment": ["cam"]}
    assert summary["hosts"]["cam"]["scanned"]["sysobjectid"] == "1.3.6.1.4.1.2011.2.224.1"
    assert records.validate(summary, "summary") == []


def test_command_line_errors(tmp_path, capsys):
    assert cli.main(["equipment"]) == 2
    assert "-i/--inventory" in capsys.readouterr().err
    assert cli.main(["equipment", "-i", str(tmp_path / "none.yml")]) == 2
    assert capsys.readouterr().err == f"ripreplace: error: {tmp_path / 'none.yml'}: inventory not found\n"
    bad = tmp_path / "site.yml"
    bad.write_text("format: ripreplace-covered-catalog/1\nentries: [{id: x}]\n")
    assert cli.main(["equipment", "-i", str(tmp_path / "none.yml"), "--catalog", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"ripreplace: error: {bad}: entry x")
    assert catalogs.BUNDLED_CATALOG.endswith("covered.yml")


@pytest.mark.parametrize(("count", "engines"), [(3, 3), (labsnmp.ENGINE_PER_DEVICE_MAX + 1, 1)])
def test_snmpsim_engines(tmp_path, count, engines):
    source = tmp_path / "d.snmprec"
    source.write_text("1.3.6.1.2.1.1.1.0|4|x\n")
    v3 = {"user": "u", "auth_key": "a" * 8, "priv_key": "p" * 8}
    served = []
    for n in range(1, count + 1):
        device = labsnmp.Device(f"d{n}", source, {"snmp_v3": v3} if n == 1 else {})
        served.append((n, device, labsnmp._inventory_vars(device, f"10.251.3.{10 + n}")))
    argv = labsnmp._responder_argv(tmp_path, labsnmp.net.Slot(3), served)
    assert sum(a.startswith("--v3-engine-id=") for a in argv) == engines
    assert [a for a in argv if a.startswith("--agent-udpv4-endpoint=")] == [
        f"--agent-udpv4-endpoint=10.251.3.{10 + n}:161" for n in range(1, count + 1)
    ]
    assert "--v3-user=u" in argv and "--v3-auth-proto=SHA" in argv and "--v3-priv-proto=AES" in argv
    files = sorted(p.name for p in (tmp_path / "snmp" / "data").rglob("*.snmprec"))
    communities = [inv.get("snmp_community") for _, _, inv in served[1:]]
    assert files == sorted([*[f"{c}.snmprec" for c in communities], "d1.snmprec"])
    assert len(set(communities)) == len(communities) and all(c.startswith("lab-") for c in communities)


# --------------------------------------------------------------------------- the SNMP client, pysnmp faked at its edge
@functools.cache
def _snmp():
    with warnings.catch_warnings():
        # pysnmp 7.1 imports a name pysmi 2 deprecated (not ours to fix; harmless)
        warnings.filterwarnings("ignore", r"\w+ is deprecated. Please use \w+ instead", DeprecationWarning)
        return collection_code.load("plugins.module_utils.equipment_snmp")


class FakeAgent:
    """Answers get_cmd/bulk_cmd from an OID -> value map as an SNMPv2c agent would (GETNEXT/GETBULK order)."""

    def __init__(self, values, bulk_status=None):
        from pysnmp.proto import rfc1902

        self.values = {tuple(int(x) for x in k.split(".")): v for k, v in values.items()}
        self.calls = []
        self.bulk_status = bulk_status
        self.rfc1902 = rfc1902

    def _next(self, oid):
        key = tuple(int(x) for x in oid.split("."))
        later = sorted(k for k in self.values if k > key)
        if not later:
            from pysnmp.proto import rfc1905

            return oid, rfc1905.endOfMibView
        return ".".join(map(str, later[0])), self.values[later[0]]

    def _bind(self, oid, value):
        if isinstance(value, str):
            value = self.rfc1902.OctetString(value.encode("latin-1"))
        return (self.rfc1902.ObjectName(oid), value)

    async def get_cmd(self, dispatcher, auth, target, *objects, **kw):
        from pysnmp.proto import rfc1905

        self.calls.append("get")
        out = []
        for obj in objects:
            oid = str(obj[0])
            key = tuple(int(x) for x in oid.split("."))
            out.append(self._bind(oid, self.values.get(key, rfc1905.noSuchInstance)))
        return None, 0, 0, out

    async def bulk_cmd(self, dispatcher, auth, target, nonrep, reps, *objects, **kw):
        self.calls.append(f"bulk:{nonrep}:{reps}:{len(objects)}")
        if self.bulk_status is not None:
            return None, self.bulk_status, 1, []
        oids = [str(o[0]) for o in objects]
        out = [self._bind(*self._next(o)) for o in oids[:nonrep]]
        current = oids[nonrep:]
        for _ in range(reps):
            row = [self._next(o) for o in current]
            out += [self._bind(*pair) for pair in row]
            current = [pair[0] for pair in row]
        return None, 0, 0, out


def _run_scan(monkeypatch, agent, tables=("entity", "arp")):
    snmp = _snmp()
    monkeypatch.setattr(snmp.v1, "get_cmd", agent.get_cmd)
    monkeypatch.setattr(snmp.v1, "bulk_cmd", agent.bulk_cmd)
    monkeypatch.setattr(snmp, "_OBJECTS", {})  # request objects are cached per OID: none from a real run
    monkeypatch.setattr(snmp.hlapi, "ObjectIdentity", str)  # the fake agent reads plain OID strings
    monkeypatch.setattr(snmp.hlapi, "ObjectType", lambda identity: (identity,))
    device = {"name": "r", "address": "127.0.0.1", "port": 16199, "version": "2c", "community": "c"}
    options = {"timeout": 0.5, "retries": 0, "concurrency": 4, "tables": list(tables)}
    return snmp.scan_all([device], RULES, options)["r"]


ROUTER = {
    "1.3.6.1.2.1.1.1.0": "Huawei Versatile Routing Platform Software",
    "1.3.6.1.2.1.1.5.0": "r1",
    "1.3.6.1.2.1.4.22.1.2.2.192.0.2.1": "\x44\x47\xcc\x00\x00\x01",
    "1.3.6.1.2.1.4.22.1.2.2.192.0.2.2": "\x44\x47\xcc\x00\x00\x02",
    "1.3.6.1.2.1.4.22.1.2.2.192.0.2.3": "\x44\x47\xcc\x00\x00\x03",
    "1.3.6.1.2.1.47.1.1.1.1.12.1": "Huawei Technologies Co., Ltd.",
    "1.3.6.1.2.1.47.1.1.1.1.13.1": "AR1220",
}


def test_one_getbulk_identifies_and_walks_on(monkeypatch):
    agent = FakeAgent(dict(ROUTER, **{"1.3.6.1.2.1.1.2.0": _oid("1.3.6.1.4.1.2011.2.224.1")}))
    scan = _run_scan(monkeypatch, agent)
    assert scan.reachable and scan.system["sysobjectid"] == "1.3.6.1.4.1.2011.2.224.1"
    assert scan.system["sysdescr"].startswith("Huawei") and scan.system["syslocation"] is None
    assert scan.probes == {"1.3.6.1.4.1.39165.1.1.0": None}  # GETNEXT past the probe: not the instance
    assert sorted(scan.tables["arp"]) == ["2.192.0.2.1", "2.192.0.2.2", "2.192.0.2.3"]  # 3 rows: a second page
    assert scan.tables["entity"]["1"] == {"mfg": "Huawei Technologies Co., Ltd.", "model": "AR1220"}
    # one identifying request (5 identity + 2 sentinel GETNEXTs), then one walk of both tables' 6 columns
    assert agent.calls == ["bulk:7:0:7", "bulk:0:16:6"]


def test_an_error_status_to_getbulk_falls_back_to_get(monkeypatch):
    agent = FakeAgent(dict(ROUTER, **{"1.3.6.1.2.1.1.2.0": _oid("1.3.6.1.4.1.2011.2.224.1")}), bulk_status=5)
    scan = _run_scan(monkeypatch, agent, tables=())
    assert agent.calls == ["bulk:5:0:5", "get"]
    assert scan.reachable and scan.system["sysobjectid"] == "1.3.6.1.4.1.2011.2.224.1"


def _oid(text):
    from pysnmp.proto import rfc1902

    return rfc1902.ObjectIdentifier(text)


def test_a_device_without_credentials_is_reported_not_scanned(monkeypatch):
    snmp = _snmp()
    agent = FakeAgent(dict(ROUTER, **{"1.3.6.1.2.1.1.2.0": _oid("1.3.6.1.4.1.2011.2.224.1")}))
    monkeypatch.setattr(snmp.v1, "bulk_cmd", agent.bulk_cmd)
    monkeypatch.setattr(snmp, "_OBJECTS", {})
    monkeypatch.setattr(snmp.hlapi, "ObjectIdentity", str)
    monkeypatch.setattr(snmp.hlapi, "ObjectType", lambda identity: (identity,))
    devices = [
        {"name": "ok", "address": "127.0.0.1", "port": 16199, "version": "2c", "community": "c"},
        {"name": "none", "address": "127.0.0.2", "port": 16199, "version": "2c"},
        {"name": "v3", "address": "127.0.0.3", "port": 16199, "version": "3"},
    ]
    options = {"timeout": 0.5, "retries": 0, "concurrency": 4, "tables": []}
    scans = snmp.scan_all(devices, RULES, options)
    assert scans["ok"].reachable and len(agent.calls) == 1  # the others sent nothing
    assert scans["none"].error == "not scanned: SNMPv2c needs a community (snmp_community)"
    assert scans["v3"].error == "not scanned: SNMPv3 needs a user (snmp_v3_user)"
    records_, _ = er.build_devices(devices, scans, {}, RULES, None)
    assert records_["none"]["status"] == "unreachable" and "snmp_community" in records_["none"]["reason"]


class BusyAgent(FakeAgent):
    """Times out the identifying request of the devices in ``slow`` once, and of those in ``dead`` always."""

    def __init__(self, values, slow=(), dead=(), slow_walk=()):
        super().__init__(values)
        self.slow, self.dead, self.slow_walk, self.asked = set(slow), set(dead), set(slow_walk), []

    async def bulk_cmd(self, dispatcher, auth, target, nonrep, reps, *objects, **kw):
        from pysnmp.proto import errind

        address = target.transport_address[0]
        walking = nonrep == 0
        self.asked.append(address + (" walk" if walking else ""))
        if address in self.dead or (address in self.slow and self.asked.count(address) == 1):
            return errind.requestTimedOut, 0, 0, []
        if walking and address in self.slow_walk and self.asked.count(address + " walk") == 1:
            return errind.requestTimedOut, 0, 0, []
        return await super().bulk_cmd(dispatcher, auth, target, nonrep, reps, *objects, **kw)


def _busy_scan(monkeypatch, agent, addresses, tables=()):
    snmp = _snmp()
    monkeypatch.setattr(snmp.v1, "bulk_cmd", agent.bulk_cmd)
    monkeypatch.setattr(snmp, "_OBJECTS", {})
    devices = [{"name": a, "address": a, "port": 16199, "version": "2c", "community": "c"} for a in addresses]
    options = {"timeout": 0.5, "retries": 0, "concurrency": 8, "tables": list(tables)}
    return snmp.scan_all(devices, RULES, options)


def test_a_device_that_timed_out_while_others_answered_is_asked_again(monkeypatch):
    agent = BusyAgent(ROUTER, slow={"127.0.0.2"}, dead={"127.0.0.3"})
    scans = _busy_scan(monkeypatch, agent, ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    assert scans["127.0.0.1"].reachable and scans["127.0.0.2"].reachable  # the busy one answered the second time
    assert scans["127.0.0.2"].system["sysdescr"].startswith("Huawei") and scans["127.0.0.2"].error is None
    assert not scans["127.0.0.3"].reachable and "asked twice" in scans["127.0.0.3"].error
    assert "timeout" in scans["127.0.0.3"].error.lower()
    assert sorted(agent.asked) == ["127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"]


def test_when_no_device_answers_none_is_asked_again(monkeypatch):
    agent = BusyAgent(ROUTER, dead={"127.0.0.1", "127.0.0.2"})
    scans = _busy_scan(monkeypatch, agent, ["127.0.0.1", "127.0.0.2"])
    assert agent.asked == ["127.0.0.1", "127.0.0.2"] and not any(s.reachable for s in scans.values())
    assert all("asked twice" not in s.error for s in scans.values())


def test_a_table_walk_that_timed_out_is_asked_again(monkeypatch):
    """A covered module seen only in ENTITY-MIB must not read as clean because its walk timed out once."""
    agent = BusyAgent(ROUTER, slow_walk={"127.0.0.1"})  # 127.0.0.1's first walk times out
    original = agent.bulk_cmd

    async def bulk(dispatcher, auth, target, nonrep, reps, *objects, **kw):
        from pysnmp.proto import errind

        if nonrep == 0 and target.transport_address[0] == "127.0.0.2":  # every walk of 127.0.0.2 times out
            agent.asked.append("127.0.0.2 walk")
            return errind.requestTimedOut, 0, 0, []
        return await original(dispatcher, auth, target, nonrep, reps, *objects, **kw)

    agent.bulk_cmd = bulk
    scans = _busy_scan(monkeypatch, agent, ["127.0.0.1", "127.0.0.2"], tables=("entity",))
    assert scans["127.0.0.1"].tables["entity"]["1"]["mfg"] == "Huawei Technologies Co., Ltd."
    assert scans["127.0.0.1"].walk_error is None
    assert agent.asked.count("127.0.0.1 walk") == 2 and agent.asked.count("127.0.0.1") == 2
    assert "asked twice" in scans["127.0.0.2"].walk_error and scans["127.0.0.2"].reachable


def test_a_device_whose_entity_walk_failed_is_not_clean():
    """Answered, but the walk timed out twice: its modules were not all read, so not 'clean' (a covered
    line card would not be seen); with ENTITY-MIB not among the tables walked, the walk's failure does
    not touch the device's own judgement."""
    scan = _scan(system={"sysobjectid": "1.3.6.1.4.1.9.1.1", "sysdescr": "Cisco IOS"})
    scan.walk_error = "No SNMP response received before timeout (asked twice, the second time after the other devices)"
    device = _device("sw")
    devices, _ = er.build_devices([device], {"sw": scan}, {}, RULES, None, tables=["entity", "lldp"])
    assert devices["sw"]["status"] == "review", devices["sw"]
    assert devices["sw"]["reason"].startswith("scan incomplete: the table walk failed (No SNMP response")
    assert "ENTITY-MIB" in devices["sw"]["reason"]
    devices, _ = er.build_devices([device], {"sw": scan}, {}, RULES, None, tables=["lldp", "arp"])
    assert devices["sw"]["status"] == "clean" and devices["sw"]["walk_error"] == scan.walk_error


def test_forwarding_tables_bridge_and_q_bridge_give_macs(monkeypatch):
    """dot1dTpFdbAddress holds the MAC as a value; dot1qTpFdbPort only in its index (fdb id, 6 arcs): both
    become sightings of the switch (source fdb), then OUI evidence like any table's."""
    snmp = _snmp()
    values = dict(
        ROUTER,
        **{
            "1.3.6.1.2.1.1.2.0": _oid("1.3.6.1.4.1.9.1.1"),
            "1.3.6.1.2.1.17.4.3.1.1.16.50.126.0.0.202": "\x10\x32\x7e\x00\x00\xca",
            "1.3.6.1.2.1.17.7.1.2.2.1.2.1.2.0.0.0.221.221": _int(3),
            "1.3.6.1.2.1.17.7.1.2.2.1.2.5.68.71.204.0.0.200": _int(12),
        },
    )
    scan = _run_scan(monkeypatch, FakeAgent(values), tables=("fdb",))
    assert set(scan.tables["fdb"]) == {"16.50.126.0.0.202", "1.2.0.0.0.221.221", "5.68.71.204.0.0.200"}
    macs = snmp.collect_macs({"sw": scan}, [])
    assert set(macs) == {"10:32:7e:00:00:ca", "02:00:00:00:dd:dd", "44:47:cc:00:00:c8"}
    assert macs["44:47:cc:00:00:c8"]["seen_by"] == [{"host": "sw", "source": "fdb", "address": None}]
    assert macs["44:47:cc:00:00:c8"]["addresses"] == []


def _int(value):
    from pysnmp.proto import rfc1902

    return rfc1902.Integer(value)
