# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""How the audit_log callback says it cannot do its job, and stops the playbook when it cannot.

Each warning or error is shown once, prefixed with the plugin's name. With ``halt`` (the callback's
``halt_on_error`` option, the default) a record that could not be written ends ``ansible-playbook``
as ``kill -TERM`` does. Its task queue manager's handler (ansible-core 2.19 and later) passes SIGTERM
to the running workers, which end the module they run, then ends the process by the signal's default
action: no Python clean-up runs that could wait on a lock another thread held when the signal came (a
KeyboardInterrupt, SIGINT's way, could: a halt by SIGINT hung once on ansible-core 2.21 under load), and no task starts
after the record the log could not take: the handler runs in the main thread, the thread that hands
out tasks, before it runs anything else. At playbook-end (``ending``) there is nothing left to stop.
"""

from __future__ import annotations

import os
import signal

PREFIX = "[ripreplace.remediation.audit_log] "


class Alarm:
    """The callback's errors and warnings (each shown once) and its halt."""

    def __init__(self, display):
        self._display = display
        self._shown = set()
        self.halt = True
        self.halted = False
        self.ending = False

    def warn(self, message):
        if message not in self._shown:
            self._shown.add(message)
            self._display.warning(PREFIX + message)

    def error(self, message):
        if message not in self._shown:
            self._shown.add(message)
            self._display.error(PREFIX + message)

    def stop_playbook(self):
        """End this ansible-playbook, once, unless told not to or already at its end."""
        if not self.halt or self.halted or self.ending:
            return
        self.halted = True
        self.error("stopping the playbook: changes the audit log cannot record are not made (halt_on_error)")
        os.kill(os.getpid(), signal.SIGTERM)


#: halt_on_error's accepted words (strict: anything else halts and warns)
_TRUE_WORDS = frozenset(("true", "yes", "on", "1", "y", "t"))
_FALSE_WORDS = frozenset(("false", "no", "off", "0", "n", "f"))


def halt_setting(value, warn):
    """The option halt_on_error as a strict boolean: a value that is not one halts (the safe side) and warns
    (Ansible's own parsing of a ``bool`` option reads any unknown word as false)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE_WORDS or word in _FALSE_WORDS:
        return word in _TRUE_WORDS
    warn(
        "audit log: halt_on_error %r is not a boolean (true/false, yes/no, on/off, 1/0); "
        "halting on errors, the safe default" % (value,)
    )
    return True
