# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""SNMP I/O of ripreplace.remediation.covered_equipment_facts (controller side: pysnmp, asyncio).

One dispatcher serves every SNMPv2c device, one SnmpEngine each distinct set of SNMPv3 credentials
(v3_engine); devices are scanned concurrently under a semaphore. Per
device: one GETBULK of non-repeaters only, the GETNEXT of the system group, of every vendor probe
OID and of one sentinel column per table (ENTITY-MIB, LLDP remote systems, ARP, BRIDGE and
Q-BRIDGE forwarding tables); then GETBULK walks of the tables that have rows, all their columns
at once. A device with empty tables costs one round trip of a few variables. An agent that answers GETBULK with an
error status is asked again with a plain GET and a walk.
"""

from __future__ import annotations

import asyncio
import os
import socket
import warnings

from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_rules as er

try:
    with warnings.catch_warnings():  # pysnmp 7.1 imports a name pysmi 2 deprecated (not ours; harmless)
        warnings.filterwarnings("ignore", r"\w+ is deprecated. Please use \w+ instead", DeprecationWarning)
        from pysnmp.error import PySnmpError
        from pysnmp.hlapi.v1arch import asyncio as v1
        from pysnmp.hlapi.v3arch import asyncio as hlapi
        from pysnmp.proto import errind, rfc1902, rfc1905
        from pysnmp.smi import builder as mib_builder
        from pysnmp.smi import view as mib_view

    HAS_PYSNMP = True
    PYSNMP_IMPORT_ERROR = None
except ImportError:  # reported by the module with missing_required_lib
    import traceback

    HAS_PYSNMP = False
    PYSNMP_IMPORT_ERROR = traceback.format_exc()

AUTH_PROTOCOLS = {
    "md5": "usmHMACMD5AuthProtocol",
    "sha": "usmHMACSHAAuthProtocol",
    "sha224": "usmHMAC128SHA224AuthProtocol",
    "sha256": "usmHMAC192SHA256AuthProtocol",
    "sha384": "usmHMAC256SHA384AuthProtocol",
    "sha512": "usmHMAC384SHA512AuthProtocol",
}
PRIV_PROTOCOLS = {
    "des": "usmDESPrivProtocol",
    "3des": "usm3DESEDEPrivProtocol",
    "aes": "usmAesCfb128Protocol",
    "aes192": "usmAesCfb192Protocol",
    "aes256": "usmAesCfb256Protocol",
}
#: table -> field -> column OID
TABLES = {
    "entity": {
        "descr": "1.3.6.1.2.1.47.1.1.1.1.2",
        "software": "1.3.6.1.2.1.47.1.1.1.1.10",
        "serial": "1.3.6.1.2.1.47.1.1.1.1.11",
        "mfg": "1.3.6.1.2.1.47.1.1.1.1.12",
        "model": "1.3.6.1.2.1.47.1.1.1.1.13",
    },
    "lldp": {
        "chassis": "1.0.8802.1.1.2.1.4.1.1.5",
        "sysname": "1.0.8802.1.1.2.1.4.1.1.9",
        "sysdesc": "1.0.8802.1.1.2.1.4.1.1.10",
    },
    "arp": {"mac": "1.3.6.1.2.1.4.22.1.2"},
    "fdb": {"mac": "1.3.6.1.2.1.17.4.3.1.1", "qport": "1.3.6.1.2.1.17.7.1.2.2.1.2"},
}
MAX_ROWS = 5000  # per column and device: a runaway agent cannot make the scan endless
REPETITIONS = 16
#: table -> the columns whose first GETNEXT tells whether the table has rows (Q-BRIDGE-only switches
#: have no dot1d rows, so both forwarding-table columns)
SENTINELS = {"entity": ("mfg",), "lldp": ("sysdesc",), "arp": ("mac",), "fdb": ("mac", "qport")}
_OBJECTS = {}  # OID -> its request variable (see Session.objects)
_BINARY_FIELDS = {("arp", "mac"), ("fdb", "mac"), ("lldp", "chassis")}


def credential_problem(device):
    if device.get("invalid"):  # the action plugin found an inventory value the scan cannot use
        return device["invalid"]
    if device["version"] == "2c" and not device.get("community"):
        return "SNMPv2c needs a community (snmp_community)"
    if device["version"] == "3" and not device.get("v3_user"):
        return "SNMPv3 needs a user (snmp_v3_user)"
    if device["version"] == "3" and device.get("v3_priv_key") and not device.get("v3_auth_key"):
        return "SNMPv3 privacy needs authentication too (snmp_v3_auth_key)"
    for key in ("v3_auth_key", "v3_priv_key"):
        # pysnmp refuses a shorter one with an exception that quotes it; never the value, only its name
        if device["version"] == "3" and device.get(key) and len(device[key]) < 8:
            return "snmp_%s is shorter than 8 characters (an SNMPv3 passphrase has at least 8)" % key
    return None


def _auth(device):
    if device["version"] == "2c":
        # v2c is what most installed surveillance gear speaks; v3 is used whenever the inventory gives a user.
        return v1.CommunityData(device["community"], mpModel=1)  # noqa: S508
    kwargs = {}
    if device.get("v3_auth_key"):
        kwargs["authKey"] = device["v3_auth_key"]
        kwargs["authProtocol"] = getattr(hlapi, AUTH_PROTOCOLS[device["v3_auth_protocol"]])
    if device.get("v3_priv_key"):
        kwargs["privKey"] = device["v3_priv_key"]
        kwargs["privProtocol"] = getattr(hlapi, PRIV_PROTOCOLS[device["v3_priv_protocol"]])
    return hlapi.UsmUserData(device["v3_user"], **kwargs)  # noqa: S509 - the site's chosen security level


#: what an operator checks when an agent refused the request: errind class name -> hint
_HINTS = {
    "RequestTimedOut": "a wrong snmp_community gets no answer either",
    "WrongDigest": "authentication failed: check snmp_v3_auth_key and snmp_v3_auth_protocol",
    "UnknownUserName": "the agent has no such user: check snmp_v3_user",
    "UnsupportedSecurityLevel": "the user needs another security level: check snmp_v3_auth_key/snmp_v3_priv_key",
    "DecryptionError": "privacy failed: check snmp_v3_priv_key and snmp_v3_priv_protocol",
}


def error_text(device, err):
    """One line for a request that failed: pysnmp's words, and what to check (never a credential)."""
    hint = _HINTS.get(type(err).__name__)
    if isinstance(err, errind.RequestTimedOut) and device["version"] != "2c":
        hint = None  # an SNMPv3 agent answers wrong credentials with a report: silence is silence
    return "SNMP %s: %s%s" % (device["version"], err, "; %s" % hint if hint else "")


