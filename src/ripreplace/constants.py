# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Named exit codes: the contract of docs/contracts.md. Tests and users rely on them."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  # audit found nothing covered; remediate left every targeted host verified clean
    INTERNAL = 1  # a bug
    USAGE = 2  # usage or input error (arguments, inventory, catalog, window file)
    COVERED = 3  # audit found covered software
    HOSTS_FAILED = 4  # some hosts failed or were unreachable
    WINDOW = 5  # stopped by the change window: outside it, or hosts deferred
    LOG_INVALID = 6  # audit log verification failed


#: Version of the machine-readable envelope printed by ``--output json``.
ENVELOPE_VERSION = 1
