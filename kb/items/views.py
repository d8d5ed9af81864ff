"""Inbox pages: the inbox with filters, suggested groups and bulk actions; item detail."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from kb.events import service as events
from kb.items import service as items
from kb.models import ItemStatus
from kb.web.auth_views import safe_next
from kb.web.deps import Analyst, DbSession, Viewer
from kb.web.pagecache import cached_page
from kb.web.templating import redirect, render

router = APIRouter(tags=["triage"], include_in_schema=False)

MAX_GROUPS_SHOWN = 10
BULK_ACTIONS = ("dismiss", "create-event", "attach")


MAX_PAGE = 1_000_000


def parse_int(value: str | None, name: str, errors: list[str]) -> int | None:
    """An optional whole number from a query string; a bad one is reported, not fatal."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value[:20])
    except ValueError:
        errors.append(f"{name}: not a whole number ({value[:40]!r}); ignored")
        return None
    return number


def parse_page(value: str | None, errors: list[str]) -> int:
    """A page number from a query string: 1 when missing or bad, at most MAX_PAGE."""
    return min(max(1, parse_int(value, "page", errors) or 1), MAX_PAGE)


def parse_date(value: str | None, name: str, errors: list[str]) -> dt.date | None:
    """An optional YYYY-MM-DD date from a query string; a bad one is reported, not fatal."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"{name}: not a date YYYY-MM-DD ({value[:40]!r}); ignored")
        return None


def clean(value: str | None) -> str | None:
    """A trimmed optional text; empty becomes None."""
    value = (value or "").strip()
    return value or None


def inbox_filters(
    *,
    status: str | None,
    vendor: str | None,
    category: str | None,
    feed: str | None,
    date_from: str | None,
    date_to: str | None,
    q: str | None,
    errors: list[str],
) -> items.InboxFilters:
    """The inbox filters from query-string values (bad values reported in ``errors``)."""
    status = clean(status) or ItemStatus.new.value
    if status != "all" and status not in items.ITEM_STATUSES:
        errors.append(f"status: must be all, {', '.join(items.ITEM_STATUSES)}; showing new")
        status = ItemStatus.new.value
    return items.InboxFilters(
        status=status,
        vendor=clean(vendor),
        category=clean(category),
        feed_id=parse_int(feed, "feed", errors),
        date_from=parse_date(date_from, "from", errors),
        date_to=parse_date(date_to, "to", errors),
        q=clean(q),
    )


@router.get("/inbox")
def inbox_page(
    request: Request,
    session: DbSession,
    user: Viewer,
    status: str | None = None,
    vendor: str | None = None,
    category: str | None = None,
    feed: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    q: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
) -> Response:
    """New items to triage, newest first, with filters, suggested groups and bulk actions."""

    def build() -> dict[str, Any]:
        errors: list[str] = []
        filters = inbox_filters(
            status=status,
            vendor=vendor,
            category=category,
            feed=feed,
            date_from=date_from,
            date_to=date_to,
            q=q,
            errors=errors,
        )
        result = items.inbox(
            session=session,
            filters=filters,
            page=parse_page(page, errors),
            per_page=parse_int(per_page, "per_page", errors),
        )
        cache = getattr(request.app.state, "triage_group_cache", None)
        if cache is None:
            cache = request.app.state.triage_group_cache = items.GroupCache()
        suggested = items.suggested_groups(
            session=session,
            filters=filters,
            total=result.total,
            cache=cache,
            max_groups=MAX_GROUPS_SHOWN,
        )
        vendor_refs = events.list_vendor_refs(session=session)
        vendor_names = {v.id: v.name for v in vendor_refs}
        return {
            "page": result,
            "filters": filters,
            "errors": errors,
            "groups": suggested.groups,
            "group_titles": suggested.titles,
            "vendor_names": vendor_names,
            "vendors": vendor_refs,
            "categories": events.list_categories(session=session),
            "feeds": items.feeds_for_filter(session=session),
            "open_events": events.open_events(session=session),
            "statuses": ("all", *items.ITEM_STATUSES),
            "count_cap": items.COUNT_CAP,
            "back": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        }

    return cached_page(request, session, "items/inbox.html", build)


@router.post("/inbox/bulk")
def inbox_bulk(
    request: Request,
    session: DbSession,
    user: Analyst,
    action: Annotated[str, Form(max_length=32)] = "",
    item_ids: Annotated[list[int] | None, Form()] = None,
    event_id: Annotated[str | None, Form(max_length=20)] = None,
    category: Annotated[str | None, Form(max_length=64)] = None,
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    """Dismiss the selected items, create one event from them, or attach them to an event."""
    back = safe_next(next) if next.startswith(("/inbox", "/items/")) else "/inbox"
    ids = sorted(set(item_ids or []))
    if action not in BULK_ACTIONS:
        return redirect(request, back, f"Unknown action {action[:32]!r}.", "error")
    if not ids:
        return redirect(request, back, "Select at least one item first.", "error")
    try:
        if action == "dismiss":
            changed = items.dismiss_items(session=session, item_ids=ids, actor=user)
            return redirect(request, back, f"Dismissed {changed} item(s).")
        if action == "create-event":
            event = events.create_event(
                session=session,
                item_ids=ids,
                category_value=clean(category),
                status="suggested",
                actor=user,
            )
            return redirect(
                request,
                f"/events/{event.id}",
                f"Created a suggested event from {len(ids)} item(s): review it, then confirm.",
            )
        errors: list[str] = []
        target = parse_int(event_id, "event", errors)
        if target is None:
            return redirect(request, back, "Choose the event to attach to.", "error")
        added = events.attach_items(session=session, event_id=target, item_ids=ids, actor=user)
        return redirect(request, f"/events/{target}", f"Attached {len(added)} item(s).")
    except (events.EventError, items.ItemError) as exc:
        session.rollback()
        return redirect(request, back, f"Nothing changed: {exc}", "error")


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: int, session: DbSession, user: Viewer) -> Response:
    """An item: its sources, matched vendors with evidence, why each category was suggested."""
    detail = items.get_item(session=session, item_id=item_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return render(
        request,
        "items/detail.html",
        {
            "d": detail,
            "open_events": events.open_events(session=session),
            "back": "/inbox",
        },
    )