def _absent(value):
    return isinstance(value, (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView))


def _text(value):
    if value is None or _absent(value):
        return None
    if hasattr(value, "asOctets"):
        return value.asOctets().decode("utf-8", "replace").strip("\x00").strip()
    return str(value)


def _arcs(oid):
    return tuple(int(x) for x in oid.split("."))


class DeviceScan(object):
    """What one device answered: reachable, error, system values, probes and table rows."""

    def __init__(self, name):
        self.name = name
        self.reachable = False
        self.error = None
        self.system = {}
        self.probes = {}
        self.tables = {}  # table -> {index: {field: value}}
        self.walk_error = None
        self.timed_out = False  # a request (identifying, or of a table walk) got no answer in time (_ask_again)


def _record_identity(scan, oid, value):
    """One answer of the identification request: the system group or a vendor probe."""
    if oid == er.SYSOBJECTID_OID:
        scan.system["sysobjectid"] = "" if _absent(value) else str(value).lstrip(".")
        if hasattr(value, "asOctets"):  # an agent answering an OCTET STRING where an OID belongs
            scan.system["sysobjectid"] = _text(value) or ""
    elif oid in er.SYSTEM_OIDS:
        scan.system[{er.SYSDESCR_OID: "sysdescr", er.SYSNAME_OID: "sysname"}.get(oid, "syslocation")] = _text(value)
    else:
        scan.probes[oid] = _text(value)


def v3_credentials(device):
    """What an SNMPv3 device authenticates with: user, and each key with its protocol (None when absent)."""
    auth = (device.get("v3_auth_protocol"), device["v3_auth_key"]) if device.get("v3_auth_key") else None
    priv = (device.get("v3_priv_protocol"), device["v3_priv_key"]) if device.get("v3_priv_key") else None
    return device.get("v3_user"), auth, priv


def v3_engine(handles, device):
    """The SnmpEngine of ``device``'s SNMPv3 credentials: one engine per distinct set, never shared by two.

    pysnmp keeps one USM user per user name in an engine (its configurator replaces the keys of a name
    it knows, and copies them for each agent it discovers): devices with the same user name and other
    keys or protocols in one engine would each be asked with whichever keys were configured last, so a
    wrong key could read as right and a right one fail. A fleet with one credential set has one engine."""
    key = v3_credentials(device)
    engine = handles["engines"].get(key)
    if engine is None:
        engine = hlapi.SnmpEngine()
        engine.cache["mibViewController"] = handles["view"]
        handles["engines"][key] = engine
    return engine


