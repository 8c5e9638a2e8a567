# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What the equipment scan does with the inventory's SNMP values: each SNMPv3 device asked with its own
credentials (real pysnmp agents on loopback), values it cannot use reported per device, reasons that say
what to check."""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
import warnings
from collections.abc import Iterator

import pytest
from tests import collection_code

USER = "ops"
COMMUNITY = "community-canary-42"
KEYS = {
    "one": ("auth-key-one", "priv-key-one"),
    "two": ("auth-key-two", "priv-key-two"),
    "six": ("auth-key-six", "priv-key-six"),
}
LISTEN = {"one": "127.0.0.1", "two": "127.0.0.1", "six": "::1"}  # "six": an IPv6 agent


@functools.cache
def _snmp():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"\w+ is deprecated. Please use \w+ instead", DeprecationWarning)
        return collection_code.load("plugins.module_utils.equipment_snmp")


@functools.cache
def _action():
    return collection_code.load("plugins.action.covered_equipment_facts")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _serve(ports: dict[str, int], ready: threading.Event, box: dict) -> None:
    """SNMP agents on loopback, one engine each: the same SNMPv3 user name with each agent's own keys, and
    one SNMPv2c community."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    engines: list = []
    try:
        _agents(ports, engines)
    except Exception as exc:  # the fixture says so at once, not after its wait
        box["error"] = exc
        ready.set()
        return
    box["stop"] = loop.create_future()
    box["loop"] = loop
    ready.set()
    loop.run_until_complete(box["stop"])
    for agent in engines:
        agent.close_dispatcher()
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


def _agents(ports: dict[str, int], engines: list) -> None:
    from pysnmp.carrier.asyncio.dgram import udp, udp6
    from pysnmp.entity import config, engine
    from pysnmp.entity.rfc3413 import cmdrsp, context

    for name, port in ports.items():
        agent = engine.SnmpEngine()
        if ":" in LISTEN[name]:
            config.add_transport(agent, udp6.DOMAIN_NAME, udp6.Udp6Transport().open_server_mode((LISTEN[name], port)))
        else:
            config.add_transport(agent, udp.DOMAIN_NAME, udp.UdpTransport().open_server_mode((LISTEN[name], port)))
        auth, priv = KEYS[name]
        config.add_v3_user(agent, USER, config.USM_AUTH_HMAC96_SHA, auth, config.USM_PRIV_CFB128_AES, priv)
        config.add_vacm_user(agent, 3, USER, "authPriv", (1, 3, 6, 1, 2, 1), (1, 3, 6, 1, 2, 1))
        config.add_v1_system(agent, "area", COMMUNITY)
        config.add_vacm_user(agent, 2, "area", "noAuthNoPriv", (1, 3, 6, 1, 2, 1))
        snmp_context = context.SnmpContext(agent)
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, cmdrsp.BulkCommandResponder):
            responder(agent, snmp_context)
        agent.transport_dispatcher.job_started(1)
        engines.append(agent)


