"""Pick the renderer for a format: every renderer turns a Report into the bytes of one file."""

from __future__ import annotations

from collections.abc import Callable

from kb.reports import render_csv, render_html, render_json, render_md, render_pdf, render_xlsx
from kb.reports.service import Report, ReportError

RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "html": render_html.render,
    "pdf": render_pdf.render,
    "xlsx": render_xlsx.render,
    "csv": render_csv.render,
    "json": render_json.render,
    "md": render_md.render,
}
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
}


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (html, pdf, xlsx, csv, json or md)."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(RENDERERS)}") from None
    return renderer(report)
