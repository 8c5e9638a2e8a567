# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The collection is publishable and builds an execution environment, offline.

Each check runs the real tool on the real build: galaxy-importer on the tarball (no Galaxy, no
ansible-lint network), ansible-builder create and a replay of the image's collection and
introspection steps (no registry: nothing is pulled or built), antsibull-docs' linter and a Sphinx
build of the rendered docs (no intersphinx download), antsibull-changelog's linters, and the
offline install from a project's collections/requirements.yml as the docs show it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from tests.publish.tools import ROOT, antsibull_docs, build_tarball, clean_env, ee_context, install_tarball, tools

pytestmark = pytest.mark.slow

GUIDES = ("guide_overview", "guide_install", "guide_ee")


def _run(argv, *, cwd=ROOT, env=None, timeout=900):
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{argv}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    return build_tarball(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    return install_tarball(tarball, tmp_path_factory.mktemp("collections"))


def _collections_root(collection: Path) -> Path:
    return collection.parents[2]


def test_galaxy_importer_accepts_the_tarball_offline(tarball, tmp_path):
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text(
        "[galaxy-importer]\n"
        "run_ansible_doc = True\n"
        "run_ansible_lint = True\n"
        "offline_ansible_lint = True\n"
        "run_ansible_test = False\n"
        "check_required_tags = True\n"
        f"ansible_local_tmp = {tmp_path / 'ansible-tmp'}\n"
        f"tmp_root_dir = {tmp_path}\n"
    )
    env = clean_env(GALAXY_IMPORTER_CONFIG=str(config))
    cmd = [tools() / "python", "-m", "galaxy_importer.main", "--print-result", tarball]
    out = _run(cmd, cwd=tmp_path, env=env).stdout
    log, _, result = out.partition("\n{\n")
    assert "Importer processing completed successfully" in log, log
    problems = [line for line in log.splitlines() if line.startswith(("ERROR", "WARNING"))]
    # galaxy-importer notes every shipped sanity ignore file, whatever it holds; each line of them is
    # justified (tests/unit/test_collection_layout.py). Anything else is a finding.
    shipped = sorted(p.name for p in (ROOT / "tests" / "sanity").glob("ignore-*.txt"))
    notices = [line for line in problems if line.startswith("WARNING: Ignore files skip ansible-test sanity tests")]
    assert sorted(re.search(r"found (ignore-\S+\.txt)", line).group(1) for line in notices) == shipped
    assert [line for line in problems if line not in notices] == []
    imported = json.loads("{\n" + result)
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert imported["metadata"]["version"] == galaxy["version"]
    assert imported["metadata"]["repository"] == galaxy["repository"]
    names = {(c["content_type"], c["name"]) for c in imported["contents"]}
    assert {("module", "covered_facts"), ("module", "covered_remove"), ("callback", "audit_log")} <= names
    assert {("role", role) for role in ("detect", "replacement", "remove", "verify")} <= names
    assert (
        imported["requires_ansible"] == yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    )


def test_introspect_finds_the_controller_requirements(installed):
    out = _run([tools() / "ansible-builder", "introspect", "--sanitize", _collections_root(installed)]).stdout
    found = yaml.safe_load(out.split("\n", 1)[1])
    python = [line.split("#")[0].strip() for line in found["python"]]
    system = [line.split("#")[0].strip() for line in found["system"]]
    declared = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    # --sanitize drops what ansible-core already brings (PyYAML); everything else must be found.
    assert sorted(python) == sorted(r for r in declared if r and not r.startswith("PyYAML"))
    assert "jsonschema>=4.18" in python
    assert "openssh-clients [platform:rpm]" in system and "openssh-client [platform:dpkg]" in system


def test_ee_context_is_created_offline_and_its_build_steps_work(tmp_path):
    containerfile = ee_context(tmp_path / "context")
    text = containerfile.read_text()
    assert "FROM base AS galaxy" in text and "introspect.py introspect" in text
    assert "ENV ANSIBLE_CALLBACKS_ENABLED=ripreplace.remediation.audit_log" in text
    build = tmp_path / "context" / "_build"
    assert (build / "collections" / "ripreplace-remediation.tar.gz").is_file()
    # The image's galaxy stage (working directory /build = _build) and the builder stage's
    # introspection, replayed here: the collection comes from the tarball alone, no server.
    image_collections = tmp_path / "usr-share-ansible-collections"
    env = clean_env(ANSIBLE_GALAXY_SERVER_LIST="", ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1")
    install = ["collection", "install", "--offline", "-r", "requirements.yml", "--collections-path", image_collections]
    _run([tools() / "ansible-galaxy", *install], cwd=build, env=env)
    manifest = image_collections / "ansible_collections" / "ripreplace" / "remediation" / "MANIFEST.json"
    version = json.loads(manifest.read_text())["collection_info"]["version"]
    assert version == yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    pip, bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    introspect = [build / "scripts" / "introspect.py", "introspect", image_collections]
    _run([tools() / "python", *introspect, "--write-pip", pip, "--write-bindep", bindep], cwd=build)
    assert re.search(r"^jsonschema>=4\.18\s", pip.read_text(), re.MULTILINE), pip.read_text()
    assert "openssh-client [platform:dpkg]" in bindep.read_text()


def test_collection_docs_lint_clean(installed):
    cmd = [*antsibull_docs(), "lint-collection-docs", "--plugin-docs", "--check-extra-docs-refs"]
    cmd += ["--validate-collection-refs", "all", "--disallow-unknown-collection-refs", installed]
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(_collections_root(installed)))
    result = _run(cmd, env=env)
    assert result.stdout.strip() == "", result.stdout


def test_docsite_renders(installed, tmp_path):
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(_collections_root(installed)))
    rst = tmp_path / "rst"
    rst.mkdir(mode=0o700)
    render = ["collection", "--use-current", "--squash-hierarchy", "--dest-dir", rst, "ripreplace.remediation"]
    _run([*antsibull_docs(), *render], env=env)
    for name in GUIDES:
        assert (rst / "docsite" / f"{name}.rst").is_file(), sorted(p.name for p in rst.rglob("*.rst"))
    # antsibull-docs' own Sphinx set-up, minus intersphinx: no download of other sites' inventories.
    (tmp_path / "conf.py").write_text(
        "project = 'ripreplace.remediation'\n"
        "extensions = ['sphinx_antsibull_ext']\n"
        "html_theme = 'sphinx_ansible_theme'\n"
        "pygments_style = 'ansible'\n"
        "highlight_language = 'YAML+Jinja'\n"
        "default_role = 'any'\n"
        "nitpicky = True\n"
    )
    warnings = tmp_path / "warnings.txt"
    html = tmp_path / "html"
    sphinx = [tools() / "sphinx-build", "-b", "html", "-q", "-c", tmp_path, "-w", warnings, rst, html]
    _run(sphinx, env=env)
    # Only references into Ansible's own documentation stay unresolved offline (docs.ansible.com's
    # inventory resolves them on a docsite build); anything in this collection must resolve.
    external = re.compile(
        r"WARNING: (undefined label: '(?!ansible_collections\.ripreplace\.)[^']+'"
        r"|'envvar' reference target not found: ANSIBLE_\w+) \[ref\.(ref|envvar)\]$"
    )
    unexpected = [w for w in warnings.read_text().splitlines() if w.strip() and not external.search(w)]
    assert unexpected == []
    for name in GUIDES:
        page = (html / "docsite" / f"{name}.html").read_text()
        assert "ansible_collections.ripreplace.remediation.docsite" not in page  # every :ref: resolved
    assert "Execution environments, AWX and Automation Platform" in (html / "docsite" / "guide_ee.html").read_text()
    for page in ("covered_facts_module", "covered_remove_module", "audit_log_callback", "detect_role"):
        assert (html / f"{page}.html").is_file(), page