@pytest.fixture(scope="module")
def agents() -> Iterator[dict[str, int]]:
    ports = {name: _free_port(LISTEN[name]) for name in KEYS}
    ready, box = threading.Event(), {}
    thread = threading.Thread(target=_serve, args=(ports, ready, box), daemon=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        thread.start()
        assert ready.wait(20), "the loopback agents did not start"
    if "error" in box:
        raise box["error"]
    yield ports
    box["loop"].call_soon_threadsafe(box["stop"].set_result, None)
    thread.join(10)


def _v3(name: str, port: int, keys: tuple[str, str], **extra) -> dict:
    device = {"name": name, "address": "127.0.0.1", "port": port, "version": "3", "v3_user": USER}
    device.update(v3_auth_key=keys[0], v3_auth_protocol="sha", v3_priv_key=keys[1], v3_priv_protocol="aes")
    device["v3_context"] = ""
    device.update(extra)
    return device


def test_devices_with_one_user_name_and_their_own_keys_are_each_asked_with_theirs(agents):
    """pysnmp keeps one USM user per name in an engine: shared, a device was asked with another device's keys
    (a right key failed, a wrong one passed). Each set of credentials has its engine now."""
    snmp = _snmp()
    devices = [
        _v3("one", agents["one"], KEYS["one"]),
        _v3("two", agents["two"], KEYS["two"]),
        _v3("two-with-ones-keys", agents["two"], KEYS["one"]),
        _v3("one-again", agents["one"], KEYS["one"]),
        _v3("two-md5", agents["two"], KEYS["two"], v3_auth_protocol="md5"),
    ]
    options = {"timeout": 1.0, "retries": 0, "concurrency": 8, "tables": []}
    for order in (devices, devices[::-1]):  # whichever is configured first
        scans = snmp.scan_all(order, _rules(), options)
        assert scans["one"].reachable and scans["two"].reachable and scans["one-again"].reachable
        assert scans["one"].system["sysdescr"].startswith("PySNMP engine")
        for wrong in ("two-with-ones-keys", "two-md5"):
            assert not scans[wrong].reachable, wrong
            assert scans[wrong].error == (
                "SNMP 3: Wrong SNMP PDU digest; authentication failed: check snmp_v3_auth_key and snmp_v3_auth_protocol"
            )


def test_one_engine_per_set_of_credentials():
    snmp = _snmp()
    handles = {"engines": {}, "view": None}
    one = snmp.v3_engine(handles, _v3("a", 1, KEYS["one"]))
    assert snmp.v3_engine(handles, _v3("b", 2, KEYS["one"], v3_context="other")) is one  # a context is per request
    assert snmp.v3_engine(handles, _v3("c", 1, KEYS["two"])) is not one
    assert snmp.v3_engine(handles, _v3("d", 1, KEYS["one"], v3_priv_protocol="aes256")) is not one
    assert len(handles["engines"]) == 3
    for engine in handles["engines"].values():
        engine.close_dispatcher()


def _rules():
    rules = collection_code.load("plugins.module_utils.equipment_rules")
    return rules.Rules({"format": "ripreplace-equipment-rules/1", "entries": []})


@pytest.mark.parametrize(
    ("hostvars", "expected"),
    [
        ({"snmp_v3_auth_protocol": "SHA", "snmp_v3_priv_protocol": "AES"}, ("sha", "aes", None)),
        ({"snmp_v3_auth_protocol": "SHA-256", "snmp_v3_priv_protocol": "AES-128"}, ("sha256", "aes", None)),
        ({"snmp_v3_auth_protocol": "sha1", "snmp_v3_priv_protocol": "3DES"}, ("sha", "3des", None)),
        (
            {"snmp_v3_auth_protocol": "sha-3", "snmp_v3_priv_protocol": "blowfish"},
            (
                None,
                None,
                "snmp_v3_auth_protocol 'sha-3' is not one of md5, sha, sha224, sha256, sha384, sha512; "
                "snmp_v3_priv_protocol 'blowfish' is not one of des, 3des, aes, aes192, aes256",
            ),
        ),
        ({"snmp_port": "16100"}, ("sha", None, None)),
        ({"snmp_port": "abc"}, ("sha", None, "snmp_port 'abc' is not a UDP port (1-65535)")),
        ({"snmp_port": 0}, ("sha", None, "snmp_port '0' is not a UDP port (1-65535)")),
    ],
)
def test_inventory_values_the_scan_cannot_use_make_that_device_invalid(hostvars, expected):
    hv = {"ansible_host": "192.0.2.7", "snmp_v3_user": "u", "snmp_v3_auth_key": "auth-canary"}
    hv.setdefault("snmp_v3_auth_protocol", "sha")
    hv.update(hostvars)
    device = _action().device_from_hostvars("sw", hv)
    assert (device.get("v3_auth_protocol"), device.get("v3_priv_protocol"), device.get("invalid")) == expected
    assert "auth-canary" not in (device.get("invalid") or "")
    if hostvars.get("snmp_port") == "16100":
        assert device["port"] == 16100


def test_an_invalid_device_is_reported_and_the_others_are_scanned(agents):
    """One device's unusable value never stops the scan of the others (it failed the whole task before)."""
    snmp = _snmp()
    bad = _v3("bad", agents["one"], KEYS["one"], invalid="snmp_port 'abc' is not a UDP port (1-65535)")
    scans = snmp.scan_all(
        [bad, _v3("one", agents["one"], KEYS["one"])],
        _rules(),
        {"timeout": 1.0, "retries": 0, "concurrency": 8, "tables": []},
    )
    assert scans["one"].reachable
    assert (
        not scans["bad"].reachable and scans["bad"].error == "not scanned: snmp_port 'abc' is not a UDP port (1-65535)"
    )
    spec = collection_code.load("plugins.module_utils.equipment_scan").argument_spec()
    assert spec["devices"]["options"]["invalid"] == {"type": "str"}


def test_a_v2c_timeout_says_a_wrong_community_reads_as_silence():
    from pysnmp.proto import errind

    snmp = _snmp()
    v2c = {"version": "2c"}
    assert snmp.error_text(v2c, errind.requestTimedOut) == (
        "SNMP 2c: No SNMP response received before timeout; a wrong snmp_community gets no answer either"
    )
    assert snmp.error_text({"version": "3"}, errind.requestTimedOut) == (
        "SNMP 3: No SNMP response received before timeout"
    )
    assert snmp.error_text({"version": "3"}, errind.unknownUserName).endswith("check snmp_v3_user")
    assert snmp.error_text({"version": "3"}, errind.decryptionError).endswith(
        "check snmp_v3_priv_key and snmp_v3_priv_protocol"
    )


def test_an_ipv6_address_is_scanned_as_an_ipv4_one_is(agents):
    """pysnmp's UdpTransportTarget is IPv4 only: an IPv6 management address failed with 'Bad IPv4/UDP transport
    address'. A literal of either family needs no resolver."""
    snmp = _snmp()
    devices = [
        {"name": "v2c-6", "address": "::1", "port": agents["six"], "version": "2c", "community": COMMUNITY},
        _v3("v3-6", agents["six"], KEYS["six"], address="::1"),
        {"name": "v2c-4", "address": "127.0.0.1", "port": agents["one"], "version": "2c", "community": COMMUNITY},
    ]
    scans = snmp.scan_all(devices, _rules(), {"timeout": 1.0, "retries": 0, "concurrency": 8, "tables": []})
    for name in ("v2c-6", "v3-6", "v2c-4"):
        assert scans[name].reachable and scans[name].error is None, (name, scans[name].error)
        assert scans[name].system["sysdescr"].startswith("PySNMP engine")


def test_a_name_that_does_not_resolve_is_reported_not_scanned(monkeypatch):
    """Resolution is pysnmp's (asked only for a name, never a literal); stubbed here, nothing is looked up."""
    from pysnmp.error import PySnmpError

    snmp = _snmp()

    async def create(*_args, **_kw):
        raise PySnmpError("Bad IPv4/UDP transport address sw.example@161: [Errno -2] Name or service not known")

    monkeypatch.setattr(snmp.v1.UdpTransportTarget, "create", create)
    device = {"name": "sw", "address": "sw.example", "port": 161, "version": "2c", "community": COMMUNITY}
    scan = snmp.scan_all([device], _rules(), {"timeout": 0.2, "retries": 0, "concurrency": 1, "tables": []})["sw"]
    assert not scan.reachable
    assert scan.error.startswith("not scanned: cannot resolve 'sw.example' to an IPv4 address: Bad IPv4/UDP")


def test_a_v3_passphrase_shorter_than_8_is_named_never_shown():
    """pysnmp refuses it with ValueConstraintError quoting the passphrase; the device is reported, unscanned."""
    snmp = _snmp()
    device = _v3("sw", 161, ("short-a", "long-enough-priv"))
    scans = snmp.scan_all([device], _rules(), {"timeout": 0.2, "retries": 0, "concurrency": 1, "tables": []})
    error = scans["sw"].error
    assert error == "not scanned: snmp_v3_auth_key is shorter than 8 characters (an SNMPv3 passphrase has at least 8)"
    assert "short-a" not in error


def test_an_engine_is_closed_when_the_last_device_of_its_credentials_is_done(agents, monkeypatch):
    """A fleet with a key per device: engines (one socket each) stay about as many as devices scanned at once."""
    snmp = _snmp()
    live = {"now": 0, "most": 0, "made": 0}
    real = snmp.hlapi.SnmpEngine

    class Counted(real):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            live["now"] += 1
            live["made"] += 1
            live["most"] = max(live["most"], live["now"])

        def close_dispatcher(self):
            live["now"] -= 1
            super().close_dispatcher()

    monkeypatch.setattr(snmp.hlapi, "SnmpEngine", Counted)
    devices = [
        _v3("one", agents["one"], KEYS["one"]),
        _v3("two", agents["two"], KEYS["two"]),
        _v3("one-again", agents["one"], KEYS["one"]),
        _v3("six", agents["six"], KEYS["six"], address="::1"),
    ]
    scans = snmp.scan_all(devices, _rules(), {"timeout": 1.0, "retries": 0, "concurrency": 1, "tables": []})
    assert all(scan.reachable for scan in scans.values()), {n: s.error for n, s in scans.items()}
    # one device at a time, in order: 'one''s engine stays open for 'one-again' (same credentials) while 'two'
    # is scanned, and closes after it; 'two''s closes before 'six''s opens. Three sets, three engines, all closed.
    assert (live["most"], live["made"], live["now"]) == (2, 3, 0)
