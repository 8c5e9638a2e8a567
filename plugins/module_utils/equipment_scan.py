# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""One scan of ripreplace.remediation.covered_equipment_facts, wherever it runs.

The action plugin runs it in its own worker process on the controller (no module to build, no
second Python to start, the credentials never leave that process); the module runs it when the
action plugin cannot (the task is delegated to another host, or pysnmp is only in the Python that
``ansible_python_interpreter`` names). Both validate the same :func:`argument_spec`, mask the same
``no_log`` values and return the same result: :func:`scan` is that result, minus the masking.
"""

from __future__ import annotations

import os
import threading

from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_rules as er
from ansible_collections.ripreplace.remediation.plugins.module_utils import equipment_snmp as snmp

FACTS_FORMAT = "ripreplace-equipment/1"
CLONE_NEWNET = 0x40000000
WALKS = ["entity", "lldp", "arp", "fdb"]


class ScanError(Exception):
    """A scan that cannot run or failed: ``str()`` is the task's message; ``details`` a traceback or None."""

    def __init__(self, message, details=None):
        super(ScanError, self).__init__(message)
        self.details = details


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
        invalid=dict(type="str"),
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
        walk=dict(type="list", elements="str", choices=list(WALKS), default=list(WALKS)),
        oui_files=dict(type="list", elements="path", default=[]),
    )


def enter_netns(name):
    """Move the calling thread into a network namespace (before it opens any socket)."""
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


def load_oui_registry(oui_files, rules, macs):
    """The OUI registry, read only when there are MACs to match and OUI rules to match them with."""
    if not (macs and rules.has_oui_rules()):
        return None
    registry = er.OuiRegistry()
    wanted = rules.oui_wanted()
    for path in oui_files or default_oui_files():
        try:
            registry.load(path, wanted)
        except OSError as exc:
            raise ScanError("cannot read the OUI registry %s: %s" % (path, exc.strerror or exc)) from None
    return registry


def _in_netns(netns, work):
    """``work()`` in a thread of its own that entered ``netns`` first (None: this namespace, this thread).

    Only that thread (and the threads it starts, which inherit its namespace) sends packets from the
    namespace; the calling process stays where it is."""
    if not netns:
        return work()
    box = {}

    def target():
        try:
            enter_netns(netns)
        except OSError as exc:
            box["error"] = ScanError("cannot enter network namespace %s: %s" % (netns, exc.strerror or exc))
            return
        try:
            box["value"] = work()
        except BaseException as exc:  # re-raised in the caller's thread, traceback and all
            box["error"] = exc

    thread = threading.Thread(target=target, name="covered-equipment-scan")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _scan_devices(params, rules):
    import traceback

    try:
        options = {k: params[k] for k in ("timeout", "retries", "concurrency")}
        return snmp.scan_all(params["devices"], rules, dict(options, tables=params["walk"]))
    except Exception as exc:  # a bug in the scanner must say so, with the traceback, not hang or vanish
        raise ScanError("the SNMP scan failed: %s" % exc, traceback.format_exc()) from None


def scan(params):
    """The task's result for validated ``params``: ansible_facts, findings, invocation. Raises ScanError."""
    if not snmp.HAS_PYSNMP:
        raise ScanError("pysnmp>=7.1 is required (import failed)", snmp.PYSNMP_IMPORT_ERROR)
    if params["timeout"] <= 0 or params["retries"] < 0 or params["concurrency"] < 1:
        raise ScanError("timeout must be > 0, retries >= 0 and concurrency >= 1")
    rules = er.Rules(params["compiled_rules"])
    scans = _in_netns(params.get("netns"), lambda: _scan_devices(params, rules))
    macs = snmp.collect_macs(scans, params["neighbour_tables"])
    registry = load_oui_registry(params["oui_files"], rules, macs)
    devices, excluded = er.build_devices(params["devices"], scans, macs, rules, registry, tables=params["walk"])
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
        {"device": name, "status": record["status"], "catalog_ids": [f["catalog_id"] for f in record["findings"]]}
        for name, record in devices.items()
    ]
    return {
        "changed": False,
        "ansible_facts": {"covered_equipment": facts},
        "findings": lines,
        "invocation": invocation(params),
    }


def invocation(params):
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
