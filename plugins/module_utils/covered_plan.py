# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
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
from ansible_collections.ripreplace.remediation.plugins.module_utils.purge_proof import PurgeProof

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
    "kept_packages",
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


def _finding(entry, evidence, state):
    confidence = max((e["confidence"] for e in evidence), key=lambda c: CONFIDENCE_RANK[c])
    return {
        "catalog_id": entry["id"],
        "vendor": entry["vendor"],
        "product": entry["product"],
        "covered_list": entry["covered_list"],
        "state": state,
        "confidence": confidence,
        # never acted on automatically: unconfirmed facts only, or software in a container
        "review": confidence == "low" or state == "container",
        "evidence": evidence,
    }


def build_findings(rules, scanner):
    """[(entry, finding)] in catalog order; a fallback entry only when nothing of its vendor matched.

    An entry seen on the host and in containers gives two findings: the host's (installed or
    residue) and one in state ``container`` with the processes of the other mount namespaces.
    """
    findings = []
    by_vendor = {}
    for entry in rules.get("entries", []):
        evidence = scanner.evidence.get(entry["id"])
        if evidence:
            state = "installed" if any(is_live(e, entry) for e in evidence) else "residue"
            findings.append((entry, _finding(entry, evidence, state)))
            if not entry.get("fallback"):
                by_vendor.setdefault(entry["vendor"], []).append(entry["id"])
        elsewhere = scanner.in_containers.get(entry["id"])
        if elsewhere:
            findings.append((entry, _finding(entry, elsewhere, "container")))
    # A fallback entry (the bare vendor directories) only when nothing more specific explains them.
    return [
        (e, f)
        for e, f in findings
        if not (e.get("fallback") and f["state"] != "container" and by_vendor.get(e["vendor"]))
    ]


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
    # A container's files are not on the host's roots: it keeps nothing there.
    on_host = [(e, f) for e, f in [*findings, *excepted] if f["state"] != "container"]
    keep = {e["vendor"] for e, f in on_host if f["review"] or "exception" in f}
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


def _plan_files(plan, scanner, entry, fs_root, root_ids):
    """Leftover paths and vendor roots of one entry that exist (proven later, all at once)."""
    removal = entry.get("removal", {})
    roots = removal.get("vendor_roots", [])
    for leftover in removal.get("leftover_paths", []):
        for path in scanner.existing(leftover):
            if any(p["path"] == path for p in plan["paths"]):
                continue
            root_of = next((r for r in roots if is_under(path, r)), "")
            details = scanner.path_details(path)
            plan["paths"].append({"path": path, "vendor_root": root_of, "catalog_id": entry["id"], "details": details})
    for vroot in roots:
        root_ids.setdefault(vroot, entry["id"])
        listed = vroot in plan["vendor_roots"] or not scanner.existing(vroot)
        if not listed and not os.path.islink(fs_paths.join(fs_root, vroot)):  # a symlinked root is never removed
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


def _kept_packages(scanner, actionable):
    """Covered packages on the host that the plan leaves in place (excepted, under review)."""
    acted = {e["id"] for e, _f in actionable}
    return [
        {"name": pkg["name"], "manager": pkg["manager"], "catalog_id": entry_id}
        for entry_id, packages in scanner.packages.items()
        if entry_id not in acted
        for pkg in packages
    ]


def _prove(plan, scanner, fs_root, root_ids):
    """Move every path and vendor root the host does not prove purgeable to ``refused``."""
    proof = PurgeProof(scanner.module, fs_root, plan["packages"], plan["kept_packages"])
    refused = proof.refusals(purges=plan["paths"], roots=plan["vendor_roots"])
    for item in plan["paths"]:
        if item["path"] in refused:
            plan["refused"].append(
                {"path": item["path"], "catalog_id": item["catalog_id"], "reason": refused[item["path"]]}
            )
    for root in plan["vendor_roots"]:
        if root in refused and all(r["path"] != root for r in plan["refused"]):
            plan["refused"].append({"path": root, "catalog_id": root_ids.get(root), "reason": refused[root]})
    plan["paths"] = [p for p in plan["paths"] if p["path"] not in refused]
    plan["vendor_roots"] = [r for r in plan["vendor_roots"] if r not in refused]


def build_plan(rules, scanner, findings, root="/", excepted=()):
    """The removal plan for this host (see covered_facts' RETURN: removal_plan)."""
    plan = {key: [] for key in PLAN_KEYS}
    actionable = _actionable(rules, findings, excepted)
    plan["packages"] = _plan_packages(rules, scanner, actionable)
    plan["kept_packages"] = _kept_packages(scanner, actionable)
    root_ids = {}
    for entry, finding in actionable:
        _plan_runtime(plan, scanner, entry, finding)
        _plan_files(plan, scanner, entry, root, root_ids)
    if plan["paths"] or plan["vendor_roots"]:
        _prove(plan, scanner, root, root_ids)
    plan["paths"] = _outermost(plan["paths"])
    return plan
