# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Fake covered packages for tests, faithful to the packaging facts (no vendor code).

Each fake puts its files where the real product does (/opt/kaspersky, /var/opt/kaspersky,
/etc/opt/kaspersky, /var/log/kaspersky), ships its systemd unit and sysv init script, runs a
long-lived daemon whose /proc/PID/exe is the real product's daemon path, and has maintainer
scripts that log each step to /var/log/kaspersky/<package>-maint.log.

Knobs for failure tests, read by the maintainer scripts on the host:
``/etc/ripreplace-lab/fail-postrm-<package>`` makes postrm fail with a message, and
``/etc/ripreplace-lab/fail-prerm-<package>`` makes prerm fail;
``/etc/ripreplace-lab/slow-prerm-<package>`` (or ``slow-postrm-``) holding a number of seconds makes the
script take at least that long (a removal whose duration a test can count on, not a timing guess).

Decoys that detection must never flag: ``kics`` here is Checkmarx's open-source IaC scanner
(its own maintainer and paths, nothing under /opt/kaspersky).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import textwrap
from importlib import resources
from pathlib import Path

from ripreplace.lab.proc import run

KASPERSKY_MAINTAINER = "AO Kaspersky Lab (ripreplace lab fake, no vendor code) <lab@ripreplace.invalid>"
KNOB_DIR = "/etc/ripreplace-lab"


@dataclasses.dataclass(frozen=True)
class Service:
    name: str  # systemd unit name without .service, and the /etc/init.d script name
    exe: str  # daemon executable path
    description: str


@dataclasses.dataclass(frozen=True)
class FakePackage:
    name: str
    version: str  # Debian version; rpm uses version-release split at the last '-'
    maintainer: str
    description: str
    depends: tuple[str, ...] = ()
    service: Service | None = None
    #: plain files: path -> content (scripts get mode 0755 when content starts with '#!')
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    conffiles: dict[str, str] = dataclasses.field(default_factory=dict)
    #: directories postinst creates and fills (not owned by the package: they are what is left behind)
    state_dirs: tuple[str, ...] = ()
    #: of state_dirs, those postrm purge removes (the rest stay: residue, as the real product leaves it)
    purged_state_dirs: tuple[str, ...] = ()
    log_dir: str | None = "/var/log/kaspersky"


def _kesl() -> FakePackage:
    return FakePackage(
        name="kesl",
        version="12.4.0-1225",
        maintainer=KASPERSKY_MAINTAINER,
        description="FAKE Kaspersky Endpoint Security for Linux (lab test package)",
        service=Service("kesl", "/opt/kaspersky/kesl/libexec/kesl", "Kaspersky Endpoint Security for Linux (fake)"),
        files={
            "/opt/kaspersky/kesl/bin/kesl-setup.pl": "#!/bin/sh\necho 'kesl-setup.pl (fake): nothing to set up'\n",
            "/opt/kaspersky/kesl/libexec/kesl_launcher.sh": '#!/bin/sh\nexec /opt/kaspersky/kesl/libexec/kesl "$@"\n',
            "/usr/bin/kesl-control": "#!/bin/sh\necho 'Kaspersky Endpoint Security for Linux (fake) 12.4.0.1225'\n",
            "/opt/kaspersky/kesl/share/doc/README": "Fake KESL tree for ripreplace lab tests.\n",
        },
        conffiles={"/etc/opt/kaspersky/kesl/kesl.conf": "# fake KESL settings\nUseKSN=No\n"},
        state_dirs=("/var/opt/kaspersky/kesl/common", "/var/opt/kaspersky/kesl/install_12.4.0"),
        purged_state_dirs=("/var/opt/kaspersky/kesl",),
    )


