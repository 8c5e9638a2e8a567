"""The five renderers of a :class:`~ripreplace.report.model.Report`: html, csv, json, junit, md.

Each writes to a text stream and streams where the output is per host (HTML through jinja2's
``generate``, CSV row by row), so a fleet of 10,000 hosts never builds one big string.

Safety: every string that comes from a host, an inventory or a catalog is untrusted.
- HTML: jinja2 with autoescape on; links only for ``http``/``https`` URLs (:func:`safe_url`); no
  script at all and a Content-Security-Policy that would block one (``default-src 'none'``, the one
  inline style allowed by its sha256), so the page fetches nothing.
- CSV: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``
  (spreadsheet formula injection).
- JUnit: XML escaping by ElementTree, and characters XML 1.0 cannot carry are replaced.
- Markdown: table cells and inline text have ``|``, backticks, brackets and ``<``/``>`` escaped.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib import resources
from typing import Any, TextIO

import jinja2
from markupsafe import Markup

from ripreplace.report.model import STATUS_ORDER, HostReport, Report, RunInfo

FORMATS = ("html", "csv", "json", "junit", "md")

STATUS_COLORS = {
    "covered": "#c62828",
    "failed": "#ef6c00",
    "unreachable": "#8d6e63",
    "deferred": "#6a1b9a",
    "excepted": "#0277bd",
    "remediated": "#2e7d32",
    "clean": "#66bb6a",
}


# --------------------------------------------------------------------------- helpers
def safe_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host and no whitespace or control character."""
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "not recorded"
    if value < 120:
        return f"{value:g} s"
    return f"{value / 60:.1f} min ({value:g} s)"


