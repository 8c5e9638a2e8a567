# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""covered_facts module: parsers and backends on captured tool output, then whole scans of fixture roots.

Fixtures (tests/unit/fixtures/):
- dpkg-status-debian12-real.txt: stanzas copied from /var/lib/dpkg/status of a Debian 12 machine.
- dpkg-status-kaspersky.txt / dpkg-status-kesl-removed.txt: the lab's fake packages in the exact
  format dpkg writes (installed, and removed-not-purged ``deinstall ok config-files``).
- rpm-qa-lab-kesl-kics.txt: real output of the module's ``rpm -qa --qf`` over an rpm database
  holding the lab's fake kesl, kesl-gui and the Checkmarx kics decoy (Debian's rpm 4.18).
- proc-modules-sample.txt, systemctl-show-kesl-klnagent64.txt: the kernel's and systemctl's formats.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
from tests.collection_code import load, scan_offline

from ripreplace import collection

FIXTURES = Path(__file__).parent / "fixtures"

cf = load("plugins.modules.covered_facts")
parsers = load("plugins.module_utils.covered_parsers")
backends = load("plugins.module_utils.covered_backends")
scanning = load("plugins.module_utils.covered_scan")
planning = load("plugins.module_utils.covered_plan")
catalog_utils = collection.load_plugin_util("catalog")


@pytest.fixture(scope="module")
def rules():
    return catalog_utils.compile_rules(catalog_utils.load_catalogs())


class FakeModule:
    """Stands in for AnsibleModule at the edges: binaries and commands are canned, argv recorded.

    ``dpkg-query -S`` is answered as dpkg answers it from ``owners`` (host path -> packages whose
    file lists hold it): a literal pattern finds that path, ``ROOT/*`` everything below ROOT.
    """

    def __init__(self, bins=None, commands=None, owners=None):
        self.bins = {"dpkg-query": "/usr/bin/dpkg-query", **(bins or {})}
        self.commands = commands or []  # [(argv_prefix, (rc, out, err))]
        self.owners = owners or {}
        self.calls = []

    def get_bin_path(self, name, required=False):
        return self.bins.get(name)

    def run_command(self, argv, environ_update=None, **_kw):
        self.calls.append(list(argv))
        for prefix, result in self.commands:
            if list(argv[: len(prefix)]) == list(prefix):
                return result
        if argv[0] == self.bins["dpkg-query"] and "-S" in argv:
            return self._dpkg_search(argv[argv.index("-S") + 1 :])
        raise AssertionError(f"unexpected command {argv!r}")

    def _dpkg_search(self, patterns):
        out, err = [], []
        for pattern in patterns:
            if pattern.endswith("/*"):
                base = pattern[:-2]
                hits = [p for p in sorted(self.owners) if p.startswith(base + "/")]
            else:
                hits = [p for p in sorted(self.owners) if p == pattern]
            out += [f"{', '.join(self.owners[p])}: {p}" for p in hits]
            if not hits:
                err.append(f"dpkg-query: no path found matching pattern {pattern}")
        return (1 if err else 0), "".join(line + "\n" for line in out), "".join(line + "\n" for line in err)

    def fail_json(self, **kwargs):
        raise RuntimeError(json.dumps(kwargs))


# --------------------------------------------------------------------------- parsers
def test_parse_dpkg_status_real_debian_stanzas():
    text = (FIXTURES / "dpkg-status-debian12-real.txt").read_text()
    stanzas = parsers.parse_dpkg_status(text)
    names = [s["Package"] for s in stanzas]
    assert names == ["bash", "libc6", "python3-yaml", "dpkg", "coreutils"]
    bash = stanzas[0]
    assert bash["Status"] == "install ok installed"
    assert bash["Maintainer"] == "Matthias Klose <doko@debian.org>"
    assert parsers.dpkg_relation_names(bash["Pre-Depends"]) == ["libc6", "libtinfo6"]
    # Description continuation lines and Conffiles do not leak into other fields
    assert "Conffiles" not in bash and "Description" not in bash


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("kesl (= 12.4.0-1225)", ["kesl"]),
        ("libc6 (>= 2.36), libtinfo6 (>= 6)", ["libc6", "libtinfo6"]),
        ("default-mta | mail-transport-agent", ["default-mta", "mail-transport-agent"]),
        ("python3:any (>= 3.11~)", ["python3"]),
        ("", []),
        (None, []),
    ],
)
def test_dpkg_relation_names(field, names):
    assert parsers.dpkg_relation_names(field) == names


def test_parse_dpkg_status_wanted_filter_and_states():
    text = (FIXTURES / "dpkg-status-kesl-removed.txt").read_text()
    stanzas = parsers.parse_dpkg_status(text, wanted={"kesl", "kesl-gui"})
    assert [(s["Package"], s["Status"]) for s in stanzas] == [
        ("kesl", "deinstall ok config-files"),
        ("kesl-gui", "unknown ok not-installed"),
    ]
    assert parsers.parse_dpkg_status(text, wanted={"bash"}) == []


