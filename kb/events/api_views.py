"""JSON API ``/api/v1/events``: list, detail (any role) and create (analyst)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.security import HTTPBearer
from sqlmodel import col, select

from kb.events import service as events
from kb.events.schemas import EventDetailOut, EventIn, EventOut, LinkedItemOut
from kb.items import service as items
from kb.models import Vendor
from kb.pagination import MAX_PER_PAGE
from kb.vendors.api_schemas import Paged
from kb.web.deps import Analyst, DbSession, Viewer

bearer = HTTPBearer(auto_error=False, description="An API token from the API tokens page.")
router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[Depends(bearer)])

PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page")]
PerPageQ = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def event_out(row: events.EventRow) -> dict[str, Any]:
    """The list fields of an event."""
    e = row.event
    return {
        "id": e.id or 0,
        "title": e.title,
        "category": row.category.value,
        "severity": e.severity,
        "occurred_at": e.occurred_at,
        "status": e.status,
        "confidence": e.confidence,
        "direction_stability": e.direction_stability,
        "direction_lock_in": e.direction_lock_in,
        "vendors": [v.slug for v in row.vendors],
        "tags": row.tags,
        "item_count": row.item_count,
        "merged_into_id": e.merged_into_id,
    }


def detail_out(d: events.EventDetail) -> EventDetailOut:
    """An event detail as its API model."""
    row = events.EventRow(
        event=d.event, category=d.category, vendors=d.vendors, tags=d.tags, item_count=len(d.items)
    )
    return EventDetailOut(
        **event_out(row),
        note=d.event.note,
        items=[
            LinkedItemOut(
                id=i.id, title=i.title, url=i.url, published_at=i.published_at, status=i.status
            )
            for i in d.items
        ],
        merged_from=d.merged_from,
        created_at=d.event.created_at,
        updated_at=d.event.updated_at,
    )


@router.get("/events", response_model=Paged[EventOut])
def api_events(
    session: DbSession,
    user: Viewer,
    status: Annotated[
        str | None, Query(pattern="^(suggested|confirmed|dismissed)$", description="status")
    ] = None,
    category: Annotated[str | None, Query(max_length=64, description="taxonomy value")] = None,
    vendor: Annotated[str | None, Query(max_length=64, description="vendor slug")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    date_from: Annotated[dt.date | None, Query(description="occurred on or after")] = None,
    date_to: Annotated[dt.date | None, Query(description="occurred on or before")] = None,
    q: Annotated[str | None, Query(max_length=500, description="full-text search")] = None,
    include_merged: bool = False,
    page: PageQ = 1,
    per_page: PerPageQ = 50,
) -> dict[str, Any]:
    """Events, latest first, with filters (merged-away events only on request)."""
    filters = events.EventFilters(
        status=status,
        category=category,
        vendor=vendor,
        tag=tag,
        date_from=date_from,
        date_to=date_to,
        q=q,
        include_merged=include_merged,
    )
    result = events.list_events(session=session, filters=filters, page=page, per_page=per_page)
    return result.as_json(event_out)


@router.get("/events/{event_id}", response_model=EventDetailOut)
def api_event(event_id: IdPath, session: DbSession, user: Viewer) -> EventDetailOut:
    """One event with its note, items and merge links."""
    detail = events.get_event(session=session, event_id=event_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no event {event_id}")
    return detail_out(detail)


@router.post("/events", response_model=EventDetailOut, status_code=201)
def api_create_event(body: EventIn, session: DbSession, user: Analyst) -> EventDetailOut:
    """Record an event (analyst role); defaults come from the items given (see EventIn)."""
    vendor_ids: list[int] | None = None
    if body.vendors is not None:
        wanted = sorted({s.replace("\x00", "") for s in body.vendors})
        found = {
            v.slug: v.id for v in session.exec(select(Vendor).where(col(Vendor.slug).in_(wanted)))
        }
        missing = [s for s in wanted if s not in found]
        if missing:
            raise HTTPException(status_code=422, detail=f"unknown vendor: {', '.join(missing)}")
        vendor_ids = [int(found[s] or 0) for s in wanted]
    try:
        event = events.create_event(
            session=session,
            actor=user,
            title=body.title,
            category_value=body.category,
            severity=body.severity,
            occurred_at=body.occurred_at,
            vendor_ids=vendor_ids,
            item_ids=body.item_ids,
            status=body.status,
            confidence=body.confidence,
            direction_stability=body.direction_stability,
            direction_lock_in=body.direction_lock_in,
            note=body.note,
            tags=body.tags,
        )
    except (events.EventError, items.ItemError) as exc:
        session.rollback()
        raise HTTPException(status_code=422, detail=str(exc)) from None
    detail = events.get_event(session=session, event_id=event.id or 0)
    assert detail is not None
    return detail_out(detail)
