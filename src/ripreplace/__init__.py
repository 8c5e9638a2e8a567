# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""ripreplace: take FCC Covered List software out of real fleets with Ansible."""

from __future__ import annotations

__version__ = "0.1.0"
