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

The scan runs here, in this task's worker process (module_utils ``equipment_scan``: the module's own
argument validation and ``no_log`` masking, SNMP I/O from a thread that entered ``snmp_netns``):
no module is built, no second Python starts, the credentials never leave this process. The module
is sent instead when the task runs on another host (``delegate_to`` something other than the
controller) or pysnmp cannot be imported here (it may be in the Python ``ansible_python_interpreter``
names for localhost).
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_scan as es
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_snmp as snmp
from ansible_collections.ripreplace.remediation.plugins.plugin_utils import catalog as catalog_utils

MODULE = "ripreplace.remediation.covered_equipment_facts"
LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")
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


#: common spellings of the protocols (net-snmp's SHA, AES, SHA-256, AES-128...) -> the module's choices
_PROTOCOL_ALIASES = {"sha1": "sha", "aes128": "aes"}


def _protocol(value, choices):
    text = str(value).strip().lower().replace("-", "").replace("_", "")
    text = _PROTOCOL_ALIASES.get(text, text)
    return text if text in choices else None


def _port(value):
    try:
        port = int(str(value).strip())
    except ValueError:
        return None
    return port if 0 < port < 65536 else None


def _checked(device, hv):
    """Ports and protocols as the module takes them. A value it cannot use makes the device ``invalid``
    (reported, not scanned) instead of failing the whole scan, and is dropped; never a credential shown."""
    problems = []
    if hv.get("snmp_port") is not None:
        port = _port(hv["snmp_port"])
        if port is None:
            problems.append("snmp_port %r is not a UDP port (1-65535)" % str(hv["snmp_port"])[:20])
        else:
            device["port"] = port
    for key, choices in (("v3_auth_protocol", snmp.AUTH_PROTOCOLS), ("v3_priv_protocol", snmp.PRIV_PROTOCOLS)):
        if key in device:
            value = _protocol(device[key], choices)
            if value is None:
                shown = str(device.pop(key))[:20]
                problems.append("snmp_%s %r is not one of %s" % (key, shown, ", ".join(choices)))
            else:
                device[key] = value
    if problems:
        device["invalid"] = "; ".join(problems)
    return device


def device_from_hostvars(name, hv):
    device = {"name": name, "address": _plain(hv.get("ansible_host")) or name}
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
    return _checked(device, hv)


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


def masked(result, no_log_values):
    """``result`` with every no_log value masked, as AnsibleModule masks a module's result.

    ``remove_values`` walks the whole result (a 1,000-device result is large); when no value occurs in
    the result's JSON text at all (JSON escapes character by character, so containment is kept) there
    is nothing to mask and the walk is skipped."""
    values = [v for v in no_log_values if v]
    if not values:
        return result
    try:
        text = json.dumps(result)
    except (TypeError, ValueError):
        return remove_values(result, no_log_values)
    if any(json.dumps(v)[1:-1] in text for v in values):
        return remove_values(result, no_log_values)
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        # the task's own options, as the module documents them; the action plugin fills in the devices
        spec = {k: v for k, v in es.argument_spec().items() if k not in ("compiled_rules", "neighbour_tables")}
        spec["devices"] = dict(type="list", elements="dict")
        _validation, args = self.validate_argument_spec(argument_spec=spec)
        try:
            catalog = catalog_utils.load_catalogs(args["catalogs"], bundled=args["bundled_catalog"])
        except catalog_utils.CatalogError as exc:
            raise AnsibleActionFail("catalog error: %s" % exc) from None
        hostvars = task_vars.get("hostvars") or {}
        in_group = set((task_vars.get("groups") or {}).get(args["device_group"]) or [])
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or task_vars.get("ansible_play_hosts") or [])
        devices, netns = args["devices"], args["netns"]
        # one read of each device's variables (HostVars builds them anew on every lookup)
        device_vars = {}
        if devices is None:
            device_vars = {h: hostvars[h] for h in play_hosts if h in in_group}
            devices = [device_from_hostvars(h, hv) for h, hv in device_vars.items()]
        elif not netns:
            device_vars = {d["name"]: hostvars[d["name"]] for d in devices if d.get("name") in hostvars}
        netns = netns or self._netns(devices, device_vars)
        tables, sources = [], {}
        for host in play_hosts:
            if host in in_group:
                continue
            table, sources[host] = neighbour_table(host, hostvars[host].get(args["neighbour_var"]))
            if table is not None:
                tables.append(table)
        module_args = {
            "devices": devices,
            "neighbour_tables": tables,
            "compiled_rules": catalog_utils.compile_equipment_rules(catalog),
        }
        module_args.update({k: args[k] for k in PASSED})
        if netns:
            module_args["netns"] = netns
        if self._scan_here():
            module_result = self._scan(module_args)
        else:
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

    def _scan_here(self):
        """True when the task runs on the controller and this Python has pysnmp."""
        connection = getattr(self._connection, "ansible_name", None) or getattr(self._connection, "_load_name", "")
        return connection in LOCAL_CONNECTIONS and snmp.HAS_PYSNMP

    @staticmethod
    def _scan(module_args):
        """The module's work in this process: the same validation, scan and no_log masking."""
        validated = ArgumentSpecValidator(es.argument_spec()).validate(module_args)
        if validated.error_messages:
            return {"failed": True, "msg": "; ".join(validated.error_messages)}
        no_log_values = validated._no_log_values
        try:
            result = es.scan(validated.validated_parameters)
        except es.ScanError as exc:
            result = {"failed": True, "msg": str(exc)}
            if exc.details:
                result["exception"] = exc.details
        return masked(result, no_log_values)

    @staticmethod
    def _netns(devices, device_vars):
        names = {str(device_vars[d["name"]].get("snmp_netns")) for d in devices if d["name"] in device_vars}
        names.discard("None")
        if len(names) > 1:
            raise AnsibleActionFail("devices of one scan must share snmp_netns, got %s" % ", ".join(sorted(names)))
        return names.pop() if names else None