def hold_v3_engines(handles, devices):
    """Count the scans about to use each set of SNMPv3 credentials (see release_v3_engine)."""
    for device in devices:
        if device["version"] == "3" and not credential_problem(device):
            key = v3_credentials(device)
            handles["pending"][key] = handles["pending"].get(key, 0) + 1


def release_v3_engine(handles, device):
    """One scan of these credentials is done; the last closes their engine and its socket, so a fleet with a
    key per device holds about as many engines open as devices are scanned at once, never one per device."""
    key = v3_credentials(device)
    left = handles["pending"].get(key, 1) - 1
    if left > 0:
        handles["pending"][key] = left
        return
    handles["pending"].pop(key, None)
    engine = handles["engines"].pop(key, None)
    if engine is not None:
        engine.close_dispatcher()


class Session(object):
    """One device's SNMP conversation. SNMPv2c goes through pysnmp's light v1arch dispatcher (the full
    engine resolves a community with a scan of every community it knows, so many devices cost O(n^2));
    SNMPv3 needs an engine (USM): the one of the device's credentials (see v3_engine)."""

    def __init__(self, handles, device, target):
        self.device = device
        self.v3 = device["version"] == "3"
        self.handle = v3_engine(handles, device) if self.v3 else handles["dispatcher"]
        self.target = target
        self.auth = _auth(device)
        self.context = hlapi.ContextData(contextName=device.get("v3_context") or "") if self.v3 else None

    def objects(self, oids):
        """Request variables, one shared object per OID (the identification OIDs are the same for every
        device). SNMPv2c: plain (OID, NULL) pairs, so pysnmp looks up no MIB, neither for the request nor
        for the answer (its MIB view walk costs ~1 ms a variable). SNMPv3: ObjectTypes, which the engine
        resolves once each (with a MIB view that has no MIB compiler: see mib_view_without_compiler)."""
        out = []
        for oid in oids:
            key = (oid, self.v3)
            obj = _OBJECTS.get(key)
            if obj is None:
                if self.v3:
                    obj = hlapi.ObjectType(hlapi.ObjectIdentity(oid))
                else:
                    obj = (rfc1902.ObjectName(oid), rfc1902.Null(""))
                if len(_OBJECTS) < 2048:
                    _OBJECTS[key] = obj
            out.append(obj)
        return out

    async def get(self, oids):
        if self.v3:
            return await hlapi.get_cmd(
                self.handle, self.auth, self.target, self.context, *self.objects(oids), lookupMib=False
            )
        return await v1.get_cmd(self.handle, self.auth, self.target, *self.objects(oids), lookupMib=False)

    async def bulk(self, non_repeaters, repetitions, oids):
        objects = self.objects(oids)
        if self.v3:
            return await hlapi.bulk_cmd(
                self.handle, self.auth, self.target, self.context, non_repeaters, repetitions, *objects, lookupMib=False
            )
        return await v1.bulk_cmd(
            self.handle, self.auth, self.target, non_repeaters, repetitions, *objects, lookupMib=False
        )


async def _get(session, oids, scan):
    """Plain GET of the identification OIDs (the fallback when an agent mishandles GETBULK)."""
    device = session.device
    err, status, index, binds = await session.get(oids)
    if err:
        scan.error = error_text(device, err)
        scan.timed_out = isinstance(err, errind.RequestTimedOut)
        return False
    scan.reachable = True
    if status:
        scan.error = "SNMP error %s at %s" % (status.prettyPrint(), index)
        return True
    for name, value in binds:
        _record_identity(scan, str(name), value)
    return True


def _take_rows(binds, active, walk, scan):
    """Rows of one GETBULK answer (repeaters in wire order) into scan.tables; ends finished columns."""
    current, counts, done = walk
    for position, (name, answer) in enumerate(binds):
        col = active[position % len(active)]
        if col in done:
            continue
        oid = str(name)
        table, field, root = col
        if _absent(answer) or not er.oid_under(oid, root) or _arcs(oid) <= _arcs(current[col]):
            done.add(col)
            continue
        current[col] = oid
        counts[col] += 1
        if counts[col] >= MAX_ROWS:
            done.add(col)
        binary = (table, field) in _BINARY_FIELDS and hasattr(answer, "asOctets")
        value = answer.asOctets() if binary else _text(answer)
        scan.tables.setdefault(table, {}).setdefault(oid[len(root) + 1 :], {})[field] = value