def test_parse_rpm_qa_real_output():
    pkgs = parsers.parse_rpm_qa((FIXTURES / "rpm-qa-lab-kesl-kics.txt").read_text())
    by_name = {p["name"]: p for p in pkgs}
    assert sorted(by_name) == ["kesl", "kesl-gui", "kics"]
    assert by_name["kesl"]["version"] == "12.4.0" and by_name["kesl"]["release"] == "1225"
    assert by_name["kesl"]["epoch"] is None
    assert by_name["kics"]["vendor"].startswith("Checkmarx")
    assert "/bin/sh" in by_name["kesl"]["requires"]
    assert not any(r.startswith("rpmlib(") for r in by_name["kesl"]["requires"])
    assert parsers.parse_rpm_qa((FIXTURES / "rpm-qa-empty-debian.txt").read_text()) == []


def test_parse_systemctl_show_blocks():
    units = parsers.parse_systemctl_show((FIXTURES / "systemctl-show-kesl-klnagent64.txt").read_text())
    assert units["kesl.service"]["ActiveState"] == "active"
    assert units["kesl.service"]["MainPID"] == "412"
    assert units["klnagent64.service"]["UnitFileState"] == "disabled"


def test_parse_proc_modules():
    mods = parsers.parse_proc_modules((FIXTURES / "proc-modules-sample.txt").read_text())
    assert [m["name"] for m in mods][:2] == ["redirfs", "tls"]
    assert mods[0]["size"] == 61440 and mods[0]["refcount"] == "1"


# --------------------------------------------------------------------------- fixture roots
def _write(root: Path, path: str, content: str = "", mode: int = 0o644) -> None:
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(content)
    full.chmod(mode)


def _proc(root: Path, pid: int, exe: str | None, argv0: str = "", ns: dict | None = None) -> None:
    """A /proc/PID entry; ``ns``: {mnt, pid} namespace links and the process's ``cgroup`` file."""
    d = root / "proc" / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    if exe:
        os.symlink(exe, d / "exe")
    (d / "cmdline").write_bytes(argv0.encode() + b"\0--secret-flag=hunter2\0")
    for kind in ("mnt", "pid"):
        if ns and kind in ns:
            (d / "ns").mkdir(exist_ok=True)
            os.symlink(ns[kind], d / "ns" / kind)
    if ns and "cgroup" in ns:
        (d / "cgroup").write_text(ns["cgroup"])


def make_root(tmp_path: Path, status_files=("dpkg-status-debian12-real.txt",), procs=(), modules=False) -> Path:
    root = tmp_path / "root"
    status = "".join((FIXTURES / name).read_text().rstrip("\n") + "\n\n" for name in status_files)
    _write(root, "/var/lib/dpkg/status", status)
    (root / "etc/init.d").mkdir(parents=True, exist_ok=True)
    (root / "lib/systemd/system").mkdir(parents=True, exist_ok=True)
    (root / "proc/self").mkdir(parents=True)
    for pid, exe, argv0, *ns in procs:
        _proc(root, pid, exe, argv0, *ns)
    if modules:
        _write(root, "/proc/modules", (FIXTURES / "proc-modules-sample.txt").read_text())
    return root


def plant_kesl_files(root: Path, with_services=True) -> None:
    _write(root, "/opt/kaspersky/kesl/libexec/kesl", "\x7fELF", 0o755)
    _write(root, "/opt/kaspersky/kesl/bin/kesl-setup.pl", "#!/bin/sh\n", 0o755)
    _write(root, "/usr/bin/kesl-control", "#!/bin/sh\n", 0o755)
    _write(root, "/etc/opt/kaspersky/kesl/kesl.conf", "UseKSN=No\n")
    _write(root, "/var/opt/kaspersky/kesl/common/.created", "created by kesl postinst\n")
    _write(root, "/var/log/kaspersky/kesl-maint.log", "postinst configure\n")
    if with_services:
        _write(root, "/lib/systemd/system/kesl.service", "[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl\n")
        _write(root, "/etc/init.d/kesl", "#!/bin/sh\n# kesl\n", 0o755)
        (root / "etc/rc2.d").mkdir(parents=True, exist_ok=True)
        os.symlink("../init.d/kesl", root / "etc/rc2.d/S01kesl")


def scan(rules, root, module=None, exceptions=()):
    return scan_offline(module or FakeModule(), root, rules=rules, exceptions=exceptions)