def _evidence_line(host: HostReport) -> str:
    return "; ".join(e.text() for f in host.findings for e in f.evidence)


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
            "removal_actions": "; ".join(
                " ".join(str(a.get(k)) for k in ("phase", "target", "result") if a.get(k) is not None)
                for a in host.removal_actions
            ),
            "audit_log": verdicts.get(host.run),
        }
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
    remains or the host failed; ``skipped`` for a host deferred with nothing known to be covered."""
    failures = report.failing
    skipped = sum(1 for h in report.hosts if not h.failing and h.status == "deferred")
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
        elif host.status == "deferred":
            ET.SubElement(case, "skipped", message=_xml(host.reason or "deferred"))
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
        window = (r.window or {}).get("text") or (f"{r.window_start} to {r.window_end}" if r.window_end else "none")
        w(f"- Mode: {md(r.mode)}; operator {md(r.operator)}; started {md(r.started)}; window {md(window)}\n")
        if r.stop:
            w(f"- Stopped: {md(r.stop.get('reason'))}\n")
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
    w(f"\n_{md(report.generator)}, {md(report.generated)}_\n")


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


# --------------------------------------------------------------------------- HTML
_CSS = """
:root{--fg:#1b1f23;--muted:#57606a;--line:#d0d7de;--bg:#ffffff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);
background:var(--bg);margin:0;padding:24px 32px;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all}
.verdict{border-radius:6px;padding:12px 16px;margin:16px 0;border:2px solid}
.verdict.ok{background:#e8f5e9;border-color:#2e7d32}.verdict.bad{background:#ffebee;border-color:#c62828}
.verdict.bad strong.head{color:#b71c1c;font-size:18px}
.verdict.superseded{background:#fff8e1;border-color:#f9a825}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:130px;background:var(--soft)}
.card .n{font-size:26px;font-weight:600}.card .l{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft)}
td ul{margin:0;padding-left:18px}
.st{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-weight:600;white-space:nowrap}
.st-covered{background:#c62828}.st-failed{background:#ef6c00}.st-unreachable{background:#8d6e63}
.st-deferred{background:#6a1b9a}.st-excepted{background:#0277bd}.st-remediated{background:#2e7d32}
.st-clean{background:#43a047}
.bad-url{color:var(--muted);text-decoration:line-through}
svg text{font-family:system-ui,sans-serif}
footer{margin-top:32px;color:var(--muted);font-size:12px}
"""

_CSP = (
    "default-src 'none'; style-src '{style}'; img-src data:; font-src 'none'; script-src 'none'; "
    "connect-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    return _CSP.format(style=f"sha256-{digest}")


def status_chart(counts: dict[str, int], *, width: int = 620) -> dict[str, Any]:
    """Horizontal bars, one per status, as geometry for the template (no markup built here)."""
    rows = [(s, counts[s]) for s in STATUS_ORDER if counts.get(s)] + [
        (s, n) for s, n in counts.items() if s not in STATUS_ORDER and n
    ]
    top = max((n for _s, n in rows), default=1)
    label_w, bar_w, row_h = 110, width - 110 - 70, 26
    bars = []
    for i, (status, n) in enumerate(rows):
        w = max(2.0, bar_w * n / top)
        bars.append(
            {
                "status": status,
                "count": n,
                "y": 8 + i * row_h,
                "w": round(w, 1),
                "color": STATUS_COLORS.get(status, "#9e9e9e"),
            }
        )
    return {"width": width, "height": 16 + row_h * max(1, len(rows)), "label_w": label_w, "bars": bars}


def timeline(run: RunInfo, *, width: int = 900, zoom: bool = False) -> dict[str, Any] | None:
    """Batches (rows) against the change window (shaded), as geometry. None when the run has no batches."""
    spans = []
    for b in run.batches:
        start = _parse_time(b.started)
        if start is None:
            continue
        end = start + dt.timedelta(seconds=b.seconds or 0)
        spans.append((b, start, end))
    if not spans:
        return None
    w_start, w_end = _parse_time(run.window_start), _parse_time(run.window_end)
    first, last = min(s for _b, s, _e in spans), max(e for _b, _s, e in spans)
    if zoom or not (w_start or w_end):
        t0, t1 = first, last
    else:
        t0 = min(x for x in (w_start, first) if x is not None)
        t1 = max(x for x in (w_end, last) if x is not None)
    total = max((t1 - t0).total_seconds(), 1.0)
    pad = total * 0.02
    t0, t1 = t0 - dt.timedelta(seconds=pad), t1 + dt.timedelta(seconds=pad)
    total = (t1 - t0).total_seconds()
    left, right, row_h = 90, 150, 24
    span_w = width - left - right

    def x(when: dt.datetime) -> float:
        return round(left + span_w * (when - t0).total_seconds() / total, 1)

    rows = []
    for i, (b, start, end) in enumerate(spans):
        x0 = x(start)
        rows.append(
            {
                "label": f"batch {b.batch}",
                "y": 34 + i * row_h,
                "x": x0,
                "w": max(3.0, round(x(end) - x0, 1)),
                "color": "#c62828" if b.counts.get("failed") or b.canceled else "#1565c0",
                "title": (
                    f"batch {b.batch}: {len(b.hosts)} host(s), {fmt_seconds(b.seconds)}, started {b.started}"
                    + (f", checked against close {b.closes}" if b.closes else "")
                    + (", canceled" if b.canceled else "")
                    + (", " + ", ".join(f"{n} {s}" for s, n in sorted(b.counts.items())) if b.counts else "")
                ),
                "text": f"{len(b.hosts)} host(s), {fmt_seconds(b.seconds)}",
            }
        )
    height = 34 + row_h * len(rows) + 30
    window = None
    if w_start or w_end:
        ws = x(w_start) if w_start and w_start >= t0 else left
        we = x(w_end) if w_end and w_end <= t1 else left + span_w
        window = {"x": ws, "w": max(1.0, round(we - ws, 1)), "start": run.window_start, "end": run.window_end}
        window["show_start"] = bool(w_start and w_start >= t0)
        window["show_end"] = bool(w_end and w_end <= t1)
    ticks = []
    for k in range(5):
        when = t0 + dt.timedelta(seconds=total * (k + 0.5) / 5)
        ticks.append({"x": x(when), "label": when.astimezone(dt.UTC).strftime("%H:%M:%S")})
    return {
        "width": width,
        "height": height,
        "left": left,
        "span_w": span_w,
        "rows": rows,
        "window": window,
        "ticks": ticks,
        "axis_y": height - 22,
        "day": t0.astimezone(dt.UTC).strftime("%Y-%m-%d"),
        "zoom": zoom,
    }


def _timelines(run: RunInfo) -> list[dict[str, Any]]:
    main = timeline(run)
    if main is None:
        return []
    out = [main]
    if main["window"] is not None:
        busy = sum(r["w"] for r in main["rows"]) / max(1, len(main["rows"]))
        if busy < main["span_w"] * 0.1:  # batches are slivers against the window: add a zoomed view
            zoomed = timeline(run, zoom=True)
            if zoomed is not None:
                out.append(zoomed)
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    env.filters["seconds"] = fmt_seconds
    return env


def _template_source(name: str) -> str:
    return resources.files("ripreplace.report").joinpath("templates", name).read_text(encoding="utf-8")


def render_html(report: Report, out: TextIO) -> None:
    template = _environment().get_template("report.html.j2")
    context = {
        "report": report,
        "counts": report.counts,
        "chart": status_chart(report.counts),
        "timelines": {r.run: _timelines(r) for r in report.runs},
        # a constant of this module, never data (its sha256 is in the CSP); escaping would break the CSS
        "css": Markup(_CSS),  # noqa: S704
        "csp": _csp(),
        "exceptions": report.exceptions(),
        "expired": report.expired_exceptions(),
        "log_ok": report.log_ok,
        "status_order": STATUS_ORDER,
    }
    for chunk in template.generate(**context):
        out.write(chunk)


RENDERERS: dict[str, Callable[[Report, TextIO], None]] = {
    "html": render_html,
    "csv": render_csv,
    "json": render_json,
    "junit": render_junit,
    "md": render_md,
}


def render(report: Report, fmt: str, out: TextIO) -> None:
    RENDERERS[fmt](report, out)
