"""The search page: items and events matching a text, each list paginated."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from kb.items.views import parse_page
from kb.search import service as search
from kb.web.deps import DbSession, Viewer
from kb.web.templating import render

router = APIRouter(tags=["triage"], include_in_schema=False)


@router.get("/search")
def search_page(
    request: Request,
    session: DbSession,
    user: Viewer,
    q: str | None = None,
    page: str | None = None,
) -> Response:
    """Full-text search over items (title, summary) and events (title, note)."""
    errors: list[str] = []
    results = search.search(
        session=session,
        q=(q or "")[: search.MAX_QUERY_CHARS],
        page=parse_page(page, errors),
    )
    return render(
        request,
        "search/results.html",
        {
            "q": q or "",
            "r": results,
            "errors": errors,
            "has_words": search.parse_query(q) is not None,
        },
    )
