#!/usr/bin/python
# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r"""
---
module: change_window
short_description: Refuse a host outside its change window, and require a change ticket
version_added: "0.1.0"
description:
  - The guard C(playbooks/remediate.yml) runs first, before the campaign lock and before anything
    changes. A host outside its change window fails with the window's reason, untouched, and no host
    is changed without a change ticket.
  - Runs on the controller only, through the action plugin of the same name; it never connects to
    the host (an unreachable host outside its window fails with the window's reason too).
  - Reads the window with the same parser as C(ripreplace remediate) (C(--window) and
    C(--window-file)) and judges the host by its inventory groups (C(group_names) and C(all)) at the
    controller's current time, in UTC.
  - "A host outside its window fails with one line saying why and until when:
    C(outside its change window: the window ended at 2026-12-05T09:00:00Z),
    C(outside its change window: the next window night opens at 2026-12-06T06:00:00Z) or
    C(blackout: year-end freeze: the next window night opens at ...)."
  - Under the C(ripreplace) command, which checks every batch's window itself before it starts it,
    O(verified) names the command's run; the guard then checks the ticket and that this playbook
    belongs to that run, and leaves the window to the command (whose decision is in the run's audit
    log), so a batch is never judged twice against the clock.
requirements:
  - On the controller, the Python packages C(python-dateutil), C(isodate) and, for O(window_file),
    C(jsonschema) 4.18 or later and C(PyYAML), as listed in the collection's C(requirements.txt)
author:
  - ripreplace developers (@ripreplace)
options:
  window:
    description:
      - One change window for every host, an ISO 8601 interval with UTC offsets -
        C(START/END), C(START/DURATION) or C(now/DURATION) (for example
        C(2026-12-05T01:00:00-05:00/PT3H)). A date-time without an offset is refused.
      - C(now/DURATION) is judged at each check, so it never closes during a run; give C(START/END) for a
        campaign in batches (C(serial)).
      - One of O(window) and O(window_file) is required (unless O(verified) is given).
    type: str
  window_file:
    description:
      - "A window file on the controller (C(format: ripreplace-windows/1), validated against
        C(schemas/windows.schema.json)) - recurring windows per inventory group (RFC 5545 RRULE in
        an IANA time zone, a local start time, a duration) and blackouts. The format is described in
        C(docs/remediate.md) of the ripreplace repository."
      - Mutually exclusive with O(window).
    type: path
  ticket:
    description:
      - The change ticket the campaign runs under. Required - an empty ticket fails every host.
      - C(playbooks/remediate.yml) passes C(ripreplace_ticket), else the environment variable
        C(RIPREPLACE_TICKET) (which the C(ripreplace.remediation.audit_log) callback records in the
        run's manifest).
    type: str
    default: ""
  groups:
    description:
      - The groups the host is judged by. Defaults to the host's C(group_names); C(all) is always added.
    type: list
    elements: str
  verified:
    description:
      - Set by the C(ripreplace) command only - C(run) (its run id) and C(batch) - for the batches it
        has checked against the window itself.
      - Refused unless the playbook runs under that very run of the command (the environment
        variables C(RIPREPLACE_WRAPPED=1) and C(RIPREPLACE_RUN_ID) it sets).
    type: dict
attributes:
  check_mode:
    support: full
    description: The guard changes nothing; it judges the same under C(--check).
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  action:
    support: full
    description: The action plugin of the same name does the work on the controller.
  platform:
    support: full
    platforms: all
    description: Runs on the controller; the host is never contacted.
notes:
  - Tag the task C(always) so that C(--tags) never runs a change without it (C(playbooks/remediate.yml) does).
  - The guard judges the window when the task runs. With C(serial), each batch runs it again at its
    start, so a window that closes during the campaign stops the batches after it.
seealso:
  - module: ripreplace.remediation.covered_lock
"""

EXAMPLES = r"""
- name: REMEDIATE | WINDOW | Refuse hosts outside the change window, require a ticket
  ripreplace.remediation.change_window:
    window: 2026-12-05T01:00:00-05:00/PT3H
    ticket: CHG-1234
  tags: [always]

- name: REMEDIATE | WINDOW | Judge each host by the windows of its groups
  ripreplace.remediation.change_window:
    window_file: "{{ inventory_dir }}/windows.yml"
    ticket: "{{ ripreplace_ticket }}"
  tags: [always]
"""

RETURN = r"""
ticket:
  description: The change ticket the host was judged under.
  returned: when a ticket was given
  type: str
  sample: CHG-1234
now:
  description: When the host was judged (UTC).
  returned: when the window was judged
  type: str
  sample: "2026-12-05T06:12:00Z"
window:
  description: The window open for the host - its name and when it opened and closes (UTC).
  returned: when the host is inside its window
  type: dict
  sample: {"name": "night", "opens": "2026-12-05T06:00:00Z", "closes": "2026-12-05T09:00:00Z"}
remaining_s:
  description: Seconds until the window closes.
  returned: when the host is inside its window
  type: int
  sample: 10080
reason:
  description: Why the host may not be changed now, in one line.
  returned: when the host is outside its window
  type: str
  sample: "outside its change window: the window ended at 2026-12-05T09:00:00Z"
next_window:
  description: The next window that opens for the host (within 400 days).
  returned: when the host is outside its window and a window opens later
  type: dict
  sample: {"name": "night", "opens": "2026-12-06T06:00:00Z", "closes": "2026-12-06T09:00:00Z"}
ended:
  description: When the host's last window closed, if one did.
  returned: when the host is outside its window and its last window ended
  type: str
  sample: "2026-12-05T09:00:00Z"
schedule:
  description: The window the host was judged against (the interval, or the window file with its sha256).
  returned: when the window was judged
  type: dict
  sample:
    kind: interval
    text: 2026-12-05T06:00:00Z/PT3H
    start: "2026-12-05T06:00:00Z"
    end: "2026-12-05T09:00:00Z"
groups:
  description: The groups the host was judged by.
  returned: when the window was judged
  type: list
  elements: str
  sample: ["all", "web"]
verified_by:
  description: C(ripreplace) when the window was checked by the ripreplace command (O(verified)).
  returned: when O(verified) is given
  type: str
  sample: ripreplace
run:
  description: The ripreplace run that checked the window.
  returned: when O(verified) is given
  type: str
  sample: 20261205T060000Z-remediate-3fa2c1
batch:
  description: The batch of that run.
  returned: when O(verified) is given
  type: int
  sample: 1
"""