def test_clean_debian_root_has_no_findings(tmp_path, rules):
    root = make_root(tmp_path, procs=[(1, "/usr/sbin/sshd", "/usr/sbin/sshd"), (7, "/usr/bin/python3.11", "python3")])
    # A user's file mentioning the vendor is not a signal.
    _write(root, "/home/alice/kaspersky-renewal-notes.txt", "renew Kaspersky by March\n")
    findings, excepted, plan, scanner = scan(rules, root)
    assert findings == {} and excepted == {}
    assert plan["packages"] == [] and plan["paths"] == []
    assert scanner.scanned["deb"] == {"available": True, "packages": 5}
    assert scanner.scanned["processes"]["seen"] == 2


def test_installed_kesl_gui_agent_found_with_evidence_and_ordered_plan(tmp_path, rules):
    root = make_root(
        tmp_path,
        status_files=("dpkg-status-debian12-real.txt", "dpkg-status-kaspersky.txt"),
        procs=[
            (412, "/opt/kaspersky/kesl/libexec/kesl", "/opt/kaspersky/kesl/libexec/kesl"),
            (413, "/opt/kaspersky/klnagent64/sbin/klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent"),
            (414, "/usr/bin/bash", "/bin/bash"),
        ],
    )
    plant_kesl_files(root)
    _write(root, "/opt/kaspersky/klnagent64/bin/klnagchk", "#!/bin/sh\n", 0o755)
    _write(root, "/var/opt/kaspersky/klnagent/.created", "x\n")
    findings, _, plan, _ = scan(rules, root)
    assert set(findings) == {"kaspersky-kesl", "kaspersky-kesl-gui", "kaspersky-network-agent"}
    kesl = findings["kaspersky-kesl"]
    assert kesl["state"] == "installed" and kesl["confidence"] == "high" and kesl["review"] is False
    kinds = {(e["kind"], e["value"]) for e in kesl["evidence"]}
    assert ("deb", "kesl") in kinds
    assert ("process", "/opt/kaspersky/kesl/libexec/kesl") in kinds
    assert ("service", "kesl") in kinds
    assert ("path", "/var/opt/kaspersky/kesl/common/kesl.ini") not in kinds  # not planted: not reported
    deb = next(e for e in kesl["evidence"] if e["kind"] == "deb")
    assert deb["details"]["version"] == "12.4.0-1225" and deb["details"]["status"] == "install ok installed"
    proc = next(e for e in kesl["evidence"] if e["kind"] == "process")
    assert proc["details"] == {"pid": 412}  # never the command line (it may hold secrets)
    assert "hunter2" not in json.dumps(findings)
    services = [e for e in kesl["evidence"] if e["kind"] == "service"]
    assert {s["details"]["manager"] for s in services} == {"systemd", "sysv"}
    sysv = next(s for s in services if s["details"]["manager"] == "sysv")
    assert sysv["details"]["enabled"] is True and sysv["details"]["active"] is None
    # Removal order: dependents first (kesl-gui Depends kesl), the Network Agent last.
    assert [p["name"] for p in plan["packages"]] == ["kesl-gui", "kesl", "klnagent64"]
    assert plan["processes"] == [
        {"pid": 412, "exe": "/opt/kaspersky/kesl/libexec/kesl", "catalog_id": "kaspersky-kesl"},
        {"pid": 413, "exe": "/opt/kaspersky/klnagent64/sbin/klnagent", "catalog_id": "kaspersky-network-agent"},
    ]
    # Removing the vendor's products removes its bare directories too (the fallback entry's
    # leftovers), outermost only: rm -r of a root covers the product directories inside it.
    paths = {p["path"]: (p["vendor_root"], p["catalog_id"]) for p in plan["paths"]}
    roots = ("/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky")
    assert paths == {r: (r, "kaspersky-vendor-directories") for r in roots}
    assert "/usr/bin/kesl-control" not in paths  # owned by the package, not a leftover to rm
    assert set(plan["vendor_roots"]) == set(roots)
    # The fallback entry (bare vendor directories) is not reported when products explain them.
    assert "kaspersky-vendor-directories" not in findings


