# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""lab plant reports what it installed: the packages new (or at another version) since before."""

from __future__ import annotations

from ripreplace.lab import planted


def test_new_since_names_new_and_changed_packages_only():
    before = {"bash (deb)": "5.2.15-2", "kesl (deb)": "12.3.0-1"}
    after = {
        "bash (deb)": "5.2.15-2",
        "kesl (deb)": "12.4.0-1225",
        "kesl-gui (deb)": "12.4.0-1225",
        "kesl (rpm)": "12.4.0-1225",
    }
    assert planted.new_since(before, after) == [
        "kesl 12.4.0-1225 (deb)",
        "kesl 12.4.0-1225 (rpm)",
        "kesl-gui 12.4.0-1225 (deb)",
    ]
    assert planted.new_since(after, after) == []
