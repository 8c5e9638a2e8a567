# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The record contract: one summary builder and exit-code table, the shipped schemas, state/1 upgrade.

The documents validated here are built by the real builders from a real event stream (audit) and
from the campaign loop over replayed events (remediate); tests/integration validate the files real
runs write (test_remediate_cli_e2e.py, test_detect_lab.py, test_remediate_campaign_lab.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ripreplace import audit, campaign, collection, records
from ripreplace.constants import ExitCode
from ripreplace.exceptions import UsageError

FIXTURES = Path(__file__).parent / "fixtures"


def _audit_summary(transform=None):
    events = json.loads((FIXTURES / "runner-events-local-kesl-residue.json").read_text())
    if transform:
        events = transform(events)
    collector = audit.EventCollector()
    for event in events:
        collector(event)
    return audit.build_summary(
        run_id="r1", hosts=["localhost", "ghost"], collector=collector, playbook_status="successful", playbook_rc=0
    )


def test_schemas_ship_in_the_collection_and_are_the_one_source():
    directory = records.schema_dir()
    assert directory == collection.collection_root() / "schemas"
    for name in records.SCHEMAS:
        doc = json.loads((directory / f"{name}.schema.json").read_text())
        assert doc["$id"].endswith(f"/{name}.schema.json")
    summary = json.loads((directory / "summary.schema.json").read_text())
    assert summary["properties"]["format"]["const"] == records.SUMMARY_FORMAT
    state = json.loads((directory / "state.schema.json").read_text())
    assert state["properties"]["format"]["const"] == records.STATE_FORMAT
    finding = json.loads((directory / "finding.schema.json").read_text())
    assert tuple(finding["properties"]["state"]["enum"]) == records.FINDING_STATES
    assert tuple(finding["$defs"]["evidence"]["properties"]["kind"]["enum"]) == records.EVIDENCE_KINDS
    assert tuple(summary["$defs"]["status"]["enum"]) == records.HOST_STATUSES


def test_audit_summary_keeps_the_module_finding_and_validates():
    summary = _audit_summary()
    assert records.validate(summary, "summary") == []
    finding = summary["hosts"]["localhost"]["findings"][0]
    # the module's nested shape, untouched: the Covered List entry with its date and sources, evidence details
    assert finding["covered_list"]["added"] == "2022-03-25" and finding["covered_list"]["sources"]
    assert finding["evidence"][0]["details"] == {"entries": 1, "type": "directory"}
    assert finding["evidence"][0]["source"].startswith("S: ")
    assert summary["hosts"]["ghost"] == {
        "status": "failed",
        "reason": "no result: the host was never scanned",
        "findings": [],
        "excepted": [],
    }
    assert summary["format"] == "ripreplace-summary/2" and summary["exit_code"] == ExitCode.COVERED


def test_a_flattened_finding_is_refused_by_the_schema():
    summary = _audit_summary()
    flat = copy.deepcopy(summary)
    finding = flat["hosts"]["localhost"]["findings"][0]
    finding["covered_list"] = finding["covered_list"]["entry"]
    finding["evidence"][0] = {"kind": "path", "value": "/x", "confidence": "high", "type": "directory"}
    errors = records.validate(flat, "summary")
    assert any("covered_list" in e for e in errors) and any("evidence/0" in e for e in errors), errors
    bad_kind = copy.deepcopy(summary)
    bad_kind["hosts"]["localhost"]["findings"][0]["evidence"][0]["kind"] = "registry"
    assert records.validate(bad_kind, "summary")


def test_equipment_shapes_are_allowed():
    finding = copy.deepcopy(_audit_summary()["hosts"]["localhost"]["findings"][0])
    finding.update(state="container", purpose_review=True)
    finding["evidence"] = [
        {"kind": kind, "value": "x", "confidence": "medium", "details": {}}
        for kind in ("snmp_sysobjectid", "snmp_sysdescr", "snmp_probe", "entity", "lldp", "oui")
    ]
    assert records.validate(finding, "finding") == []
    summary = records.build_summary(
        run_id="e1",
        mode="equipment",
        hosts={
            "cam1": {"status": "review", "reason": "OUI only", "findings": [finding], "excepted": []},
            "sw1": {"status": "unreachable", "reason": "timeout", "findings": [], "excepted": []},
        },
        playbook={"status": "successful", "rc": 0},
        products={},
    )
    assert records.validate(summary, "summary") == [] and summary["exit_code"] == ExitCode.OK


@pytest.mark.parametrize(
    ("mode", "statuses", "code"),
    [
        ("audit", ["clean", "excepted"], ExitCode.OK),
        ("audit", ["covered", "unreachable"], ExitCode.COVERED),
        ("audit", ["failed", "clean"], ExitCode.HOSTS_FAILED),
        ("remediate", ["remediated", "clean", "excepted"], ExitCode.OK),
        ("remediate", ["deferred", "failed"], ExitCode.HOSTS_FAILED),
        ("remediate", ["remediated", "deferred"], ExitCode.WINDOW),
        ("equipment", ["covered", "unreachable"], ExitCode.COVERED),
        ("equipment", ["review", "clean"], ExitCode.OK),
    ],
)
def test_one_exit_code_table(mode, statuses, code):
    hosts = {f"h{n}": {"status": s} for n, s in enumerate(statuses)}
    assert records.exit_code_for(mode, hosts) == code


def test_hosts_not_targeted_do_not_count():
    hosts = {"a": {"status": "failed", "targeted": False}, "b": {"status": "remediated", "targeted": True}}
    assert records.exit_code_for("remediate", hosts) == ExitCode.OK


def test_state_v1_is_read_and_its_findings_renested(tmp_path):
    flat = {
        "catalog_id": "kaspersky-kesl",
        "vendor": "AO Kaspersky Lab",
        "product": "KESL",
        "covered_list": "AO Kaspersky Lab: ...",
        "state": "installed",
        "confidence": "high",
        "review": False,
        "evidence": [{"kind": "deb", "value": "kesl", "confidence": "high", "version": "12.4", "arch": "amd64"}],
    }
    host = {
        "state": "failed",
        "reason": "x",
        "batch": 1,
        "task": None,
        "run": "r0",
        "findings": [flat],
        "excepted": [],
        "replacement": None,
        "removed": None,
        "verify": None,
        "changed": None,
        "history": [],
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format": "ripreplace-state/1", "run": "r0", "updated": "x", "hosts": {"h": host}}))
    state = campaign.load_state(path)
    (finding,) = state["hosts"]["h"]["findings"]
    assert finding["evidence"] == [
        {"kind": "deb", "value": "kesl", "confidence": "high", "details": {"version": "12.4", "arch": "amd64"}}
    ]
    assert finding["covered_list"] == {"entry": "AO Kaspersky Lab: ...", "added": None, "sources": []}
    assert records.validate(finding, "finding") == []
    path.write_text(json.dumps({"format": "ripreplace-state/9", "run": "r0", "hosts": {}}))
    with pytest.raises(UsageError, match="not a state file of a format this version reads"):
        campaign.load_state(path)


def test_build_summary_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="unknown run mode"):
        records.build_summary(run_id="r", mode="nope", hosts={})


def test_step_outcomes_read_only_the_contract():
    facts = {
        "ripreplace_replacement": {"step": "replacement", "outcome": "healthy", "reason": "", "check_mode": False},
        "remove_outcome": {"step": "remove", "outcome": "gone"},  # not an outcome of the contract
        "verify_outcome": {"outcome": "verified"},  # no step: not the verify role's fact
        "other": {"step": "verify", "outcome": "verified"},
    }
    (only,) = records.step_outcomes(facts)
    assert (only.step, only.outcome, only.check_mode, only.recorded) == ("replacement", "healthy", False, False)
