"""Report downloads: the UI's links (``/reports/...``) and the JSON API (``/api/v1/reports/...``).

Any signed-in user (viewer and up) may download. UI downloads are always attachments, so the
report's inline CSS never runs under the app's own origin; the API returns JSON as the response
body and every other format as an attachment.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from fastapi.security import HTTPBearer

from kb.reports import render, service
from kb.web.deps import DbSession, Viewer

Format = Literal["html", "pdf", "xlsx", "csv", "json", "md"]
FormatQ = Annotated[Format, Query(description="html, pdf, xlsx, csv, json or md")]
AsOfQ = Annotated[
    dt.date | None,
    Query(
        description="Report date YYYY-MM-DD (default: today, UTC); the scores are the "
        "snapshots stored that day (computed and stored first when there are none)."
    ),
]
SinceQ = Annotated[
    dt.date | None,
    Query(description="Measure changes from this date (default: the previous stored score)."),
]
_CONTENT = {
    "content": {media.split(";")[0]: {} for media in render.MEDIA_TYPES.values()},
    "description": "The report file.",
}

bearer = HTTPBearer(auto_error=False, description="An API token from the API tokens page.")
router = APIRouter(tags=["reports"])


def _report(
    session: DbSession,
    *,
    slug: str | None,
    fmt: str,
    as_of: dt.date | None,
    since: dt.date | None,
    attachment: bool,
) -> Response:
    try:
        report = service.build_report(session=session, vendor_slug=slug, as_of=as_of, since=since)
    except service.ReportError as exc:
        status = 404 if str(exc).startswith("unknown vendor") else 422
        raise HTTPException(status_code=status, detail=str(exc)) from None
    data = render.render(report, fmt)
    headers = {"Cache-Control": "no-store"}
    if attachment:
        headers["Content-Disposition"] = f'attachment; filename="{report.file_name(fmt)}"'
    return Response(content=data, media_type=render.MEDIA_TYPES[fmt], headers=headers)


@router.get("/reports/vendor/{slug}", response_class=Response, responses={200: _CONTENT})
def vendor_download(
    slug: str,
    session: DbSession,
    user: Viewer,
    format: FormatQ = "html",
    as_of: AsOfQ = None,
    since: SinceQ = None,
) -> Response:
    """Download one vendor's risk report."""
    return _report(session, slug=slug, fmt=format, as_of=as_of, since=since, attachment=True)


@router.get("/reports/portfolio", response_class=Response, responses={200: _CONTENT})
def portfolio_download(
    session: DbSession,
    user: Viewer,
    format: FormatQ = "html",
    as_of: AsOfQ = None,
    since: SinceQ = None,
) -> Response:
    """Download the portfolio risk report (every vendor)."""
    return _report(session, slug=None, fmt=format, as_of=as_of, since=since, attachment=True)


@router.get(
    "/api/v1/reports/vendor/{slug}",
    response_class=Response,
    responses={200: _CONTENT},
    dependencies=[Depends(bearer)],
)
def vendor_api(
    slug: str,
    session: DbSession,
    user: Viewer,
    format: FormatQ = "json",
    as_of: AsOfQ = None,
    since: SinceQ = None,
) -> Response:
    """One vendor's risk report; JSON (kb/data/report.schema.json) by default."""
    return _report(
        session, slug=slug, fmt=format, as_of=as_of, since=since, attachment=format != "json"
    )


@router.get(
    "/api/v1/reports/portfolio",
    response_class=Response,
    responses={200: _CONTENT},
    dependencies=[Depends(bearer)],
)
def portfolio_api(
    session: DbSession,
    user: Viewer,
    format: FormatQ = "json",
    as_of: AsOfQ = None,
    since: SinceQ = None,
) -> Response:
    """The portfolio risk report; JSON (kb/data/report.schema.json) by default."""
    return _report(
        session, slug=None, fmt=format, as_of=as_of, since=since, attachment=format != "json"
    )
