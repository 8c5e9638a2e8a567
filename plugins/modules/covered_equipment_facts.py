#!/usr/bin/python
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
module: covered_equipment_facts
short_description: Find Covered List network equipment over SNMP and in neighbour tables
version_added: 0.2.0
author:
  - ripreplace developers (@ripreplace)
description:
  - Identifies Huawei, ZTE, Hikvision, Dahua, Hytera and other covered equipment from the network,
    reading only. Runs on the controller (C(delegate_to=localhost), C(run_once=true)); the
    action plugin of the same name builds O(devices) from the play's hosts in the group
    C(snmp_devices) (address C(ansible_host), credentials C(snmp_community) or C(snmp_v3_*)), the
    neighbour tables registered on the play's other hosts and the catalog's equipment rules.
  - Per device, one SNMP GET (sysDescr, sysObjectID, sysName, sysLocation and every vendor probe
    OID of the catalog), then GETBULK walks of ENTITY-MIB (manufacturer, model, serial, software),
    LLDP-MIB remote systems, the ARP table and the BRIDGE/Q-BRIDGE forwarding tables. All devices
    are scanned concurrently (asyncio).
  - Evidence and confidence. C(snmp_sysobjectid) (under a vendor's enterprise number, whole arcs),
    C(snmp_sysdescr) and C(snmp_probe) (a vendor OID that answers; a Hikvision camera answers an
    empty sysObjectID and is found only so) are high; C(entity) (a covered manufacturer's module in
    any chassis) and C(lldp) (a neighbour's remote system description) are medium; C(oui) (a MAC
    prefix of a covered organisation, in a neighbour, ARP or forwarding table) and the lwIP
    enterprise number 26381 are low.
  - Device status. C(covered) when a finding is not for review; C(review) when every finding is low
    (OUI-only, 26381-only) or belongs to a purpose-limited entry (Hikvision, Dahua, Hytera are covered
    only when used for public safety, government facilities, critical infrastructure or national
    security; C(purpose_review) is set unless the device's C(covered_purpose) is true); C(clean) when
    the device answered and nothing matched; C(unreachable) when it did not answer. MACs of covered
    organisations seen in tables but at no scanned address become devices of their own, named
    C(mac:XX:XX:XX:XX:XX:XX) (status C(review)); LLDP neighbours matched by their system description
    become C(lldp:NAME).
  - Credentials (O(devices[].community), O(devices[].v3_auth_key), O(devices[].v3_priv_key)) are
    C(no_log) - Ansible masks them in every result and log.
requirements:
  - On the controller's Python that runs the module (C(ansible_playbook_python) for the implicit
    localhost) - pysnmp >= 7.1 (asyncio API), and for OUI matches either netaddr (its bundled IEEE
    registry) or Debian's C(ieee-data) files (O(oui_files)). Nothing is downloaded at run time.
  - Root (CAP_SYS_ADMIN) only when O(netns) is set.
options:
  catalogs:
    description: Site catalogs added to the bundled one (read by the action plugin on the controller).
    type: list
    elements: path
    default: []
  bundled_catalog:
    description: Use the bundled catalog (read by the action plugin).
    type: bool
    default: true
  device_group:
    description: The inventory group whose hosts of the play are the SNMP devices, without O(devices) (action plugin).
    type: str
    default: snmp_devices
  neighbour_var:
    description:
      - Variable registered on the play's other hosts with the output of C(ip -json neigh show) (action plugin).
    type: str
    default: equipment_neighbour_table
  devices:
    description: The devices to scan. The action plugin fills this from the inventory when omitted.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Inventory name of the device., type: str, required: true}
      address: {description: IPv4 address or name to query., type: str, required: true}
      port: {description: UDP port., type: int, default: 161}
      version: {description: SNMP version., type: str, choices: ['2c', '3'], default: '2c'}
      community: {description: SNMPv2c community (no_log)., type: str}
      v3_user: {description: SNMPv3 user name., type: str}
      v3_auth_key: {description: SNMPv3 authentication passphrase (no_log)., type: str}
      v3_auth_protocol:
        description: SNMPv3 authentication protocol.
        type: str
        choices: [md5, sha, sha224, sha256, sha384, sha512]
        default: sha
      v3_priv_key: {description: SNMPv3 privacy passphrase (no_log)., type: str}
      v3_priv_protocol:
        description: SNMPv3 privacy protocol.
        type: str
        choices: [des, 3des, aes, aes192, aes256]
        default: aes
      v3_context: {description: SNMPv3 context name., type: str, default: ''}
      site: {description: Where the device is (reports total by site); default its sysLocation., type: str}
      covered_purpose:
        description:
          - The site says this device serves a purpose the Covered List names for purpose-limited
            entries (public safety, government facilities, critical infrastructure, national
            security). Then such findings are C(covered), not C(review).
        type: bool
  neighbour_tables:
    description: Neighbour tables of managed hosts (C(ip -json neigh show)), one item per host.
    type: list
    elements: dict
    default: []
    suboptions:
      host: {description: The host that reported the table., type: str, required: true}
      entries:
        description: "Items with C(dst) and C(lladdr) (the C(ip -json neigh) shape)."
        type: list
        elements: dict
  compiled_rules:
    description:
      - Equipment rules compiled from the catalogs by the action plugin (C(ripreplace-equipment-rules/1)).
      - Set by the action plugin; a task never gives it.
    type: dict
    required: true
  netns:
    description:
      - Network namespace (a name under C(/run/netns) or a path) to send every SNMP packet from, such as
        a management VRF's namespace; the lab sets its control namespace here.
    type: str
  timeout: {description: Seconds to wait for each SNMP answer., type: float, default: 2.0}
  retries: {description: Retries of an unanswered SNMP request., type: int, default: 1}
  concurrency: {description: Devices scanned at once., type: int, default: 64}
  walk:
    description: Tables to walk on devices that answer.
    type: list
    elements: str
    choices: [entity, lldp, arp, fdb]
    default: [entity, lldp, arp, fdb]
  oui_files:
    description:
      - IEEE registry files (C(oui.txt), C(mam.txt), C(oui36.txt) format). Default - netaddr's bundled
        C(oui.txt), plus Debian's C(/usr/share/ieee-data/mam.txt) and C(oui36.txt) when present.
    type: list
    elements: path
    default: []
