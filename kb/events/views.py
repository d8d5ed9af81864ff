"""Event pages: list, new, detail with edit, tags, merge, detach, and the what-if preview of a
status change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from kb.events import service as events
from kb.items.views import clean, parse_date, parse_page
from kb.scoring import service as scoring
from kb.web.deps import Analyst, DbSession, Viewer
from kb.web.pagecache import cached_page
from kb.web.templating import redirect, render

router = APIRouter(tags=["triage"], include_in_schema=False)

DIRECTION_LABELS = {-1: "lowers risk", 0: "no effect", 1: "raises risk"}


def _form_context(session: DbSession) -> dict[str, Any]:
    return {
        "categories": events.list_categories(session=session),
        "vendors": events.list_vendor_refs(session=session),
        "statuses": events.EVENT_STATUSES,
        "directions": DIRECTION_LABELS,
    }


@router.get("/events")
def events_page(
    request: Request,
    session: DbSession,
    user: Viewer,
    status: str | None = None,
    category: str | None = None,
    vendor: str | None = None,
    tag: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    q: str | None = None,
    merged: str | None = None,
    page: str | None = None,
) -> Response:
    """Events, latest first, with filters (status, category, vendor, tag, dates, text)."""

    def build() -> dict[str, Any]:
        errors: list[str] = []
        wanted = clean(status)
        if wanted and wanted not in events.EVENT_STATUSES:
            errors.append(f"status: must be one of {', '.join(events.EVENT_STATUSES)}; ignored")
            wanted = None
        filters = events.EventFilters(
            status=wanted,
            category=clean(category),
            vendor=clean(vendor),
            tag=clean(tag),
            date_from=parse_date(date_from, "from", errors),
            date_to=parse_date(date_to, "to", errors),
            q=clean(q),
            include_merged=bool(clean(merged)),
        )
        result = events.list_events(session=session, filters=filters, page=parse_page(page, errors))
        return {"page": result, "filters": filters, "errors": errors, **_form_context(session)}

    return cached_page(request, session, "events/list.html", build)


@router.get("/events/new")
def new_event_form(request: Request, session: DbSession, user: Analyst) -> Response:
    """The form for an event recorded by hand."""
    return render(request, "events/new.html", {"form": {}, **_form_context(session)})


def _int_field(value: str | None, name: str) -> int | None:
    value = clean(value)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise events.EventError(f"{name} must be a whole number") from None


def _float_field(value: str | None, name: str) -> float | None:
    value = clean(value)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise events.EventError(f"{name} must be a number") from None


@router.post("/events/new")
def create_event(
    request: Request,
    session: DbSession,
    user: Analyst,
    title: Annotated[str, Form(max_length=1000)] = "",
    category: Annotated[str, Form(max_length=64)] = "",
    severity: Annotated[str | None, Form(max_length=8)] = None,
    occurred_at: Annotated[str | None, Form(max_length=20)] = None,
    status: Annotated[str, Form(max_length=16)] = "confirmed",
    confidence: Annotated[str | None, Form(max_length=20)] = None,
    direction_stability: Annotated[str | None, Form(max_length=4)] = None,
    direction_lock_in: Annotated[str | None, Form(max_length=4)] = None,
    note: Annotated[str | None, Form(max_length=20_000)] = None,
    vendor_ids: Annotated[list[int] | None, Form()] = None,
    tags: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Record an event by hand; on bad input the form comes back filled in with the reason."""
    form = {
        "title": title,
        "category": category,
        "severity": severity,
        "occurred_at": occurred_at,
        "status": status,
        "confidence": confidence,
        "direction_stability": direction_stability,
        "direction_lock_in": direction_lock_in,
        "note": note,
        "vendor_ids": vendor_ids or [],
        "tags": tags,
    }
    try:
        errors: list[str] = []
        day = parse_date(occurred_at, "date", errors)
        if errors:
            raise events.EventError(errors[0].replace("; ignored", ""))
        conf = _float_field(confidence, "confidence")
        event = events.create_event(
            session=session,
            actor=user,
            title=title,
            category_value=clean(category) or "",
            severity=_int_field(severity, "severity"),
            occurred_at=day,
            status=status,
            confidence=1.0 if conf is None else conf,
            direction_stability=_int_field(direction_stability, "direction_stability"),
            direction_lock_in=_int_field(direction_lock_in, "direction_lock_in"),
            note=note,
            vendor_ids=vendor_ids or [],
            tags=[t for t in (tags or "").split(",") if t.strip()],
        )
    except events.EventError as exc:
        session.rollback()
        return render(
            request,
            "events/new.html",
            {"form": form, "error": str(exc), **_form_context(session)},
            status_code=400,
        )
    return redirect(request, f"/events/{event.id}", "Event recorded.")


