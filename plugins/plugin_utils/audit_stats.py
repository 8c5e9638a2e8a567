# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The chain head in the job's stats: what ``set_stats`` publishes, written by the audit_log callback.

AWX keeps a job's custom stats (``set_stats``, aggregated under ``_run``) as the job's ``artifacts``
and hands them to the next nodes of a workflow. It takes them from the ``artifact_data`` of the
``playbook_on_stats`` event, which ansible-runner's stdout callback (``awx_display``) builds from
``stats.custom['_run']`` in its own ``v2_playbook_on_stats``. ansible-core calls the stdout callback
first (2.16: ``[stdout] + others``; 2.19 and later: the stdout callback is the first of
``_callback_plugins``), so a notification callback's ``v2_playbook_on_stats`` comes too late: the
event is already written.

So the callback, at ``v2_playbook_on_start`` (called by the task queue manager), finds that manager
on the call stack and has its stdout callback's ``v2_playbook_on_stats`` run ``before(stats)`` first:
the callback writes playbook-end and run-end there and sets ``ripreplace_audit`` (run id, final hash,
record count, status) in the stats, so the stats event, and AWX's job artifacts, carry the final hash
of the finished chain. When that cannot be done (an unknown ansible-core layout, a stdout callback
without ``v2_playbook_on_stats``), nothing is changed: the callback ends the log in its own
``v2_playbook_on_stats`` as before, and the stats carry no head.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .audit_engine import STATS_KEY

_MAX_FRAMES = 12


def calling_queue_manager() -> Any:
    """The TaskQueueManager whose ``send_callback`` is on the call stack, or None."""
    from ansible.executor.task_queue_manager import TaskQueueManager

    frame = sys._getframe(1)
    depth = 0
    while frame is not None and depth < _MAX_FRAMES:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, TaskQueueManager):
            return candidate
        frame, depth = frame.f_back, depth + 1
    return None


def stdout_callback(tqm: Any) -> Any:
    """The stdout callback plugin object of ``tqm`` (called first for every event), or None."""
    from ansible.plugins.callback import CallbackBase

    named = getattr(tqm, "_stdout_callback", None)  # ansible-core 2.16 to 2.18: the object, once loaded
    if isinstance(named, CallbackBase):
        return named
    plugins = getattr(tqm, "_callback_plugins", None)  # 2.19 and later: loaded first, so the first
    if isinstance(plugins, list) and plugins and isinstance(plugins[0], CallbackBase):
        return plugins[0]
    return None


def run_before_stats(tqm: Any, before: Callable[[Any], None], on_error: Callable[[str], None]) -> bool:
    """Have ``before(stats)`` run just before the stdout callback's ``v2_playbook_on_stats``.

    The stdout callback's own handler always runs after it, even when ``before`` raises (the error
    goes to ``on_error``). True when the hook is in place.
    """
    plugin = stdout_callback(tqm)
    original = getattr(plugin, "v2_playbook_on_stats", None) if plugin is not None else None
    if original is None or not callable(original) or getattr(original, "_ripreplace_hook", False):
        return False

    def chained(stats: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            before(stats)
        except Exception as exc:  # the job's stats event must still be written
            on_error(f"cannot end the audit log before the stats event: {exc!r:.200}")
        return original(stats, *args, **kwargs)

    chained._ripreplace_hook = True  # type: ignore[attr-defined]
    plugin.v2_playbook_on_stats = chained
    return True


def publish_head(stats: Any, head: dict[str, Any]) -> None:
    """Set the chain head as the run's custom stat ``ripreplace_audit`` (replacing any earlier value)."""
    setter = getattr(stats, "set_custom_stats", None)
    if callable(setter):
        setter(STATS_KEY, dict(head))
