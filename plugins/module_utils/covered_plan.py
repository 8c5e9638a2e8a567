# Copyright: ripreplace developers
# Apache License 2.0 (see LICENSE)
"""covered_facts' findings and removal plan, from what the scanner collected.

Findings: one per catalog entry with evidence, with a state, a confidence and a review flag.
Removal plan: what covered_remove would do, built only from non-excepted, non-review findings and
only from what exists; every path it would delete is checked by :mod:`purge_safety` here, and
anything refused is listed with the reason instead. Standard library only (Python 3.9 and later).
"""

from __future__ import annotations

import os

from ansible_collections.ripreplace.remediation.plugins.module_utils import fs_paths, purge_safety
from ansible_collections.ripreplace.remediation.plugins.module_utils.fs_paths import is_under

CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}
ACTIVE_STATES = ("active", "activating", "reloading", "deactivating")
ENABLED_STATES = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated")
PLAN_KEYS = (
    "packages",
    "services",
    "processes",
    "kernel_modules",
    "paths",
    "vendor_roots",
    "repo_files",
    "repo_keys",
    "refused",
)


# --------------------------------------------------------------------------- findings
def is_live(evidence, entry):
    """Does this evidence show the product installed (True) or only its leftovers (False)?"""
    kind = evidence["kind"]
    details = evidence["details"]
    if kind in ("deb", "rpm"):
        return not details.get("residue")
    if kind in ("process", "kernel_module"):
        return True
    if kind == "service":
        if details.get("active") in ACTIVE_STATES:
            return True
        # An enabled unit or init-script link of a packaged product whose package is gone is a
        # leftover (dpkg keeps /etc/init.d conffiles and rc links until purge).
        packaged = bool(entry.get("signals", {}).get("packages"))
        return not packaged and details.get("enabled") in (True, *ENABLED_STATES)
    if kind == "path":
        # A product that is not packaged is installed when its files are; a packaged one's files
        # without the package are leftovers.
        # The bare vendor directories (a fallback entry) are leftovers by definition.
        return not entry.get("signals", {}).get("packages") and not entry.get("fallback")
    return False


def build_findings(rules, scanner):
    """[(entry, finding)] in catalog order; a fallback entry only when nothing of its vendor matched."""
    findings = []
    by_vendor = {}
    for entry in rules.get("entries", []):
        evidence = scanner.evidence.get(entry["id"])
        if not evidence:
            continue
        confidence = max((e["confidence"] for e in evidence), key=lambda c: CONFIDENCE_RANK[c])
        finding = {
            "catalog_id": entry["id"],
            "vendor": entry["vendor"],
            "product": entry["product"],
            "covered_list": entry["covered_list"],
            "state": "installed" if any(is_live(e, entry) for e in evidence) else "residue",
            "confidence": confidence,
            "review": confidence == "low",
            "evidence": evidence,
        }
        findings.append((entry, finding))
        if not entry.get("fallback"):
            by_vendor.setdefault(entry["vendor"], []).append(entry["id"])
    # A fallback entry (the bare vendor directories) only when nothing more specific explains them.
    return [(e, f) for e, f in findings if not (e.get("fallback") and by_vendor.get(e["vendor"]))]


def split_exceptions(findings, exceptions):
    """(kept, excepted): a finding whose catalog id has an active exception carries it, aside."""
    by_id = {}
    for item in exceptions or []:
        by_id.setdefault(item["catalog_id"], item)
    kept, excepted = [], []
    for entry, finding in findings:
        if finding["catalog_id"] in by_id:
            excepted.append((entry, dict(finding, exception=by_id[finding["catalog_id"]])))
        else:
            kept.append((entry, finding))
    return kept, excepted


# --------------------------------------------------------------------------- package order
def order_packages(items, entry_order, after):
    """Dependency order for removal: a package goes before what it depends on.

    items: [{name, manager, catalog_id, depends}]; entry_order: catalog ids in catalog order;
    after: {catalog_id: [ids removed before it]}. Ties keep catalog order, then the entry's own
    removal.packages order (carried by the items' order). A dependency cycle is broken in that order.
    """
    index = {id(item): n for n, item in enumerate(items)}
    rank = {cid: n for n, cid in enumerate(entry_order)}
    before = _removed_before(items, after)
    remaining = list(items)
    ordered = []
    while remaining:
        done = {id(i) for i in ordered}
        ready = [i for i in remaining if before[id(i)] <= done]
        if not ready:  # cycle: take the first in catalog order
            ready = remaining
        ready.sort(key=lambda i: (rank.get(i["catalog_id"], 1 << 20), i.get("hint", 0), index[id(i)]))
        ordered.append(ready[0])
        remaining.remove(ready[0])
    return ordered


def _removed_before(items, after):
    """{id(item): {id(other) that must be removed before item}}."""
    before = {id(i): set() for i in items}
    by_name = {}
    for item in items:
        by_name.setdefault((item["manager"], item["name"]), []).append(item)
    for item in items:
        for dep in item.get("depends", []):
            for target in by_name.get((item["manager"], dep), []):
                if target is not item:
                    before[id(target)].add(id(item))  # item depends on target: item first
        for other in items:
            ordered_after = other["catalog_id"] in after.get(item["catalog_id"], [])
            hinted = other["catalog_id"] == item["catalog_id"] and other.get("hint", 0) < item.get("hint", 0)
            if ordered_after or hinted:
                before[id(item)].add(id(other))
    return before


