# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The lab's cached images: a Debian base, its systemd variant, and the local package pool.

Built once per recipe (about a minute, most of it debootstrap) into the cache directory
(``/var/cache/ripreplace/lab`` or ``$RIPREPLACE_LAB_CACHE``), then reused read-only as the lower
layer of every host's overlay root. The pool holds the dependency closure of what hosts must
install offline (ClamAV and friends, rpm), downloaded from the machine's Debian mirror at build
time: this is the only step that uses the network, and only towards the package registry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ripreplace.lab import proc
from ripreplace.lab.proc import run

SUITE = "bookworm"
RECIPE_VERSION = 3
BASE_PACKAGES = ("python3", "openssh-server", "python3-apt", "iproute2", "procps", "sudo", "tini", "ca-certificates")
SYSTEMD_PACKAGES = ("systemd", "systemd-sysv", "dbus", "libpam-systemd")
#: What hosts install from the lab repository: the approved replacement (ClamAV) and rpm.
POOL_PACKAGES = ("clamav", "clamav-daemon", "clamav-freshclam", "clamdscan", "rpm", "python3-rpm")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def cache_root() -> Path:
    return Path(os.environ.get("RIPREPLACE_LAB_CACHE", "/var/cache/ripreplace/lab"))


def recipe_key() -> str:
    recipe = {
        "version": RECIPE_VERSION,
        "suite": SUITE,
        "base": BASE_PACKAGES,
        "systemd": SYSTEMD_PACKAGES,
        "pool": POOL_PACKAGES,
        "arch": os.uname().machine,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def machine_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org."""
    if os.environ.get("RIPREPLACE_LAB_MIRROR"):
        return os.environ["RIPREPLACE_LAB_MIRROR"]
    candidates: list[Path] = [Path("/etc/apt/sources.list")]
    sources_d = Path("/etc/apt/sources.list.d")
    if sources_d.is_dir():
        candidates += sorted(sources_d.glob("*.sources")) + sorted(sources_d.glob("*.list"))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for match in re.finditer(r"(?:URIs:|^deb)\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.MULTILINE):
            uri = match.group(1).rstrip("/")
            if uri.endswith("/debian") and "security" not in uri:
                return uri
    return DEFAULT_MIRROR


@dataclasses.dataclass(frozen=True)
class Image:
    root: Path

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def systemd(self) -> Path:
        return self.root / "systemd"

    @property
    def pool(self) -> Path:
        return self.root / "pool"

    @property
    def pool_index(self) -> Path:
        return self.root / "pool.Packages"

    def lower(self, kind: str) -> Path:
        return self.systemd if kind == "systemd" else self.base

    @property
    def complete(self) -> bool:
        return (self.root / "COMPLETE").is_file()


def _log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def _chroot(root: Path, *argv: str, timeout: float = 900) -> None:
    run(
        [
            "unshare",
            "--mount",
            "--fork",
            "--",
            sys.executable,
            "-m",
            "ripreplace.lab.chrootrun",
            "build",
            root,
            "--",
            *argv,
        ],
        timeout=timeout,
    )


@contextlib.contextmanager
def _dns_for_build(root: Path) -> Iterator[None]:
    """Give the chroot the machine's resolver while apt talks to the mirror, then blank it again."""
    resolv = root / "etc" / "resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    shutil.copyfile("/etc/resolv.conf", resolv)
    try:
        yield
    finally:
        resolv.write_text("")


def _sources(root: Path, mirror: str) -> None:
    (root / "etc" / "apt" / "sources.list").write_text(f"deb {mirror} {SUITE} main\n")


def _finish_root(root: Path) -> None:
    """Strip what must be unique per host or must not travel: host keys, apt lists, machine-id."""
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    shutil.rmtree(root / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    (root / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True)
    for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        deb.unlink()
    for name in ("pkgcache.bin", "srcpkgcache.bin"):
        (root / "var" / "cache" / "apt" / name).unlink(missing_ok=True)
    (root / "etc" / "machine-id").write_text("")
    (root / "etc" / "resolv.conf").write_text("")
    (root / "etc" / "apt" / "sources.list").write_text("")
    (root / "etc" / "apt" / "apt.conf.d" / "90ripreplace-lab").write_text(
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\nAcquire::Retries "0";\n'
        'APT::Install-Recommends "false";\nAcquire::http::Timeout "10";\n'
    )
    sshd = root / "etc" / "ssh" / "sshd_config.d"
    sshd.mkdir(parents=True, exist_ok=True)
    (sshd / "ripreplace-lab.conf").write_text(
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n"
        "MaxStartups 100:30:200\nMaxSessions 100\n"
    )
    (root / "root" / ".ssh").mkdir(mode=0o700, exist_ok=True)


def _policy_rc(root: Path, deny: bool) -> None:
    policy = root / "usr" / "sbin" / "policy-rc.d"
    if deny:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    else:
        policy.unlink(missing_ok=True)


def _build_base(dest: Path, mirror: str) -> None:
    _log(f"debootstrap {SUITE} from {mirror} (about 40 s)")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, dest, mirror], timeout=1200)
    _finish_root(dest)


