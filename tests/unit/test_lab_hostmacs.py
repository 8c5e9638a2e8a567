# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace lab up --host-macs FILE``: the file is read and checked before anything is made."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ripreplace.exceptions import UsageError
from ripreplace.lab import hostmacs

HOSTS = ["light1", "light2", "sysd1"]


def _load(tmp_path: Path, data: object) -> hostmacs.HostMacs:
    path = tmp_path / "macs.yml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return hostmacs.load(path)


def test_reads_macs_and_neighbours(tmp_path: Path) -> None:
    spec = _load(
        tmp_path,
        {
            "light2": {"mac": "00-E0-FC-00-00-02"},
            "light1": {
                "neighbours": [
                    {"host": "light2"},
                    {"octet": 200, "mac": "40:2c:76:10:00:c8"},
                    {"octet": 9, "subnet": "devices", "mac": "44:47:cc:00:00:09"},
                    {"device": "dahua-camera", "mac": "08:ed:ed:00:00:03"},
                ]
            },
        },
    )
    assert spec.macs == {"light2": "00:e0:fc:00:00:02"}
    assert spec.neighbours["light1"][0] == hostmacs.Neighbour(mac=None, host="light2")
    assert spec.neighbours["light1"][1] == hostmacs.Neighbour(mac="40:2c:76:10:00:c8", octet=200)
    assert spec.neighbours["light1"][2].subnet == "devices"
    hostmacs.precheck(spec, HOSTS, ["dahua-camera"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[1, 2", "not YAML"),
        ([], "expected a mapping of lab host"),
        ({"light1": "00:e0:fc:00:00:01"}, "light1: expected a mapping with 'mac'"),
        ({"light1": {"mac": "00:e0:fc:00:00:01", "ip": "1.2.3.4"}}, "light1: expected a mapping"),
        ({"light1": {"mac": "00:e0:fc:00:00"}}, "is not a MAC address"),
        ({"light1": {"mac": "01:00:5e:00:00:01"}}, "multicast"),
        ({"light1": {"mac": "ff:ff:ff:ff:ff:ff"}}, "not a station's address"),
        ({"light1": {"neighbours": {"host": "light2"}}}, "'neighbours' is a list"),
        ({"light1": {"neighbours": [{"address": "192.0.2.7", "mac": "00:e0:fc:00:00:01"}]}}, "a neighbour is"),
        ({"light1": {"neighbours": [{"host": "light2", "octet": 3}]}}, "exactly one of host, device or octet"),
        ({"light1": {"neighbours": [{"octet": 1, "mac": "00:e0:fc:00:00:01"}]}}, "control namespace"),
        ({"light1": {"neighbours": [{"octet": 256, "mac": "00:e0:fc:00:00:01"}]}}, "from 2 to 254"),
        ({"light1": {"neighbours": [{"octet": "7", "mac": "00:e0:fc:00:00:01"}]}}, "from 2 to 254"),
        ({"light1": {"neighbours": [{"octet": 7}]}}, "needs its mac"),
        ({"light1": {"neighbours": [{"host": "light2", "subnet": "devices"}]}}, "goes with octet"),
        ({"light1": {"neighbours": [{"octet": 7, "subnet": "wan", "mac": "00:e0:fc:00:00:01"}]}}, "'hosts' or"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        _load(tmp_path, data)
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


@pytest.mark.parametrize(
    ("data", "devices", "message"),
    [
        ({"light9": {"mac": "00:e0:fc:00:00:09"}}, None, "light9 would not be a lab host"),
        ({"light1": {"neighbours": [{"host": "light1"}]}}, None, "would not be another lab host"),
        ({"light1": {"neighbours": [{"host": "web1"}]}}, None, "would not be another lab host"),
        ({"light1": {"neighbours": [{"device": "cam", "mac": "08:ed:ed:00:00:03"}]}}, None, "needs --snmp-devices"),
        ({"light1": {"neighbours": [{"device": "cam", "mac": "08:ed:ed:00:00:03"}]}}, ["nvr"], "no simulated device"),
        (
            {"light1": {"neighbours": [{"octet": 9, "subnet": "devices", "mac": "08:ed:ed:00:00:03"}]}},
            None,
            "needs --snmp-devices",
        ),
    ],
)
def test_names_are_checked_against_the_lab_to_be(
    tmp_path: Path, data: object, devices: list[str] | None, message: str
) -> None:
    spec = _load(tmp_path, data)
    with pytest.raises(UsageError, match=message):
        hostmacs.precheck(spec, HOSTS, devices)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a file"):
        hostmacs.load(tmp_path / "nope.yml")
