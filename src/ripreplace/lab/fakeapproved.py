# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Fake approved replacement products for the lab (no vendor code) and its ClamAV test signatures.

Added for the replacement role (roles/replacement): fake commercial replacement products and a
tiny ClamAV signature database, published in the lab repository by fleet.Lab._make_repo through
:func:`publish_replacements`. Like the covered fakes they carry no vendor code: each has the
real product's paths, a service (systemd unit and sysv init script) running the compiled fake
daemon, and a CLI answering the product's own health check. The answer is set on the host:
``/etc/ripreplace-lab/health-<package>`` holding ``unhealthy`` makes the check fail (absent or
``healthy``: it passes). Logs go to /var/log/ripreplace-lab, never under a covered vendor's root.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import textwrap
from pathlib import Path

from ripreplace.lab.fakepkgs import (
    KNOB_DIR,
    FakePackage,
    Service,
    _indent,
    _init_script,
    _script,
    _start_stop,
    _write,
    compile_daemon,
)
from ripreplace.lab.proc import run

REPLACEMENT_LOG_DIR = "/var/log/ripreplace-lab"
CLAMAV_LAB_DB = "ripreplace-lab.ndb"
#: The lab's signature name for the EICAR test string (ClamAV reports it as NAME.UNOFFICIAL).
CLAMAV_LAB_SIGNATURE = "Ripreplace-Lab-EICAR-Test-Signature"


def eicar_test_string() -> bytes:
    """The EICAR anti-virus test string, assembled from parts so this file itself is not flagged."""
    parts = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS", "-TEST-FILE!$H+H*")
    return "".join(parts).encode("ascii")


def clamav_lab_database() -> str:
    """A ClamAV extended-signature (.ndb) database holding one signature: the EICAR test string."""
    return f"{CLAMAV_LAB_SIGNATURE}:0:*:{eicar_test_string().hex()}\n"


@dataclasses.dataclass(frozen=True)
class ReplacementFake:
    name: str  # Debian package name
    version: str
    maintainer: str
    description: str
    service: Service
    #: plain files: path -> content (scripts get mode 0755)
    files: dict[str, str]
    #: symlinks: link path -> target
    links: dict[str, str] = dataclasses.field(default_factory=dict)
    #: start the service from postinst (mdatp does; falcon-sensor waits for its CID)
    start_on_install: bool = True
    state_dirs: tuple[str, ...] = ()


def _health_knob(pkg: str) -> str:
    return f"{KNOB_DIR}/health-{pkg}"


def _sh_healthy(pkg: str, daemon: str) -> str:
    """Shell function ``healthy``: true when the daemon runs and the lab knob does not say unhealthy."""
    return textwrap.dedent(f"""\
        healthy() {{
            knob=$(cat {_health_knob(pkg)} 2>/dev/null || echo healthy)
            [ "$knob" != unhealthy ] || return 1
            pidof {daemon} >/dev/null 2>&1 || return 1
            return 0
        }}
        """)


def _mdatp() -> ReplacementFake:
    daemon = "/opt/microsoft/mdatp/sbin/wdavdaemon"
    onboard = "/etc/opt/microsoft/mdatp/mdatp_onboard.json"
    head = "#!/bin/sh\n# FAKE mdatp CLI (ripreplace lab; no vendor code)\n" + _sh_healthy("mdatp", daemon)
    cli = head + textwrap.dedent(f"""\
        onboarded() {{ [ -s {onboard} ]; }}
        field() {{
            case "$1" in
              healthy) if healthy && onboarded; then echo true; else echo false; fi ;;
              real_time_protection_enabled) if healthy; then echo true; else echo false; fi ;;
              licensed|org_id) if onboarded; then echo true; else echo false; fi ;;
              app_version) echo '"101.24092.0002"' ;;
              health_issues)
                if healthy && onboarded; then echo '[]'; else echo '["lab: health knob or onboarding"]'; fi ;;
              *) echo "Unknown field: $1" >&2; exit 1 ;;
            esac
        }}
        case "$1" in
          version) echo "Product version: 101.24092.0002" ;;
          health)
            if [ "$2" = --field ]; then field "$3"; exit 0; fi
            for f in healthy health_issues licensed real_time_protection_enabled app_version; do
                printf '%s : %s\\n' "$f" "$(field $f)"
            done ;;
          *) echo "usage: mdatp version | health [--field NAME]" >&2; exit 2 ;;
        esac
        """)
    return ReplacementFake(
        name="mdatp",
        version="101.24092.0002",
        maintainer="Microsoft (ripreplace lab fake, no vendor code) <lab@ripreplace.invalid>",
        description="FAKE Microsoft Defender for Endpoint on Linux (lab test package)",
        service=Service("mdatp", daemon, "Microsoft Defender for Endpoint (fake)"),
        files={
            "/opt/microsoft/mdatp/sbin/wdavdaemonclient": cli,
            "/opt/microsoft/mdatp/share/README": "Fake mdatp tree for ripreplace lab tests.\n",
        },
        links={"/usr/bin/mdatp": "/opt/microsoft/mdatp/sbin/wdavdaemonclient"},
        state_dirs=("/etc/opt/microsoft/mdatp", "/var/opt/microsoft/mdatp"),
    )


