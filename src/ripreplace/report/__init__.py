"""Reports of runs and campaigns: ``ripreplace report RUN`` and ``ripreplace report --campaign RUNS_DIR``.

- :mod:`ripreplace.report.model`: the typed report (hosts, findings, runs, audit-log verdicts);
- :mod:`ripreplace.report.load`: run directories into that model (the audit log is streamed and
  verified now, never trusted from a stored verdict);
- :mod:`ripreplace.report.render`: html, csv, json, junit and md renderers.
"""

from __future__ import annotations

from ripreplace.report.load import campaign_report, locate_run, run_report
from ripreplace.report.model import REPORT_FORMAT, Report
from ripreplace.report.render import FORMATS
from ripreplace.report.render import render as write

__all__ = ["FORMATS", "REPORT_FORMAT", "Report", "campaign_report", "locate_run", "run_report", "write"]
