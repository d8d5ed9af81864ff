"""JSON API ``/api/v1/items``: the inbox and item detail, for scripts (any role may read)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.security import HTTPBearer

from kb.items import service as items
from kb.items.schemas import (
    CategorySuggestionOut,
    EventRefOut,
    FeedRefOut,
    ItemDetailOut,
    ItemOut,
    VendorMatchOut,
)
from kb.pagination import MAX_PER_PAGE
from kb.vendors.api_schemas import Paged
from kb.web.deps import DbSession, Viewer

bearer = HTTPBearer(auto_error=False, description="An API token from the API tokens page.")
router = APIRouter(prefix="/api/v1", tags=["items"], dependencies=[Depends(bearer)])

PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page")]
PerPageQ = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]
StatusQ = Annotated[
    str,
    Query(pattern="^(all|new|triaged|dismissed)$", description="all | new | triaged | dismissed"),
]
Text = Annotated[str | None, Query(max_length=500)]


def item_out(row: items.InboxRow) -> ItemOut:
    """An inbox row as its API model."""
    item = row.item
    return ItemOut(
        id=item.id or 0,
        title=item.title,
        url=item.url,
        guid=item.guid,
        published_at=item.published_at,
        status=item.status,
        vendors=[v.slug for v in row.vendors],
        suggested_categories=[c.value for c in row.categories],
        feeds=[f.name for f in row.feeds],
    )


@router.get("/items", response_model=Paged[ItemOut])
def api_items(
    session: DbSession,
    user: Viewer,
    status: StatusQ = "new",
    vendor: Annotated[str | None, Query(max_length=64, description="vendor slug")] = None,
    category: Annotated[str | None, Query(max_length=64, description="taxonomy value")] = None,
    feed_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    date_from: Annotated[dt.date | None, Query(description="published on or after")] = None,
    date_to: Annotated[dt.date | None, Query(description="published on or before")] = None,
    q: Annotated[str | None, Query(max_length=500, description="full-text search")] = None,
    page: PageQ = 1,
    per_page: PerPageQ = 50,
) -> dict[str, Any]:
    """Items, newest first, with the inbox filters (default: status new)."""
    filters = items.InboxFilters(
        status=status,
        vendor=vendor,
        category=category,
        feed_id=feed_id,
        date_from=date_from,
        date_to=date_to,
        q=q,
    )
    result = items.inbox(session=session, filters=filters, page=page, per_page=per_page)
    return result.as_json(item_out)


@router.get("/items/{item_id}", response_model=ItemDetailOut)
def api_item(
    item_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: DbSession, user: Viewer
) -> ItemDetailOut:
    """One item with its feeds, vendor matches (with evidence), suggestions and events."""
    detail = items.get_item(session=session, item_id=item_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    item = detail.item
    return ItemDetailOut(
        id=item.id or 0,
        title=item.title,
        url=item.url,
        guid=item.guid,
        summary=item.summary,
        author=item.author,
        published_at=item.published_at,
        published_estimated=item.published_estimated,
        status=item.status,
        first_seen_at=item.first_seen_at,
        vendors=[
            VendorMatchOut(
                slug=v.slug, name=v.name, alias=v.alias, evidence=v.evidence, origin=v.origin
            )
            for v in detail.vendors
        ],
        suggested_categories=[
            CategorySuggestionOut(
                value=c.value, label=c.label, confidence=c.confidence, triggers=c.triggers
            )
            for c in detail.categories
        ],
        feeds=[FeedRefOut(id=f.feed_id, name=f.name, entry_url=f.entry_url) for f in detail.feeds],
        events=[
            EventRefOut(id=e.id, title=e.title, status=e.status, occurred_at=e.occurred_at)
            for e in detail.events
        ],
    )
