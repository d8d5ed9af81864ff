"""Vendor pages: the dashboard, the vendor list and the vendor page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from kb.vendors import service as vendors
from kb.web.deps import DbSession, Viewer
from kb.web.templating import render

router = APIRouter(tags=["vendors"], include_in_schema=False)


@router.get("/")
def dashboard(request: Request, session: DbSession, user: Viewer) -> Response:
    """All vendors at a glance."""
    return render(request, "dashboard.html", {"vendors": vendors.list_vendors(session=session)})


@router.get("/vendors")
def vendor_list(request: Request, session: DbSession, user: Viewer) -> Response:
    """Every vendor with its profile summary."""
    return render(request, "vendors/list.html", {"vendors": vendors.list_vendors(session=session)})
