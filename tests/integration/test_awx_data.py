# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The AWX data (extensions/awx) loads into AWX's own collection, awx.awx (issue 12, deliverable 3).

awx.awx is not installable from Galaxy here; the ``ansible`` package on PyPI bundles it. The test takes
awx.awx's modules from that wheel (downloaded once into ~/.cache/ripreplace/awx, no dependency
installed) and builds stand-ins that keep each module's real argument spec (read from its ``main()``)
and the documented suboptions of ``workflow_nodes``, and replace only the call to the AWX API: they
validate their arguments with ansible's own validator and record them. Then the real
``extensions/awx/configure.yml`` runs under ansible-playbook (templating, loops, omit, !unsafe), and the
recorded objects are checked: every argument valid for awx.awx, the injectors' Jinja left to AWX, the
workflow canary -> approval -> ring 1 -> approval -> ring 2 -> verify, and the survey's variables
those the playbooks read.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from ripreplace import collection

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "extensions" / "awx"
#: The newest ``ansible`` release that pip installs on Python 3.11 bundles awx.awx 24.6.1.
ANSIBLE_PACKAGE = "ansible>=11,<13"
MODULES = ("credential_type", "credential", "project", "job_template", "workflow_job_template")

STUB = """\
#!/usr/bin/python
# Stand-in for awx.awx.{name}: its real argument spec, no AWX API call (tests/integration/test_awx_data.py).
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ARGUMENT_SPEC = {spec!r}
NODE_SPEC = {nodes!r}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    for n, node in enumerate(module.params.get("workflow_nodes") or []):
        result = ArgumentSpecValidator(NODE_SPEC).validate(node)
        if result.error_messages:
            module.fail_json(msg="workflow_nodes[%d]: %s" % (n, "; ".join(result.error_messages)))
    with open(os.environ["RIPREPLACE_AWX_STUB_OUT"], "a") as handle:
        handle.write(json.dumps({{"module": "{name}", "params": module.params}}) + "\\n")
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
"""


