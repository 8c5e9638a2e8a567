# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace equipment`` against the lab's simulated devices (snmpsim) and a real Linux host.

One lab with the project's fixtures (src/ripreplace/lab/data/snmp): every vendor found by its
intended rule, the empty-sysObjectID camera only through its probe, OUI-only as review, the
negative controls clean, the silent address unreachable. Credentials are canaries (a v2c community
and SNMPv3 passphrases) that must appear in no file of the run directory and nowhere on stdout.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ripreplace.lab import snmp
from ripreplace.lab.fleet import Lab

pytestmark = pytest.mark.lab

FIXTURES = Path(__file__).resolve().parents[2] / "src" / "ripreplace" / "lab" / "data" / "snmp"
CANARY_COMMUNITY = "canary-community-5f3a9c"
CANARY_AUTH = "canary-v3-auth-7b21e0"
CANARY_PRIV = "canary-v3-priv-c4d8aa"
CANARIES = (CANARY_COMMUNITY, CANARY_AUTH, CANARY_PRIV)

#: device -> (status, catalog id or None, the evidence kinds that must be there, kinds that must not)
EXPECTED = {
    "huawei-ar1220": ("covered", "huawei-network-equipment", {"snmp_sysobjectid", "snmp_sysdescr", "entity"}, set()),
    "zte-zxr10": ("covered", "zte-network-equipment", {"snmp_sysobjectid", "snmp_sysdescr"}, set()),
    "zte-olt-c320": ("covered", "zte-network-equipment", {"snmp_sysobjectid"}, {"snmp_sysdescr"}),
    "hikvision-camera": ("review", "hikvision-surveillance-equipment", {"snmp_probe"}, {"snmp_sysobjectid"}),
    "hikvision-nvr": ("covered", "hikvision-surveillance-equipment", {"snmp_sysobjectid", "snmp_sysdescr"}, set()),
    "dahua-camera": ("review", "dahua-surveillance-equipment", {"snmp_sysobjectid", "oui"}, set()),
    "intelbras-camera": ("review", "dahua-surveillance-equipment", {"snmp_sysobjectid"}, {"snmp_sysdescr"}),
    "hytera-repeater": ("review", "hytera-radio-equipment", {"snmp_sysobjectid"}, set()),
    "juniper-with-huawei-optic": ("covered", "huawei-network-equipment", {"entity"}, {"snmp_sysobjectid"}),
    "lwip-sensor": ("review", "hytera-radio-equipment", {"snmp_sysobjectid"}, set()),
    "netsnmp-linux": ("clean", None, set(), set()),
    "silent": ("unreachable", None, set(), set()),
    "lldp:agg-sw-remote-07": ("covered", "zte-network-equipment", {"lldp"}, set()),
    "mac:44:47:cc:00:00:c8": ("review", "hikvision-surveillance-equipment", {"oui"}, set()),
    "mac:10:32:7e:00:00:ca": ("review", "huawei-network-equipment", {"oui"}, set()),
    # --host-macs: light2's own MAC is HUAWEI TECHNOLOGIES'; light1's table has it: OUI-only, review
    "mac:00:e0:fc:00:00:02": ("review", "huawei-network-equipment", {"oui"}, set()),
}
LIGHT2_MAC = "00:e0:fc:00:00:02"  # HUAWEI TECHNOLOGIES CO.,LTD
SCALE_FACTORY_MAC = "40:2c:76:10:00:cb"  # Shanghai Dahua Scale Factory (ieee-data mam.txt): a look-alike
HOST_MACS = {
    "light2": {"mac": LIGHT2_MAC},
    "light1": {"neighbours": [{"host": "light2"}, {"octet": 203, "mac": SCALE_FACTORY_MAC}]},
}


