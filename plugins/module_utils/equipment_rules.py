# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Classification of network equipment for ripreplace.remediation.covered_equipment_facts.

Pure functions over what a scan read (SNMP values, ENTITY-MIB and LLDP rows, neighbour-table
MACs) and the catalog's compiled equipment rules (``ripreplace-equipment-rules/1``). No I/O
except reading the IEEE MAC registry files; standard library only, Python 3.9 syntax.

A finding keeps covered_facts' nested shape: catalog_id, vendor, product, covered_list {entry,
added, sources}, state, confidence, review, purpose_review, evidence [{kind, value, confidence,
details}]. Confidence of a finding is the highest of its evidence. A finding is ``review`` when
that is ``low`` (a MAC OUI alone, the lwIP 26381 tree alone) or when its entry is purpose-limited
(Hikvision, Dahua, Hytera) and the site has not said the device serves a covered purpose; the
latter also sets ``purpose_review``.
"""

from __future__ import annotations

import re

RANK = {"low": 0, "medium": 1, "high": 2}
STATE = "installed"
SYSDESCR_OID = "1.3.6.1.2.1.1.1.0"
SYSOBJECTID_OID = "1.3.6.1.2.1.1.2.0"
SYSNAME_OID = "1.3.6.1.2.1.1.5.0"
SYSLOCATION_OID = "1.3.6.1.2.1.1.6.0"
SYSTEM_OIDS = (SYSDESCR_OID, SYSOBJECTID_OID, SYSNAME_OID, SYSLOCATION_OID)
_MAC = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$")
_VERSION = re.compile(r"(?i)\bversion\s+(v?[0-9][\w.()-]*)")


def oid_under(oid, prefix):
    """True when ``oid`` is ``prefix`` or lies under it by whole arcs (2011 never matches 20110)."""
    oid = (oid or "").lstrip(".")
    prefix = prefix.lstrip(".")
    return oid == prefix or oid.startswith(prefix + ".")


def normalise_mac(value):
    """'00-E0-FC-12-34-56' / '00e0.fc12.3456' / raw 6 bytes -> '00:e0:fc:12:34:56', else None."""
    if isinstance(value, (bytes, bytearray)):
        return ":".join("%02x" % b for b in value) if len(value) == 6 else None
    text = str(value or "").strip().lower()
    if text.startswith("0x") and len(text) == 14:
        text = text[2:]
    digits = re.sub(r"[^0-9a-f]", "", text)
    if len(digits) != 12 or not (_MAC.match(text) or "." in text or len(text) == 12):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


# --------------------------------------------------------------------------- the IEEE registry
class OuiRegistry(object):
    """MA-L, MA-M and MA-S assignments of the organisations some rule or exclusion names.

    Reads IEEE ``oui.txt``-style files (netaddr's bundled copy, Debian's ieee-data ``oui.txt``,
    ``mam.txt``, ``oui36.txt``): a ``XX-XX-XX (hex) ORG`` line, then ``XXXXXX (base 16)`` (MA-L) or
    ``X00000-XFFFFF (base 16)`` (MA-M / MA-S blocks under that prefix). Only organisations that
    match ``wanted`` (one compiled regex) are kept, so parsing stays cheap.
    """

    _HEX = re.compile(r"^\s*([0-9A-Fa-f]{2})-([0-9A-Fa-f]{2})-([0-9A-Fa-f]{2})\s+\(hex\)\s+(.*?)\s*$")
    _BASE16 = re.compile(r"^\s*([0-9A-Fa-f]{6})(?:-([0-9A-Fa-f]{6}))?\s+\(base 16\)")

    def __init__(self):
        self.blocks = {24: {}, 28: {}, 36: {}}  # bits -> {prefix int: organisation}
        self.files = []

    def load(self, path, wanted):
        kept = 0
        pending = None
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if "(hex)" in line:  # a cheap test first: most lines are addresses
                    match = self._HEX.match(line)
                    if match:
                        org = match.group(4)
                        pending = (int("".join(match.group(1, 2, 3)), 16), org) if wanted.search(org) else None
                    continue
                if pending is None or "(base 16)" not in line:
                    continue
                match = self._BASE16.match(line)
                if not match:
                    continue
                top, org = pending
                pending = None
                low, high = match.group(1), match.group(2)
                if high is None:
                    self.blocks[24][top] = org
                else:
                    # the lower 24 bits: 100000-1FFFFF is a 28-bit block, ABC000-ABCFFF a 36-bit one
                    free = len(high) - len(high.upper().rstrip("F"))
                    bits = 24 + (6 - free) * 4
                    if bits in (28, 36):
                        self.blocks[bits][(top << (bits - 24)) | (int(low, 16) >> (48 - bits))] = org
                kept += 1
        self.files.append({"path": str(path), "kept": kept})
        return kept

    def lookup(self, mac):
        value = int(mac.replace(":", ""), 16)
        for bits in (36, 28, 24):
            org = self.blocks[bits].get(value >> (48 - bits))
            if org is not None:
                return org, bits
        return None, None


# --------------------------------------------------------------------------- rules
_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _scoped(pattern):
    """A pattern whose leading global flags ``(?i)`` become scoped ``(?i:...)``, so patterns can be joined."""
    match = _GLOBAL_FLAGS.match(pattern)
    if match:
        return "(?%s:%s)" % (match.group(1), pattern[match.end() :])
    return "(?:%s)" % pattern


class Rules(object):
    """Compiled rules of every equipment entry, and the matching of one observation at a time."""

    def __init__(self, compiled):
        self.entries = compiled.get("entries", [])
        self._re = {}
        for entry in self.entries:
            rules = entry["rules"]
            for kind, key in (("sysdescr_regex", "pattern"), ("entity_mfg_regex", "pattern")):
                for rule in rules.get(kind, []):
                    self._re[id(rule)] = re.compile(rule[key])
            for rule in rules.get("probe", []):
                self._re[id(rule)] = re.compile(rule.get("value_regex") or r"\S")
            for kind in ("oui_organizations", "oui_exclude"):
                for rule in rules.get(kind, []):
                    self._re[id(rule)] = re.compile(rule["organization"])

    def probe_oids(self):
        out = []
        for entry in self.entries:
            for rule in entry["rules"].get("probe", []):
                if rule["oid"] not in out:
                    out.append(rule["oid"])
        return out

    def oui_wanted(self):
        """One regex matching every organisation a rule or an exclusion names (to filter the registry)."""
        parts = []
        for entry in self.entries:
            for kind in ("oui_organizations", "oui_exclude"):
                parts.extend(_scoped(r["organization"]) for r in entry["rules"].get(kind, []))
        return re.compile("|".join(parts) if parts else r"(?!)")

    def has_oui_rules(self):
        return any(entry["rules"].get("oui_organizations") for entry in self.entries)

    def match_system(self, sysobjectid, sysdescr, probes):
        """[(entry, kind, value, rule, details)] for sysObjectID, sysDescr and vendor probes."""
        hits = []
        for entry in self.entries:
            rules = entry["rules"]
            best = None
            for rule in rules.get("sysobjectid_prefix", []):
                more_specific = best is None or len(rule["prefix"]) > len(best["prefix"])
                if sysobjectid and oid_under(sysobjectid, rule["prefix"]) and more_specific:
                    best = rule  # the most specific subtree names the family (an OLT line)
            if best is not None:
                details = {"prefix": best["prefix"], "label": best.get("label")}
                hits.append((entry, "snmp_sysobjectid", sysobjectid, best, details))
            for rule in rules.get("sysdescr_regex", []):
                if sysdescr and self._re[id(rule)].search(sysdescr):
                    hits.append((entry, "snmp_sysdescr", sysdescr, rule, {"pattern": rule["pattern"]}))
                    break
            for rule in rules.get("probe", []):
                value = probes.get(rule["oid"])
                if value in (None, ""):
                    continue
                if rule.get("when_sysobjectid_empty") and sysobjectid:
                    continue
                if self._re[id(rule)].search(value):
                    details = {"oid": rule["oid"], "model": bool(rule.get("model"))}
                    hits.append((entry, "snmp_probe", value, rule, details))
        return hits

    def match_entity(self, rows):
        """ENTITY-MIB rows whose manufacturer a rule names: a covered module in any chassis."""
        hits = []
        for row in rows:
            mfg = row.get("mfg") or ""
            if not mfg:
                continue
            for entry in self.entries:
                for rule in entry["rules"].get("entity_mfg_regex", []):
                    if self._re[id(rule)].search(mfg):
                        details = {k: row.get(k) for k in ("index", "descr", "model", "serial") if row.get(k)}
                        hits.append((entry, "entity", mfg, rule, details))
                        break
        return hits

    def match_sysdescr(self, text):
        """(entry, rule) of the first sysDescr rule matching an LLDP neighbour's remote SysDesc."""
        for entry in self.entries:
            for rule in entry["rules"].get("sysdescr_regex", []):
                if text and self._re[id(rule)].search(text):
                    return entry, rule
        return None, None

    def match_oui(self, org):
        """(entry, rule, exclusion) for a registry organisation; an exclusion wins over every rule."""
        for entry in self.entries:
            for rule in entry["rules"].get("oui_exclude", []):
                if self._re[id(rule)].search(org):
                    return None, None, {"organization": org, "reason": rule["reason"], "catalog_id": entry["id"]}
        for entry in self.entries:
            for rule in entry["rules"].get("oui_organizations", []):
                if self._re[id(rule)].match(org):
                    return entry, rule, None
        return None, None, None


