# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The five renderers of a :class:`~ripreplace.report.model.Report`: html, csv, json, junit, md.

Each writes to a text stream and streams where the output is per host (HTML through jinja2's
``generate``, CSV row by row), so a fleet of 10,000 hosts never builds one big string.

Safety: every string that comes from a host, an inventory or a catalog is untrusted.
- HTML (:mod:`ripreplace.report.htmlpage`): jinja2 with autoescape on; links only for ``http``/``https``
  URLs (:func:`safe_url`); no script at all and a Content-Security-Policy that would block one
  (``default-src 'none'``, the one inline style allowed by its sha256), so the page fetches nothing.
- CSV: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``
  (spreadsheet formula injection).
- JUnit: XML escaping by ElementTree, and characters XML 1.0 cannot carry are replaced.
- Markdown: table cells and inline text have ``|``, backticks, brackets and ``<``/``>`` escaped.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TextIO

from ripreplace.report import equipment
from ripreplace.report.charts import fmt_seconds
from ripreplace.report.htmlpage import render_html, safe_url
from ripreplace.report.model import SKIPPED_STATUSES, Report

FORMATS = ("html", "csv", "json", "junit", "md")

__all__ = ["FORMATS", "RENDERERS", "csv_cell", "fmt_seconds", "md", "render", "safe_url"]


# --------------------------------------------------------------------------- JSON
def render_json(report: Report, out: TextIO) -> None:
    json.dump(report.as_dict(), out, indent=2, sort_keys=False, ensure_ascii=False)
    out.write("\n")