@pytest.fixture(scope="module")
def device_lab() -> Iterator[Lab]:
    work = Path(tempfile.mkdtemp(prefix="ripreplace-equipment-lab-", dir="/var/tmp"))
    fixtures = work / "devices"
    shutil.copytree(FIXTURES, fixtures)
    config = yaml.safe_load((fixtures / "lab.yml").read_text())
    config["devices"]["zte-zxr10"]["snmp_v3"].update(auth_key=CANARY_AUTH, priv_key=CANARY_PRIV)
    config["devices"].setdefault("huawei-ar1220", {})["community"] = CANARY_COMMUNITY
    (fixtures / "lab.yml").write_text(yaml.safe_dump(config))
    (work / "host-macs.yml").write_text(yaml.safe_dump(HOST_MACS))
    fleet = Lab(work / "lab")
    try:
        fleet.up(light=2, systemd=0, snmp_devices=fixtures, host_macs=work / "host-macs.yml")
        yield fleet
    finally:
        fleet.down(quiet=True)
        shutil.rmtree(work, ignore_errors=True)


def _ripreplace(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    import sys

    ripreplace = Path(sys.executable).parent / "ripreplace"
    return subprocess.run([str(ripreplace), *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=600)


def _kinds(host: dict) -> set[str]:
    return {e["kind"] for f in host["findings"] for e in f["evidence"]}


def test_every_fixture_is_classified_as_intended(device_lab: Lab, tmp_path: Path) -> None:
    inventory = yaml.safe_load(device_lab.inventory.read_text())
    devices = inventory["all"]["children"]["snmp_devices"]
    assert devices["hosts"]["huawei-ar1220"]["snmp_community"] == CANARY_COMMUNITY
    assert devices["vars"]["snmp_netns"] == device_lab.slot.ctl_ns
    proc = _ripreplace("equipment", "-i", str(device_lab.inventory), "--output", "json", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr[-2000:]
    envelope = json.loads(proc.stdout)
    summary = envelope["result"]
    assert envelope["command"] == "equipment" and envelope["exit_code"] == 3
    assert summary["mode"] == "equipment" and summary["format"] == "ripreplace-summary/2"
    hosts = summary["hosts"]
    assert set(hosts) == set(EXPECTED), sorted(set(hosts) ^ set(EXPECTED))
    for name, (status, catalog_id, kinds, absent) in EXPECTED.items():
        host = hosts[name]
        assert host["status"] == status, (name, host["status"], host["reason"])
        assert [f["catalog_id"] for f in host["findings"]] == ([catalog_id] if catalog_id else []), name
        assert kinds <= _kinds(host) and not (absent & _kinds(host)), (name, _kinds(host))
    # the camera answers an empty sysObjectID and is found only through its probe, with its model
    camera = hosts["hikvision-camera"]
    assert camera["scanned"]["sysobjectid"] == "" and camera["scanned"]["model"] == "DS-2CD2143G2-I"
    assert camera["findings"][0]["purpose_review"] is True and camera["findings"][0]["confidence"] == "high"
    # the NVR's site said it serves a covered purpose: covered, not purpose review
    assert hosts["hikvision-nvr"]["findings"][0]["purpose_review"] is False
    # OUI-only and 26381-only are review with their reason; the look-alike is excluded, not a device
    assert "OUI-only" in hosts["mac:44:47:cc:00:00:c8"]["reason"]
    assert all(e["confidence"] == "low" for e in hosts["lwip-sensor"]["findings"][0]["evidence"])
    excluded = {x["organization"] for x in summary["equipment"]["oui_excluded"]}
    registry = {Path(f["path"]).name for f in summary["equipment"]["oui_registry"]}
    # Shanghai Dahua Scale Factory is an MA-M block, in Debian's ieee-data mam.txt (not in netaddr's oui.txt)
    look_alikes = {"Honor Device Co., Ltd."} | ({"Shanghai Dahua Scale Factory"} if "mam.txt" in registry else set())
    assert excluded == look_alikes
    assert not any(k.startswith(("mac:90:ff:d6", "mac:40:2c:76")) for k in hosts)
    # the ZTE switch's forwarding tables (BRIDGE dot1dTpFdbAddress, Q-BRIDGE dot1qTpFdbPort's index) add
    # sightings of MACs seen elsewhere; its third MAC (02:00:00:00:dd:dd) is no covered organisation's
    fdb = {"host": "zte-zxr10", "source": "fdb", "address": None}
    assert fdb in hosts["mac:10:32:7e:00:00:ca"]["scanned"]["seen_by"]
    assert fdb in hosts["mac:44:47:cc:00:00:c8"]["scanned"]["seen_by"]
    assert not any(k.startswith("mac:02:00:00:00:dd") for k in hosts)
    _host_macs_planted(device_lab, hosts)
    # the covered module in another vendor's chassis: medium, with the module's model and serial
    optic = hosts["juniper-with-huawei-optic"]["findings"][0]
    assert optic["confidence"] == "medium" and optic["evidence"][0]["details"]["serial"] == "HA19050100123"
    huawei = hosts["huawei-ar1220"]["scanned"]
    assert (huawei["model"], huawei["firmware"], huawei["serial"]) == (
        "AR1220",
        "V200R010C10SPC700",
        "210235G7ABC0000001",
    )
    assert hosts["zte-zxr10"]["scanned"]["snmp_version"] == "3"
    assert "timeout" in hosts["silent"]["reason"].lower()
    # light1: lab.yml's three, --host-macs' two, the control namespace; light2 (its MAC changed, still read)
    sources = summary["equipment"]["neighbour_sources"]
    assert sources["light1"] == {"status": "read", "entries": 6} and sources["light2"]["status"] == "read"
    assert summary["products"]["zte-network-equipment"] == ["lldp:agg-sw-remote-07", "zte-olt-c320", "zte-zxr10"]
    # the run directory, like audit's; every file free of the credentials
    run_dir = Path(envelope["run_dir"])
    for name in ("manifest.json", "audit.jsonl", "summary.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    from ripreplace import records

    assert records.validate_run_dir(run_dir) == {"summary.json": []}
    verify = _ripreplace("verify-log", str(run_dir), cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    log = (run_dir / "audit.jsonl").read_text()
    assert "covered_equipment_facts" in log and "hikvision-surveillance-equipment" in log
    for path in [p for p in run_dir.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, (canary, path)
    for canary in CANARIES:
        assert canary not in proc.stdout and canary not in proc.stderr
    _reports_cover_devices(run_dir, tmp_path)


def _host_macs_planted(lab: Lab, hosts: dict) -> None:
    """--host-macs set light2's MAC and planted light1's entries: the scan saw them as they were planted."""
    light1, light2 = lab.host("light1"), lab.host("light2")
    link = subprocess.run(["ip", "-n", light2.ns, "-json", "link", "show", "eth0"], capture_output=True, check=True)
    assert json.loads(link.stdout)[0]["address"] == LIGHT2_MAC
    table = subprocess.run(["ip", "-n", light1.ns, "-json", "neigh", "show"], capture_output=True, check=True)
    planted = {e["dst"]: (e.get("lladdr"), e.get("state")) for e in json.loads(table.stdout)}
    assert planted[light2.addr] == (LIGHT2_MAC, ["PERMANENT"])
    assert planted[f"10.250.{lab.slot.index}.203"] == (SCALE_FACTORY_MAC, ["PERMANENT"])
    record = hosts[f"mac:{LIGHT2_MAC}"]
    assert "OUI-only" in record["reason"] and record["scanned"]["address"] == light2.addr
    assert record["scanned"]["seen_by"] == [{"host": "light1", "source": "ip-neigh", "address": light2.addr}]
    assert all(f["review"] is True for f in record["findings"])  # review, never covered


def _reports_cover_devices(run_dir: Path, tmp_path: Path) -> None:
    out = {}
    for fmt in ("html", "md", "csv", "json", "junit"):
        path = tmp_path / f"report.{fmt}"
        proc = _ripreplace("report", str(run_dir), "--format", fmt, "-o", str(path), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        out[fmt] = path.read_text()
    html = out["html"]
    section = html[html.index('<section id="equipment">') : html.index("</section>", html.index('id="equipment"'))]
    assert "<h3>By vendor</h3>" in section and "<h3>By site</h3>" in section and "ZTE Corporation" in section
    oui = section[section.index('id="oui-only"') : section.index('id="unreachable"')]
    assert "mac:44:47:cc:00:00:c8" in oui and "mac:10:32:7e:00:00:ca" in oui and "lwip-sensor" not in oui
    assert f"mac:{LIGHT2_MAC}" in oui
    assert "silent" in section[section.index('id="unreachable"') :]
    assert "snmp_probe:DS-2CD2143G2-I" in html  # per-device evidence in the hosts table
    assert "### Equipment (16 devices)" in out["md"] and "OUI-only, unidentified (3):" in out["md"]
    rows = {r["host"]: r for r in csv.DictReader(io.StringIO(out["csv"]))}
    assert rows["huawei-ar1220"]["device_serial"] == "210235G7ABC0000001"
    assert rows["silent"]["device_address"] and rows["silent"]["status"] == "unreachable"
    devices = {h["name"]: h["device"] for h in json.loads(out["json"])["hosts"]}
    assert devices["mac:44:47:cc:00:00:c8"]["oui_only"] is True and devices["zte-zxr10"]["site"] == "Chicago POP"
    assert out["junit"].count("<testcase ") == 16


def test_outside_the_control_namespace_nothing_leaves(device_lab: Lab, tmp_path: Path) -> None:
    """Without snmp_netns the scan runs in the root namespace, where the guard route fails it locally."""
    inventory = yaml.safe_load(device_lab.inventory.read_text())
    group = inventory["all"]["children"]["snmp_devices"]
    group["vars"].pop("snmp_netns")
    group["hosts"] = {k: v for k, v in group["hosts"].items() if k in ("zte-olt-c320", "netsnmp-linux")}
    inventory["all"]["children"].pop("lab")
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    assert (
        snmp.subnet(device_lab.slot)
        in subprocess.run(
            ["ip", "route", "show", "type", "unreachable"], capture_output=True, text=True, check=True
        ).stdout
    )
    proc = _ripreplace("equipment", "-i", str(path), "--output", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    hosts = json.loads(proc.stdout)["result"]["hosts"]
    assert {h["status"] for h in hosts.values()} == {"unreachable"}
    # what the scan met in this namespace: the kernel refuses the packet (the guard route), it never leaves
    address = group["hosts"]["netsnmp-linux"]["ansible_host"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(OSError) as refused:
        sock.sendto(b"\x30\x00", (address, 161))
    assert refused.value.errno == errno.EHOSTUNREACH


def test_wrong_credentials_read_as_refused_and_never_as_another_devices(device_lab: Lab, tmp_path: Path) -> None:
    """SNMPv3 devices with one user name and other keys, a wrong community, an unusable port: each device is
    asked with its own credentials (a wrong key never rides on a right one's), each says what to check,
    the others are scanned, and no credential reaches the run directory."""
    inventory = yaml.safe_load(device_lab.inventory.read_text())
    group = inventory["all"]["children"]["snmp_devices"]
    hosts = group["hosts"]
    zte = hosts["zte-zxr10"]
    wrong_auth, wrong_community = "canary-wrong-auth-91d2", "canary-wrong-community-0e7b"
    group["hosts"] = {
        "zte-zxr10": zte,
        "zte-wrong-key": dict(zte, snmp_v3_auth_key=wrong_auth),
        "zte-md5": dict(zte, snmp_v3_auth_protocol="MD5"),
        "zte-unknown-user": dict(zte, snmp_v3_user="nobody"),
        "zte-olt-c320": dict(hosts["zte-olt-c320"], snmp_v3_auth_protocol="SHA"),  # v2c: the v3 value is unused
        "olt-wrong-community": dict(hosts["zte-olt-c320"], snmp_community=wrong_community),
        "olt-bad-port": dict(hosts["zte-olt-c320"], snmp_port="snmp"),
    }
    inventory["all"]["children"].pop("lab")
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    proc = _ripreplace("equipment", "-i", str(path), "--output", "json", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr[-2000:]
    envelope = json.loads(proc.stdout)
    result = {name: (h["status"], h["reason"]) for name, h in envelope["result"]["hosts"].items()}
    assert result["zte-zxr10"] == ("covered", None) and result["zte-olt-c320"] == ("covered", None)
    digest = "SNMP 3: Wrong SNMP PDU digest; authentication failed: check snmp_v3_auth_key and snmp_v3_auth_protocol"
    assert result["zte-wrong-key"] == result["zte-md5"] == ("unreachable", digest)
    assert result["zte-unknown-user"] == (
        "unreachable",
        "SNMP 3: Unknown USM user; the agent has no such user: check snmp_v3_user",
    )
    assert result["olt-wrong-community"][0] == "unreachable"
    assert "a wrong snmp_community gets no answer either" in result["olt-wrong-community"][1]
    assert result["olt-bad-port"] == ("unreachable", "not scanned: snmp_port 'snmp' is not a UDP port (1-65535)")
    run_dir = Path(envelope["run_dir"])
    secrets = (wrong_auth, wrong_community, zte["snmp_v3_auth_key"], zte["snmp_v3_priv_key"])
    for file in [p for p in run_dir.rglob("*") if p.is_file()]:
        data = file.read_bytes()
        assert not any(s.encode() in data for s in secrets), file
    assert not any(s in proc.stdout + proc.stderr for s in secrets)


def test_limit_and_a_run_with_only_devices_for_review_exits_0(device_lab: Lab, tmp_path: Path) -> None:
    """--limit chooses the devices (and the managed hosts whose tables are read); review is not covered: exit 0."""
    proc = _ripreplace(
        "equipment",
        "-i",
        str(device_lab.inventory),
        "--limit",
        "hikvision-camera,lwip-sensor",
        "--output",
        "json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    envelope = json.loads(proc.stdout)
    hosts = envelope["result"]["hosts"]
    assert {name: h["status"] for name, h in hosts.items()} == {"hikvision-camera": "review", "lwip-sensor": "review"}
    assert envelope["result"]["equipment"]["neighbour_sources"] == {}  # light1 and light2 were left out
    manifest = json.loads((Path(envelope["run_dir"]) / "manifest.json").read_text())
    assert manifest["limit"] == "hikvision-camera,lwip-sensor"


#: A UDP relay that answers late (lab only: it listens on a lab device address inside the device namespace and
#: relays to another lab device there). argv: LISTEN TARGET DELAY_S.
SLOW_RELAY = """
import asyncio, sys
listen, target, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
class Front(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        asyncio.get_running_loop().create_task(self.relay(data, addr))
    async def relay(self, data, addr):
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, reply, _addr):
                if not answer.done():
                    answer.set_result(reply)
        back, _ = await loop.create_datagram_endpoint(Back, remote_addr=(target, 161))
        back.sendto(data)
        try:
            reply = await asyncio.wait_for(answer, 10)
        finally:
            back.close()
        await asyncio.sleep(delay)
        self.transport.sendto(reply, addr)
async def main():
    await asyncio.get_running_loop().create_datagram_endpoint(Front, local_addr=(listen, 161))
    print("listening", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def test_a_device_that_answers_later_than_the_timeout_is_still_found(device_lab: Lab, tmp_path: Path) -> None:
    """Every answer 2.5 s late, the timeout 2 s (the default, one retry): the retry's wait takes the first
    request's answer, so the slow Huawei router is covered, its ENTITY rows read, not unreachable."""
    inventory = yaml.safe_load(device_lab.inventory.read_text())
    group = inventory["all"]["children"]["snmp_devices"]
    huawei = group["hosts"]["huawei-ar1220"]
    ns, address = snmp.namespace(device_lab.slot), f"10.251.{device_lab.slot.index}.240"
    subprocess.run(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0"], check=True)
    relay = subprocess.Popen(
        ["ip", "netns", "exec", ns, "python3", "-c", SLOW_RELAY, address, huawei["ansible_host"], "2.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert relay.stdout is not None and relay.stdout.readline().strip() == "listening"
        group["hosts"] = {"slow-huawei": dict(huawei, ansible_host=address)}
        inventory["all"]["children"].pop("lab")
        path = tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        proc = _ripreplace("equipment", "-i", str(path), "--output", "json", cwd=tmp_path)
    finally:
        relay.terminate()
        relay.wait(10)
        if relay.stdout is not None:
            relay.stdout.close()
        subprocess.run(["ip", "-n", ns, "addr", "del", f"{address}/24", "dev", "eth0"], check=False)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    host = json.loads(proc.stdout)["result"]["hosts"]["slow-huawei"]
    assert host["status"] == "covered", host
    assert {"snmp_sysobjectid", "snmp_sysdescr", "entity"} <= _kinds(host)
    assert "walk_error" not in host["scanned"]


def test_vaulted_credentials_are_used_and_never_shown(device_lab: Lab, tmp_path: Path) -> None:
    """Credentials in Ansible Vault (host_vars, encrypt_string): with the vault password as Ansible reads it
    the devices are scanned and no decrypted value reaches the output or the run directory; without it the
    scan does not run (exit 4) and says why."""
    import os
    import sys

    inventory = yaml.safe_load(device_lab.inventory.read_text())
    group = inventory["all"]["children"]["snmp_devices"]
    group["hosts"] = {k: dict(v) for k, v in group["hosts"].items() if k in ("huawei-ar1220", "zte-zxr10")}
    inventory["all"]["children"].pop("lab")
    password = tmp_path / "vault-pass"
    password.write_text("a vault password for the lab test\n")
    password.chmod(0o600)
    (tmp_path / "host_vars").mkdir()
    secrets = {"huawei-ar1220": ["snmp_community"], "zte-zxr10": ["snmp_v3_auth_key", "snmp_v3_priv_key"]}
    plain = []
    vault = Path(sys.executable).parent / "ansible-vault"
    for host, names in secrets.items():
        text = ""
        for name in names:
            value = group["hosts"][host].pop(name)
            plain.append(value)
            argv = [str(vault), "encrypt_string", "--vault-password-file", str(password), value, "--name", name]
            text += subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        (tmp_path / "host_vars" / f"{host}.yml").write_text(text)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    without = _ripreplace("equipment", "-i", str(path), "--output", "json", cwd=tmp_path)
    assert without.returncode == 4, without.stderr[-2000:]
    reasons = {h["reason"] for h in json.loads(without.stdout)["result"]["hosts"].values()}
    assert len(reasons) == 1 and "no vault secrets found" in reasons.pop()
    env = dict(os.environ, ANSIBLE_VAULT_PASSWORD_FILE=str(password))
    ripreplace = Path(sys.executable).parent / "ripreplace"
    proc = subprocess.run(
        [str(ripreplace), "equipment", "-i", str(path), "--output", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 3, proc.stderr[-2000:]
    envelope = json.loads(proc.stdout)
    hosts = envelope["result"]["hosts"]
    assert hosts["huawei-ar1220"]["status"] == hosts["zte-zxr10"]["status"] == "covered"
    for run_dir in (Path(envelope["run_dir"]), Path(json.loads(without.stdout)["run_dir"])):
        for file in [p for p in run_dir.rglob("*") if p.is_file()]:
            data = file.read_bytes()
            assert not any(value.encode() in data for value in plain), file
    assert not any(value in proc.stdout + proc.stderr + without.stdout + without.stderr for value in plain)