# --------------------------------------------------------------------------- findings
def _cap(confidence, ceiling):
    return confidence if RANK[confidence] <= RANK[ceiling] else ceiling


def add_evidence(findings, entry, hit, ceiling="high"):
    """Add one piece of evidence, ``hit`` = (kind, value, rule, details), to ``entry``'s finding in ``findings``."""
    kind, value, rule, details = hit
    finding = findings.get(entry["id"])
    if finding is None:
        finding = {
            "catalog_id": entry["id"],
            "vendor": entry["vendor"],
            "product": entry["product"],
            "covered_list": dict(entry["covered_list"]),
            "state": STATE,
            "confidence": "low",
            "review": True,
            "purpose_review": False,
            "evidence": [],
        }
        findings[entry["id"]] = finding
    confidence = _cap(rule.get("confidence", "low"), ceiling)
    evidence = {
        "kind": kind,
        "value": str(value),
        "confidence": confidence,
        "source": rule["source"],
        "details": {k: v for k, v in details.items() if v is not None},
    }
    if evidence not in finding["evidence"]:
        finding["evidence"].append(evidence)
    if RANK[confidence] > RANK[finding["confidence"]]:
        finding["confidence"] = confidence
    return finding


def judge(findings, entries_by_id, covered_purpose):
    """Set review/purpose_review on each finding; return them sorted (actionable first)."""
    out = []
    for finding in findings.values():
        entry = entries_by_id[finding["catalog_id"]]
        purpose = bool(entry.get("purpose_limited")) and covered_purpose is not True
        finding["purpose_review"] = purpose
        finding["review"] = finding["confidence"] == "low" or purpose
        out.append(finding)
    out.sort(key=lambda f: (f["review"], -RANK[f["confidence"]], f["catalog_id"]))
    return out


