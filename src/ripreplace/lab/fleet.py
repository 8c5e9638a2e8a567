# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Bring a lab up, take it down, plant packages, run commands on hosts.

The state file ``DIR/lab.json`` records everything the lab made (namespaces, routes, mounts,
processes with their start times) as it makes it, so ``down`` removes exactly that, even after a
failed ``up``; and only that: a pid is signalled only if it is still the process the lab started.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from ripreplace.exceptions import LabError, UsageError
from ripreplace.lab import fakeapproved, fakepkgs, hostmacs, image, net, planted, prereq, snmp
from ripreplace.lab.proc import Proc, children, run, run_ssh, spawn, succeeds

STATE = "lab.json"
INVENTORY = "inventory.yml"
DEFAULT_DIR = Path(os.environ.get("RIPREPLACE_LAB_DIR", "/var/lib/ripreplace/lab"))
SSH_WAIT_S = 60.0


def _log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Host:
    name: str
    kind: str  # light | systemd
    number: int
    ns: str
    addr: str
    proc: Proc | None = None
    mounted: bool = False
    ns_id: int | None = None  # its namespace's identity (net.netns_id), so down never removes another lab's

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Host:
        proc = data.pop("proc", None)
        host = cls(**data)
        host.proc = Proc(**proc) if proc else None
        return host


