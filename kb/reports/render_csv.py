"""CSV renderer: one flat table in one file.

Text cells that start with = + - @ get a leading apostrophe so spreadsheets never run them as
formulas (numbers are written as numbers).

Portfolio report: one row per vendor and dimension (the summary). Vendor report: one row per
driver (contribution) of each dimension, the score columns repeated on every row; a dimension
without drivers still gets one row with empty driver columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from kb.reports.service import Report, ScoreLine, VendorSection

SUMMARY_COLUMNS = [
    "vendor_slug",
    "vendor_name",
    "report_as_of",
    "dimension",
    "value",
    "band",
    "confidence",
    "trend",
    "previous_as_of",
    "previous_value",
    "change",
    "model_version",
    "snapshot_as_of",
    "snapshot_id",
]
DRIVER_COLUMNS = [
    "driver_kind",
    "driver_ref",
    "driver_label",
    "driver_points",
    "driver_date",
    "driver_source_url",
]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _summary(report: Report, vendor: VendorSection, score: ScoreLine) -> list[object]:
    prev = score.previous
    return [
        vendor.slug,
        vendor.name,
        report.as_of.isoformat(),
        score.dimension,
        score.value,
        score.band,
        score.confidence,
        score.trend_word,
        prev.as_of.isoformat() if prev else "",
        prev.value if prev else "",
        score.change if score.change is not None else "",
        score.model_version,
        score.as_of.isoformat(),
        score.snapshot_id if score.snapshot_id is not None else "",
    ]


class _Writer:
    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow([cell(v) for v in row])


def render(report: Report) -> bytes:
    """The report as UTF-8 CSV with a header row."""
    out = io.StringIO()
    writer = _Writer(out)
    vendor_report = report.kind == "vendor"
    writer.writerow(SUMMARY_COLUMNS + (DRIVER_COLUMNS if vendor_report else []))
    for vendor in report.vendors:
        for score in vendor.scores:
            row = _summary(report, vendor, score)
            if not vendor_report:
                writer.writerow(row)
                continue
            if not score.drivers:
                writer.writerow(row + [""] * len(DRIVER_COLUMNS))
            for d in score.drivers:
                url = d.source_url or (d.links[0].url if d.links else "")
                date = d.date.isoformat() if d.date else ""
                writer.writerow([*row, d.kind, d.ref, d.label, d.points, date, url])
    return out.getvalue().encode("utf-8")