def status_of(reachable, findings):
    if any(not f["review"] for f in findings):
        return "covered"
    if findings:
        return "review"
    return "clean" if reachable else "unreachable"


def reason_of(status, record, findings):
    reachable, error = record["reachable"], record["error"]
    if status == "unreachable":
        return error or "no SNMP answer"
    if status == "review":
        kinds = sorted({e["kind"] for f in findings for e in f["evidence"]})
        parts = []
        if all(f["purpose_review"] for f in findings) and any(f["confidence"] != "low" for f in findings):
            parts.append(
                "purpose-limited Covered List entry: covered only if used for public safety, "
                "government facilities, critical infrastructure or national security"
            )
        if all(f["confidence"] == "low" for f in findings):
            if kinds == ["oui"]:
                parts.append("OUI-only, unidentified: a MAC prefix alone is never proof")
            else:
                parts.append("low-confidence evidence only (%s): never sufficient alone" % ", ".join(kinds))
        if not reachable and not record["discovered"]:
            parts.append("no SNMP answer (%s)" % (error or "timeout"))
        return "; ".join(parts) or None
    return None


def describe_device(record, probes, entity_rows, rules):
    """vendor, model, firmware, serial of a device from what it answered and its judged findings."""
    sysdescr = record["sysdescr"]
    findings = record["findings"]
    vendor = model = firmware = serial = None
    actionable = [f for f in findings if not f["review"]] or findings
    if actionable:
        vendor = actionable[0]["vendor"]
    for entry in rules.entries:
        for rule in entry["rules"].get("probe", []):
            value = probes.get(rule["oid"])
            if rule.get("model") and value:
                model = model or value
    chassis = [r for r in entity_rows if r.get("model") or r.get("serial")]
    if chassis:
        first = chassis[0]
        model = model or first.get("model")
        serial = first.get("serial")
        firmware = first.get("software")
        vendor = vendor or first.get("mfg")
    if firmware is None and sysdescr:
        match = _VERSION.search(sysdescr)
        firmware = match.group(1) if match else None
    return {"vendor": vendor, "model": model, "firmware": firmware, "serial": serial}


