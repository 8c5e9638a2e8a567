# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""The HTML report: one self-contained page an auditor reads in a minute.

Order: the audit log's verdict (one banner, the final hash once), the fleet in three figures and one
chart, the runs, the batches against the change window, the exceptions, the Covered List entries
(each quoted once; findings point at them), then every host, most urgent first.

Identifiers (host names, run ids, timestamps, hashes, catalog ids) are ``class="id"``: never
broken inside; a long one scrolls within its own box. Tables scroll within their box on a wide
page and turn into one card per row on a narrow one, so the page itself never scrolls sideways.

Safety: jinja2 autoescape; links only for http(s) URLs (:func:`safe_url`) and the page's own
anchors; no script; a Content-Security-Policy allowing only the one inline stylesheet, by hash.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import urllib.parse
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, TextIO

import jinja2
from markupsafe import Markup, escape

from ripreplace.report import charts, equipment
from ripreplace.report.model import STATUS_ORDER, CoveredListEntry, HostReport, Report


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


CSS = """
:root{--fg:#1b1f23;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--mono:ui-monospace,SFMono-Regular,
Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:20px clamp(10px,3vw,32px);max-width:1400px;overflow-wrap:break-word}
h1{font-size:clamp(17px,1.2vw + 12px,22px);margin:0 0 4px}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.muted{color:var(--muted)}
.id,code{font-family:var(--mono);font-size:12px}
.id{white-space:nowrap;display:inline-block;max-width:100%;overflow-x:auto;overflow-y:hidden;vertical-align:bottom}
h1 .id{font-size:.8em}
.verdict{border-radius:6px;padding:10px 14px;margin:12px 0;border:2px solid}
.verdict.ok{background:#e8f5e9;border-color:#2e7d32}.verdict.bad{background:#ffebee;border-color:#c62828}
.verdict .head{font-size:16px}.verdict.bad .head{color:#b71c1c}
.verdict ul{margin:4px 0;padding-left:18px}
.verdict .superseded{color:#7a5d00}
.verdict.warn{background:#fff8e1;border-color:#f9a825}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(104px,1fr));gap:10px;margin:10px 0 14px}
.tile{border:1px solid var(--line);border-radius:6px;padding:8px 14px;background:var(--soft)}
.tile .n{font-size:26px;font-weight:600;line-height:1.2}.tile .l{font-weight:600}.tile .note{color:var(--muted)}
.tile.alert{border-color:#c62828;background:#fff5f5}.tile.alert .n{color:#b71c1c}
.chart{margin:8px 0 4px}
figure.chart{display:grid;grid-template-columns:fit-content(40%) minmax(0,1fr);align-items:stretch}
.crow{display:contents}
.crow .cl{padding:3px 10px 3px 0;align-self:center}
.crow .cp{position:relative;min-height:26px}
.crow .cp svg{position:absolute;left:0;top:0;width:100%;height:100%;overflow:hidden}
.crow .n{font-weight:600}
.status .cl{white-space:nowrap}
.crow.axis .cp,.crow.top .cp{min-height:20px}
.step{white-space:nowrap}
.caption{color:var(--muted);font-size:12px;margin:2px 0 6px}
.wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft)}
td ul{margin:0;padding-left:16px}
table.hosts{table-layout:fixed}
.c-host{width:17%}.c-status{width:18%}.c-findings{width:39%}.c-done{width:26%}
.campaign .c-host{width:16%}.campaign .c-status{width:17%}.campaign .c-findings{width:35%}.campaign .c-done{width:22%}
.campaign .c-run{width:10%}
.st{display:inline-block;padding:0 6px;border-radius:4px;color:#fff;font-weight:600;white-space:nowrap}
.st-covered{background:#c62828}.st-failed{background:#ef6c00}.st-unreachable{background:#8d6e63}
.st-deferred{background:#6a1b9a}.st-excepted{background:#0277bd}.st-remediated{background:#2e7d32}
.st-clean{background:#43a047}.st-locked{background:#455a64}.st-review{background:#f9a825;color:#1b1f23}
.findings{margin:0;padding-left:16px}.findings li{margin-bottom:3px}
.ev{color:var(--muted)}
.ref,.runref{white-space:nowrap}
blockquote{margin:6px 0;padding:6px 12px;border-left:4px solid var(--line);background:var(--soft)}
.cl-entry{margin:10px 0}
.bad-url{color:var(--muted);text-decoration:line-through}
svg text{font-family:system-ui,sans-serif}
footer{margin-top:28px;color:var(--muted);font-size:12px}
@media (max-width:700px){
.tile{padding:6px 10px}.tile .n{font-size:22px}
svg .minor text{display:none}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards thead{display:none}
table.cards tr{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;padding:4px 0}
table.cards td{border:0;padding:3px 10px 3px calc(6.5em + 18px);overflow-x:auto}
table.cards td[data-label]::before{content:attr(data-label);float:left;width:6.5em;margin-left:calc(-6.5em - 8px);
font-size:12px;color:var(--muted);padding-top:2px}
.id,code{font-size:11px}
table.hosts td{padding-left:10px}
table.hosts td[data-label]::before{float:none;display:block;width:auto;margin:0}
table.hosts td[data-label=host]{font-weight:600}table.hosts td[data-label=host]::before{display:none}
table.hosts td[data-label=host] .id{font-size:13px}
}
"""

