"""The audit log page (admins only): who changed what, when, before and after."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from kb.audit import service as audit
from kb.web.deps import Admin, DbSession
from kb.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_log(
    request: Request,
    session: DbSession,
    user: Admin,
    entity_type: str = "",
    page: int = 1,
) -> Response:
    """Newest first, 50 a page, filterable by entity type."""
    entries = audit.entry_page(session=session, page=page, entity_type=entity_type or None)
    return render(
        request,
        "audit/list.html",
        {
            "page": entries,
            "entity_type": entity_type,
            "entity_types": audit.entity_types(session=session),
        },
    )
