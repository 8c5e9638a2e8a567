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


class RunDirUnusable(UsageError):
    """A run directory cannot be written when the run starts (disk full, permission denied, read-only): exit 2,
    no host touched, nothing of the run left behind."""


class RunDirFault(RipreplaceError):
    """A run file could not be written mid-run (disk full, permission denied, read-only): the run stopped, its
    hosts in flight are interrupted, and it was closed as far as the disk allowed; ``--resume`` continues it."""

    exit_code = ExitCode.INTERNAL
