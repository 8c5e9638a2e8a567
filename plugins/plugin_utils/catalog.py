# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Controller-side catalog logic, shared by the covered_facts action plugin and the ripreplace CLI.

Loads the bundled covered-software catalog and site catalogs (YAML), validates them against
``catalog/covered.schema.json``, merges them, loads exceptions files
(``catalog/exceptions.schema.json``), decides which exceptions apply to a host on a given day and
compiles the entries into the rules the ``covered_facts`` module takes.

Imported two ways: by ansible's collection loader
(``ansible_collections.ripreplace.remediation.plugins.plugin_utils.catalog``) and as a plain
module by path (``ripreplace.collection.load_plugin_util("catalog")``), which loads
``plugins/plugin_utils`` as a package too, so its sibling ``catalog_files`` (bounded file reading)
is imported relatively. It imports only the standard library, PyYAML and jsonschema.

Every error is a :class:`CatalogError` whose text is one line: ``FILE: entry ID: problem``.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import os
import re
import sys
import types

import yaml

# Re-exported: the bounded readers are part of the catalog's public names.
from .catalog_files import (  # noqa: F401 # pylint: disable=unused-import
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    CatalogError,
    check_shape,
    load_yaml,
    parse_yaml,
    printable,
    read_text,
    sha256_file,
)

# jsonschema is imported only when a file has to be validated (see _validated_before): the action
# plugin runs in a fresh worker process per host, where importing it costs ~0.2 s.
jsonschema = None
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CATALOG_FORMAT = "ripreplace-covered-catalog/1"
EXCEPTIONS_FORMAT = "ripreplace-exceptions/1"
RULES_FORMAT = "ripreplace-covered-rules/1"

_COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOG_DIR = os.path.join(_COLLECTION_ROOT, "catalog")
BUNDLED_CATALOG = os.path.join(CATALOG_DIR, "covered.yml")
CATALOG_SCHEMA = os.path.join(CATALOG_DIR, "covered.schema.json")
EXCEPTIONS_SCHEMA = os.path.join(CATALOG_DIR, "exceptions.schema.json")

SIGNAL_KINDS = ("packages", "services", "paths", "processes", "kernel_modules")
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}


_SCHEMAS = {}


def _jsonschema():
    global jsonschema  # noqa: PLW0603 - lazy import, see above
    if jsonschema is None:
        import jsonschema as module

        jsonschema = module
    return jsonschema