def test_removed_not_purged_kesl_is_residue(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-debian12-real.txt", "dpkg-status-kesl-removed.txt"))
    # What `dpkg -r kesl` leaves: conffiles (init script, /etc/opt), rc links, postinst's state dir, logs.
    _write(root, "/etc/opt/kaspersky/kesl/kesl.conf", "UseKSN=No\n")
    _write(root, "/etc/init.d/kesl", "#!/bin/sh\n", 0o755)
    (root / "etc/rc2.d").mkdir(parents=True)
    os.symlink("../init.d/kesl", root / "etc/rc2.d/S01kesl")
    _write(root, "/var/opt/kaspersky/kesl/common/.created", "x\n")
    findings, _, plan, _ = scan(rules, root)
    assert set(findings) == {"kaspersky-kesl"}
    kesl = findings["kaspersky-kesl"]
    assert kesl["state"] == "residue"
    deb = next(e for e in kesl["evidence"] if e["kind"] == "deb")
    assert deb["details"]["status"] == "deinstall ok config-files" and deb["details"]["residue"] is True
    assert ("path", "/var/opt/kaspersky/kesl") in {(e["kind"], e["value"]) for e in kesl["evidence"]}
    assert plan["packages"] == [
        {
            "name": "kesl",
            "manager": "deb",
            "arch": "amd64",
            "version": "12.4.0-1225",
            "status": "config-files",
            "catalog_id": "kaspersky-kesl",
        }
    ]
    assert {p["path"] for p in plan["paths"]} == {"/var/opt/kaspersky", "/etc/opt/kaspersky"}


def test_checkmarx_kics_decoy_never_reported_but_kaspersky_kics_is(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    _write(root, "/usr/bin/kics", "#!/bin/sh\n", 0o755)
    _write(root, "/usr/share/kics/assets/queries/README", "Checkmarx\n")
    _write(root, "/etc/init.d/kics", "#!/bin/sh\n# Checkmarx KICS daemon\n", 0o755)
    findings, _, _, _ = scan(rules, root)
    assert "kaspersky-kics" not in findings
    # The same bare name with Kaspersky's maintainer, or its path, is found.
    text = (
        (FIXTURES / "dpkg-status-kaspersky.txt")
        .read_text()
        .replace(
            "Checkmarx (ripreplace lab decoy) <kics@checkmarx.invalid>", "AO Kaspersky Lab <support@kaspersky.com>"
        )
    )
    (root / "var/lib/dpkg/status").write_text(text)
    findings, _, _, _ = scan(rules, root)
    assert [e["value"] for e in findings["kaspersky-kics"]["evidence"]] == ["kics"]
    _write(root, "/etc/init.d/kics", "#!/bin/sh\nDAEMON=/opt/kaspersky/kics/bin/kicsd\n", 0o755)
    findings, _, _, _ = scan(rules, root)
    assert {e["kind"] for e in findings["kaspersky-kics"]["evidence"]} == {"deb", "service"}


def test_rpm_backend_exact_argv_and_decoy(tmp_path, rules):
    root = make_root(tmp_path, status_files=())
    out = (FIXTURES / "rpm-qa-lab-kesl-kics.txt").read_text()
    module = FakeModule(bins={"rpm": "/usr/bin/rpm"}, commands=[(["/usr/bin/rpm"], (0, out, ""))])
    findings, _, plan, scanner = scan(rules, root, module=module)
    assert module.calls == [
        [
            "/usr/bin/rpm",
            "--root",
            str(root),
            "-qa",
            "--qf",
            "%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{PACKAGER}\t[%{REQUIRENAME},]\n",
        ]
    ]
    assert set(findings) == {"kaspersky-kesl", "kaspersky-kesl-gui"}
    rpm_ev = findings["kaspersky-kesl"]["evidence"][0]
    assert rpm_ev["kind"] == "rpm" and rpm_ev["details"]["version"] == "12.4.0-1225"
    assert [p["name"] for p in plan["packages"]] == ["kesl-gui", "kesl"]
    assert scanner.scanned["rpm"] == {"available": True, "packages": 3}


def test_rpm_failure_is_reported_with_output(tmp_path, rules):
    root = make_root(tmp_path, status_files=())
    module = FakeModule(
        bins={"rpm": "/usr/bin/rpm"}, commands=[(["/usr/bin/rpm"], (1, "", "error: cannot open Packages database"))]
    )
    with pytest.raises(RuntimeError) as err:
        scan(rules, root, module=module)
    detail = json.loads(str(err.value))
    assert detail["rc"] == 1 and "Packages database" in detail["stderr"]


def test_systemctl_live_state_used_only_when_systemd_runs(tmp_path, rules, monkeypatch):
    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    plant_kesl_files(root)
    module = FakeModule(
        bins={"systemctl": "/usr/bin/systemctl"},
        commands=[(["/usr/bin/systemctl"], (0, (FIXTURES / "systemctl-show-kesl-klnagent64.txt").read_text(), ""))],
    )
    # Offline root: never ask systemctl (it would describe the controller, not the image).
    scan(rules, root, module=module)
    assert [c for c in module.calls if c[0] == "/usr/bin/systemctl"] == []
    monkeypatch.setattr(backends.ServiceBackend, "systemd_running", lambda self: True)
    findings, _, plan, _ = scan(rules, root, module=module)
    asked = [c for c in module.calls if c[0] == "/usr/bin/systemctl"]
    assert asked == [
        [
            "/usr/bin/systemctl",
            "show",
            "--no-pager",
            "--property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID,FragmentPath,SourcePath",
            "--",
            "kesl.service",
        ]
    ]
    svc = next(e for e in findings["kaspersky-kesl"]["evidence"] if e["kind"] == "service")
    assert svc["details"]["active"] == "active" and svc["details"]["enabled"] == "enabled"
    assert svc["details"]["main_pid"] == 412
    assert plan["services"][0]["name"] == "kesl"


def test_low_confidence_kernel_module_is_review_only(tmp_path, rules):
    root = make_root(tmp_path, modules=True)
    findings, _, plan, scanner = scan(rules, root)
    assert set(findings) == {"kaspersky-kesl", "kaspersky-kav4fs"}
    for finding in findings.values():
        assert finding["confidence"] == "low" and finding["review"] is True
        assert finding["evidence"][0]["kind"] == "kernel_module"
    assert plan["kernel_modules"] == [] and plan["packages"] == [] and plan["paths"] == []
    assert scanner.scanned["kernel_modules"] == {"available": True, "loaded": 7}


def test_exception_moves_finding_out_of_plan(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    plant_kesl_files(root)
    exc = {
        "id": "EXC-1",
        "catalog_id": "kaspersky-kesl",
        "scope": "host:h",
        "reason": "r",
        "ticket": "T",
        "expires": "2099-01-01",
    }
    findings, excepted, plan, _ = scan(rules, root, exceptions=[exc])
    assert "kaspersky-kesl" not in findings
    assert excepted["kaspersky-kesl"]["exception"]["ticket"] == "T"
    assert "kesl" not in [p["name"] for p in plan["packages"]]
    assert "kesl-gui" in [p["name"] for p in plan["packages"]]
    # an excepted product still explains the vendor directories: no fallback finding
    assert "kaspersky-vendor-directories" not in findings


@pytest.mark.parametrize("keep", ["exception", "review"])
def test_vendor_roots_stay_when_something_of_the_vendor_must_stay(tmp_path, rules, keep):
    root = make_root(tmp_path, status_files=("dpkg-status-kesl-removed.txt",), modules=(keep == "review"))
    _write(root, "/var/opt/kaspersky/kesl/common/.created", "x\n")
    exceptions = []
    if keep == "exception":
        _write(root, "/opt/kaspersky/kics/bin/kicsd", "x\n")
        exceptions = [
            {
                "id": "EXC-1",
                "catalog_id": "kaspersky-kics",
                "scope": "host:h",
                "reason": "r",
                "ticket": "T",
                "expires": "2099-01-01",
            }
        ]
    findings, _excepted, plan, _ = scan(rules, root, exceptions=exceptions)
    assert "kaspersky-kesl" in findings
    # never the vendor roots: kics (excepted) or kav4fs_oas (review) may live under them
    assert [p["path"] for p in plan["paths"]] == ["/var/opt/kaspersky/kesl"]
    assert not any(p["path"].startswith("/opt/kaspersky") for p in plan["paths"])


def test_fallback_vendor_directories_when_nothing_else_explains_them(tmp_path, rules):
    root = make_root(tmp_path)
    _write(root, "/etc/opt/kaspersky/unknown-product/settings.ini", "x\n")
    findings, _, plan, _ = scan(rules, root)
    assert set(findings) == {"kaspersky-vendor-directories"}
    assert findings["kaspersky-vendor-directories"]["state"] == "residue"
    assert plan["paths"] == [
        {
            "path": "/etc/opt/kaspersky",
            "vendor_root": "/etc/opt/kaspersky",
            "catalog_id": "kaspersky-vendor-directories",
            "details": {"type": "directory", "entries": 1},
        }
    ]


def test_symlink_out_of_vendor_root_is_refused(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-kesl-removed.txt",))
    (root / "var/opt/kaspersky").mkdir(parents=True)
    (root / "srv/data").mkdir(parents=True)
    os.symlink(str(root / "srv/data"), root / "var/opt/kaspersky/kesl")
    findings, _, plan, _ = scan(rules, root)
    assert "kaspersky-kesl" in findings
    # The vendor root itself is a real directory: rm -r removes the link in it, never its target.
    assert [p["path"] for p in plan["paths"]] == ["/var/opt/kaspersky"]
    assert plan["refused"][0]["path"] == "/var/opt/kaspersky/kesl"
    assert "outside its vendor root" in plan["refused"][0]["reason"]


def test_deleted_exe_and_script_launcher(tmp_path, rules):
    root = make_root(
        tmp_path,
        status_files=("dpkg-status-kaspersky.txt",),
        procs=[
            (50, "/opt/kaspersky/kesl/libexec/kesl (deleted)", "kesl"),
            (51, "/usr/bin/dash", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh"),
        ],
    )
    findings, _, _, _ = scan(rules, root)
    procs = {e["details"]["pid"]: e for e in findings["kaspersky-kesl"]["evidence"] if e["kind"] == "process"}
    assert procs[50]["value"] == "/opt/kaspersky/kesl/libexec/kesl"
    assert procs[51]["value"] == "/opt/kaspersky/kesl/libexec/kesl_launcher.sh" and procs[51]["confidence"] == "medium"


def test_scan_kinds_can_be_limited(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    plant_kesl_files(root)
    scanner = scanning.Scanner(FakeModule(), rules, root=str(root), scan=["path"]).run()
    kinds = {e["kind"] for ev in scanner.evidence.values() for e in ev}
    assert kinds == {"path"}
    assert scanner.scanned["deb"] == {"available": False, "skipped": True}


@pytest.mark.parametrize(
    ("items", "after", "expected"),
    [
        # dpkg Depends wins over list order
        ([("kesl", "a", [], 0), ("kesl-gui", "b", ["kesl"], 0)], {}, ["kesl-gui", "kesl"]),
        # entry-level "after"
        ([("klnagent64", "agent", [], 0), ("kesl", "kesl", [], 0)], {"agent": ["kesl"]}, ["kesl", "klnagent64"]),
        # in-entry hint order
        ([("ksc64", "ksc", [], 1), ("ksc-web-console", "ksc", [], 0)], {}, ["ksc-web-console", "ksc64"]),
        # a cycle is broken in catalog order, never dropped
        ([("x", "a", ["y"], 0), ("y", "b", ["x"], 0)], {}, ["x", "y"]),
    ],
)
def test_order_packages(items, after, expected):
    objs = [{"name": n, "manager": "deb", "catalog_id": c, "depends": d, "hint": h} for n, c, d, h in items]
    order = ["a", "b", "kesl", "agent", "ksc"]
    assert [i["name"] for i in planning.order_packages(objs, order, after)] == expected


def test_main_end_to_end_offline_root(tmp_path, rules, monkeypatch, capsys):
    """The real AnsibleModule entry point, as AnsiballZ would run it, on an offline root."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    plant_kesl_files(root)
    args = {
        "ANSIBLE_MODULE_ARGS": {
            "compiled_rules": rules,
            "root": str(root),
            "scan": ["deb", "path", "service"],
            "_ansible_check_mode": True,
        }
    }
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(args)))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as exit_info:
        cf.main()
    assert exit_info.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is False
    facts = result["ansible_facts"]["covered_software"]
    assert facts["format"] == "ripreplace-covered-facts/1"
    assert {f["catalog_id"] for f in facts["findings"]} == {
        "kaspersky-kesl",
        "kaspersky-kesl-gui",
        "kaspersky-network-agent",
    }
    assert facts["scanned"]["root"] == str(root)


def test_main_without_rules_explains_the_action_plugin(monkeypatch, capsys):
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {}})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cf.main()
    assert exit_info.value.code == 1
    assert "action plugin" in json.loads(capsys.readouterr().out)["msg"]


# --------------------------------------------------------------------------- namespaces
HOST_NS = {"mnt": "mnt:[4026531841]", "pid": "pid:[4026531836]"}
DOCKER_ID = "3f1c2b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615e4d3"
CONTAINER = {
    "mnt": "mnt:[4026532771]",
    "pid": "pid:[4026532774]",
    "cgroup": f"0::/system.slice/docker-{DOCKER_ID}.scope\n",
}


def test_process_in_another_mount_namespace_is_a_container_finding_never_planned(tmp_path, rules):
    kesl = "/opt/kaspersky/kesl/libexec/kesl"
    root = make_root(
        tmp_path,
        status_files=("dpkg-status-kaspersky.txt",),
        procs=[
            (1, "/usr/bin/tini", "tini", HOST_NS),
            (412, kesl, kesl, HOST_NS),
            (7001, kesl, kesl, CONTAINER),
            (7002, "/opt/kaspersky/klnagent64/sbin/klnagent", "klnagent", CONTAINER),
        ],
    )
    plant_kesl_files(root)
    module = FakeModule()
    scanner = scanning.Scanner(module, rules, root=str(root)).run()
    found = planning.build_findings(rules, scanner)
    plan = planning.build_plan(rules, scanner, found, root=str(root))
    by_state = {(f["catalog_id"], f["state"]): f for _e, f in found}
    host_kesl = by_state[("kaspersky-kesl", "installed")]
    assert [e["details"]["pid"] for e in host_kesl["evidence"] if e["kind"] == "process"] == [412]
    in_container = by_state[("kaspersky-kesl", "container")]
    assert in_container["review"] is True and in_container["confidence"] == "high"
    assert in_container["evidence"] == [
        {
            "kind": "process",
            "value": kesl,
            "confidence": "high",
            "source": in_container["evidence"][0]["source"],
            "details": {
                "pid": 7001,
                "namespace": "container",
                "mnt_ns": "mnt:[4026532771]",
                "container_id": DOCKER_ID,
                "cgroup": f"/system.slice/docker-{DOCKER_ID}.scope",
            },
        }
    ]
    agent = by_state[("kaspersky-network-agent", "container")]
    assert agent["review"] is True and [e["details"]["pid"] for e in agent["evidence"]] == [7002]
    host_agent = by_state[("kaspersky-network-agent", "installed")]  # its package, on the host
    assert {e["kind"] for e in host_agent["evidence"]} == {"deb"}  # never the container's process
    assert plan["processes"] == [{"pid": 412, "exe": kesl, "catalog_id": "kaspersky-kesl"}]
    # A container keeps nothing on the host's roots: the vendor directories still go with kesl.
    assert "/opt/kaspersky" in [p["path"] for p in plan["paths"]]
    assert scanner.scanned["processes"]["host_mount_namespace"] == HOST_NS["mnt"]


def test_sandboxed_host_service_counts_for_the_host(tmp_path, rules, monkeypatch):
    """systemd PrivateTmp=: another mount namespace, the host's PID namespace and executable."""
    kesl = "/opt/kaspersky/kesl/libexec/kesl"
    sandbox = {"mnt": "mnt:[4026532900]", "pid": HOST_NS["pid"], "cgroup": "0::/system.slice/kesl.service\n"}
    root = make_root(
        tmp_path,
        status_files=("dpkg-status-kaspersky.txt",),
        procs=[(1, "/usr/lib/systemd/systemd", "/sbin/init", HOST_NS), (412, kesl, kesl, sandbox)],
    )
    plant_kesl_files(root)
    proc_scan = load("plugins.module_utils.proc_scan")
    # The fake /proc/412/exe link cannot point into the fake root's inode; the check is stubbed.
    monkeypatch.setattr(proc_scan.ProcessScanner, "_runs_host_file", lambda self, pid, exe: exe == kesl)
    findings, _, plan, _ = scan(rules, root)
    assert findings["kaspersky-kesl"]["state"] == "installed"
    assert [p["pid"] for p in plan["processes"]] == [412]
    monkeypatch.setattr(proc_scan.ProcessScanner, "_runs_host_file", lambda self, pid, exe: False)
    findings, _, plan, _ = scan(rules, root)
    assert plan["processes"] == []


def test_runs_host_file_compares_device_and_inode(tmp_path):
    proc_scan = load("plugins.module_utils.proc_scan")
    root = tmp_path / "root"
    _write(root, "/opt/kaspersky/kesl/libexec/kesl", "\x7fELF", 0o755)
    _write(root, "/copy/kesl", "\x7fELF", 0o755)
    (root / "proc" / "5").mkdir(parents=True)
    os.symlink(root / "opt/kaspersky/kesl/libexec/kesl", root / "proc/5/exe")
    scanner = proc_scan.ProcessScanner(str(root))
    assert scanner._runs_host_file(5, "/opt/kaspersky/kesl/libexec/kesl") is True
    assert scanner._runs_host_file(5, "/copy/kesl") is False
    assert scanner._runs_host_file(5, "/missing") is False


def test_container_only_on_a_clean_host_plans_nothing(tmp_path, rules):
    kesl = "/opt/kaspersky/kesl/libexec/kesl"
    root = make_root(tmp_path, procs=[(1, "/usr/bin/tini", "tini", HOST_NS), (7001, kesl, kesl, CONTAINER)])
    findings, _, plan, _ = scan(rules, root)
    assert list(findings) == ["kaspersky-kesl"] and findings["kaspersky-kesl"]["state"] == "container"
    assert all(plan[k] == [] for k in ("packages", "services", "processes", "paths", "vendor_roots", "refused"))


# --------------------------------------------------------------------------- the purge proof in the plan
def test_plan_refuses_a_vendor_root_another_package_owns(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    plant_kesl_files(root)
    owners = {
        "/opt/kaspersky": ["kesl-gui", "kesl", "klnagent64"],
        "/opt/kaspersky/kesl/libexec/kesl": ["kesl"],
        "/opt/kaspersky/shared/libz.so": ["zlib-kaspersky-edition"],
    }
    _findings, _, plan, _ = scan(rules, root, module=FakeModule(owners=owners))
    refused = {r["path"]: r["reason"] for r in plan["refused"]}
    assert refused["/opt/kaspersky"] == (
        "vendor root /opt/kaspersky holds files of packages outside the removal plan: zlib-kaspersky-edition"
    )
    assert "/opt/kaspersky" not in plan["vendor_roots"]
    assert "/var/opt/kaspersky" in [p["path"] for p in plan["paths"]]  # other roots are unaffected


def test_plan_lets_covered_packages_that_stay_share_the_root(tmp_path, rules):
    root = make_root(tmp_path, status_files=("dpkg-status-kaspersky.txt",))
    plant_kesl_files(root)
    _write(root, "/opt/kaspersky/klnagent64/bin/klnagchk", "#!/bin/sh\n", 0o755)
    owners = {
        "/opt/kaspersky": ["kesl-gui", "kesl", "klnagent64"],
        "/opt/kaspersky/kesl/libexec/kesl": ["kesl"],
        "/opt/kaspersky/klnagent64/bin/klnagchk": ["klnagent64"],
    }
    exceptions = [
        {"id": "EXC-1", "catalog_id": cid, "scope": "host:h", "reason": "r", "ticket": "T", "expires": "2099-01-01"}
        for cid in ("kaspersky-kesl", "kaspersky-kesl-gui")
    ]
    _f, excepted, plan, _ = scan(rules, root, module=FakeModule(owners=owners), exceptions=exceptions)
    assert set(excepted) == {"kaspersky-kesl", "kaspersky-kesl-gui"}
    assert [p["name"] for p in plan["packages"]] == ["klnagent64"]
    assert {(p["name"], p["catalog_id"]) for p in plan["kept_packages"]} == {
        ("kesl", "kaspersky-kesl"),
        ("kesl-gui", "kaspersky-kesl-gui"),
    }
    assert [p["path"] for p in plan["paths"]] == ["/opt/kaspersky/klnagent64"]
    assert plan["refused"] == []


def test_plan_forced_past_validation_refuses_usr_share_doc(tmp_path, rules):
    """Compiled rules that never passed catalog validation (a forged site entry): the host refuses."""
    root = make_root(tmp_path)
    _write(root, "/usr/share/doc/dpkg/copyright", "x")
    forged = {
        "id": "site-forged",
        "vendor": "Forged",
        "product": "Forged",
        "covered_list": {"entry": "x", "added": "2026-01-01", "sources": []},
        "fallback": False,
        "signals": {"paths": [{"path": "/usr/share/doc/dpkg", "confidence": "high", "source": "site: x"}]},
        "removal": {"vendor_roots": ["/usr/share/doc"], "leftover_paths": ["/usr/share/doc"]},
    }
    forged_rules = {"format": rules["format"], "entries": [forged]}
    findings, _, plan, _ = scan(forged_rules, root)
    assert findings["site-forged"]["state"] == "installed"
    assert plan["paths"] == [] and plan["vendor_roots"] == []
    assert {r["path"]: r["reason"] for r in plan["refused"]} == {
        "/usr/share/doc": "vendor root '/usr/share/doc' is a system directory"
    }


# --------------------------------------------------------------------------- parsers of the proof
def test_parse_dpkg_search_real_output_with_diversions_and_arch():
    parsed = parsers.parse_dpkg_search((FIXTURES / "dpkg-S-diversion-arch.txt").read_text())
    assert parsed[:4] == [
        (["dash"], "/bin/sh"),
        (["dash"], "/bin/sh.distrib"),
        (["dash"], "/bin/sh"),
        (["libc6"], "/lib64/ld-linux-x86-64.so.2"),
    ]
    parsed = parsers.parse_dpkg_search((FIXTURES / "dpkg-S-kaspersky-roots-installed.txt").read_text())
    assert (["kesl-gui", "kesl", "klnagent64"], "/opt/kaspersky") in parsed
    assert parsers.parse_dpkg_search("local diversion from: /etc/foo\n") == [([], "/etc/foo")]


def test_parse_rpm_files_real_output():
    parsed = parsers.parse_rpm_files((FIXTURES / "rpm-qa-files-kesl.txt").read_text())
    assert ("kesl", "/opt/kaspersky/kesl/libexec/kesl") in parsed and len(parsed) == 8


def test_parse_mountinfo_real_and_escaped():
    points = parsers.parse_mountinfo((FIXTURES / "mountinfo-lab-light.txt").read_text())
    assert points == ["/", "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/run"]
    line = "95 22 0:52 / /mnt/my\\040disk rw - ext4 /dev/sdb1 rw\n"
    assert parsers.parse_mountinfo(line) == ["/mnt/my disk"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ((FIXTURES / "cgroup-lab-light.txt").read_text(), {"cgroup": "/", "container_id": None}),
        (
            f"0::/system.slice/docker-{DOCKER_ID}.scope\n",
            {"cgroup": f"/system.slice/docker-{DOCKER_ID}.scope", "container_id": DOCKER_ID},
        ),
        (f"12:pids:/docker/{DOCKER_ID}\n", {"cgroup": f"/docker/{DOCKER_ID}", "container_id": DOCKER_ID}),
        (
            f"0::/machine.slice/libpod-{DOCKER_ID}.scope/container\n",
            {"cgroup": f"/machine.slice/libpod-{DOCKER_ID}.scope/container", "container_id": DOCKER_ID},
        ),
        ("0::/lxc.payload.web01/init.scope\n", {"cgroup": "/lxc.payload.web01/init.scope", "container_id": "web01"}),
        (
            "0::/machine.slice/machine-lab\\x2dhost1.scope/payload\n",
            {"cgroup": "/machine.slice/machine-lab\\x2dhost1.scope/payload", "container_id": "lab-host1"},
        ),
        ("", {"cgroup": None, "container_id": None}),
    ],
)
def test_parse_cgroup(text, expected):
    assert parsers.parse_cgroup(text) == expected