_CSP = (
    "default-src 'none'; style-src '{style}'; img-src data:; font-src 'none'; script-src 'none'; "
    "connect-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
)


def csp() -> str:
    digest = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
    return _CSP.format(style=f"sha256-{digest}")


# --------------------------------------------------------------------------- what the page shows
@dataclasses.dataclass(frozen=True)
class CoveredRef:
    """One Covered List entry as quoted once on the page; findings link to ``#cl-N``."""

    number: int
    entry: CoveredListEntry
    catalog_ids: tuple[str, ...]
    hosts: int

    @property
    def anchor(self) -> str:
        return f"cl-{self.number}"


def covered_refs(hosts: tuple[HostReport, ...]) -> dict[CoveredListEntry, CoveredRef]:
    """Each distinct Covered List entry the findings carry (same text, date and sources: one entry)."""
    ids: dict[CoveredListEntry, set[str]] = {}
    names: dict[CoveredListEntry, set[str]] = {}
    for host in hosts:
        for f in host.findings + host.excepted:
            if f.covered_list is not None:
                ids.setdefault(f.covered_list, set()).add(f.catalog_id)
                names.setdefault(f.covered_list, set()).add(host.name)
    ordered = sorted(ids, key=lambda e: (min(ids[e]), e.entry, e.added or "", e.sources))
    return {
        e: CoveredRef(number=i, entry=e, catalog_ids=tuple(sorted(ids[e])), hosts=len(names[e]))
        for i, e in enumerate(ordered, start=1)
    }


@dataclasses.dataclass(frozen=True)
class Tile:
    key: str
    n: int
    label: str
    note: str
    alert: bool = False


def tiles(report: Report) -> list[Tile]:
    """Three figures that do not repeat each other (the status counts are the chart below them)."""
    remains: dict[str, int] = {}
    for h in report.hosts:
        if h.covered_remains:
            remains[h.status] = remains.get(h.status, 0) + 1
    why = ", ".join(f"{n} {s}" for s, n in sorted(remains.items(), key=lambda i: STATUS_ORDER.index(i[0])))
    runs = len(report.runs)
    expired = len(report.expired_exceptions())
    scope = f"across {runs} runs" if runs > 1 else f"{report.runs[0].mode} run" if report.runs else ""
    return [
        Tile("hosts", len(report.hosts), "hosts", scope),
        Tile(
            "covered_remaining",
            report.covered_remaining,
            "covered software remains",
            f"hosts: {why}" if why else "on no host, as far as the runs know",
            alert=report.covered_remaining > 0,
        ),
        Tile(
            "exceptions",
            len(report.exceptions()),
            "exceptions applied",
            f"{expired} expired (no longer apply)" if expired else "each with a ticket and an expiry",
        ),
    ]


