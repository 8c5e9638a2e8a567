# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Bounded expansion of an RFC 5545 RRULE, for change windows: a typed facade.

The code is the collection's ``plugins/plugin_utils/recurrence.py`` (shared with the
``change_window`` action plugin through the window parser). :func:`expand` stops at
``MAX_OCCURRENCES`` occurrences or after ``EXPANSION_SECONDS`` and says so with
:class:`RuleTooCostly`; both bounds are read from :data:`core` at call time (set them there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ripreplace import collection

if TYPE_CHECKING:
    from plugin_utils import recurrence as core
else:
    core = collection.load_plugin_util("recurrence")

RuleTooCostly = core.RuleTooCostly
expand = core.expand
MAX_OCCURRENCES: int = core.MAX_OCCURRENCES
EXPANSION_SECONDS: float = core.EXPANSION_SECONDS