async def _walk(session, columns, scan, walk=None):
    """Walk every column at once with GETBULK; rows land in scan.tables[table][index][field]."""
    walk = walk or ({col: col[2] for col in columns}, {col: 0 for col in columns}, set())
    current, _counts, done = walk
    while len(done) < len(columns):
        active = [c for c in columns if c not in done]
        err, status, _index, binds = await session.bulk(0, REPETITIONS, [current[c] for c in active])
        if err or status:
            scan.walk_error = str(err or status.prettyPrint())
            scan.timed_out = isinstance(err, errind.RequestTimedOut)  # the tables are incomplete: ask again
            return
        if not binds:
            return
        _take_rows(binds, active, walk, scan)


async def _identify_and_walk(session, oids, columns, scan):
    """One GETBULK: GETNEXT of each identification OID's parent (non-repeaters) and of one sentinel
    column per table (does the table have a row at all?). Only tables with rows are walked after. A
    device with empty tables costs this one round trip. Returns None when the agent answered with an
    error status (the caller falls back to GET + walk)."""
    device = session.device
    parents = [oid[:-2] if oid.endswith(".0") else oid for oid in oids]
    sentinels = [c for c in columns if c[1] in SENTINELS[c[0]]]
    asked = parents + [c[2] for c in sentinels]
    err, status, _index, binds = await session.bulk(len(asked), 0, asked)
    if err:
        scan.error = error_text(device, err)
        scan.timed_out = isinstance(err, errind.RequestTimedOut)
        return False
    scan.reachable = True
    if status or len(binds) < len(parents) + len(sentinels):
        return None
    for position, oid in enumerate(oids):  # (zip(strict=) is Python 3.10+)
        name, value = binds[position]
        # GETNEXT answers the next object: only the very instance asked for counts
        _record_identity(scan, oid, value if str(name) == oid else rfc1905.noSuchInstance)
    filled = set()
    for position, col in enumerate(sentinels):
        name, value = binds[len(parents) + position]
        if not _absent(value) and er.oid_under(str(name), col[2]):
            filled.add(col[0])
    if filled:
        await _walk(session, [c for c in columns if c[0] in filled], scan)
    return True


class _NoMibCompiler(object):
    """Stands in for pysmi's MIB compiler: every OID asked for is numeric, so no MIB is ever compiled,
    and building the real compiler (its grammar's parser tables) costs ~0.3 s of CPU a scan."""

    def compile(self, *names, **kwargs):
        return dict((name, "missing") for name in names)


def mib_view_without_compiler():
    """A MIB view controller for pysnmp's ``cache["mibViewController"]`` that never builds a MIB compiler."""
    import pysnmp.smi.mibs

    builder = mib_builder.MibBuilder()
    builder.set_mib_compiler(_NoMibCompiler(), os.path.dirname(pysnmp.smi.mibs.__file__))
    return mib_view.MibViewController(builder)


class AddressError(Exception):
    """An address the scan cannot send to (a name that does not resolve); the device's reason."""


async def _target(api, device, options):
    """The device's UDP target. An IPv4 or IPv6 address needs no resolver (pysnmp's create() asks one in a
    thread, and for IPv4 only); a name is resolved, IPv4, as pysnmp does."""
    address = (device["address"], device["port"])
    kwargs = {"timeout": options["timeout"], "retries": options["retries"]}
    for family, cls in ((socket.AF_INET, api.UdpTransportTarget), (socket.AF_INET6, api.Udp6TransportTarget)):
        try:
            socket.inet_pton(family, device["address"])
        except (OSError, ValueError):
            continue
        target = cls.__new__(cls)
        target.transport_address = address  # what create() sets from its resolver's answer
        target.__init__(**kwargs)
        return target
    try:
        return await api.UdpTransportTarget.create(address, **kwargs)
    except PySnmpError as exc:
        cause = getattr(exc, "__cause__", None) or exc
        raise AddressError("cannot resolve %r to an IPv4 address: %s" % (device["address"], cause)) from None


async def _scan_one(handles, device, rules, options, scan):
    api = hlapi if device["version"] == "3" else v1
    target = await _target(api, device, options)
    session = Session(handles, device, target)
    oids = list(er.SYSTEM_OIDS) + rules.probe_oids()
    columns = [(t, f, oid) for t in options["tables"] for f, oid in TABLES[t].items()]
    done = await _identify_and_walk(session, oids, columns, scan)
    if done is None:  # an error status to GETBULK: ask plainly
        scan.system, scan.probes, scan.tables = {}, {}, {}
        if await _get(session, oids, scan) and columns:
            await _walk(session, columns, scan)