def _cache_marker(path, schema_path):
    """A marker file whose existence says: this exact file already passed this exact schema and code."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256()
    for part in (path, schema_path, os.path.abspath(__file__)):
        with open(part, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return os.path.join(base, "ripreplace", "validated", digest.hexdigest())


def _validated_before(path, schema_path):
    try:
        return os.path.exists(_cache_marker(path, schema_path))
    except OSError:
        return False


def _remember_valid(path, schema_path):
    try:
        marker = _cache_marker(path, schema_path)
        os.makedirs(os.path.dirname(marker), mode=0o700, exist_ok=True)
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(str(path) + "\n")
    except OSError:
        pass  # a read-only cache only costs time


def _validator(schema_path):
    jsonschema = _jsonschema()
    if schema_path not in _SCHEMAS:
        with open(schema_path, encoding="utf-8") as handle:
            schema = json.load(handle)
        cls = jsonschema.validators.validator_for(schema)
        _SCHEMAS[schema_path] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return _SCHEMAS[schema_path]


def _entry_label(data, list_key, error_path):
    """The id of the list item an error is in (``entries`` or ``exceptions``), else None."""
    parts = list(error_path)
    if len(parts) >= 2 and parts[0] == list_key and isinstance(parts[1], int):
        items = data.get(list_key) or []
        item = items[parts[1]] if parts[1] < len(items) else None
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"]
        return "#%d" % (parts[1] + 1)
    return None


#: Which rule fields each platform takes (the schema's allOf says the same; this names them in errors).
_PLATFORM_FIELDS = {
    "linux": ("signals", "removal"),
    "windows": ("platform_signals",),
    "macos": ("platform_signals",),
    "network": ("equipment", "platform_signals"),
    "service": (),
}


def _describe(error):
    """One readable line for a jsonschema error, naming the field it is about."""
    jsonschema = _jsonschema()
    # The deepest, most specific error of a oneOf/anyOf/allOf is the useful one.
    best = jsonschema.exceptions.best_match([error]) if error.context else error
    parts = list(best.absolute_path)
    if len(parts) >= 2 and isinstance(parts[1], int):
        parts = parts[2:]  # inside an entry: the entry is named separately
    field = ".".join(str(p) for p in parts) or None
    message = best.message
    if best.validator == "const" and list(best.absolute_path)[-1:] == ["confidence"]:
        message = "an UNCONFIRMED source allows only confidence 'low' (got %r)" % best.instance
        if "oui_organizations" in list(best.absolute_path):
            message = "a MAC OUI is only ever a reason to review: confidence must be 'low' (got %r)" % best.instance
    if best.validator == "not" and isinstance(best.instance, dict) and "platform" in best.instance:
        platform = best.instance["platform"]
        takes = _PLATFORM_FIELDS.get(platform, ())
        fields = ("signals", "removal", "platform_signals", "equipment")
        extra = [k for k in fields if k in best.instance and k not in takes]
        message = "platform %s does not take %s" % (platform, ", ".join(extra) or "these fields")
    if best.validator in ("oneOf",) and list(best.absolute_path)[:1] == ["exceptions"]:
        message = "give exactly one of 'host' or 'group'"
    if len(message) > 300:
        message = message[:297] + "..."
    return "%s: %s" % (field, message) if field else message


def validate(data, schema_path, path, list_key):
    if _validated_before(path, schema_path):
        return
    jsonschema = _jsonschema()
    validator = _validator(schema_path)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        # The shallowest error first, and of those the one from the plainest part of the schema (a
        # missing 'product' before a conditional rule about 'signals'); ties go to best_match.
        depth = min(len(e.absolute_path) for e in errors)
        shallow = [e for e in errors if len(e.absolute_path) == depth]
        plain = min(len(e.schema_path) for e in shallow)
        error = jsonschema.exceptions.best_match([e for e in shallow if len(e.schema_path) == plain])
        missing = [
            re.sub(r" is a required property$", "", e.message)
            for e in shallow
            if e.validator == "required" and len(e.schema_path) == plain and e.absolute_path == error.absolute_path
        ]
        label = _entry_label(data, list_key, error.absolute_path)
        if len(missing) > 1:
            parts = list(error.absolute_path)
            parts = parts[2:] if len(parts) >= 2 and isinstance(parts[1], int) else parts
            where = ".".join(str(p) for p in parts)
            problem = "missing required properties: %s" % ", ".join(missing)
            raise CatalogError(path, "%s: %s" % (where, problem) if where else problem, label)
        raise CatalogError(path, _describe(error), label)
    _remember_valid(path, schema_path)


def _purge_safety():
    """``plugins/module_utils/purge_safety.py``: the rules the hosts apply before deleting anything.

    Loaded by path as a package of its own, the same way whether ansible's collection loader or
    ``ripreplace.collection.load_plugin_util`` imported this file.
    """
    name = "_ripreplace_module_utils"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(_COLLECTION_ROOT, "plugins", "module_utils")]
        sys.modules[name] = package
    return importlib.import_module(name + ".purge_safety")


def _check_regexes(path, entry):
    eid = entry["id"]
    for kind in ("packages", "kernel_modules"):
        for signal in entry.get("signals", {}).get(kind, []):
            for key in ("maintainer", "vendor", "pattern"):
                if key in signal:
                    try:
                        re.compile(signal[key])
                    except re.error as exc:
                        raise CatalogError(
                            path, "%s %s %r is not a valid regex: %s" % (kind, key, signal[key], exc), eid
                        ) from None


def _check_removal_paths(path, entry):
    """Vendor roots, leftover paths and repository files a host would accept; the catalog is refused
    otherwise (exit 2 before any host is touched). The host proves the rest (purge_proof)."""
    eid = entry["id"]
    safety = _purge_safety()
    removal = entry.get("removal") or {}
    roots = removal.get("vendor_roots", [])
    for root in roots:
        problem = safety.root_problem(root)
        if problem:
            raise CatalogError(path, "removal.vendor_roots %s %s, not a vendor root" % (root, problem), eid)
    for leftover in removal.get("leftover_paths", []):
        root = next((r for r in roots if safety.is_under(leftover, r)), None)
        if root is None:
            problem = "is not under any declared vendor root %s" % (roots or "[]")
        else:
            problem = safety.leftover_problem(leftover, root)
        if problem:
            raise CatalogError(path, "removal.leftover_paths %s %s" % (leftover, problem), eid)
    for key in ("repo_files", "repo_keys"):
        for pattern in removal.get(key, []):
            problem = safety.repo_file_problem(pattern)
            if problem:
                raise CatalogError(path, "removal.%s %s %s" % (key, pattern, problem), eid)


def _check_entry_semantics(path, entry):
    """What the JSON Schema cannot say: regexes compile, removal paths are ones a host would purge."""
    _check_regexes(path, entry)
    _check_removal_paths(path, entry)
    removal = entry.get("removal") or {}
    names = {s["name"] for s in entry.get("signals", {}).get("packages", [])}
    for pkg in removal.get("packages", []):
        if pkg not in names:
            raise CatalogError(path, "removal.packages %s has no package signal in this entry" % pkg, entry["id"])


class Catalog:
    """Merged entries of the bundled and site catalogs, with where each came from."""

    def __init__(self):
        self.entries = []
        self.origin = {}  # id -> file
        self.files = []  # [{"path", "sha256", "catalog_version", "entries"}]

    def add_file(self, path, data):
        ids = []
        for entry in data.get("entries", []):
            eid = entry["id"]
            if eid in self.origin:
                raise CatalogError(path, "duplicate id (already defined in %s)" % self.origin[eid], eid)
            _check_entry_semantics(path, entry)
            _check_equipment_semantics(path, entry)
            self.origin[eid] = str(path)
            self.entries.append(entry)
            ids.append(eid)
        self.files.append(
            {
                "path": str(path),
                "sha256": sha256_file(path),
                "catalog_version": data.get("catalog_version"),
                "entries": len(ids),
            }
        )

    def check_references(self):
        for entry in self.entries:
            for other in (entry.get("removal") or {}).get("after", []):
                if other not in self.origin:
                    raise CatalogError(
                        self.origin[entry["id"]], "removal.after names unknown id %s" % other, entry["id"]
                    )

    def get(self, entry_id):
        for entry in self.entries:
            if entry["id"] == entry_id:
                return entry
        return None

    @property
    def ids(self):
        return [e["id"] for e in self.entries]


def load_catalog_file(path):
    data = load_yaml(path)
    validate(data, CATALOG_SCHEMA, str(path), "entries")
    return data


def load_catalogs(site_paths=(), bundled=True, bundled_path=None):
    """The bundled catalog (unless ``bundled`` is false) plus site catalogs, validated and merged."""
    catalog = Catalog()
    paths = ([bundled_path or BUNDLED_CATALOG] if bundled else []) + [str(p) for p in site_paths]
    if not paths:
        raise CatalogError("(none)", "no catalog given: the bundled catalog is disabled and no site catalog was named")
    for path in paths:
        catalog.add_file(path, load_catalog_file(path))
    catalog.check_references()
    return catalog


# --------------------------------------------------------------------------- exceptions
def load_exceptions_file(path, known_ids=None):
    data = load_yaml(path)
    validate(data, EXCEPTIONS_SCHEMA, str(path), "exceptions")
    seen = set()
    for item in data["exceptions"]:
        if item["id"] in seen:
            raise CatalogError(path, "duplicate exception id", item["id"])
        seen.add(item["id"])
        if known_ids is not None and item["catalog_id"] not in known_ids:
            raise CatalogError(path, "catalog_id %s is not in the catalog" % item["catalog_id"], item["id"])
    return data


def load_exceptions(paths, known_ids=None):
    out = []
    files = []
    for path in paths:
        data = load_exceptions_file(path, known_ids)
        for item in data["exceptions"]:
            record = dict(item)
            record["file"] = str(path)
            out.append(record)
        files.append({"path": str(path), "sha256": sha256_file(path), "exceptions": len(data["exceptions"])})
    ids = [e["id"] for e in out]
    for eid in ids:
        if ids.count(eid) > 1:
            raise CatalogError(paths[-1], "duplicate exception id across files", eid)
    return out, files


def parse_day(value):
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise CatalogError("(today)", "not an ISO date: %r" % (value,)) from None


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def _scope_matches(item, host, groups):
    if "host" in item:
        return item["host"] == host
    return item.get("group") in set(groups or ())


def exceptions_for_host(exceptions, host, groups, today=None):
    """(active, expired) exceptions for ``host``; an exception applies up to and including ``expires``."""
    day = parse_day(today) if today is not None else utc_today()
    active, expired = [], []
    for item in exceptions:
        if not _scope_matches(item, host, groups):
            continue
        record = {
            "id": item["id"],
            "catalog_id": item["catalog_id"],
            "scope": ("host:%s" % item["host"]) if "host" in item else ("group:%s" % item["group"]),
            "reason": item["reason"],
            "ticket": item["ticket"],
            "expires": item["expires"],
            "file": item.get("file"),
        }
        if item.get("approved_by"):
            record["approved_by"] = item["approved_by"]
        if parse_day(item["expires"]) < day:
            record["message"] = "exception %s for %s expired on %s (ticket %s): it no longer applies" % (
                item["id"],
                item["catalog_id"],
                item["expires"],
                item["ticket"],
            )
            expired.append(record)
        else:
            active.append(record)
    return active, expired


# --------------------------------------------------------------------------- compiling
def applies_to_host(entry, host, groups):
    scope = entry.get("applies_to")
    if not scope:
        return True
    if host in scope.get("hosts", []):
        return True
    return bool(set(scope.get("groups", [])) & set(groups or ()))


def _compile_signal(kind, signal):
    out = {k: v for k, v in signal.items() if k != "source"}
    out["source"] = "%s: %s" % (signal["source"]["grade"], signal["source"]["ref"])
    if kind == "services":
        out.setdefault("kinds", ["systemd", "sysv"])
    return out


def _rule_head(entry):
    """What a compiled rule says of its entry: identity and the Covered List facts the run used."""
    covered = entry["covered_list"]
    return {
        "id": entry["id"],
        "vendor": entry["vendor"],
        "product": entry["product"],
        "covered_list": {"entry": covered["entry"], "added": covered["added"], "sources": list(covered["sources"])},
    }


def compile_rules(catalog, host=None, groups=()):
    """The rules the module takes: Linux entries applying to this host, in catalog order."""
    entries = []
    for entry in catalog.entries:
        if entry["platform"] != "linux":
            continue
        if host is not None and not applies_to_host(entry, host, groups):
            continue
        signals = {}
        for kind in SIGNAL_KINDS:
            items = entry.get("signals", {}).get(kind, [])
            if items:
                signals[kind] = [_compile_signal(kind, s) for s in items]
        removal = dict(entry.get("removal") or {})
        removal.pop("source", None)
        entries.append(
            {
                **_rule_head(entry),
                "fallback": bool(entry.get("fallback", False)),
                "signals": signals,
                "removal": removal,
            }
        )
    return {"format": RULES_FORMAT, "entries": entries}


def rule_names(rules, kind):
    """Every name/path/pattern of one signal kind in compiled rules (for the naive benchmark, docs)."""
    keys = {"packages": "name", "services": "name", "paths": "path", "processes": "exe", "kernel_modules": "pattern"}
    key = keys[kind]
    out = []
    for entry in rules["entries"]:
        for signal in entry["signals"].get(kind, []):
            if signal[key] not in out:
                out.append(signal[key])
    return out


def summarize_entry(entry):
    """Plain data for ``ripreplace catalog show``."""
    counts = {}
    for kind in SIGNAL_KINDS:
        n = len(entry.get("signals", {}).get(kind, []))
        if n:
            counts[kind] = n
    for kind, items in (entry.get("platform_signals") or {}).items():
        counts[kind] = len(items)
    for kind in EQUIPMENT_RULE_KINDS:
        n = len((entry.get("equipment") or {}).get(kind, []))
        if n:
            counts[kind] = n
    return counts


# --------------------------------------------------------------------------- network equipment
EQUIPMENT_RULES_FORMAT = "ripreplace-equipment-rules/1"
EQUIPMENT_RULE_KINDS = ("sysobjectid_prefix", "sysdescr_regex", "probe", "entity_mfg_regex", "oui_organizations")


def detection(entry):
    """How ripreplace finds an entry: software (hosts), equipment (networks), service-only, or not at all."""
    platform = entry["platform"]
    if platform == "linux":
        return "software"
    if platform == "network" and any(entry.get("equipment", {}).get(k) for k in EQUIPMENT_RULE_KINDS):
        return "equipment"
    if platform == "service":
        return "service-only"
    if platform == "network":
        return "not detectable"
    return "data only"


def _compile_equipment_rule(rule):
    out = {k: v for k, v in rule.items() if k != "source"}
    out["source"] = "%s: %s" % (rule["source"]["grade"], rule["source"]["ref"])
    return out


def compile_equipment_rules(catalog):
    """The rules covered_equipment_facts takes: every network entry with equipment rules, in catalog order."""
    entries = []
    for entry in catalog.entries:
        if detection(entry) != "equipment":
            continue
        equipment = entry["equipment"]
        rules = {kind: [_compile_equipment_rule(r) for r in equipment.get(kind, [])] for kind in EQUIPMENT_RULE_KINDS}
        rules["oui_exclude"] = [
            {"organization": r["organization"], "reason": r["reason"]} for r in equipment.get("oui_exclude", [])
        ]
        entries.append(
            {
                **_rule_head(entry),
                "purpose_limited": bool(equipment.get("purpose_limited", False)),
                "rules": rules,
            }
        )
    return {"format": EQUIPMENT_RULES_FORMAT, "entries": entries}


def _check_equipment_semantics(path, entry):
    """Regexes of network rules compile (the schema's format: regex is advisory in some validators)."""
    equipment = entry.get("equipment") or {}
    for kind, key in (
        ("sysdescr_regex", "pattern"),
        ("entity_mfg_regex", "pattern"),
        ("probe", "value_regex"),
        ("oui_organizations", "organization"),
        ("oui_exclude", "organization"),
    ):
        for rule in equipment.get(kind, []):
            if key in rule:
                try:
                    re.compile(rule[key])
                except re.error as exc:
                    raise CatalogError(
                        path, "equipment.%s %s %r is not a valid regex: %s" % (kind, key, rule[key], exc), entry["id"]
                    ) from None
