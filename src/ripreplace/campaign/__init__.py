# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The typed core of ``ripreplace remediate``: batches, per-host state, window checks, the campaign loop.

- :mod:`~ripreplace.campaign.batches`: ``--batches`` (Ansible ``serial`` semantics) and the duration
  :class:`Estimator`;
- :mod:`~ripreplace.campaign.state`: :class:`StateTracker`, each host's state from the run's
  declared facts (the modules' results by FQCN and the roles' outcome facts, never a task or role
  name), kept in ``state.json``; a host's line of ``summary.json``;
- :mod:`~ripreplace.campaign.hostplan`: what the campaign will do on each host (the plan shown
  before confirmation and by ``--dry-run``), from a check-mode run of the campaign's playbook;
- :mod:`~ripreplace.campaign.loop`: :func:`open_campaign` (the start, computed once: the plan shown
  is the plan run) and :class:`Campaign` (check window, run batch, judge batch; a :class:`Stop`
  says why it stops).

The names below are the package's interface; import them from here.
"""

from ripreplace.campaign import hostplan
from ripreplace.campaign.batches import BatchSpec, Estimator, parse_batches, parse_percent, plan_batches
from ripreplace.campaign.loop import (
    AuditSink,
    BatchRun,
    Campaign,
    CampaignPlan,
    CampaignResult,
    Go,
    Interrupt,
    Opening,
    Progress,
    RunBatch,
    Stop,
    StopBy,
    build_summary,
    open_campaign,
    run_campaign,
)
from ripreplace.campaign.state import (
    FAILING,
    IN_PROGRESS,
    REPLACEMENT_KEYS,
    VERIFY_KEYS,
    HostProgress,
    HostState,
    StateTracker,
    host_outcome,
    host_status,
    load_state,
)

__all__ = [
    "FAILING",
    "IN_PROGRESS",
    "REPLACEMENT_KEYS",
    "VERIFY_KEYS",
    "AuditSink",
    "BatchRun",
    "BatchSpec",
    "Campaign",
    "CampaignPlan",
    "CampaignResult",
    "Estimator",
    "Go",
    "HostProgress",
    "HostState",
    "Interrupt",
    "Opening",
    "Progress",
    "RunBatch",
    "StateTracker",
    "Stop",
    "StopBy",
    "build_summary",
    "host_outcome",
    "host_status",
    "hostplan",
    "load_state",
    "open_campaign",
    "parse_batches",
    "parse_percent",
    "plan_batches",
    "run_campaign",
]