def _kesl_gui() -> FakePackage:
    return FakePackage(
        name="kesl-gui",
        version="12.4.0-1225",
        maintainer=KASPERSKY_MAINTAINER,
        description="FAKE Kaspersky Endpoint Security for Linux graphical interface (lab test package)",
        depends=("kesl (= 12.4.0-1225)",),
        files={
            "/opt/kaspersky/kesl/bin/kesl-gui": "#!/bin/sh\necho 'kesl-gui (fake)'\n",
            "/usr/share/applications/kesl-gui.desktop": (
                "[Desktop Entry]\nType=Application\nName=Kaspersky Endpoint Security (fake)\n"
                "Exec=/opt/kaspersky/kesl/bin/kesl-gui\n"
            ),
        },
        state_dirs=("/var/opt/kaspersky/kesl-gui",),
        purged_state_dirs=("/var/opt/kaspersky/kesl-gui",),
    )


def _klnagent64() -> FakePackage:
    return FakePackage(
        name="klnagent64",
        version="15.1.0-20748",
        maintainer=KASPERSKY_MAINTAINER,
        description="FAKE Kaspersky Security Center Network Agent (lab test package)",
        service=Service("klnagent64", "/opt/kaspersky/klnagent64/sbin/klnagent", "Kaspersky Network Agent (fake)"),
        files={
            "/opt/kaspersky/klnagent64/bin/klnagchk": "#!/bin/sh\necho 'klnagchk (fake): no server configured'\n",
            "/opt/kaspersky/klnagent64/lib/README": "Fake Network Agent tree for ripreplace lab tests.\n",
        },
        conffiles={"/etc/opt/kaspersky/klnagent64/klnagent.conf": "# fake Network Agent settings\nServer=\n"},
        # The real agent leaves /var/opt/kaspersky/klnagent behind, even on purge.
        state_dirs=("/var/opt/kaspersky/klnagent",),
        purged_state_dirs=(),
    )


def _kics_checkmarx() -> FakePackage:
    return FakePackage(
        name="kics",
        version="1.7.13-1",
        maintainer="Checkmarx (ripreplace lab decoy) <kics@checkmarx.invalid>",
        description="DECOY: Checkmarx KICS infrastructure-as-code scanner stand-in (not Kaspersky)",
        files={
            "/usr/bin/kics": "#!/bin/sh\necho 'kics (Checkmarx IaC scanner stand-in) v1.7.13'\n",
            "/usr/share/kics/assets/queries/README": "Checkmarx KICS queries would live here.\n",
        },
        log_dir=None,
    )


PACKAGES: dict[str, FakePackage] = {p.name: p for p in (_kesl(), _kesl_gui(), _klnagent64(), _kics_checkmarx())}
#: Fakes also built as .rpm (for hosts with rpm installed).
RPM_PACKAGES = ("kesl",)


def _log_cmd(pkg: FakePackage, step: str) -> list[str]:
    if not pkg.log_dir:
        return []
    return [
        f'mkdir -p {pkg.log_dir} && echo "$(date -u +%FT%TZ) {pkg.name} {step} $*" '
        f">> {pkg.log_dir}/{pkg.name}-maint.log"
    ]


def _start_stop(pkg: FakePackage, action: str) -> list[str]:
    if pkg.service is None:
        return []
    name = pkg.service.name
    if action == "start":
        return [
            "if [ -d /run/systemd/system ]; then",
            "    systemctl daemon-reload || true",
            f"    systemctl enable {name}.service",
            f"    systemctl start {name}.service",
            "else",
            f"    if command -v update-rc.d >/dev/null; then update-rc.d {name} defaults >/dev/null; fi",
            f"    /etc/init.d/{name} start",
            "fi",
        ]
    return [
        "if [ -d /run/systemd/system ]; then",
        f"    systemctl stop {name}.service || true",
        f"    systemctl disable {name}.service || true",
        f"elif [ -x /etc/init.d/{name} ]; then",
        f"    /etc/init.d/{name} stop || true",
        "fi",
    ]