def _urgency(host: HostReport) -> tuple[int, int, str]:
    rank = STATUS_ORDER.index(host.status) if host.status in STATUS_ORDER else len(STATUS_ORDER)
    return (0 if host.covered_remains else 1, rank, host.name)


# --------------------------------------------------------------------------- identifiers inside prose
#: Identifiers that reasons and verdicts carry in their text: run ids, ISO timestamps, hex hashes.
IDENTIFIER = re.compile(
    r"\b\d{8}T\d{6}Z-[a-z]+-[0-9a-f]{6}\b"
    r"|\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?"
    r"|\b[0-9a-f]{16,64}\b(?:\.\.\.)?"
)


def prose(runs: Mapping[str, int]) -> Callable[[object], Markup]:
    """A filter: ``text`` escaped, each identifier in it kept whole (``class="id"``); in a campaign a run
    id of the report becomes a link to its row, ``#N``, with the id in the tooltip."""

    def render(text: object) -> Markup:
        value = "" if text is None else str(text)
        out, at = [], 0
        for m in IDENTIFIER.finditer(value):
            out.append(escape(value[at : m.start()]))
            token = m.group(0)
            if token in runs:
                out.append(run_ref(runs, token))
            else:
                out.append(Markup('<span class="id">{}</span>').format(token))
            at = m.end()
        out.append(escape(value[at:]))
        return Markup("").join(out)

    return render


def run_ref(runs: Mapping[str, int], run_id: str) -> Markup:
    """``#N`` linking to run N's row (campaign), or the run id kept whole."""
    number = runs.get(run_id)
    if number is None:
        return Markup('<span class="id">{}</span>').format(run_id)
    return Markup('<a class="runref" href="#run-{}" title="run {}">#{}</a>').format(number, run_id, number)


# --------------------------------------------------------------------------- rendering
def _environment(runs: Mapping[str, int]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    env.filters["seconds"] = charts.fmt_seconds
    env.filters["prose"] = prose(runs)
    env.filters["run_ref"] = lambda run_id: run_ref(runs, str(run_id))
    return env


def _template_source(name: str) -> str:
    return resources.files("ripreplace.report").joinpath("templates", name).read_text(encoding="utf-8")


def context(report: Report) -> dict[str, Any]:
    refs = covered_refs(report.hosts)
    return {
        "report": report,
        "run_numbers": run_numbers(report),
        "tiles": tiles(report),
        "bars": charts.status_bars(report.counts),
        "timelines": {r.run: charts.timelines(r) for r in report.runs},
        "refs": refs,
        "ref_list": sorted(refs.values(), key=lambda r: r.number),
        "hosts": sorted(report.hosts, key=_urgency),
        "bad_runs": [r for r in report.runs if not (r.audit_log.ok or r.audit_log.superseded_by)],
        "superseded": [r for r in report.runs if not r.audit_log.ok and r.audit_log.superseded_by],
        # a constant of this module, never data (its sha256 is in the CSP); escaping would break the CSS
        "css": Markup(CSS),  # noqa: S704
        "csp": csp(),
        "exceptions": report.exceptions(),
        "expired": report.expired_exceptions(),
        "equipment": equipment.section(report),
    }


def run_numbers(report: Report) -> dict[str, int]:
    """Campaign: run id -> its number in the runs table (oldest first, from 1); a run report: none."""
    return {r.run: i for i, r in enumerate(report.runs, start=1)} if report.kind == "campaign" else {}


def render_html(report: Report, out: TextIO) -> None:
    template = _environment(run_numbers(report)).get_template("report.html.j2")
    for chunk in template.generate(**context(report)):
        out.write(chunk)
