"""XLSX renderer: sheets Summary, Events, Contributions, Profile facts and Method (openpyxl,
write-only mode). Dates are ISO strings (YYYY-MM-DD); scores are numbers as stored. Text that
starts with "=" is stored as text, never as a formula; control characters that XML forbids
are dropped.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from kb.reports import text as t
from kb.reports.service import LOCK_IN_FACTS, SOVEREIGNTY_FACTS, Report

SUMMARY_HEADER = [
    "Vendor",
    "Slug",
    "Dimension",
    "Score",
    "Band",
    "Confidence",
    "Trend",
    "Previous as of",
    "Previous score",
    "Change",
    "Model version",
    "Snapshot as of",
    "Snapshot id",
    "Jurisdiction",
    "Corporate form",
    "Parent",
]
EVENTS_HEADER = [
    "Vendor",
    "Event id",
    "Date",
    "Title",
    "Category",
    "Severity",
    "Status",
    "Confidence",
    "Direction stability",
    "Direction lock-in",
    "Note",
    "Sources",
]
CONTRIBUTIONS_HEADER = [
    "Vendor",
    "Dimension",
    "Score",
    "Kind",
    "Ref",
    "Driver",
    "Points",
    "Date",
    "Sources",
]
FACTS_HEADER = [
    "Vendor",
    "Key",
    "Fact",
    "Value",
    "Assessment",
    "Lock-in checklist",
    "Data sovereignty",
    "Detail",
    "Source",
    "Checked",
]


def _row(ws: WriteOnlyWorksheet, values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XML forbids
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(value)
    return out


def _header(ws: WriteOnlyWorksheet, names: list[str]) -> None:
    bold = Font(bold=True)
    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)


def render(report: Report) -> bytes:
    """The report as an XLSX workbook."""
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("Summary")
    events = wb.create_sheet("Events")
    contributions = wb.create_sheet("Contributions")
    facts = wb.create_sheet("Profile facts")
    method = wb.create_sheet("Method")
    for ws, widths in (
        (summary, (24, 16, 12, 8, 10, 11, 10, 14, 14, 8, 14, 14, 11, 12, 18, 20)),
        (events, (24, 9, 11, 60, 22, 8, 11, 11, 10, 10, 30, 60)),
        (contributions, (24, 12, 8, 7, 22, 50, 8, 11, 60)),
        (facts, (24, 22, 34, 9, 13, 10, 10, 50, 50, 11)),
        (method, (120,)),
    ):
        for i, width in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + i)].width = width
        ws.freeze_panes = "A2"

    _header(summary, SUMMARY_HEADER)
    _header(events, EVENTS_HEADER)
    _header(contributions, CONTRIBUTIONS_HEADER)
    _header(facts, FACTS_HEADER)
    for v in report.vendors:
        for s in v.scores:
            prev = s.previous
            summary.append(
                _row(
                    summary,
                    [
                        v.name,
                        v.slug,
                        s.dimension,
                        s.value,
                        s.band,
                        s.confidence,
                        s.trend_word,
                        t.day(prev.as_of) if prev else None,
                        prev.value if prev else None,
                        s.change,
                        s.model_version,
                        s.as_of.isoformat(),
                        s.snapshot_id,
                        v.jurisdiction,
                        v.corporate_form,
                        v.parent,
                    ],
                )
            )
            for d in s.drivers:
                contributions.append(
                    _row(
                        contributions,
                        [
                            v.name,
                            s.dimension,
                            s.value,
                            d.kind,
                            d.ref,
                            d.label,
                            d.points,
                            t.day(d.date) or None,
                            " ".join(lk.url for lk in t.driver_links(d)) or None,
                        ],
                    )
                )
        for e in v.events:
            events.append(
                _row(
                    events,
                    [
                        v.name,
                        e.id,
                        e.date.isoformat(),
                        e.title,
                        e.category,
                        e.severity,
                        e.status,
                        e.confidence,
                        e.direction_stability,
                        e.direction_lock_in,
                        e.note,
                        " ".join(lk.url for lk in t.event_links(e)) or None,
                    ],
                )
            )
        for f in v.facts:
            facts.append(
                _row(
                    facts,
                    [
                        v.name,
                        f.key,
                        f.label,
                        f.value,
                        f.assessment,
                        "yes" if f.key in LOCK_IN_FACTS else "no",
                        "yes" if f.key in SOVEREIGNTY_FACTS else "no",
                        f.detail,
                        t.safe_url(f.source_url),
                        t.day(f.checked_at) or None,
                    ],
                )
            )
    since = report.since.isoformat() if report.since else "the previous score"
    for line in (
        report.title,
        f"As of {report.as_of.isoformat()}",
        f"Change since {since}",
        f"Model version {', '.join(report.model_versions) or 'n/a'}",
        f"Generated {t.stamp(report.generated_at)}",
        *report.method,
    ):
        method.append(_row(method, [line]))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