attributes:
  check_mode: {support: full, description: Reads only; the same in check mode.}
  diff_mode: {support: none, description: Changes nothing.}
notes:
  - Exit status of the scan is data, not failure - an unreachable device is reported, never fails the task.
"""

EXAMPLES = r"""
- name: EQUIPMENT | Identify covered equipment
  ripreplace.remediation.covered_equipment_facts:
  delegate_to: localhost
  run_once: true

- name: EQUIPMENT | Scan one switch directly
  ripreplace.remediation.covered_equipment_facts:
    compiled_rules: "{{ rules }}"
    devices:
      - {name: core1, address: 192.0.2.10, community: "{{ vault_snmp_community }}"}
  delegate_to: localhost
"""

RETURN = r"""
ansible_facts:
  description: Facts under C(covered_equipment).
  returned: always
  type: dict
  contains:
    covered_equipment:
      description: C(format), C(devices) (name to record - status, reason, address, reachable, vendor, model,
        firmware, serial, site, sysobjectid, sysdescr, sysname, findings, discovered, seen_by),
        C(oui_registry) and C(scanned) counts.
      type: dict
      returned: always
findings:
  description: One line per device - name, status and the catalog ids found (the audit log records it).
  type: list
  elements: dict
  returned: always
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_rules as er
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_snmp as snmp

FACTS_FORMAT = "ripreplace-equipment/1"
CLONE_NEWNET = 0x40000000


def enter_netns(name):
    """Move this process into a network namespace before any socket is opened."""
    path = name if name.startswith("/") else os.path.join("/run/netns", name)
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "setns"):
            os.setns(fd, CLONE_NEWNET)
        else:  # Python < 3.12
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def default_oui_files():
    files = []
    try:
        import importlib.util

        spec = importlib.util.find_spec("netaddr")
        if spec is not None and spec.origin:
            candidate = os.path.join(os.path.dirname(spec.origin), "eui", "oui.txt")
            if os.path.isfile(candidate):
                files.append(candidate)
    except ImportError:
        pass
    if not files and os.path.isfile("/usr/share/ieee-data/oui.txt"):
        files.append("/usr/share/ieee-data/oui.txt")
    for name in ("mam.txt", "oui36.txt"):
        path = os.path.join("/usr/share/ieee-data", name)
        if os.path.isfile(path):
            files.append(path)
    return files


