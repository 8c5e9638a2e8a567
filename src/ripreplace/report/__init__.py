# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""Reports of runs and campaigns: ``ripreplace report RUN`` and ``ripreplace report --campaign RUNS_DIR``.

- :mod:`ripreplace.report.documents`: a run directory's JSON files, every value type-checked (a wrong
  type is one line and exit 2, never a traceback);
- :mod:`ripreplace.report.model`: the typed report (hosts, findings, runs, audit-log verdicts);
- :mod:`ripreplace.report.load`: run directories into that model, from what each run recorded only
  (catalogs are never re-read; the audit log is streamed and verified now, never a stored verdict);
- :mod:`ripreplace.report.render`: csv, json, junit and md renderers, and the dispatch;
- :mod:`ripreplace.report.htmlpage` and :mod:`ripreplace.report.charts`: the HTML page and its charts.
"""

from __future__ import annotations

from ripreplace.report.load import campaign_report, locate_run, run_report
from ripreplace.report.model import REPORT_FORMAT, Report
from ripreplace.report.render import FORMATS
from ripreplace.report.render import render as write

__all__ = ["FORMATS", "REPORT_FORMAT", "Report", "campaign_report", "locate_run", "run_report", "write"]