def test_changelog_lints_clean():
    assert _run([tools() / "antsibull-changelog", "lint"]).stdout.strip() == ""
    lint_yaml = [tools() / "antsibull-changelog", "lint-changelog-yaml", ROOT / "changelogs" / "changelog.yaml"]
    assert _run(lint_yaml).stdout.strip() == ""


def _requirements_examples() -> dict[str, str]:
    """The collections/requirements.yml examples of the install guide and the README."""
    guide = (ROOT / "docs" / "docsite" / "rst" / "guide_install.rst").read_text()
    readme = (ROOT / "README.md").read_text()
    return {
        "guide_install.rst": textwrap.dedent(re.search(r"\.\. code-block:: yaml\n\n((?:  .*\n|\n)+)", guide).group(1)),
        "README.md": textwrap.dedent(re.search(r"```yaml\n((?:(?!\s*```).*\n)+)\s*```", readme).group(1)),
    }


@pytest.mark.parametrize("document", ["guide_install.rst", "README.md"])
def test_documented_requirements_file_installs_offline(document, tarball, tmp_path):
    """The documented collections/requirements.yml, in a project beside the tarball, as AWX syncs it."""
    requirements = yaml.safe_load(_requirements_examples()[document])
    (source,) = [c["name"] for c in requirements["collections"]]
    assert Path(source).name == tarball.name, f"{document} names another version than galaxy.yml's"
    project = tmp_path / "project"
    (project / "collections").mkdir(parents=True)
    shutil.copy2(tarball, project / source)
    (project / "collections" / "requirements.yml").write_text(yaml.safe_dump(requirements))
    env = clean_env(ANSIBLE_GALAXY_SERVER_LIST="")
    install = ["collection", "install", "--offline", "-r", "collections/requirements.yml", "-p", "collections/"]
    _run([tools() / "ansible-galaxy", *install], cwd=project, env=env)
    assert (project / "collections" / "ansible_collections" / "ripreplace" / "remediation" / "MANIFEST.json").is_file()