def awx_collection() -> Path:
    """awx.awx's directory: from an installed ``ansible`` package, else from its wheel (cached)."""
    for base in sys.path:
        found = Path(base) / "ansible_collections" / "awx" / "awx"
        if (found / "plugins" / "modules" / "workflow_job_template.py").is_file():
            return found
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ripreplace" / "awx"
    extracted = cache / "ansible_collections" / "awx" / "awx"
    if not (extracted / "MANIFEST.json").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        pip = [str(BIN / "python"), "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(cache)]
        subprocess.run([*pip, "--disable-pip-version-check", "-q", ANSIBLE_PACKAGE], check=True, timeout=900)
        (wheel,) = glob.glob(str(cache / "ansible-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("ansible_collections/awx/awx/"):
                    archive.extract(name, cache)
        Path(wheel).unlink()
    return extracted


def argument_spec(source: str) -> dict[str, Any]:
    """The ``argument_spec = dict(...)`` of a module's ``main()``, evaluated with the module's literal constants."""
    tree = ast.parse(source)
    constants: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    assign = next(
        n for n in ast.walk(main) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "argument_spec"
    )
    code = compile(ast.Expression(assign.value), "<argument_spec>", "eval")
    spec: dict[str, Any] = eval(code, {"__builtins__": {}, "dict": dict, "list": list, **constants})
    return spec


def documented_spec(options: dict[str, Any]) -> dict[str, Any]:
    """An argument spec from documented options (type, elements, choices, required, aliases, suboptions)."""
    spec: dict[str, Any] = {}
    for name, doc in options.items():
        entry = {k: doc[k] for k in ("type", "elements", "choices", "required", "aliases") if k in doc}
        if "suboptions" in doc:
            entry["options"] = documented_spec(doc["suboptions"])
        spec[name] = entry
    return spec


def stub_collection(tmp_path: Path) -> Path:
    """ansible_collections/awx/awx with a stand-in of every module configure.yml uses."""
    real = awx_collection()
    base = tmp_path / "stubs"
    modules = base / "ansible_collections" / "awx" / "awx" / "plugins" / "modules"
    modules.mkdir(parents=True)
    (modules.parent.parent / "galaxy.yml").write_text("namespace: awx\nname: awx\nversion: 24.6.1\n")
    for name in MODULES:
        source = (real / "plugins" / "modules" / f"{name}.py").read_text()
        nodes = {}
        if name == "workflow_job_template":
            doc_node = next(
                n for n in ast.parse(source).body if isinstance(n, ast.Assign) and n.targets[0].id == "DOCUMENTATION"
            )
            documentation = yaml.safe_load(ast.literal_eval(doc_node.value))
            nodes = documented_spec(documentation["options"]["workflow_nodes"]["suboptions"])
        (modules / f"{name}.py").write_text(STUB.format(name=name, spec=argument_spec(source), nodes=nodes))
    return base


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def load_data() -> dict[str, Any]:
    loader = type("Loader", (yaml.SafeLoader,), {})
    loader.add_constructor("!unsafe", _unsafe)
    data: dict[str, Any] = yaml.load((AWX / "controller.yml").read_text(), Loader=loader)
    return data


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Run configure.yml against the stand-ins: module -> the params of each call."""
    tmp_path = tmp_path_factory.mktemp("awx")
    out = tmp_path / "calls.jsonl"
    stubs = stub_collection(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RIPREPLACE_"))}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=f"{stubs}:{collection.collections_path()}",
        RIPREPLACE_AWX_STUB_OUT=str(out),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    vault = {"ripreplace_awx_audit_key": "HMAC-CANARY-7f3e", "ripreplace_awx_signing_key": "PEM-CANARY-2b9d"}
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), str(AWX / "configure.yml"), "-e", json.dumps(vault)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "CANARY" not in result.stdout + result.stderr  # the keys are no_log
    calls: dict[str, list[dict[str, Any]]] = {}
    for line in out.read_text().splitlines():
        call = json.loads(line)
        calls.setdefault(call["module"], []).append(call["params"])
    return calls


def test_every_object_is_created_with_arguments_awx_awx_accepts(configured):
    data = load_data()
    assert [p["name"] for p in configured["credential_type"]] == [
        t["name"] for t in data["ripreplace_awx_credential_types"]
    ]
    assert len(configured["credential"]) == 1 and len(configured["project"]) == 1
    assert [p["name"] for p in configured["job_template"]] == [t["name"] for t in data["ripreplace_awx_job_templates"]]
    assert [p["name"] for p in configured["workflow_job_template"]] == ["ripreplace campaign"]


def test_the_audit_keys_reach_jobs_as_files_and_awx_renders_the_injectors(configured):
    (ctype,) = configured["credential_type"]
    assert ctype["injectors"]["file"] == {
        "template.audit_key": "{{ audit_key }}",  # AWX's Jinja, handed over untouched (!unsafe)
        "template.signing_key": "{{ signing_key }}",
    }
    assert ctype["injectors"]["env"] == {
        "RIPREPLACE_AUDIT_KEY_FILE": "{{ tower.filename.audit_key }}",
        "RIPREPLACE_AUDIT_SIGNING_KEY_FILE": "{{ tower.filename.signing_key }}",
    }
    assert {f["id"] for f in ctype["inputs"]["fields"] if f.get("secret")} == {"audit_key", "signing_key"}
    (cred,) = configured["credential"]
    assert cred["credential_type"] == ctype["name"]
    assert cred["inputs"] == {"audit_key": "HMAC-CANARY-7f3e", "signing_key": "PEM-CANARY-2b9d"}
    for template in configured["job_template"]:  # every job gets the machine and the audit-key credentials
        assert cred["name"] in template["credentials"] and len(template["credentials"]) == 2


def test_the_workflow_runs_canary_then_rings_with_an_approval_between(configured):
    (workflow,) = configured["workflow_job_template"]
    nodes = {n["identifier"]: n for n in workflow["workflow_nodes"]}
    assert len(nodes) == len(workflow["workflow_nodes"])  # identifiers unique
    path, node = [], nodes["audit"]
    while True:
        path.append(node["identifier"])
        following = (node.get("related") or {}).get("success_nodes") or []
        assert len(following) <= 1 and not (node.get("related") or {}).get("failure_nodes")
        if not following:
            break
        node = nodes[following[0]["identifier"]]
    assert path == ["audit", "canary", "approve-ring1", "ring1", "approve-ring2", "ring2", "verify"]
    kinds = [nodes[i]["unified_job_template"]["type"] for i in path]
    approval, job = "workflow_approval", "job_template"
    assert kinds == [job, job, approval, job, approval, job, job]
    templates = {t["name"]: t for t in configured["job_template"]}
    for identifier in ("canary", "ring1", "ring2"):
        node = nodes[identifier]
        assert node["unified_job_template"]["name"] == "ripreplace remediate"
        assert node["limit"] == f"ripreplace_{identifier}"
        assert templates["ripreplace remediate"]["ask_limit_on_launch"] is True  # so the node's limit applies
        assert "ripreplace_max_fail_percentage" in node["extra_data"]
    for identifier in ("approve-ring1", "approve-ring2"):
        assert nodes[identifier]["unified_job_template"]["timeout"] > 0  # never waits for ever
    assert templates["ripreplace remediate"]["job_slice_count"] == 1  # serial batches span the whole limit
    for node in nodes.values():
        ujt = node["unified_job_template"]
        if ujt["type"] == "job_template":
            assert ujt["name"] in templates and ujt["organization"]["name"] == templates[ujt["name"]]["organization"]


def test_the_survey_asks_what_the_playbooks_read(configured):
    (workflow,) = configured["workflow_job_template"]
    survey = workflow["survey_spec"]
    variables = {q["variable"] for q in survey["spec"]}
    assert variables == {"ripreplace_ticket", "ripreplace_window", "ripreplace_targets"}
    assert all(q["required"] for q in survey["spec"])
    remediate = (ROOT / "playbooks" / "remediate.yml").read_text()
    for variable in variables:
        assert variable in remediate
    remediate_jt = next(t for t in configured["job_template"] if t["name"] == "ripreplace remediate")
    assert remediate_jt["survey_enabled"] is True and remediate_jt["survey_spec"] == survey


def test_the_example_project_runs_the_collections_playbooks():
    project = AWX / "project"
    for template in load_data()["ripreplace_awx_job_templates"]:
        (play,) = yaml.safe_load((project / template["playbook"]).read_text())
        assert play["ansible.builtin.import_playbook"] == f"ripreplace.remediation.{Path(template['playbook']).stem}"
    requirements = yaml.safe_load((project / "collections" / "requirements.yml").read_text())
    assert requirements["collections"][0]["name"].endswith(".tar.gz")
    assert "callbacks_enabled = ripreplace.remediation.audit_log" in (project / "ansible.cfg").read_text()