def _detail_or_404(session: DbSession, event_id: int) -> events.EventDetail:
    detail = events.get_event(session=session, event_id=event_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no event {event_id}")
    return detail


@router.get("/events/{event_id}")
def event_page(request: Request, event_id: int, session: DbSession, user: Viewer) -> Response:
    """An event: category, severity, vendors, status, directions, note, tags, items."""
    detail = _detail_or_404(session, event_id)
    return render(
        request,
        "events/detail.html",
        {
            "d": detail,
            "merge_targets": [r for r in events.open_events(session=session) if r.id != event_id],
            **_form_context(session),
        },
    )


@router.post("/events/{event_id}")
def edit_event(
    request: Request,
    event_id: int,
    session: DbSession,
    user: Analyst,
    title: Annotated[str | None, Form(max_length=1000)] = None,
    category: Annotated[str | None, Form(max_length=64)] = None,
    severity: Annotated[str | None, Form(max_length=8)] = None,
    occurred_at: Annotated[str | None, Form(max_length=20)] = None,
    status: Annotated[str | None, Form(max_length=16)] = None,
    confidence: Annotated[str | None, Form(max_length=20)] = None,
    direction_stability: Annotated[str | None, Form(max_length=4)] = None,
    direction_lock_in: Annotated[str | None, Form(max_length=4)] = None,
    note: Annotated[str | None, Form(max_length=20_000)] = None,
    vendor_ids: Annotated[list[int] | None, Form()] = None,
    vendors_sent: Annotated[str | None, Form(max_length=1)] = None,
) -> Response:
    """Change the fields sent (any subset); fields not in the form stay as they are."""
    _detail_or_404(session, event_id)
    changes: dict[str, Any] = {}
    try:
        if title is not None:
            changes["title"] = title
        if clean(category):
            changes["category_value"] = clean(category)
        if clean(severity):
            changes["severity"] = _int_field(severity, "severity")
        if clean(occurred_at):
            changes["occurred_at"] = occurred_at
        if clean(status):
            changes["status"] = clean(status)
        if clean(confidence):
            changes["confidence"] = _float_field(confidence, "confidence")
        if clean(direction_stability):
            changes["direction_stability"] = _int_field(direction_stability, "stability")
        if clean(direction_lock_in):
            changes["direction_lock_in"] = _int_field(direction_lock_in, "lock-in")
        if note is not None:
            changes["note"] = note
        if vendors_sent:
            changes["vendor_ids"] = vendor_ids or []
        events.update_event(session=session, event_id=event_id, changes=changes, actor=user)
    except events.EventError as exc:
        session.rollback()
        return redirect(request, f"/events/{event_id}", f"Nothing changed: {exc}", "error")
    return redirect(request, f"/events/{event_id}", "Event saved.")


@router.post("/events/{event_id}/tags")
def event_tags(
    request: Request,
    event_id: int,
    session: DbSession,
    user: Analyst,
    tag: Annotated[str, Form(max_length=200)] = "",
    action: Annotated[str, Form(max_length=16)] = "add",
) -> Response:
    """Add or remove a free tag."""
    _detail_or_404(session, event_id)
    url = f"/events/{event_id}"
    try:
        if action == "remove":
            removed = events.remove_tag(session=session, event_id=event_id, tag=tag, actor=user)
            return redirect(request, url, "Tag removed." if removed else "No such tag.")
        added = events.add_tag(session=session, event_id=event_id, tag=tag, actor=user)
    except events.EventError as exc:
        session.rollback()
        return redirect(request, url, f"Nothing changed: {exc}", "error")
    return redirect(request, url, f"Tagged {added}." if added else "It already had that tag.")


@router.post("/events/{event_id}/merge")
def merge_event(
    request: Request,
    event_id: int,
    session: DbSession,
    user: Analyst,
    target_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Merge this event into another one (its items, vendors and tags move there)."""
    _detail_or_404(session, event_id)
    try:
        target = _int_field(target_id, "the event to merge into")
        if target is None:
            raise events.EventError("choose the event to merge into")
        events.merge_events(session=session, source_id=event_id, target_id=target, actor=user)
    except events.EventError as exc:
        session.rollback()
        return redirect(request, f"/events/{event_id}", f"Nothing changed: {exc}", "error")
    return redirect(request, f"/events/{target}", f"Merged event {event_id} into this one.")


@router.post("/events/{event_id}/items/{item_id}/detach")
def detach_item(
    request: Request, event_id: int, item_id: int, session: DbSession, user: Analyst
) -> Response:
    """Unlink an item from the event (back to the inbox unless another event holds it)."""
    _detail_or_404(session, event_id)
    done = events.detach_item(session=session, event_id=event_id, item_id=item_id, actor=user)
    return redirect(
        request, f"/events/{event_id}", "Item detached." if done else "It was not linked."
    )


@router.get("/events/{event_id}/what-if")
def what_if(
    request: Request,
    event_id: int,
    session: DbSession,
    user: Viewer,
    status: str = "confirmed",
) -> Response:
    """How the event's vendors' scores would move if its status changed (nothing is saved)."""
    detail = _detail_or_404(session, event_id)
    if status not in events.EVENT_STATUSES:
        raise HTTPException(
            status_code=400, detail=f"status must be one of {', '.join(events.EVENT_STATUSES)}"
        )
    preview = scoring.what_if(session=session, event_id=event_id, status=status)
    rows = sorted(preview.values(), key=lambda pair: pair[0].name)
    return render(request, "events/what_if.html", {"d": detail, "status": status, "rows": rows})
