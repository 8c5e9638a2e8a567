# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The small exception tree of ripreplace.

Every error a user can cause is a :class:`RipreplaceError` subclass carrying the exit code it maps
to; ``cli.main`` prints its message on one line and exits with that code, never a traceback.
"""

from __future__ import annotations

from ripreplace.constants import ExitCode


class RipreplaceError(Exception):
    """Base class: a failure with a one-line message meant for the operator."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(RipreplaceError):
    """Bad arguments or a bad input file (inventory, catalog, window file). Touches no host."""

    exit_code = ExitCode.USAGE


class InputFileError(UsageError):
    """An input file is missing, unreadable or invalid."""


class LabError(RipreplaceError):
    """The lab could not be built, started or stopped."""

    exit_code = ExitCode.INTERNAL


class LabPrerequisiteError(LabError):
    """The lab needs something the machine lacks (root, a tool). The message says how to get it."""

    exit_code = ExitCode.USAGE


class RunnerError(RipreplaceError):
    """ansible-runner could not start or run the playbook."""

    exit_code = ExitCode.INTERNAL


class AuditLogInvalid(RipreplaceError):
    """An audit log that a command relies on (a run being resumed) is tampered with."""

    exit_code = ExitCode.LOG_INVALID
