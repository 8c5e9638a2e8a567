# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The lab: a disposable fleet of real Linux hosts on one machine (see docs/lab.md).

Each host has its own network namespace, its own overlay root filesystem and a real sshd; light
hosts run sshd under tini (sysv init scripts), systemd hosts run real systemd under
systemd-nspawn. The controller reaches hosts only through the lab's control namespace.
"""
