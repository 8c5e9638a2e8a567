# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Controller side of ripreplace.remediation.covered_equipment_facts.

Compiles the catalogs' equipment rules, and, unless the task names its devices, builds the device
list from the play's hosts in ``device_group`` (default ``snmp_devices``): address
``ansible_host``, SNMPv2c ``snmp_community`` or SNMPv3 ``snmp_v3_user``/``snmp_v3_auth_key``/
``snmp_v3_auth_protocol``/``snmp_v3_priv_key``/``snmp_v3_priv_protocol``/``snmp_v3_context``,
``snmp_port``, ``site``, ``covered_purpose``; the network namespace from ``snmp_netns``. The
neighbour tables come from the variable ``neighbour_var`` registered on the play's other hosts
(``ip -json neigh show``). Credentials are read from host variables here, so they never appear
in the task's arguments; the module declares them ``no_log``.
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.ripreplace.remediation.plugins.plugin_utils import catalog as catalog_utils

MODULE = "ripreplace.remediation.covered_equipment_facts"
PASSED = ("timeout", "retries", "concurrency", "walk", "oui_files")
_V3 = {
    "v3_user": "snmp_v3_user",
    "v3_auth_key": "snmp_v3_auth_key",
    "v3_auth_protocol": "snmp_v3_auth_protocol",
    "v3_priv_key": "snmp_v3_priv_key",
    "v3_priv_protocol": "snmp_v3_priv_protocol",
    "v3_context": "snmp_v3_context",
}


def _plain(value):
    """A host variable as plain data (tagged/lazy template values become str, int, bool)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def device_from_hostvars(name, hv):
    device = {"name": name, "address": _plain(hv.get("ansible_host")) or name}
    if hv.get("snmp_port") is not None:
        device["port"] = int(hv["snmp_port"])
    if hv.get("snmp_v3_user"):
        device["version"] = "3"
        for key, var in _V3.items():
            if hv.get(var) is not None:
                device[key] = _plain(hv[var])
    else:
        device["version"] = "2c"
        if hv.get("snmp_community") is not None:
            device["community"] = _plain(hv["snmp_community"])
    site = hv.get("site") or hv.get("snmp_site")
    if site:
        device["site"] = _plain(site)
    if hv.get("covered_purpose") is not None:
        device["covered_purpose"] = bool(hv["covered_purpose"])
    return device


def neighbour_table(host, registered):
    """(table, source status) from what ``ip -json neigh show`` left in the registered variable."""
    if not isinstance(registered, dict):
        return None, {"status": "not read", "reason": "no neighbour table was registered (host unreachable or skipped)"}
    if registered.get("failed") or registered.get("rc", 0) != 0:
        reason = registered.get("msg") or registered.get("stderr") or "rc=%s" % registered.get("rc")
        return None, {"status": "failed", "reason": " ".join(str(reason).split())[:300]}
    try:
        entries = json.loads(registered.get("stdout") or "[]")
    except ValueError as exc:
        return None, {"status": "failed", "reason": "ip -json neigh gave no JSON: %s" % exc}
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    rows = [{"dst": str(e.get("dst", "")), "lladdr": str(e["lladdr"])} for e in entries if e.get("lladdr")]
    return {"host": host, "entries": rows}, {"status": "read", "entries": len(rows)}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(
            argument_spec=dict(
                catalogs=dict(type="list", elements="path", default=[]),
                bundled_catalog=dict(type="bool", default=True),
                devices=dict(type="list", elements="dict"),
                device_group=dict(type="str", default="snmp_devices"),
                neighbour_var=dict(type="str", default="equipment_neighbour_table"),
                netns=dict(type="str"),
                timeout=dict(type="float", default=2.0),
                retries=dict(type="int", default=1),
                concurrency=dict(type="int", default=64),
                walk=dict(type="list", elements="str", default=["entity", "lldp", "arp", "fdb"]),
                oui_files=dict(type="list", elements="path", default=[]),
            )
        )
        try:
            catalog = catalog_utils.load_catalogs(args["catalogs"], bundled=args["bundled_catalog"])
        except catalog_utils.CatalogError as exc:
            raise AnsibleActionFail("catalog error: %s" % exc) from None
        hostvars = task_vars.get("hostvars") or {}
        in_group = set((task_vars.get("groups") or {}).get(args["device_group"]) or [])
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or task_vars.get("ansible_play_hosts") or [])
        devices = args["devices"]
        if devices is None:
            devices = [device_from_hostvars(h, hostvars[h]) for h in play_hosts if h in in_group]
        tables, sources = [], {}
        for host in play_hosts:
            if host in in_group:
                continue
            table, sources[host] = neighbour_table(host, hostvars[host].get(args["neighbour_var"]))
            if table is not None:
                tables.append(table)
        netns = args["netns"] or self._netns(devices, hostvars)
        module_args = {
            "devices": devices,
            "neighbour_tables": tables,
            "compiled_rules": catalog_utils.compile_equipment_rules(catalog),
        }
        module_args.update({k: args[k] for k in PASSED})
        if netns:
            module_args["netns"] = netns
        module_result = self._execute_module(
            module_name=MODULE, module_args=module_args, task_vars=task_vars, wrap_async=False
        )
        result.update(module_result)
        facts = (result.get("ansible_facts") or {}).get("covered_equipment")
        if isinstance(facts, dict):
            facts["neighbour_sources"] = sources
            facts["catalog"] = {"files": catalog.files}
            facts["netns"] = netns
        result["changed"] = False
        return result

    @staticmethod
    def _netns(devices, hostvars):
        names = {str(hostvars[d["name"]].get("snmp_netns")) for d in devices if d["name"] in hostvars}
        names.discard("None")
        if len(names) > 1:
            raise AnsibleActionFail("devices of one scan must share snmp_netns, got %s" % ", ".join(sorted(names)))
        return names.pop() if names else None