class Lab:
    """A lab in a directory. Use :meth:`up`, :meth:`down`, :meth:`status`, :meth:`plant`, :meth:`sh`."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory.resolve()
        self.state: dict[str, Any] = {}
        if (self.dir / STATE).is_file():
            self.state = json.loads((self.dir / STATE).read_text())

    # ---------------------------------------------------------------- state
    @property
    def is_up(self) -> bool:
        return bool(self.state)

    @property
    def slot(self) -> net.Slot:
        return net.Slot(int(self.state["slot"]))

    @property
    def inventory(self) -> Path:
        return self.dir / INVENTORY

    @property
    def ssh_dir(self) -> Path:
        return self.dir / "ssh"

    @property
    def hosts(self) -> dict[str, Host]:
        return {name: Host.from_json(dict(data)) for name, data in self.state.get("hosts", {}).items()}

    def _save_host(self, host: Host) -> None:
        self.state.setdefault("hosts", {})[host.name] = host.to_json()
        self._save()

    def _save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{STATE}.tmp"
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.dir / STATE)

    def host(self, name: str) -> Host:
        hosts = self.hosts
        if name not in hosts:
            raise UsageError(f"no lab host {name!r} in {self.dir} (hosts: {', '.join(hosts) or 'none'})")
        return hosts[name]

    def _host_dir(self, name: str) -> Path:
        return self.dir / "hosts" / name

    # ---------------------------------------------------------------- up
    def up(self, light: int, systemd: int, snmp_devices: Path | None = None, host_macs: Path | None = None) -> None:
        prereq.require()
        devices = [d.name for d in snmp.load_dir(snmp_devices)[0]] if snmp_devices is not None else None
        if light < 0 or systemd < 0 or light + systemd == 0:
            raise UsageError("a lab needs at least one host (--hosts N and/or --systemd-hosts M)")
        if light + systemd > 200:
            raise UsageError("at most 200 hosts fit one lab subnet")
        macs = hostmacs.load(host_macs) if host_macs is not None else None
        if macs is not None:  # like a bad device directory, refused before anything is made
            names = [f"light{i}" for i in range(1, light + 1)] + [f"sysd{i}" for i in range(1, systemd + 1)]
            hostmacs.precheck(macs, names, devices)
        if self.is_up:
            raise UsageError(f"a lab is already up in {self.dir}: run 'ripreplace lab down --dir {self.dir}' first")
        started = time.monotonic()
        img = image.ensure_image()
        try:
            self._up(img, light, systemd)
            if snmp_devices is not None:
                snmp.start(self, snmp_devices, spawn)
                self._write_inventory()
            if macs is not None:
                addrs = {k: v["ansible_host"] for k, v in (self.state.get("snmp") or {}).get("devices", {}).items()}
                self.state["host_macs"] = hostmacs.apply(self, macs, addrs)
                self._save()
        except BaseException:
            _log("lab up failed; taking down what was made")
            self.down(quiet=True)
            raise
        _log(f"{light + systemd} hosts up in {time.monotonic() - started:.1f} s; inventory: {self.inventory}")

    def _up(self, img: image.Image, light: int, systemd: int) -> None:
        slot = net.free_slot()
        self.state = {"slot": slot.index, "image": str(img.root), "hosts": {}, "created": time.time()}
        self._save()
        # The guard route goes in first, before any lab address exists.
        net.add_guard_route(slot)
        self.state["guard_route"] = slot.subnet
        self._save()
        net.add_ctl_ns(slot)
        self.state["ctl_ns"] = slot.ctl_ns
        self.state["ctl_ns_id"] = net.netns_id(slot.ctl_ns)
        self._save()
        self._make_repo(img)
        self._start_repo_server(slot)
        self._make_ssh_key()
        names = [(f"light{i}", "light") for i in range(1, light + 1)]
        names += [(f"sysd{i}", "systemd") for i in range(1, systemd + 1)]
        for number, (name, kind) in enumerate(names, start=1):
            host = Host(name=name, kind=kind, number=number, ns=slot.host_ns(name), addr=slot.host_addr(number))
            self._save_host(host)
            net.add_host_ns(slot, name, number)
            host.ns_id = net.netns_id(host.ns)
            self._save_host(host)
        self._write_known_hosts_and_inventory()
        for host in self.hosts.values():
            self._start_host(img, host)
        self.wait_ssh(list(self.hosts))

    def _make_repo(self, img: image.Image) -> None:
        repo = self.dir / "repo"
        fake = repo / "fake"
        fake.mkdir(parents=True, exist_ok=True)
        pool = repo / "pool"
        if pool.is_symlink() or pool.exists():
            pool.unlink()
        pool.symlink_to(img.pool, target_is_directory=True)
        built = fakepkgs.build_all(fake)
        # Approved-replacement fakes (mdatp, falcon-sensor, sentinelagent) and the ClamAV EICAR database.
        built.update(fakeapproved.publish_replacements(repo))
        self.state["fake_packages"] = {name: str(path) for name, path in built.items()}
        debs_only = repo / ".scan"
        debs_only.mkdir(exist_ok=True)
        for path in fake.glob("*.deb"):
            link = debs_only / path.name
            if not link.exists():
                link.symlink_to(path)
        fake_index = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=debs_only).stdout
        fake_index = fake_index.replace("Filename: ./", "Filename: fake/")
        packages = img.pool_index.read_text() + "\n" + fake_index
        (repo / "Packages").write_text(packages)
        (repo / "Packages.gz").write_bytes(gzip.compress(packages.encode(), mtime=0))
        sums = []
        for name in ("Packages", "Packages.gz"):
            data = (repo / name).read_bytes()
            sums.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
        date = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime())
        (repo / "Release").write_text(
            f"Origin: ripreplace-lab\nLabel: ripreplace-lab\nSuite: lab\nCodename: lab\nDate: {date}\n"
            "SHA256:\n" + "\n".join(sums) + "\n"
        )
        self._save()

    def _start_repo_server(self, slot: net.Slot) -> None:
        proc = spawn(
            [
                "ip",
                "netns",
                "exec",
                slot.ctl_ns,
                sys.executable,
                "-m",
                "http.server",
                str(net.REPO_PORT),
                "--bind",
                slot.ctl_addr,
                "--directory",
                str(self.dir / "repo"),
            ],
            self.dir / "repo-server.log",
        )
        self.state["repo_server"] = dataclasses.asdict(proc)
        self.state["repo_url"] = f"http://{slot.ctl_addr}:{net.REPO_PORT}/"
        self._save()

    def _make_ssh_key(self) -> None:
        self.ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = self.ssh_dir / "id_ed25519"
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ripreplace-lab", "-f", key])

    def _proxy_command(self) -> str:
        return f"ip netns exec {self.slot.ctl_ns} socat - TCP:%h:%p,connect-timeout=3"

    def _ssh_options(self) -> list[str]:
        return [
            "-o",
            f"ProxyCommand={self._proxy_command()}",
            "-o",
            f"UserKnownHostsFile={self.ssh_dir / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            # A cut link must end the session (unreachable) instead of hanging on TCP retransmits for ~15 min.
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "LogLevel=ERROR",
        ]

    def _write_known_hosts_and_inventory(self) -> None:
        keys_dir = self.ssh_dir / "hostkeys"
        keys_dir.mkdir(mode=0o700, exist_ok=True)
        lines = []
        for name, host in self.hosts.items():
            key = keys_dir / name
            if not key.exists():
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", key])
            pub = (keys_dir / f"{name}.pub").read_text().split()
            lines.append(f"{host.addr} {pub[0]} {pub[1]}")
        (self.ssh_dir / "known_hosts").write_text("\n".join(lines) + "\n")
        self._write_ssh_config()
        self._write_inventory()

    def _write_ssh_config(self) -> None:
        opts = self._ssh_options()
        pairs = [(opts[i + 1].split("=", 1)) for i in range(0, len(opts), 2)]
        body = "\n".join(f"    {k} {v}" for k, v in pairs)
        (self.ssh_dir / "config").write_text(
            f"# Written by 'ripreplace lab up'. Hosts are reached only through {self.slot.ctl_ns}.\n"
            f"Host {self.slot.subnet.rsplit('.', 1)[0]}.*\n    User root\n"
            f"    IdentityFile {self.ssh_dir / 'id_ed25519'}\n    IdentitiesOnly yes\n{body}\n"
        )

    def _write_inventory(self) -> None:
        groups: dict[str, dict[str, Any]] = {"light": {"hosts": {}}, "systemd": {"hosts": {}}}
        for name, host in self.hosts.items():
            groups[host.kind]["hosts"][name] = {"ansible_host": host.addr, "lab_kind": host.kind}
        common = " ".join(shlex.quote(o) for o in self._ssh_options())
        inventory = {
            "all": {
                "children": {"lab": {"children": groups, "vars": self._replacement_vars()}}
                | snmp.inventory_group(self.state),
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(self.ssh_dir / "id_ed25519"),
                    "ansible_ssh_common_args": common,
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "ansible_ssh_pipelining": True,
                    # a dropped control master or a reset is retried with backoff, not an outcome
                    "ansible_ssh_retries": 3,
                    "lab_repo_url": self.state.get("repo_url"),
                },
            }
        }
        header = (
            f"# ripreplace lab inventory, written by 'ripreplace lab up --dir {self.dir}'.\n"
            f"# Hosts live in network namespaces {self.slot.prefix}-*; SSH goes through {self.slot.ctl_ns}.\n"
            "# Needs root on the controller (ip netns exec in the ProxyCommand).\n"
        )
        self.inventory.write_text(header + yaml.safe_dump(inventory, sort_keys=False))

    def _replacement_vars(self) -> dict[str, Any]:
        """How lab hosts get the approved replacement offline: ClamAV from the lab repository (the
        hosts' only apt source) and the lab's own EICAR-only signature set from its web server."""
        return {
            "replacement_clamav_signatures_url": f"{self.state.get('repo_url')}clamav/",
            "replacement_clamav_official_databases": False,
            "replacement_clamav_custom_databases": [fakeapproved.CLAMAV_LAB_DB],
        }

    def _prepare_root(self, img: image.Image, host: Host) -> Path:
        hdir = self._host_dir(host.name)
        upper, work, root = hdir / "upper", hdir / "work", hdir / "root"
        for d in (upper, work, root):
            d.mkdir(parents=True, exist_ok=True)
        run(
            [
                "mount",
                "-t",
                "overlay",
                f"lab-{host.ns}",
                "-o",
                f"lowerdir={img.lower(host.kind)},upperdir={upper},workdir={work}",
                root,
            ]
        )
        host.mounted = True
        self._save_host(host)
        self._personalise(root, host)
        return root

    def _personalise(self, root: Path, host: Host) -> None:
        (root / "etc" / "hostname").write_text(host.name + "\n")
        etc_hosts = ["127.0.0.1 localhost", f"127.0.1.1 {host.name}", "::1 localhost ip6-localhost ip6-loopback"]
        etc_hosts += [f"{h.addr} {h.name}" for h in self.hosts.values()]
        (root / "etc" / "hosts").write_text("\n".join(etc_hosts) + "\n")
        (root / "etc" / "machine-id").write_text(uuid.uuid4().hex + "\n")
        (root / "etc" / "resolv.conf").write_text("")
        keys = self.ssh_dir / "hostkeys"
        for suffix, mode in (("", 0o600), (".pub", 0o644)):
            dest = root / "etc" / "ssh" / f"ssh_host_ed25519_key{suffix}"
            dest.write_bytes((keys / f"{host.name}{suffix}").read_bytes())
            dest.chmod(mode)
        (root / "etc" / "ssh" / "sshd_config.d" / "hostkey.conf").write_text("HostKey /etc/ssh/ssh_host_ed25519_key\n")
        auth = root / "root" / ".ssh" / "authorized_keys"
        auth.parent.mkdir(mode=0o700, exist_ok=True)
        auth.write_text((self.ssh_dir / "id_ed25519.pub").read_text())
        auth.chmod(0o600)
        (root / "etc" / "apt" / "sources.list").write_text(f"deb [trusted=yes] {self.state['repo_url']} ./\n")

    def _start_host(self, img: image.Image, host: Host) -> None:
        root = self._prepare_root(img, host)
        if host.kind == "light":
            argv = [
                "ip",
                "netns",
                "exec",
                host.ns,
                "unshare",
                "--mount",
                "--uts",
                "--ipc",
                "--pid",
                "--fork",
                "--",
                sys.executable,
                "-m",
                "ripreplace.lab.chrootrun",
                "light",
                str(root),
                host.name,
            ]
        else:
            argv = [
                "systemd-nspawn",
                "-q",
                "-D",
                str(root),
                "-b",
                "--register=no",
                "--keep-unit",
                "--resolv-conf=off",
                "--timezone=off",
                "--link-journal=no",
                "--console=passive",
                f"--network-namespace-path={net.NETNS_DIR / host.ns}",
                f"--machine={host.name}",
            ]
        host.proc = spawn(argv, self._host_dir(host.name) / "console.log")
        self._save_host(host)

    def wait_ssh(self, names: Sequence[str], timeout: float = SSH_WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            with ThreadPoolExecutor(max_workers=min(16, len(pending))) as pool:
                # a login slower than 10 s (a loaded machine) is "not yet", tried again until the deadline
                ok = list(pool.map(lambda n: succeeds(self.ssh_argv(n, "true"), timeout=10), pending))
            pending = [n for n, good in zip(pending, ok, strict=True) if not good]
            if not pending:
                return
            for name in pending:
                host = self.host(name)
                if host.proc and not host.proc.alive():
                    tail = (self._host_dir(name) / "console.log").read_text(errors="replace").strip().splitlines()
                    raise LabError(f"lab host {name} exited during start: {tail[-1] if tail else 'no output'}")
            if time.monotonic() > deadline:
                raise LabError(f"lab hosts did not answer on ssh within {timeout:.0f} s: {', '.join(pending)}")
            time.sleep(0.2)

    # ---------------------------------------------------------------- commands on hosts
    def ssh_argv(self, name: str, *argv: str) -> list[str]:
        host = self.host(name)
        remote = " ".join(shlex.quote(a) for a in argv)
        return ["ssh", "-F", str(self.ssh_dir / "config"), f"root@{host.addr}", "--", remote]

    def sh(self, name: str, *argv: str, rerun: bool = False, **opts: Any) -> subprocess.CompletedProcess[str]:
        """Run argv on a lab host over SSH (through the lab namespace; each word quoted). ``opts``: check, timeout,
        input_text (proc.run_ssh: a connection not set up is tried again; with ``rerun``, for a command that only
        reads, any ssh failure)."""
        return run_ssh(self.ssh_argv(name, *argv), rerun=rerun, **opts)

    def copy_to(self, name: str, local: Path, remote: str) -> None:
        host = self.host(name)
        run(["scp", "-q", "-F", str(self.ssh_dir / "config"), str(local), f"root@{host.addr}:{remote}"])

    def _plant_specs(self, packages: Sequence[str]) -> tuple[list[str], list[Path], list[Path]]:
        """Sort plant arguments into (repository names, local .deb files, .rpm files); check files exist."""
        fakes = self.state.get("fake_packages", {})
        names: list[str] = []
        debs: list[Path] = []
        rpms: list[Path] = []
        for spec in packages:
            if spec.startswith("rpm:"):
                key = f"{spec[4:]}.rpm"
                if key not in fakes:
                    have = ", ".join(k[:-4] for k in fakes if k.endswith(".rpm"))
                    raise UsageError(f"no fake rpm {spec[4:]!r} in the lab (have: {have})")
                rpms.append(Path(fakes[key]))
            elif spec.endswith((".rpm", ".deb")):
                if not Path(spec).is_file():
                    raise UsageError(f"{spec}: no such file")
                (rpms if spec.endswith(".rpm") else debs).append(Path(spec))
            else:
                names.append(spec)
        return names, debs, rpms

    def plant(self, name: str, packages: Sequence[str]) -> list[str]:
        """Install covered (or decoy) packages on a host: lab repository names, rpm:NAME, or .deb/.rpm paths.

        Returns what the host did not have before, ``"NAME VERSION (deb|rpm)"``, dependencies included.
        """
        self.host(name)
        if not packages:
            raise UsageError("plant needs at least one package")
        names, deb_files, rpms = self._plant_specs(packages)
        before = planted.installed(self, name)
        debs = list(names)
        for path in deb_files:
            remote = f"/root/{path.name}"
            self.copy_to(name, path, remote)
            debs.append(remote)
        if debs or rpms:
            self.sh(name, "apt-get", "update", "-q", timeout=120)
        if debs:
            self.sh(name, "apt-get", "install", "-y", "-q", "--no-install-recommends", *debs, timeout=600)
        if rpms:
            self.sh(name, "apt-get", "install", "-y", "-q", "--no-install-recommends", "rpm", timeout=600)
            self.sh(name, "mkdir", "-p", "/etc/rpm")
            self.sh(
                name, "sh", "-c", "grep -qs _dbpath /etc/rpm/macros || echo '%_dbpath /var/lib/rpm' >> /etc/rpm/macros"
            )
            for path in rpms:
                remote = f"/root/{path.name}"
                self.copy_to(name, path, remote)
                self.sh(name, "rpm", "-i", "--nodeps", remote)
        return planted.new_since(before, planted.installed(self, name))

    # ---------------------------------------------------------------- reset, link
    def reset(self, names: Sequence[str]) -> None:
        """Give hosts a fresh root filesystem (stop, drop the overlay upper layer, start again)."""
        img = image.Image(Path(self.state["image"]))
        for name in names:
            host = self.host(name)
            self._stop_host(host, remove_ns=False)
            self._start_host(img, self.host(name))
        self.wait_ssh(list(names))

    def set_link(self, name: str, up: bool) -> None:
        host = self.host(name)
        net.set_link(self.slot, host.number, up)

    # ---------------------------------------------------------------- down
    def _stop_host(self, host: Host, remove_ns: bool) -> None:
        if host.proc is not None:
            # The pid-namespace init is the child of unshare (light) or of systemd-nspawn: killing it
            # ends every process of the host. Then the parent exits by itself.
            if host.proc.alive():
                for child in children(host.proc.pid):
                    Proc.of(child).kill(signal.SIGKILL)
                if not host.proc.wait_gone(10):
                    host.proc.kill(signal.SIGKILL)
                    host.proc.wait_gone(5)
            host.proc = None
            self._save_host(host)
        root = self._host_dir(host.name) / "root"
        if host.mounted:
            for _ in range(50):
                if run(["umount", root], check=False).returncode == 0 or not os.path.ismount(root):
                    break
                time.sleep(0.1)
            else:
                run(["umount", root])
            host.mounted = False
            self._save_host(host)
        run(["rm", "-rf", "--one-file-system", self._host_dir(host.name) / "upper", self._host_dir(host.name) / "work"])
        if remove_ns:
            if self.state.get("ctl_ns") and self._owns_slot():
                net.forget_neighbour(self.slot, host.addr)
            if not net.del_netns(host.ns, expect=host.ns_id):
                _log(f"left namespace {host.ns} alone: another lab has it now")

    def _owns_slot(self) -> bool:
        return net.owns_slot(self.slot, self.state.get("ctl_ns_id"))

    def down(self, quiet: bool = False) -> None:
        if not self.is_up:
            if not quiet:
                _log(f"no lab is up in {self.dir}")
            return
        prereq.require(tools={"ip": "iproute2"})
        errors: list[str] = []
        for host in self.hosts.values():
            try:
                self._stop_host(host, remove_ns=True)
                self.state["hosts"].pop(host.name, None)
                self._save()
                run(["rm", "-rf", "--one-file-system", self._host_dir(host.name)])
            except Exception as exc:  # keep going: take down everything else, then report
                errors.append(f"{host.name}: {exc}")
        try:
            snmp.stop(self, Proc)
        except Exception as exc:
            errors.append(f"snmp devices: {exc}")
        server = self.state.get("repo_server")
        if server:
            proc = Proc(**server)
            proc.kill(signal.SIGTERM)
            if not proc.wait_gone(5):
                proc.kill(signal.SIGKILL)
                proc.wait_gone(5)
            self.state.pop("repo_server")
            self._save()
        net.release_slot(net.Slot(int(self.state["slot"])), self.state, self._save, _log)
        if errors:
            raise LabError("lab down left something behind: " + "; ".join(errors))
        for name in (STATE, INVENTORY, "repo-server.log"):
            (self.dir / name).unlink(missing_ok=True)
        run(["rm", "-rf", "--one-file-system", self.dir / "repo", self.ssh_dir, self.dir / "hosts"])
        self.state = {}
        if not quiet:
            _log(f"lab in {self.dir} is down")

    # ---------------------------------------------------------------- status
    def status(self) -> list[dict[str, Any]]:
        hosts = list(self.hosts.values())
        if not hosts:
            return []

        def probe(host: Host) -> dict[str, Any]:
            running = bool(host.proc and host.proc.alive())
            ssh_ok = running and self.sh(host.name, "true", check=False, timeout=10).returncode == 0
            return {
                "host": host.name,
                "kind": host.kind,
                "address": host.addr,
                "namespace": host.ns,
                "pid": host.proc.pid if host.proc else None,
                "state": "up" if ssh_ok else ("no-ssh" if running else "stopped"),
            }

        with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
            return list(pool.map(probe, hosts))

    def fake_package(self, key: str) -> Path:
        return Path(self.state["fake_packages"][key])
