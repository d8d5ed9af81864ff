"""Markdown renderer: the report as GitHub-flavoured Markdown tables and lists.

Text from feeds and analysts is escaped (no raw HTML or link syntax gets through) and only
http(s) URLs become links.
"""

from __future__ import annotations

import re

from kb.reports import text as t
from kb.reports.service import Link, Report, VendorSection

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def esc(value: object) -> str:
    """Text safe inside Markdown (and a table cell): specials escaped, newlines folded."""
    s = "" if value is None else str(value)
    s = " ".join(s.split())
    return _SPECIAL.sub(r"\\\1", s)


def link(lk: Link) -> str:
    url = lk.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{esc(lk.title)}]({url})"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _summary(report: Report) -> list[str]:
    rows = []
    for v in report.vendors:
        for s in v.scores:
            prev = f"{t.num(s.previous.value)} ({t.day(s.previous.as_of)})" if s.previous else "-"
            rows.append(
                [
                    esc(v.name),
                    s.label,
                    t.num(s.value),
                    s.band,
                    t.conf(s.confidence),
                    s.trend_word,
                    prev,
                    t.signed(s.change),
                ]
            )
    header = ["Vendor", "Dimension", "Score", "Band", "Confidence", "Trend", "Previous", "Change"]
    return _table(header, rows)


def _vendor(report: Report, v: VendorSection) -> list[str]:
    out = [f"## {esc(v.name)} ({esc(v.slug)})", ""]
    out += _table(
        ["Dimension", "Score", "Band", "Confidence", "Change", "Model", "Snapshot"],
        [
            [
                s.label,
                t.num(s.value),
                s.band,
                t.conf(s.confidence),
                t.signed(s.change),
                esc(s.model_version),
                t.day(s.as_of),
            ]
            for s in v.scores
        ],
    )
    for s in v.scores:
        out += ["", f"### Drivers of {s.label.lower()} ({t.num(s.value)})", ""]
        if not s.drivers:
            out.append("No contributions.")
            continue
        out += _table(
            ["Points", "Kind", "Driver", "Date", "Sources"],
            [
                [
                    t.num(d.points),
                    d.kind,
                    esc(d.label),
                    t.day(d.date),
                    ", ".join(link(lk) for lk in t.driver_links(d)),
                ]
                for d in s.drivers
            ],
        )
    out += ["", "### Events timeline", ""]
    if v.events:
        out += _table(
            ["Date", "Event", "Category", "Severity", "Status", "Direction", "Sources"],
            [
                [
                    t.day(e.date),
                    esc(e.title),
                    esc(e.category_label),
                    str(e.severity),
                    e.status,
                    t.direction(e),
                    ", ".join(link(lk) for lk in t.event_links(e)),
                ]
                for e in v.events
            ],
        )
    else:
        out.append("No events up to the as-of date.")
    out += ["", "### Data sovereignty", ""]
    out.append(f"- Jurisdiction: {esc(v.jurisdiction or 'unknown')}")
    out.append(f"- Corporate form: {esc(v.corporate_form or 'unknown')}")
    out.append(f"- Parent: {esc(v.parent or 'none')}")
    for f in v.sovereignty_facts:
        out.append(
            f"- {esc(f.label)}: {esc(f.value)}" + (f" ({esc(f.detail)})" if f.detail else "")
        )
    out += ["", "### Profile and lock-in checklist", ""]
    if v.facts:
        out += _table(
            ["Fact", "Value", "Assessment", "Detail", "Source", "Checked"],
            [
                [
                    esc(f.label),
                    esc(f.value),
                    f.assessment,
                    esc(f.detail or ""),
                    link(Link(title="source", url=u)) if (u := t.safe_url(f.source_url)) else "",
                    t.day(f.checked_at),
                ]
                for f in v.facts
            ],
        )
    else:
        out.append("No profile facts recorded.")
    return out


def render(report: Report) -> bytes:
    """The report as UTF-8 Markdown."""
    out = [f"# {esc(report.title)}", ""]
    out.append(f"- As of: {report.as_of.isoformat()}")
    if report.since:
        out.append(f"- Change since: {report.since.isoformat()}")
    else:
        out.append("- Change since: the previous stored score")
    out.append(f"- Model version: {esc(', '.join(report.model_versions) or 'n/a')}")
    out.append(f"- Generated: {t.stamp(report.generated_at)}")
    out += ["", "## Executive summary", ""]
    out += _summary(report)
    for v in report.vendors:
        out += ["", *_vendor(report, v)]
    out += ["", "## Method", ""]
    out += [f"- {esc(p)}" for p in report.method]
    out.append(
        f"- Model version {esc(', '.join(report.model_versions) or 'n/a')}; "
        f"as-of date {report.as_of.isoformat()}."
    )
    return ("\n".join(out) + "\n").encode("utf-8")
