# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""What a campaign will do on each host: the plan shown before confirmation and by ``--dry-run``.

The plan comes from the same playbook the campaign runs (``playbooks/remediate.yml`` with
``remediate_plan_only``, in check mode: detection, the replacement selected and probed, the quick
step's decision, then the host ends; nothing changes). :class:`PlanCollector` reads its events by
FQCN and fact name, never by task name: ``covered_facts`` (findings and the removal plan),
``replacement_probe`` (the replacement installed? healthy?) and the verify role's ``verify_path``
and ``verify_replacement_wanted``. :func:`host_plan` turns one host's into a :class:`HostPlan`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ripreplace import audit, checkrun, collection, records, runner

PROBE_ACTION = "ripreplace.remediation.replacement_probe"

#: What the campaign does on a host, by action.
ACTIONS = {
    "remediate": "remove covered software, with the replacement healthy first",
    "install": "install the replacement (--install-on-clean), nothing to remove",
    "repair": "the replacement is installed but not healthy: configure, start and prove it healthy",
    "verify": "nothing covered, the replacement healthy: record the outcome on the host",
    "already": "already verified clean and protected: nothing to do",
    "skip": "nothing covered: not given the replacement (--install-on-clean installs it); only verified",
    "unreachable": "could not be scanned (tried again when its batch runs)",
    "failed": "could not be scanned (tried again when its batch runs)",
}

#: The removal plan's lists shown, and how one of their items is named.
_REMOVE_KINDS = ("packages", "services", "processes", "kernel_modules", "paths", "repo_files", "repo_keys")


@dataclasses.dataclass(frozen=True)
class HostPlan:
    host: str
    action: str  # a key of ACTIONS
    remove: Mapping[str, tuple[str, ...]]  # removal plan kind -> names
    install: tuple[str, ...]  # replacement packages to install
    product: str  # the replacement's id
    note: str  # why, on one line

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "remove": {k: list(v) for k, v in self.remove.items()},
            "install": list(self.install),
            "replacement": self.product,
            "note": self.note,
        }


class PlanCollector(audit.EventCollector):
    """The audit's collector (findings, removal plan, unreachable, failed) plus the probe and the decision."""

    def __init__(self) -> None:
        super().__init__()
        self.probes: dict[str, dict[str, Any]] = {}
        self.decisions: dict[str, dict[str, Any]] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        super().__call__(event)
        data = event.get("event_data") or {}
        host, res = data.get("host"), data.get("res")
        if event.get("event") != "runner_on_ok" or not host or not isinstance(res, dict):
            return
        action = data.get("resolved_action") or data.get("task_action")
        if action == PROBE_ACTION:
            self.probes[str(host)] = res
        facts = res.get("ansible_facts")
        if isinstance(facts, dict) and "verify_path" in facts:
            self.decisions[str(host)] = {
                "path": facts.get("verify_path"),
                "wanted": facts.get("verify_replacement_wanted"),
                "product": (facts.get("ripreplace_replacement") or {}).get("product"),
            }