def _knob(pkg: FakePackage, script: str) -> list[str]:
    slow = f"{KNOB_DIR}/slow-{script}-{pkg.name}"
    return [
        f'if [ -e {slow} ]; then sleep "$(cat {slow})"; fi',
        f"if [ -e {KNOB_DIR}/fail-{script}-{pkg.name} ]; then",
        f'    echo "{pkg.name} {script}: cannot unregister from the management server (lab failure knob)" >&2',
        "    exit 1",
        "fi",
    ]


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def maintainer_scripts(pkg: FakePackage) -> dict[str, list[str]]:
    """Debian maintainer scripts (postinst, prerm, postrm) as lines of shell, without the shebang."""
    state = [f"mkdir -p {d} && echo 'created by {pkg.name} postinst' > {d}/.created" for d in pkg.state_dirs]
    purge = [f"rm -rf {d}" for d in pkg.purged_state_dirs]
    if pkg.service:
        purge.append(f"if command -v update-rc.d >/dev/null; then update-rc.d {pkg.service.name} remove >/dev/null; fi")
    return {
        "postinst": [
            *_log_cmd(pkg, "postinst"),
            'if [ "$1" = configure ]; then',
            *_indent(state + _start_stop(pkg, "start")),
            "    :",
            "fi",
            "exit 0",
        ],
        "prerm": [*_knob(pkg, "prerm"), *_log_cmd(pkg, "prerm"), *_start_stop(pkg, "stop"), "exit 0"],
        "postrm": [
            *_knob(pkg, "postrm"),
            *_log_cmd(pkg, "postrm"),
            'if [ "$1" = purge ]; then',
            *_indent(purge),
            "    :",
            "fi",
            "exit 0",
        ],
    }


def _script(lines: list[str]) -> str:
    return "#!/bin/sh\nset -e\n" + "\n".join(lines) + "\n"


def _unit(svc: Service, pkg: str) -> str:
    return textwrap.dedent(f"""\
        [Unit]
        Description={svc.description}
        After=network.target

        [Service]
        Type=simple
        ExecStart={svc.exe} --log /var/log/kaspersky/{pkg}-daemon.log
        Restart=no

        [Install]
        WantedBy=multi-user.target
        """)


def _init_script(svc: Service, pkg: str) -> str:
    return textwrap.dedent(f"""\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          {svc.name}
        # Required-Start:    $remote_fs $syslog
        # Required-Stop:     $remote_fs $syslog
        # Default-Start:     2 3 4 5
        # Default-Stop:      0 1 6
        # Short-Description: {svc.description}
        ### END INIT INFO
        PIDFILE=/run/{svc.name}.pid
        case "$1" in
          start)
            mkdir -p /var/log/kaspersky
            start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE \\
                --exec {svc.exe} -- --log /var/log/kaspersky/{pkg}-daemon.log ;;
          stop)
            start-stop-daemon --stop --quiet --retry TERM/5/KILL/2 --pidfile $PIDFILE --exec {svc.exe} \\
                --remove-pidfile || true ;;
          status)
            start-stop-daemon --status --pidfile $PIDFILE --exec {svc.exe} ;;
          restart|force-reload)
            "$0" stop; "$0" start ;;
          *) echo "Usage: $0 {{start|stop|status|restart}}" >&2; exit 3 ;;
        esac
        """)


def _write(path: Path, content: str | bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    if mode is None:
        mode = 0o755 if (isinstance(content, str) and content.startswith("#!")) else 0o644
    path.chmod(mode)


def _payload(pkg: FakePackage, root: Path, daemon: Path) -> list[str]:
    """Lay out the package's files under ``root``; returns the conffile paths."""
    for path, content in pkg.files.items():
        _write(root / path.lstrip("/"), content)
    for path, content in pkg.conffiles.items():
        _write(root / path.lstrip("/"), content)
    conffiles = list(pkg.conffiles)
    if pkg.service is not None:
        exe = root / pkg.service.exe.lstrip("/")
        exe.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(daemon, exe)
        exe.chmod(0o755)
        _write(root / f"lib/systemd/system/{pkg.service.name}.service", _unit(pkg.service, pkg.name))
        init = f"/etc/init.d/{pkg.service.name}"
        _write(root / init.lstrip("/"), _init_script(pkg.service, pkg.name))
        conffiles.append(init)
    return conffiles


def compile_daemon(workdir: Path) -> Path:
    src = resources.files("ripreplace.lab").joinpath("data/fake-daemon.c")
    out = workdir / "fake-daemon"
    with resources.as_file(src) as path:
        run(["gcc", "-O2", "-Wall", "-o", out, path])
    return out


def build_deb(pkg: FakePackage, outdir: Path, daemon: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix=f"fake-{pkg.name}-") as tmp:
        root = Path(tmp) / "root"
        conffiles = _payload(pkg, root, daemon)
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        control = [
            f"Package: {pkg.name}",
            f"Version: {pkg.version}",
            f"Architecture: {arch}",
            f"Maintainer: {pkg.maintainer}",
            "Section: misc",
            "Priority: optional",
        ]
        if pkg.depends:
            control.append(f"Depends: {', '.join(pkg.depends)}")
        control.append(f"Description: {pkg.description}\n ripreplace lab test package; contains no vendor code.")
        _write(root / "DEBIAN/control", "\n".join(control) + "\n")
        if conffiles:
            _write(root / "DEBIAN/conffiles", "\n".join(conffiles) + "\n")
        for name, lines in maintainer_scripts(pkg).items():
            _write(root / "DEBIAN" / name, _script(lines), 0o755)
        out = outdir / f"{pkg.name}_{pkg.version}_{arch}.deb"
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out])
    return out


