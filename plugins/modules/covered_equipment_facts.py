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
      invalid:
        description:
          - Why the device's inventory values cannot be used (a port that is not one, an unknown protocol); set
            by the action plugin. Such a device is reported C(unreachable) with this reason and sent nothing;
            the other devices are scanned.
        type: str
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
  - A device that timed out (identifying request or table walk) while others answered is asked once more,
    after the rest and with a quarter of O(concurrency), so that a busy agent or controller is not taken
    for an unreachable device, nor loses the ENTITY rows that show a covered module.
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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_scan as es
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_snmp as snmp


def main():
    # The action plugin of the same name runs the same scan in its own process and sends this module
    # only when it cannot (a task delegated elsewhere, pysnmp only in ansible_python_interpreter).
    module = AnsibleModule(argument_spec=es.argument_spec(), supports_check_mode=True)
    if not snmp.HAS_PYSNMP:
        module.fail_json(msg=missing_required_lib("pysnmp>=7.1"), exception=snmp.PYSNMP_IMPORT_ERROR)
    try:
        result = es.scan(module.params)
    except es.ScanError as exc:
        extra = {"exception": exc.details} if exc.details else {}
        module.fail_json(msg=str(exc), **extra)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