def _name(kind: str, item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    if kind == "processes":
        return f"{item.get('exe') or item.get('name')} (pid {item.get('pid')})"
    if kind == "paths":
        return str(item.get("path"))
    if kind == "services" and item.get("manager"):
        return f"{item.get('name')} ({item.get('manager')})"
    return str(item.get("name") or item.get("path") or item)


def removal(plan: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The removal plan's non-empty lists, each item named."""
    out = {}
    for kind in _REMOVE_KINDS:
        items = plan.get(kind) or []
        if isinstance(items, list) and items:
            out[kind] = tuple(_name(kind, i) for i in items)
    return out


def host_plan(host: str, collector: PlanCollector, replacement: str) -> HostPlan:
    scan = collector.hosts.get(host)
    decision = collector.decisions.get(host)
    probe = collector.probes.get(host) or {}
    product = str((decision or {}).get("product") or replacement)
    if scan is None or scan.unreachable or scan.facts is None or decision is None:
        outcome = audit.host_outcome(scan)
        action = "unreachable" if outcome["status"] == "unreachable" else "failed"
        reason = outcome["reason"] if outcome["status"] in ("unreachable", "failed") else "no plan decided"
        return HostPlan(host, action, {}, (), product, str(reason))
    remove = removal(scan.facts.get("removal_plan") or {})
    installed = probe.get("installed") or {}
    missing = tuple(p for p, state in installed.items() if state != "ii")
    path, wanted = decision.get("path"), bool(decision.get("wanted"))
    if path in ("already", "verify"):
        return _clean_plan(host, str(path), wanted, product, str(probe.get("version") or ""))
    install = missing if wanted else ()
    if remove:
        ids = sorted({f["catalog_id"] for f in records.findings_of(scan.facts) if not f["review"]})
        note = "covered: " + (", ".join(ids) or "see the removal plan")
        return HostPlan(host, "remediate", remove, install, product, note)
    if install:
        return HostPlan(host, "install", {}, install, product, "nothing covered")
    return HostPlan(host, "repair", {}, (), product, f"{product}: {probe.get('reason') or 'not healthy now'}")


def _clean_plan(host: str, path: str, wanted: bool, product: str, version: str) -> HostPlan:
    """A host with nothing covered: already verified, only its outcome recorded, or not given the replacement."""
    if not wanted:
        return HostPlan(host, "skip", {}, (), product, f"nothing covered; {product} not installed")
    return HostPlan(host, path, {}, (), product, f"nothing covered; {product} {version} healthy now")


def plans(hosts: Sequence[str], collector: PlanCollector, replacement: str) -> dict[str, HostPlan]:
    return {h: host_plan(h, collector, replacement) for h in hosts}


def detail(plan: HostPlan) -> str:
    """One host's plan on one line: what is removed, what is installed, or why nothing is."""
    parts = []
    if plan.remove:
        parts.append("remove " + "; ".join(f"{k.replace('_', ' ')} {', '.join(v)}" for k, v in plan.remove.items()))
    if plan.install:
        parts.append(f"install {plan.product} ({', '.join(plan.install)})")
    elif plan.action == "remediate":
        parts.append(f"{plan.product} already installed: proven healthy first")
    head = "; ".join(parts) if parts else ACTIONS[plan.action]
    return f"{head} [{plan.note}]" if plan.note else head


@dataclasses.dataclass(frozen=True)
class PlanScan:
    """The plan scan's run (mode audit: read-only, check mode) and each host's plan."""

    run_id: str
    run_dir: str
    hosts: dict[str, HostPlan]
    status: str  # the playbook's

    @property
    def unscanned(self) -> list[str]:
        return [h for h, p in self.hosts.items() if p.action in ("unreachable", "failed")]


def scan(
    *,
    runs_dir: Any,
    inventory: Any,
    playbook: Any,
    hosts: Sequence[str],
    forks: int,
    replacement: str,
    extravars: Mapping[str, Any],
    manifest_extra: Mapping[str, Any],
    catalogs: Sequence[Any] = (),
) -> PlanScan:
    """The plan (remediate.yml with ``remediate_plan_only``, check mode) over ``hosts``, in a run of its own."""
    limit_hosts = list(hosts)
    roles = collection.collection_root() / "roles"
    opening = checkrun.open_run(
        Path(runs_dir),
        "audit",
        inventory=Path(inventory).resolve(),
        playbooks=[Path(playbook), *(roles / r for r in ("detect", "replacement", "verify"))],
        catalogs=[Path(collection.catalog_dir()), *(Path(c) for c in catalogs)],
        extra={"plan_for": "remediate", "targets": limit_hosts, **manifest_extra},
    )
    collector = PlanCollector()
    with opening as opened:
        limit_file = opened.run.path / "plan.hosts"
        limit_file.write_text("".join(f"{h}\n" for h in limit_hosts), encoding="utf-8")
        request = runner.PlaybookRequest(
            playbook=Path(playbook),
            inventory=str(Path(inventory).resolve()),
            limit=f"@{limit_file}",
            forks=forks,
            check=True,
            # nothing is changed: the change_window guard is told this read-only run is the command's own
            extravars={
                **extravars,
                "remediate_plan_only": True,
                "ripreplace_window_verified": {"run": opened.run.run_id, "batch": 0},
            },
            ident="plan",
            skip_tags=audit.DETECT_PLAIN_RUN_TAGS,
        )
        result = runner.run_playbook(opened.run, request, on_event=collector)
        summary = audit.build_summary(
            run_id=opened.run.run_id,
            hosts=limit_hosts,
            collector=collector,
            playbook_status=result.status,
            playbook_rc=result.rc,
        )
        opened.finish(result.status, summary)
    return PlanScan(
        run_id=opened.run.run_id,
        run_dir=str(opened.run.path),
        hosts=plans(limit_hosts, collector, replacement),
        status=result.status,
    )