async def _scan_all(devices, rules, options):
    usable = [d for d in devices if not credential_problem(d)]
    handles = {
        "engines": {},  # SNMPv3 credentials -> SnmpEngine (v3_engine)
        "pending": {},  # SNMPv3 credentials -> scans still to use them (release_v3_engine)
        "view": mib_view_without_compiler() if any(d["version"] == "3" for d in usable) else None,
        "dispatcher": v1.SnmpDispatcher() if any(d["version"] == "2c" for d in usable) else None,
    }
    scans = {d["name"]: DeviceScan(d["name"]) for d in devices}

    async def one(device, semaphore):
        problem = credential_problem(device)
        if problem:  # one device without credentials never stops the others: it is reported, unscanned
            scans[device["name"]].error = "not scanned: %s" % problem
            return
        async with semaphore:
            try:
                await _scan_one(handles, device, rules, options, scans[device["name"]])
            except AddressError as exc:
                scans[device["name"]].error = "not scanned: %s" % exc
            except Exception as exc:  # one odd device never stops the others
                scans[device["name"]].error = "scan failed: %s: %s" % (type(exc).__name__, exc)
            finally:
                if device["version"] == "3":
                    release_v3_engine(handles, device)

    try:
        first = asyncio.Semaphore(options["concurrency"])
        hold_v3_engines(handles, devices)
        await asyncio.gather(*(one(d, first) for d in devices))
        await _ask_again(devices, scans, one, options, lambda late: hold_v3_engines(handles, late))
    finally:
        for engine in handles["engines"].values():
            engine.close_dispatcher()
        if handles["dispatcher"] is not None:
            handles["dispatcher"].transport_dispatcher.close_dispatcher()
    return scans


async def _ask_again(devices, scans, one, options, hold):
    """Devices that timed out while others answered (in the identifying request or in a table walk) are
    asked once more, after the rest and fewer at a time (a quarter of the concurrency): an agent, or a
    controller, too busy for the first burst must not read as unreachable, nor lose its ENTITY rows (a
    covered module would read as clean). A device silent twice costs one more timeout."""
    late = [d for d in devices if scans[d["name"]].timed_out]
    if not late or not any(scan.reachable for scan in scans.values()):
        return
    first_errors = {}
    for device in late:
        first_errors[device["name"]] = scans[device["name"]].error
        scans[device["name"]] = DeviceScan(device["name"])
    semaphore = asyncio.Semaphore(max(1, options["concurrency"] // 4))
    hold(late)
    await asyncio.gather(*(one(d, semaphore) for d in late))
    for device in late:
        scan = scans[device["name"]]
        again = " (asked twice, the second time after the other devices)"
        if not scan.reachable and scan.timed_out:
            scan.error = "%s%s" % (first_errors[device["name"]], again)
        elif scan.walk_error and scan.timed_out:
            scan.walk_error += again


def scan_all(devices, rules, options):
    """Scan every device; ``options`` has timeout, retries, concurrency and tables. {name: DeviceScan}."""
    if not devices:
        return {}
    return asyncio.run(_scan_all(devices, rules, dict(options, tables=list(options["tables"]))))


# --------------------------------------------------------------------------- tables -> MACs
def _ip_from_index(index):
    arcs = index.split(".")
    return ".".join(arcs[-4:]) if len(arcs) >= 5 else None


def collect_macs(scans, neighbour_tables):
    """{mac: {"mac", "addresses", "seen_by"}} from SNMP ARP/forwarding tables and hosts' neighbour tables."""
    found = {}

    def add(mac, address, host, source):
        mac = er.normalise_mac(mac)
        if mac is None or mac == "00:00:00:00:00:00":
            return
        item = found.setdefault(mac, {"mac": mac, "addresses": [], "seen_by": []})
        if address and address not in item["addresses"]:
            item["addresses"].append(address)
        sighting = {"host": host, "source": source, "address": address}
        if sighting not in item["seen_by"] and len(item["seen_by"]) < 20:
            item["seen_by"].append(sighting)

    for name, scan in sorted(scans.items()):
        for index, row in sorted(scan.tables.get("arp", {}).items()):
            add(row.get("mac"), _ip_from_index(index), name, "arp")
        for index, row in sorted(scan.tables.get("fdb", {}).items()):
            if "mac" in row:
                add(row["mac"], None, name, "fdb")
            elif "qport" in row:
                arcs = index.split(".")[-6:]
                if len(arcs) == 6:
                    add(bytes(int(a) & 0xFF for a in arcs), None, name, "fdb")
    for table in neighbour_tables:
        for entry in table.get("entries") or []:
            if isinstance(entry, dict) and entry.get("lladdr"):
                add(entry["lladdr"], entry.get("dst"), table["host"], "ip-neigh")
    return found
