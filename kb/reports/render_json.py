"""JSON renderer: the report as plain data, valid against kb/data/report.schema.json."""

from __future__ import annotations

import json

from kb.reports.service import Report, report_dict


def render(report: Report) -> bytes:
    """The report as UTF-8 JSON (indented, non-ASCII kept as is)."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False).encode("utf-8")