def _falcon_sensor() -> ReplacementFake:
    daemon = "/opt/CrowdStrike/falcond"
    store = "/opt/CrowdStrike/falconstore"
    head = "#!/bin/sh\n# FAKE falconctl (ripreplace lab; no vendor code)\n" + _sh_healthy("falcon-sensor", daemon)
    cli = head + textwrap.dedent(f"""\
        get() {{ [ -f {store} ] && sed -n "s/^$1=//p" {store}; }}
        case "$1" in
          -g)
            shift
            for opt in "$@"; do
              case "$opt" in
                --cid) v=$(get cid); if [ -n "$v" ]; then echo "cid=\\"$v\\"."; else echo "cid is not set."; fi ;;
                --aid)
                  if [ -n "$(get cid)" ] && healthy; then
                      echo "aid=\\"$(cat /etc/machine-id | tr -d '\\n')\\"."
                  else echo "aid is not set."; fi ;;
                --rfm-state) if healthy; then echo "rfm-state=false."; else echo "rfm-state=true."; fi ;;
                --version) echo "version = 7.18.17106.0" ;;
                *) echo "falconctl: unknown option $opt" >&2; exit 1 ;;
              esac
            done ;;
          -s)
            shift
            for opt in "$@"; do
              case "$opt" in
                -f) ;;
                --cid=*) cid=${{opt#--cid=}}; cid=$(echo "${{cid%-*}}" | tr A-F a-f) ;;
                --provisioning-token=*) token=${{opt#--provisioning-token=}} ;;
                *) echo "falconctl: unknown option $opt" >&2; exit 1 ;;
              esac
            done
            [ -n "$cid" ] || {{ echo "falconctl: -s needs --cid" >&2; exit 1; }}
            umask 077
            {{ echo "cid=$cid"; [ -z "$token" ] || echo "provisioning-token=set"; }} > {store} ;;
          *) echo "usage: falconctl -g --cid|--aid|--rfm-state|--version | -s [-f] --cid=CID" >&2; exit 2 ;;
        esac
        """)
    return ReplacementFake(
        name="falcon-sensor",
        version="7.18.0-17106",
        maintainer="CrowdStrike (ripreplace lab fake, no vendor code) <lab@ripreplace.invalid>",
        description="FAKE CrowdStrike Falcon sensor (lab test package)",
        service=Service("falcon-sensor", daemon, "CrowdStrike Falcon Sensor (fake)"),
        files={
            "/opt/CrowdStrike/falconctl": cli,
            "/opt/CrowdStrike/README": "Fake Falcon sensor tree for ripreplace lab tests.\n",
        },
        start_on_install=False,
    )


def _sentinelagent() -> ReplacementFake:
    daemon = "/opt/sentinelone/bin/sentinelone-agent"
    registration = "/opt/sentinelone/configuration/registration-token"
    head = "#!/bin/sh\n# FAKE sentinelctl (ripreplace lab; no vendor code)\n" + _sh_healthy("sentinelagent", daemon)
    cli = head + textwrap.dedent(f"""\
        case "$1 $2" in
          "version "*) echo "Agent version: 24.1.2.6" ;;
          "management token")
            [ "$3" = set ] && [ -n "$4" ] || {{ echo "usage: sentinelctl management token set TOKEN" >&2; exit 2; }}
            mkdir -p "$(dirname {registration})"; umask 077; printf '%s\\n' "$4" > {registration}
            echo "Registration token successfully set" ;;
          "management status")
            if [ -s {registration} ]; then echo "Registration token: set"
            else echo "Registration token: not set"; fi ;;
          "control status")
            if healthy && [ -s {registration} ]; then echo "Agent state: Enabled"
            else echo "Agent state: Disabled"; fi ;;
          *) echo "usage: sentinelctl version | management token set TOKEN | management status | control status" >&2
             exit 2 ;;
        esac
        """)
    return ReplacementFake(
        name="sentinelagent",
        version="24.1.2.6",
        maintainer="SentinelOne (ripreplace lab fake, no vendor code) <lab@ripreplace.invalid>",
        description="FAKE SentinelOne agent (lab test package)",
        service=Service("sentinelone", daemon, "SentinelOne agent (fake)"),
        files={
            "/opt/sentinelone/bin/sentinelctl": cli,
            "/opt/sentinelone/README": "Fake SentinelOne tree for ripreplace lab tests.\n",
        },
        state_dirs=("/opt/sentinelone/configuration",),
    )


