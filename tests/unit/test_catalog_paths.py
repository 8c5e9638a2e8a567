# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Catalog validation of what remediation may delete: the same rules the hosts apply (purge_safety).

A site catalog naming a system directory (or anything above one) as vendor root or leftover path,
a wildcard vendor root, or a repository file outside the package managers' directories is refused:
one line naming the entry and the field, and ``ripreplace catalog validate`` exits 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ripreplace import cli, collection

cat = collection.load_plugin_util("catalog")

SITE = {
    "format": "ripreplace-covered-catalog/1",
    "entries": [
        {
            "id": "site-av",
            "vendor": "AO Kaspersky Lab",
            "product": "Kaspersky Anti-Virus (site build)",
            "platform": "linux",
            "covered_list": {
                "entry": "AO Kaspersky Lab information security products",
                "added": "2022-03-25",
                "sources": ["https://docs.fcc.gov/public/attachments/DA-22-320A1.txt"],
            },
            "signals": {
                "paths": [
                    {"path": "/opt/kaspersky/kav4ws", "confidence": "high", "source": {"grade": "site", "ref": "r"}}
                ]
            },
            "removal": {"vendor_roots": ["/opt/kaspersky"], "leftover_paths": ["/opt/kaspersky/kav4ws"]},
        }
    ],
}

CASES = [
    (
        {"vendor_roots": ["/usr/share/doc"], "leftover_paths": ["/usr/share/doc"]},
        "removal.vendor_roots /usr/share/doc is a system directory, not a vendor root",
    ),
    (
        {"vendor_roots": ["/etc/ssh"], "leftover_paths": ["/etc/ssh"]},
        "removal.vendor_roots /etc/ssh is a system directory",
    ),
    (
        {"vendor_roots": ["/var/lib/dpkg"], "leftover_paths": []},
        "removal.vendor_roots /var/lib/dpkg is a system directory",
    ),
    (
        {"vendor_roots": ["/usr/lib/x86_64-linux-gnu"], "leftover_paths": []},
        "removal.vendor_roots /usr/lib/x86_64-linux-gnu is a system directory",
    ),
    ({"vendor_roots": ["/root/.ssh"], "leftover_paths": []}, "removal.vendor_roots /root/.ssh is a system directory"),
    ({"vendor_roots": ["/boot/grub"], "leftover_paths": []}, "removal.vendor_roots /boot/grub is a system directory"),
    ({"vendor_roots": ["/etc/pam.d"], "leftover_paths": []}, "removal.vendor_roots /etc/pam.d is a system directory"),
    ({"vendor_roots": ["/usr"], "leftover_paths": []}, "removal.vendor_roots /usr is a system directory"),
    (
        {"vendor_roots": ["/opt/kaspersky*"], "leftover_paths": []},
        "removal.vendor_roots /opt/kaspersky* contains a wildcard",
    ),
    ({"vendor_roots": ["/kaspersky"], "leftover_paths": []}, "removal.vendor_roots /kaspersky is too shallow"),
    (
        {"vendor_roots": ["/opt/kaspersky"], "leftover_paths": ["/etc/passwd"]},
        "removal.leftover_paths /etc/passwd is not under any declared vendor root",
    ),
    (
        {"vendor_roots": ["/opt/kaspersky"], "repo_files": ["/etc/passwd"]},
        "removal.repo_files /etc/passwd is not in a package-manager repository directory",
    ),
    (
        {"vendor_roots": ["/opt/kaspersky"], "repo_keys": ["/etc/apt/trusted.gpg.d/sub/*kaspersky*"]},
        "removal.repo_keys /etc/apt/trusted.gpg.d/sub/*kaspersky* is not in a package-manager repository directory",
    ),
]


def _site(tmp_path: Path, removal: dict) -> Path:
    data = yaml.safe_load(yaml.safe_dump(SITE))
    data["entries"][0]["removal"] = dict(removal, source={"grade": "site", "ref": "site runbook"})
    path = tmp_path / "site.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("removal", "message"), CASES, ids=[m.split()[1] for _r, m in CASES])
def test_site_catalog_naming_what_a_host_refuses_is_rejected(tmp_path, removal, message):
    with pytest.raises(cat.CatalogError) as error:
        cat.load_catalogs([_site(tmp_path, removal)])
    assert str(error.value).startswith(f"{tmp_path / 'site.yml'}: entry site-av: {message}")
    assert "\n" not in str(error.value)


def test_site_catalog_below_a_system_directory_is_the_hosts_to_prove(tmp_path):
    """/usr/share/doc/kav4ws lies below the deny-list: valid here, proven (or refused) on the host."""
    catalog = cat.load_catalogs(
        [_site(tmp_path, {"vendor_roots": ["/usr/share/doc/kav4ws"], "leftover_paths": ["/usr/share/doc/kav4ws"]})]
    )
    assert "site-av" in catalog.ids


def test_catalog_validate_exits_2_with_one_line(tmp_path, capsys):
    site = _site(tmp_path, {"vendor_roots": ["/usr/share/doc"], "leftover_paths": ["/usr/share/doc"]})
    assert cli.main(["catalog", "validate", str(site)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "removal.vendor_roots /usr/share/doc is a system directory" in err


def test_bundled_catalog_passes_the_hosts_rules():
    catalog = cat.load_catalogs()
    roots = {r for e in catalog.entries for r in (e.get("removal") or {}).get("vendor_roots", [])}
    assert "/opt/kaspersky" in roots and "/usr/local/ksn" in roots