# --------------------------------------------------------------------------- CSV
CSV_COLUMNS = (
    "run",
    "host",
    "status",
    "covered_remains",
    "reason",
    "catalog_id",
    "vendor",
    "product",
    "finding_state",
    "confidence",
    "review",
    "exception_id",
    "exception_expires",
    "covered_list_entry",
    "covered_list_added",
    "covered_list_sources",
    "evidence",
    "replacement",
    "replacement_healthy",
    "protection_gap_seconds",
    "removal_actions",
    "audit_log",
    # equipment runs (docs/equipment.md); empty for hosts
    "device_address",
    "device_vendor",
    "device_model",
    "device_firmware",
    "device_serial",
    "device_site",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A spreadsheet-safe cell: never starts like a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def render_csv(report: Report, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    verdicts = {r.run: r.audit_log.status for r in report.runs}
    for host in report.hosts:
        rep = host.replacement
        common = {
            "run": host.run,
            "host": host.name,
            "status": host.status,
            "covered_remains": host.covered_remains,
            "reason": host.reason,
            "replacement": " ".join(x for x in (rep.name or rep.product, rep.version) if x) if rep else None,
            "replacement_healthy": rep.healthy if rep else None,
            "protection_gap_seconds": host.protection_gap_seconds,
            "removal_actions": "; ".join(a.words() for a in host.removal_actions),
            "audit_log": verdicts.get(host.run),
        }
        if host.device is not None:
            common.update({f"device_{k}": v for k, v in host.device.as_dict().items()})
        findings = list(host.findings) + list(host.excepted)
        if not findings:
            writer.writerow([csv_cell(common.get(c)) for c in CSV_COLUMNS])
            continue
        for f in findings:
            row = dict(common)
            row.update(
                {
                    "catalog_id": f.catalog_id,
                    "vendor": f.vendor,
                    "product": f.product,
                    "finding_state": f.state,
                    "confidence": f.confidence,
                    "review": f.review,
                    "exception_id": f.exception.id if f.exception else None,
                    "exception_expires": f.exception.expires if f.exception else None,
                    "covered_list_entry": f.covered_list.entry if f.covered_list else None,
                    "covered_list_added": f.covered_list.added if f.covered_list else None,
                    "covered_list_sources": " ".join(f.covered_list.sources) if f.covered_list else None,
                    "evidence": "; ".join(e.text() for e in f.evidence),
                }
            )
            writer.writerow([csv_cell(row.get(c)) for c in CSV_COLUMNS])


# --------------------------------------------------------------------------- JUnit XML
_XML_BAD = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: object) -> str:
    return _XML_BAD.sub("\ufffd", "" if text is None else str(text))


def render_junit(report: Report, out: TextIO) -> None:
    """``testsuites`` > one ``testsuite`` > one ``testcase`` per host; ``failure`` where covered software
    remains or the host failed; ``skipped`` for a host deferred (or locked by another run) with nothing
    known to be covered."""
    failures = report.failing
    skipped = sum(1 for h in report.hosts if not h.failing and h.status in SKIPPED_STATUSES)
    seconds = sum(b.seconds or 0 for r in report.runs for b in r.batches)
    root = ET.Element(
        "testsuites",
        name="ripreplace",
        tests=str(len(report.hosts)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{seconds:.3f}",
    )
    run = report.run
    suite = ET.SubElement(
        root,
        "testsuite",
        name=_xml(report.title),
        tests=str(len(report.hosts)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{seconds:.3f}",
        timestamp=_xml((run.started or "") if run else ""),
        hostname="ripreplace",
        id="0",
        package=f"ripreplace.{report.kind}",
    )
    props = ET.SubElement(suite, "properties")
    for r in report.runs:
        ET.SubElement(props, "property", name=f"run.{r.run}.audit_log", value=_xml(r.audit_log.message))
        if r.audit_log.final_hash:
            ET.SubElement(props, "property", name=f"run.{r.run}.final_hash", value=r.audit_log.final_hash)
    for host in report.hosts:
        case = ET.SubElement(
            suite, "testcase", name=_xml(host.name), classname=_xml(f"ripreplace.{host.mode}"), time="0"
        )
        if host.failing:
            message = host.failure_message() or host.status
            failure = ET.SubElement(case, "failure", message=_xml(message), type=_xml(host.status))
            lines = [f"status: {host.status}", f"run: {host.run}"]
            lines += [f"finding: {f.catalog_id} ({f.vendor}: {f.product}) {f.state}" for f in host.actionable]
            lines += [f"evidence: {e.text()}" for f in host.actionable for e in f.evidence]
            if host.first_failure:
                lines.append(f"first failed task: {host.first_failure}")
            failure.text = _xml("\n".join(lines))
        elif host.status in SKIPPED_STATUSES:
            ET.SubElement(case, "skipped", message=_xml(host.reason or host.status))
        out_text = f"{host.status}: {host.reason}" if host.reason else host.status
        ET.SubElement(case, "system-out").text = _xml(out_text)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")


# --------------------------------------------------------------------------- Markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>])")


def md(text: object) -> str:
    """Inline-safe Markdown text: no table break, no HTML, no link, one line."""
    value = " ".join(("" if text is None else str(text)).split())
    return _MD_SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;"}.get(m.group(1), "\\" + m.group(1)), value)


def render_md(report: Report, out: TextIO, *, limit: int = 20) -> None:
    w = out.write
    w(f"## {md(report.title)}\n\n")
    for r in report.runs if report.kind == "run" else ():
        window = (r.window.text if r.window else None) or (
            f"{r.window_start} to {r.window_end}" if r.window_end else "none"
        )
        w(f"- Mode: {md(r.mode)}; operator {md(r.operator)}; started {md(r.started)}; window {md(window)}\n")
        if r.stop:
            w(f"- Stopped: {md(r.stop.reason)}\n")
    w(f"- Hosts: **{len(report.hosts)}**; covered software remaining on **{report.covered_remaining}**\n")
    for r in report.runs:
        if r.audit_log.ok:
            w(f"- Audit log {md(r.run)}: {md(r.audit_log.message)}\n")
        elif r.audit_log.superseded_by:
            w(f"- Audit log {md(r.run)}: {md(r.audit_log.message)}; resumed by {md(r.audit_log.superseded_by)}\n")
        else:
            w(f"- Audit log {md(r.run)}: **FAILED VERIFICATION**: {md(r.audit_log.message)}\n")
        if r.audit_log.final_hash:
            w(f"  - final hash: `{r.audit_log.final_hash}`\n")
    w("\n| status | hosts |\n|---|---:|\n")
    for status, n in report.counts.items():
        w(f"| {md(status)} | {n} |\n")
    _md_attention(report, w, limit)
    _md_equipment(report, w, limit)
    w(f"\n_{md(report.generator)}, {md(report.generated)}_\n")


def _md_equipment(report: Report, w: Callable[[str], object], limit: int) -> None:
    part = equipment.section(report)
    if part is None:
        return
    w(f"\n### Equipment ({len(part.devices)} devices)\n")
    for title, totals in (("vendor", part.by_vendor), ("site", part.by_site)):
        w(f"\n| {title} | devices | by status |\n|---|---:|---|\n")
        for t in totals:
            w(f"| {md(t.key)} | {t.devices} | {md(t.text())} |\n")
    for title, hosts in (("OUI-only, unidentified", part.oui_only), ("Unreachable", part.unreachable)):
        w(f"\n{title} ({len(hosts)}):\n\n" if hosts else f"\n{title}: none\n")
        for h in hosts[:limit]:
            address = f" at {md(h.device.address)}" if h.device is not None and h.device.address else ""
            w(f"- {md(h.name)}{address}: {md(h.reason)}\n")
        if len(hosts) > limit:
            w(f"- ... and {len(hosts) - limit} more (see the full report)\n")


def _md_attention(report: Report, w: Callable[[str], object], limit: int) -> None:
    attention = [h for h in report.hosts if h.failing]
    if attention:
        w(f"\nNeeds attention ({len(attention)}):\n\n")
        for h in attention[:limit]:
            w(f"- {md(h.name)}: {md(h.failure_message())}\n")
        if len(attention) > limit:
            w(f"- ... and {len(attention) - limit} more (see the full report)\n")
    exceptions = report.exceptions()
    expired = report.expired_exceptions()
    if exceptions or expired:
        w(f"\nExceptions applied: {len(exceptions)}; expired: {len(expired)}\n")
        for host, f in exceptions[:limit]:
            assert f.exception is not None
            w(f"- {md(host)}: {md(f.catalog_id)} by {md(f.exception.id)} until {md(f.exception.expires)}\n")


RENDERERS: dict[str, Callable[[Report, TextIO], None]] = {
    "html": render_html,
    "csv": render_csv,
    "json": render_json,
    "junit": render_junit,
    "md": render_md,
}


def render(report: Report, fmt: str, out: TextIO) -> None:
    RENDERERS[fmt](report, out)