def build_rpm(pkg: FakePackage, outdir: Path, daemon: Path) -> Path:
    version, _, release = pkg.version.rpartition("-")
    with tempfile.TemporaryDirectory(prefix=f"fake-rpm-{pkg.name}-") as tmp:
        top = Path(tmp)
        buildroot = top / "buildroot"
        conffiles = _payload(pkg, buildroot, daemon)
        scripts = maintainer_scripts(pkg)
        files = sorted("/" + str(p.relative_to(buildroot)) for p in buildroot.rglob("*") if p.is_file())
        file_lines = [f"%config(noreplace) {f}" if f in conffiles else f for f in files]
        # rpm scriptlets get $1 = number of instances left; map to the Debian verbs the scripts take.
        header = [
            f"Name: {pkg.name}",
            f"Version: {version}",
            f"Release: {release}",
            f"Summary: {pkg.description}",
            "License: Proprietary-fake",
            f"Vendor: {pkg.maintainer}",
            f"Packager: {pkg.maintainer}",
            "AutoReqProv: no",
            "",
            "%description",
            "ripreplace lab test package; contains no vendor code.",
            "",
            "%install",
            f"cp -a {buildroot}/. %{{buildroot}}/",
            "",
        ]
        body = [
            "%post",
            "set -- configure",
            *scripts["postinst"],
            "",
            "%preun",
            'if [ "$1" = 0 ]; then set -- remove; else set -- upgrade; fi',
            *scripts["prerm"],
            "",
            "%postun",
            'if [ "$1" = 0 ]; then set -- purge; else set -- upgrade; fi',
            *scripts["postrm"],
            "",
            "%files",
            *file_lines,
        ]
        spec = "\n".join(header + body) + "\n"
        spec_path = top / f"{pkg.name}.spec"
        spec_path.write_text(spec)
        run(
            [
                "rpmbuild",
                "-bb",
                "--nodeps",
                "--define",
                f"_topdir {top}/rpmbuild",
                "--define",
                "_build_id_links none",
                "--define",
                "__os_install_post %{nil}",
                spec_path,
            ]
        )
        built = sorted((top / "rpmbuild" / "RPMS").rglob("*.rpm"))
        if not built:
            raise FileNotFoundError(f"rpmbuild produced no package for {pkg.name}")
        out = outdir / built[0].name
        shutil.copyfile(built[0], out)
    return out


def build_all(outdir: Path) -> dict[str, Path]:
    """Build every fake .deb and .rpm into ``outdir``; keys are 'name' (deb) and 'name.rpm'."""
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fake-daemon-") as tmp:
        daemon = compile_daemon(Path(tmp))
        built = {name: build_deb(pkg, outdir, daemon) for name, pkg in PACKAGES.items()}
        for name in RPM_PACKAGES:
            built[f"{name}.rpm"] = build_rpm(PACKAGES[name], outdir, daemon)
    return built
