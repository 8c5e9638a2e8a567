# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Which paths remediation may delete: only under a declared vendor root, never through a symlink
out of it, never a system directory itself.

One set of rules for every place that decides: covered_facts' removal plan and covered_remove on
the host, and the catalog's validation on the controller (``plugin_utils/catalog.py`` loads this
file outside ansible's collection loader, hence the relative import). Standard library only, and
compatible with the targets' Python (3.9 and later).
"""

from __future__ import annotations

import fnmatch
import os

from .fs_paths import has_glob, is_under, join, real

#: System directories of the FHS and of the distributions (a second fence after the package
#: owner proof, which cannot see unpackaged data such as /root/.ssh). Neither these nor anything
#: at or above them is ever a vendor root or purged. A component may be a shell pattern.
SYSTEM_DIRS = (
    "/bin",
    "/boot",
    "/boot/efi",
    "/boot/grub",
    "/boot/grub2",
    "/boot/loader",
    "/dev",
    "/etc",
    "/etc/NetworkManager",
    "/etc/X11",
    "/etc/alternatives",
    "/etc/apparmor.d",
    "/etc/apt",
    "/etc/apt/*",
    "/etc/audit",
    "/etc/cron.*",
    "/etc/crontab",
    "/etc/crypttab",
    "/etc/dbus-1",
    "/etc/default",
    "/etc/dnf",
    "/etc/dpkg",
    "/etc/environment",
    "/etc/fstab",
    "/etc/group",
    "/etc/gshadow",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/init.d",
    "/etc/initramfs-tools",
    "/etc/kernel",
    "/etc/ld.so.*",
    "/etc/logrotate.d",
    "/etc/machine-id",
    "/etc/modprobe.d",
    "/etc/modules-load.d",
    "/etc/netplan",
    "/etc/network",
    "/etc/nsswitch.conf",
    "/etc/opt",
    "/etc/os-release",
    "/etc/pam.d",
    "/etc/passwd",
    "/etc/pki",
    "/etc/pki/*",
    "/etc/polkit-1",
    "/etc/profile.d",
    "/etc/rc.d",
    "/etc/rc?.d",
    "/etc/resolv.conf",
    "/etc/rsyslog.d",
    "/etc/security",
    "/etc/selinux",
    "/etc/shadow",
    "/etc/skel",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/sysconfig",
    "/etc/sysctl.d",
    "/etc/systemd",
    "/etc/systemd/*",
    "/etc/udev",
    "/etc/xdg",
    "/etc/yum",
    "/etc/yum.repos.d",
    "/etc/zypp",
    "/home",
    "/home/*",
    "/lib",
    "/lib/*-linux-gnu*",
    "/lib/firmware",
    "/lib/modules",
    "/lib/systemd",
    "/lib/systemd/*",
    "/lib/udev",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/root/*",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",  # noqa: S108 - a deny list, not a use of /tmp
    "/usr",
    "/usr/bin",
    "/usr/games",
    "/usr/include",
    "/usr/lib",
    "/usr/lib/*-linux-gnu*",
    "/usr/lib/firmware",
    "/usr/lib/jvm",
    "/usr/lib/modules",
    "/usr/lib/os-release",
    "/usr/lib/python*",
    "/usr/lib/systemd",
    "/usr/lib/systemd/*",
    "/usr/lib/udev",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/libx32",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/games",
    "/usr/local/include",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/usr/local/man",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/local/src",
    "/usr/sbin",
    "/usr/share",
    "/usr/share/X11",
    "/usr/share/applications",
    "/usr/share/bash-completion",
    "/usr/share/ca-certificates",
    "/usr/share/common-licenses",
    "/usr/share/dbus-1",
    "/usr/share/debconf",
    "/usr/share/doc",
    "/usr/share/dpkg",
    "/usr/share/fonts",
    "/usr/share/i18n",
    "/usr/share/icons",
    "/usr/share/info",
    "/usr/share/keyrings",
    "/usr/share/lintian",
    "/usr/share/locale",
    "/usr/share/man",
    "/usr/share/mime",
    "/usr/share/misc",
    "/usr/share/pam",
    "/usr/share/pam-configs",
    "/usr/share/perl*",
    "/usr/share/pixmaps",
    "/usr/share/polkit-1",
    "/usr/share/python*",
    "/usr/share/terminfo",
    "/usr/share/zoneinfo",
    "/usr/src",
    "/var",
    "/var/backups",
    "/var/cache",
    "/var/cache/apt",
    "/var/cache/debconf",
    "/var/cache/dnf",
    "/var/cache/ldconfig",
    "/var/cache/yum",
    "/var/lib",
    "/var/lib/apt",
    "/var/lib/containers",
    "/var/lib/dnf",
    "/var/lib/docker",
    "/var/lib/dpkg",
    "/var/lib/machines",
    "/var/lib/mysql",
    "/var/lib/pam",
    "/var/lib/postgresql",
    "/var/lib/rpm",
    "/var/lib/sudo",
    "/var/lib/systemd",
    "/var/lib/ucf",
    "/var/lib/yum",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/log/apt",
    "/var/log/audit",
    "/var/log/journal",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/spool/*",
    "/var/tmp",  # noqa: S108 - a deny list, not a use of /tmp
    "/var/www",
)

#: Where vendor package-manager repository definitions and signing keys may be deleted from.
REPO_DIRS = (
    "/etc/apt/sources.list.d",
    "/etc/apt/trusted.gpg.d",
    "/etc/apt/keyrings",
    "/usr/share/keyrings",
    "/etc/yum.repos.d",
    "/etc/zypp/repos.d",
    "/etc/pki/rpm-gpg",
)


def _normal(path):
    return isinstance(path, str) and path.startswith("/") and os.path.normpath(path) == path and "//" not in path


def _parts(path):
    return [part for part in path.split("/") if part]


def system_directory(path):
    """The entry of :data:`SYSTEM_DIRS` that ``path`` is, or lies above; None when there is none."""
    parts = _parts(path)
    for entry in SYSTEM_DIRS:
        fence = _parts(entry)
        if len(parts) <= len(fence) and all(fnmatch.fnmatchcase(parts[i], fence[i]) for i in range(len(parts))):
            return entry
    return None


def _system_problem(path):
    entry = system_directory(path)
    if entry is None:
        return None
    if len(_parts(path)) == len(_parts(entry)):
        return "is a system directory"
    return "is a system directory (%s lies under it)" % entry


def root_problem(root):
    """Why ``root`` cannot be a vendor root whatever the host holds ("is ..."), or None."""
    if not _normal(root):
        return "is not a normalised absolute path"
    if ".." in root.split("/"):
        return "contains '..'"
    if has_glob(root):
        return "contains a wildcard (a vendor root is one directory)"
    problem = _system_problem(root)
    if problem:
        return problem
    if len(_parts(root)) < 2:
        return "is too shallow (needs at least two levels, as /opt/vendor)"
    return None


def leftover_problem(path, root):
    """Why ``path`` cannot be purged under the vendor root ``root`` whatever the host holds, or None."""
    if not _normal(path):
        return "is not a normalised absolute path"
    if ".." in path.split("/"):
        return "contains '..'"
    problem = _system_problem(path)
    if problem:
        return problem
    if not is_under(path, root):
        return "is not under its vendor root %s" % root
    return None


def check_root(root):
    """Return why ``root`` cannot be a vendor root, or None when it can."""
    problem = root_problem(root)
    return "vendor root %r %s" % (root, problem) if problem else None


def check_leftover(path, root):
    """Return why ``path`` cannot be purged under ``root`` whatever the host holds, or None."""
    problem = check_root(root)
    if problem:
        return problem
    problem = leftover_problem(path, root)
    return "%r %s" % (path, problem) if problem else None


def check_path(path, root, fs_root="/"):
    """Return why ``path`` must not be purged under ``root`` on this host, or None when it may be.

    On top of :func:`check_leftover`: the vendor root is a real directory (not a symlink), and the
    path resolves inside it, every symlink on the way followed, its own last component included
    (a symlink out of the root is refused, not unlinked: something unexpected is there).
    ``fs_root`` is where the host's filesystem is mounted (``/`` on a live host).
    """
    problem = check_leftover(path, root)
    if problem:
        return problem
    real_root = real(fs_root, root)
    if real_root != root:
        return "vendor root %s is itself a symlink (to %s)" % (root, real_root)
    resolved = real(fs_root, path)
    if not is_under(resolved, real_root):
        return "%r resolves to %s, outside its vendor root %s" % (path, resolved, root)
    return None


def repo_file_problem(path):
    """Why ``path`` (a file or a pattern for files) is no vendor repository file or key, or None."""
    if not _normal(path) or ".." in path.split("/"):
        return "is not a normalised absolute path"
    if not any(os.path.dirname(path) == d for d in REPO_DIRS):
        return "is not in a package-manager repository directory (%s)" % ", ".join(REPO_DIRS)
    return None


def check_repo_file(path, fs_root="/"):
    """Return why ``path`` cannot be deleted as a vendor repository file or key, or None."""
    problem = repo_file_problem(path)
    if problem:
        return "%r %s" % (path, problem)
    full = join(fs_root, path)
    if os.path.islink(full) or (os.path.exists(full) and not os.path.isfile(full)):
        return "%r is not a regular file" % (path,)
    return None