# --------------------------------------------------------------------------- plan
def _actionable(rules, findings, excepted):
    """Findings the plan acts on, with the vendor's fallback entry when its products all go.

    When a vendor's product is removed, so are the vendor's bare directories (its fallback entry):
    otherwise they would only show up, and need a second removal, after the first. Never when
    anything else of that vendor must stay: an excepted product, or a review-only signal nobody
    has looked at yet (its files live under the same roots).
    """
    actionable = [(e, f) for e, f in findings if not f["review"]]
    keep = {e["vendor"] for e, _f in excepted} | {e["vendor"] for e, f in findings if f["review"]}
    vendors = {e["vendor"] for e, _f in actionable} - keep
    listed = {e["id"] for e, _f in actionable}
    for entry in rules.get("entries", []):
        if entry.get("fallback") and entry["vendor"] in vendors and entry["id"] not in listed:
            actionable.append((entry, {"evidence": [], "review": False}))
    return actionable


def _plan_packages(rules, scanner, actionable):
    entry_order = [e["id"] for e in rules.get("entries", [])]
    after = {e["id"]: e.get("removal", {}).get("after", []) for e in rules.get("entries", [])}
    seen = set()
    items = []
    for entry, _finding in actionable:
        hints = entry.get("removal", {}).get("packages", [])
        for pkg in scanner.packages.get(entry["id"], []):
            key = (pkg["manager"], pkg["name"], pkg.get("arch"))
            if key in seen:
                continue
            seen.add(key)
            items.append(
                {
                    "name": pkg["name"],
                    "manager": pkg["manager"],
                    "arch": pkg.get("arch"),
                    "version": pkg.get("version"),
                    "status": "config-files" if pkg["residue"] else "installed",
                    "catalog_id": entry["id"],
                    "depends": pkg.get("depends", []),
                    "hint": hints.index(pkg["name"]) if pkg["name"] in hints else len(hints),
                }
            )
    return [
        {k: v for k, v in item.items() if k not in ("depends", "hint")}
        for item in order_packages(items, entry_order, after)
    ]


def _plan_runtime(plan, scanner, entry, finding):
    """Services, processes and kernel modules of one entry (each once across entries)."""
    for svc in scanner.services.get(entry["id"], []):
        if all((s["manager"], s["name"]) != (svc["manager"], svc["name"]) for s in plan["services"]):
            plan["services"].append(dict(svc, catalog_id=entry["id"]))
    for proc in scanner.processes.get(entry["id"], []):
        if all(p["pid"] != proc["pid"] for p in plan["processes"]):
            plan["processes"].append(dict(proc, catalog_id=entry["id"]))
    for mod in scanner.modules.get(entry["id"], []):
        ev = [e for e in finding["evidence"] if e["kind"] == "kernel_module" and e["value"] == mod["name"]]
        if ev and ev[0]["confidence"] != "low":
            plan["kernel_modules"].append({"name": mod["name"], "catalog_id": entry["id"]})


def _refuse(plan, path, entry, reason):
    if all(r["path"] != path for r in plan["refused"]):
        plan["refused"].append({"path": path, "catalog_id": entry["id"], "reason": reason})


def _plan_files(plan, scanner, entry, fs_root):
    """Leftover paths, vendor roots and repository files of one entry, each checked before listed."""
    removal = entry.get("removal", {})
    roots = removal.get("vendor_roots", [])
    for leftover in removal.get("leftover_paths", []):
        for path in scanner.existing(leftover):
            root_of = next((r for r in roots if is_under(path, r)), "")
            problem = purge_safety.check_path(path, root_of, fs_root=fs_root)
            if problem:
                _refuse(plan, path, entry, problem)
            elif all(p["path"] != path for p in plan["paths"]):
                details = scanner.path_details(path)
                plan["paths"].append(
                    {"path": path, "vendor_root": root_of, "catalog_id": entry["id"], "details": details}
                )
    for vroot in roots:
        if not scanner.existing(vroot) or vroot in plan["vendor_roots"]:
            continue
        problem = purge_safety.check_root(vroot)
        if problem:
            _refuse(plan, vroot, entry, problem)
        elif not os.path.islink(fs_paths.join(fs_root, vroot)):  # a symlinked root is never removed
            plan["vendor_roots"].append(vroot)
    _plan_repositories(plan, scanner, entry, fs_root)


def _plan_repositories(plan, scanner, entry, fs_root):
    removal = entry.get("removal", {})
    for key in ("repo_files", "repo_keys"):
        for pattern in removal.get(key, []):
            for path in scanner.existing(pattern):
                problem = purge_safety.check_repo_file(path, fs_root=fs_root)
                if problem:
                    _refuse(plan, path, entry, problem)
                elif path not in plan[key]:
                    plan[key].append(path)


def _outermost(paths):
    """Nested paths: keep only the outermost one (rm -r of it covers the rest)."""
    outer = []
    for item in sorted(paths, key=lambda p: p["path"]):
        if not any(is_under(item["path"], o["path"]) for o in outer):
            outer.append(item)
    return outer


def build_plan(rules, scanner, findings, root="/", excepted=()):
    """The removal plan for this host (see covered_facts' RETURN: removal_plan)."""
    plan = {key: [] for key in PLAN_KEYS}
    actionable = _actionable(rules, findings, excepted)
    plan["packages"] = _plan_packages(rules, scanner, actionable)
    for entry, finding in actionable:
        _plan_runtime(plan, scanner, entry, finding)
        _plan_files(plan, scanner, entry, root)
    plan["paths"] = _outermost(plan["paths"])
    return plan