def _build_systemd(base: Path, dest: Path, mirror: str) -> None:
    _log("systemd variant")
    run(["cp", "-a", "--reflink=auto", base, dest])
    _sources(dest, mirror)
    _policy_rc(dest, deny=True)
    with _dns_for_build(dest):
        _chroot(dest, "apt-get", "update", "-q")
        _chroot(dest, "apt-get", "install", "-y", "-q", "--no-install-recommends", *SYSTEMD_PACKAGES)
    _policy_rc(dest, deny=False)
    # Boot fast and quietly in a container: no gettys, no time sync, no apt timers.
    wants = dest / "etc" / "systemd" / "system"
    for unit in (
        "getty@tty1.service",
        "console-getty.service",
        "systemd-timesyncd.service",
        "apt-daily.timer",
        "apt-daily-upgrade.timer",
        "e2scrub_all.timer",
        "fstrim.timer",
        "systemd-networkd-wait-online.service",
    ):
        mask = wants / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    multi = wants / "multi-user.target.wants"
    multi.mkdir(parents=True, exist_ok=True)
    ssh_link = multi / "ssh.service"
    if not ssh_link.exists():
        ssh_link.unlink(missing_ok=True)
        ssh_link.symlink_to("/lib/systemd/system/ssh.service")
    _finish_root(dest)


def _build_pool(base: Path, work: Path, dest: Path, mirror: str) -> None:
    _log("local package pool: " + ", ".join(POOL_PACKAGES))
    scratch = work / "pool-chroot"
    run(["cp", "-a", "--reflink=auto", base, scratch])
    _sources(scratch, mirror)
    with _dns_for_build(scratch):
        _chroot(scratch, "apt-get", "update", "-q")
        _chroot(scratch, "apt-get", "install", "-y", "-q", "--download-only", "--no-install-recommends", *POOL_PACKAGES)
    dest.mkdir()
    for deb in sorted((scratch / "var" / "cache" / "apt" / "archives").glob("*.deb")):
        shutil.move(str(deb), dest / deb.name)
    shutil.rmtree(scratch)


def _scan(directory: Path, prefix: str) -> str:
    out = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=directory).stdout
    # Entries are addressed relative to the repository root the hosts see.
    return out.replace("Filename: ./", f"Filename: {prefix}")


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_image() -> Image:
    """The cached image for this recipe, built first if absent (a crashed build is redone)."""
    cache = cache_root()
    image = Image(cache / recipe_key())
    if image.complete:
        return image
    with _locked(cache):
        if image.complete:
            return image
        started = time.monotonic()
        work = cache / f".build-{recipe_key()}-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            mirror = machine_mirror()
            _build_base(work / "base", mirror)
            _build_systemd(work / "base", work / "systemd", mirror)
            _build_pool(work / "base", work, work / "pool", mirror)
            (work / "pool.Packages").write_text(_scan(work / "pool", "pool/"))
            (work / "COMPLETE").write_text(json.dumps({"built": time.time(), "mirror": mirror}) + "\n")
            shutil.rmtree(image.root, ignore_errors=True)
            work.rename(image.root)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        _log(f"image {image.root.name} built in {time.monotonic() - started:.0f} s")
    return image


__all__ = ["Image", "cache_root", "ensure_image", "machine_mirror", "proc", "recipe_key"]