def argument_spec():
    """The module's options (devices and their credentials, neighbour tables, scan bounds)."""
    device_spec = dict(
        name=dict(type="str", required=True),
        address=dict(type="str", required=True),
        port=dict(type="int", default=161),
        version=dict(type="str", choices=["2c", "3"], default="2c"),
        community=dict(type="str", no_log=True),
        v3_user=dict(type="str"),
        v3_auth_key=dict(type="str", no_log=True),
        v3_auth_protocol=dict(type="str", choices=list(snmp.AUTH_PROTOCOLS), default="sha"),
        v3_priv_key=dict(type="str", no_log=True),
        v3_priv_protocol=dict(type="str", choices=list(snmp.PRIV_PROTOCOLS), default="aes"),
        v3_context=dict(type="str", default=""),
        site=dict(type="str"),
        covered_purpose=dict(type="bool"),
    )
    return dict(
        devices=dict(type="list", elements="dict", default=[], options=device_spec),
        neighbour_tables=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(host=dict(type="str", required=True), entries=dict(type="list", elements="dict")),
        ),
        compiled_rules=dict(type="dict", required=True),
        # read by the action plugin on the controller (documented here, never sent to the module)
        catalogs=dict(type="list", elements="path", default=[]),
        bundled_catalog=dict(type="bool", default=True),
        device_group=dict(type="str", default="snmp_devices"),
        neighbour_var=dict(type="str", default="equipment_neighbour_table"),
        netns=dict(type="str"),
        timeout=dict(type="float", default=2.0),
        retries=dict(type="int", default=1),
        concurrency=dict(type="int", default=64),
        walk=dict(type="list", elements="str", choices=["entity", "lldp", "arp", "fdb"], default=list(snmp.TABLES)),
        oui_files=dict(type="list", elements="path", default=[]),
    )


def load_oui_registry(module, rules, macs):
    """The OUI registry, read only when there are MACs to match and OUI rules to match them with."""
    if not (macs and rules.has_oui_rules()):
        return None
    registry = er.OuiRegistry()
    wanted = rules.oui_wanted()
    for path in module.params["oui_files"] or default_oui_files():
        try:
            registry.load(path, wanted)
        except OSError as exc:
            module.fail_json(msg="cannot read the OUI registry %s: %s" % (path, exc.strerror or exc))
    return registry


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not snmp.HAS_PYSNMP:
        module.fail_json(msg=missing_required_lib("pysnmp>=7.1"), exception=snmp.PYSNMP_IMPORT_ERROR)
    params = module.params
    if params["timeout"] <= 0 or params["retries"] < 0 or params["concurrency"] < 1:
        module.fail_json(msg="timeout must be > 0, retries >= 0 and concurrency >= 1")
    if params["netns"]:
        try:
            enter_netns(params["netns"])
        except OSError as exc:
            module.fail_json(msg="cannot enter network namespace %s: %s" % (params["netns"], exc.strerror or exc))
    rules = er.Rules(params["compiled_rules"])
    try:
        options = {k: params[k] for k in ("timeout", "retries", "concurrency")}
        scans = snmp.scan_all(params["devices"], rules, dict(options, tables=params["walk"]))
    except Exception as exc:  # a bug in the scanner must say so, with the traceback, not hang or vanish
        module.fail_json(msg="the SNMP scan failed: %s" % exc, exception=traceback.format_exc())
    macs = snmp.collect_macs(scans, params["neighbour_tables"])
    registry = load_oui_registry(module, rules, macs)
    devices, excluded = er.build_devices(params["devices"], scans, macs, rules, registry)
    facts = {
        "format": FACTS_FORMAT,
        "devices": devices,
        "oui_registry": registry.files if registry is not None else [],
        "oui_excluded": excluded,
        "neighbour_tables": [
            {"host": t["host"], "entries": len(t.get("entries") or [])} for t in params["neighbour_tables"]
        ],
        "scanned": er.counts(devices),
    }
    lines = [
        {
            "device": name,
            "status": record["status"],
            "catalog_ids": [f["catalog_id"] for f in record["findings"]],
        }
        for name, record in devices.items()
    ]
    module.exit_json(
        changed=False, ansible_facts={"covered_equipment": facts}, findings=lines, invocation=_invocation(params)
    )


def _invocation(params):
    """The arguments as the result echoes them: devices by name and address (never a credential, not
    even masked) and the rules by catalog id, so a 1,000-device result does not carry its input twice."""
    args = {k: v for k, v in params.items() if k not in ("devices", "compiled_rules", "neighbour_tables")}
    args["devices"] = [{"name": d["name"], "address": d["address"], "version": d["version"]} for d in params["devices"]]
    args["compiled_rules"] = {
        "format": params["compiled_rules"].get("format"),
        "entries": [e.get("id") for e in params["compiled_rules"].get("entries", [])],
    }
    args["neighbour_tables"] = [t["host"] for t in params["neighbour_tables"]]
    return {"module_args": args}


if __name__ == "__main__":
    main()
