# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Sub-commands of the ``ripreplace`` CLI; each module has ``register(subparsers)``."""