REPLACEMENT_PACKAGES: dict[str, ReplacementFake] = {p.name: p for p in (_mdatp(), _falcon_sensor(), _sentinelagent())}


def _replacement_unit(svc: Service, pkg: str) -> str:
    return textwrap.dedent(f"""\
        [Unit]
        Description={svc.description}
        After=network.target

        [Service]
        Type=simple
        ExecStart={svc.exe} --log {REPLACEMENT_LOG_DIR}/{pkg}-daemon.log
        Restart=no

        [Install]
        WantedBy=multi-user.target
        """)


def _replacement_init(svc: Service, pkg: str) -> str:
    return _init_script(svc, pkg).replace("/var/log/kaspersky", REPLACEMENT_LOG_DIR)


def replacement_maintainer_scripts(pkg: ReplacementFake) -> dict[str, list[str]]:
    name = pkg.service.name
    log = [
        f'mkdir -p {REPLACEMENT_LOG_DIR} && echo "$(date -u +%FT%TZ) {pkg.name} $0 $*" '
        f">> {REPLACEMENT_LOG_DIR}/{pkg.name}-maint.log"
    ]
    state = [f"mkdir -p {d}" for d in pkg.state_dirs]
    enable = [
        "if [ -d /run/systemd/system ]; then",
        "    systemctl daemon-reload || true",
        f"    systemctl enable {name}.service",
        *([f"    systemctl start {name}.service"] if pkg.start_on_install else []),
        "else",
        f"    if command -v update-rc.d >/dev/null; then update-rc.d {name} defaults >/dev/null; fi",
        *([f"    /etc/init.d/{name} start"] if pkg.start_on_install else []),
        "fi",
    ]
    return {
        "postinst": [*log, 'if [ "$1" = configure ]; then', *_indent(state + enable), "    :", "fi", "exit 0"],
        "prerm": [
            *log,
            *_start_stop(FakePackage(pkg.name, pkg.version, pkg.maintainer, "", service=pkg.service), "stop"),
            "exit 0",
        ],
        "postrm": [
            *log,
            'if [ "$1" = purge ]; then',
            f"    if command -v update-rc.d >/dev/null; then update-rc.d {name} remove >/dev/null; fi",
            "fi",
            "exit 0",
        ],
    }


def build_replacement_deb(pkg: ReplacementFake, outdir: Path, daemon: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix=f"fake-{pkg.name}-") as tmp:
        root = Path(tmp) / "root"
        for path, content in pkg.files.items():
            _write(root / path.lstrip("/"), content)
        for link, target in pkg.links.items():
            (root / link.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (root / link.lstrip("/")).symlink_to(target)
        exe = root / pkg.service.exe.lstrip("/")
        exe.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(daemon, exe)
        exe.chmod(0o755)
        _write(root / f"lib/systemd/system/{pkg.service.name}.service", _replacement_unit(pkg.service, pkg.name))
        init = f"/etc/init.d/{pkg.service.name}"
        _write(root / init.lstrip("/"), _replacement_init(pkg.service, pkg.name))
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        control = [
            f"Package: {pkg.name}",
            f"Version: {pkg.version}",
            f"Architecture: {arch}",
            f"Maintainer: {pkg.maintainer}",
            "Section: misc",
            "Priority: optional",
            f"Description: {pkg.description}\n ripreplace lab test package; contains no vendor code.",
        ]
        _write(root / "DEBIAN/control", "\n".join(control) + "\n")
        _write(root / "DEBIAN/conffiles", init + "\n")
        for name, lines in replacement_maintainer_scripts(pkg).items():
            _write(root / "DEBIAN" / name, _script(lines), 0o755)
        out = outdir / f"{pkg.name}_{pkg.version}_{arch}.deb"
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out])
    return out


def publish_replacements(repo: Path) -> dict[str, Path]:
    """Build the fake replacement .debs into ``repo/fake`` and the EICAR-only ClamAV database into
    ``repo/clamav`` (hosts fetch it from ``lab_repo_url`` + ``clamav/``). Returns the .debs by name."""
    fake = repo / "fake"
    fake.mkdir(parents=True, exist_ok=True)
    clamav = repo / "clamav"
    clamav.mkdir(parents=True, exist_ok=True)
    _write(clamav / CLAMAV_LAB_DB, clamav_lab_database())
    with tempfile.TemporaryDirectory(prefix="fake-daemon-") as tmp:
        daemon = compile_daemon(Path(tmp))
        return {name: build_replacement_deb(pkg, fake, daemon) for name, pkg in REPLACEMENT_PACKAGES.items()}