# --------------------------------------------------------------------------- devices
def _entity_rows(scan):
    rows = []
    for index, row in sorted(scan.tables.get("entity", {}).items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
        rows.append(dict(row, index=index))
    return rows


def _new_device(name, address, **extra):
    record = {
        "name": name,
        "address": address,
        "reachable": False,
        "error": None,
        "sysobjectid": None,
        "sysdescr": None,
        "sysname": None,
        "site": None,
        "vendor": None,
        "model": None,
        "firmware": None,
        "serial": None,
        "discovered": False,
        "findings": {},
    }
    record.update(extra)
    return record


def _scanned_device(device, scan, rules):
    system = scan.system
    record = _new_device(device["name"], device["address"], reachable=scan.reachable, error=scan.error)
    record.update(
        sysobjectid=system.get("sysobjectid"),
        sysdescr=system.get("sysdescr"),
        sysname=system.get("sysname"),
        site=device.get("site") or system.get("syslocation") or None,
        snmp_version=device["version"],
        covered_purpose=device.get("covered_purpose"),
    )
    if scan.walk_error:
        record["walk_error"] = scan.walk_error
    entity = _entity_rows(scan)
    record["entity"] = [r for r in entity if r.get("mfg") or r.get("model") or r.get("serial")][:50]
    hits = rules.match_system(system.get("sysobjectid") or "", system.get("sysdescr") or "", scan.probes)
    for hit in hits:
        add_evidence(record["findings"], hit[0], hit[1:])
    for hit in rules.match_entity(entity):
        add_evidence(record["findings"], hit[0], hit[1:], ceiling="medium")
    record["_probes"] = scan.probes
    record["_entity"] = entity
    return record


def _lldp_neighbours(records, scans, rules):
    for name, scan in sorted(scans.items()):
        for index, row in sorted(scan.tables.get("lldp", {}).items()):
            entry, rule = rules.match_sysdescr(row.get("sysdesc"))
            if entry is None:
                continue
            chassis = row.get("chassis")
            chassis_text = normalise_mac(chassis) if isinstance(chassis, bytes) else chassis
            if chassis_text is None and isinstance(chassis, bytes):
                chassis_text = chassis.decode("utf-8", "replace")
            key = "lldp:%s" % (row.get("sysname") or chassis_text or "%s-%s" % (name, index))
            record = records.setdefault(key, _new_device(key, None, discovered=True, seen_by=[]))
            record["sysname"] = record["sysname"] or row.get("sysname")
            record["sysdescr"] = record["sysdescr"] or row.get("sysdesc")
            details = {"reported_by": name, "sysname": row.get("sysname"), "chassis_id": chassis_text}
            add_evidence(record["findings"], entry, ("lldp", row.get("sysdesc"), rule, details), ceiling="medium")
            sighting = {"host": name, "source": "lldp", "address": None}
            if sighting not in record["seen_by"]:
                record["seen_by"].append(sighting)


def _oui_evidence(records, macs, rules, registry):
    by_address = {}
    for record in records.values():
        if record["address"] and not record["discovered"]:
            by_address.setdefault(record["address"], record)
    excluded = []
    for mac, item in sorted(macs.items()):
        org, bits = registry.lookup(mac)
        if org is None:
            continue
        entry, rule, exclusion = rules.match_oui(org)
        if exclusion is not None:
            excluded.append(dict(exclusion, mac=mac))
            continue
        if entry is None:
            continue
        details = {"organization": org, "prefix_bits": bits, "seen_by": item["seen_by"], "addresses": item["addresses"]}
        target = next((by_address[a] for a in item["addresses"] if a in by_address), None)
        if target is None:
            key = "mac:%s" % mac
            target = records.setdefault(
                key, _new_device(key, item["addresses"][0] if item["addresses"] else None, discovered=True)
            )
            target["seen_by"] = item["seen_by"]
            target["mac"] = mac
        add_evidence(target["findings"], entry, ("oui", mac, rule, details), ceiling="low")
    return excluded


def build_devices(devices, scans, macs, rules, registry, *, tables=("entity",)):
    """Every scanned device and every discovered neighbour, judged: ({name: record}, [OUI look-alikes excluded]).

    ``tables`` are the tables the scan walked. A device that answered but whose walk failed (asked twice)
    with ENTITY-MIB among them is never ``clean``: its modules were not all read, and a covered module in
    it would not be seen; it is ``review``, with the reason.
    """
    entries_by_id = {e["id"]: e for e in rules.entries}
    records = {}
    for device in devices:
        records[device["name"]] = _scanned_device(device, scans[device["name"]], rules)
    _lldp_neighbours(records, scans, rules)
    excluded = _oui_evidence(records, macs, rules, registry) if registry is not None else []
    for record in records.values():
        findings = judge(record["findings"], entries_by_id, record.get("covered_purpose"))
        record["findings"] = findings
        record.update(describe_device(record, record.pop("_probes", {}), record.pop("_entity", []), rules))
        record["status"] = status_of(record["reachable"], findings)
        record["reason"] = reason_of(record["status"], record, findings)
        if record["status"] == "clean" and record.get("walk_error") and "entity" in tables:
            record["status"] = "review"
            record["reason"] = (
                "scan incomplete: the table walk failed (%s), so its ENTITY-MIB modules were not all read and "
                "a covered module in it would not be seen" % record["walk_error"]
            )
    return dict(sorted(records.items())), excluded


def counts(devices):
    by_status = {}
    by_entry = {}
    for record in devices.values():
        by_status[record["status"]] = by_status.get(record["status"], 0) + 1
        for finding in record["findings"]:
            by_entry[finding["catalog_id"]] = by_entry.get(finding["catalog_id"], 0) + 1
    return {
        "devices": sum(1 for r in devices.values() if not r["discovered"]),
        "discovered": sum(1 for r in devices.values() if r["discovered"]),
        "status": dict(sorted(by_status.items())),
        "findings": dict(sorted(by_entry.items())),
    }
