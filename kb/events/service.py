"""Events: what happened in the world, gathered from items, concerning vendors.

Analysts create events from inbox items, edit them, tag them, attach and detach items and merge
duplicates. Every change writes the audit log in the caller's transaction; nothing commits here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, true
from sqlmodel import Session, col, select

from kb.audit import service as audit
from kb.items import service as items_service
from kb.items.service import no_nul
from kb.models import (
    Category,
    Event,
    EventItem,
    EventStatus,
    EventTag,
    EventVendor,
    Item,
    ItemCategory,
    ItemStatus,
    ItemVendor,
    User,
    Vendor,
    utcnow,
)
from kb.pagination import Page, clamp, offset
from kb.search import service as search

EVENT_STATUSES = tuple(s.value for s in EventStatus)
DIRECTIONS = (-1, 0, 1)
MAX_TITLE = 1000
MAX_TAG = 100
_SPACES = re.compile(r"\s+")


class EventError(ValueError):
    """An event change was refused; the message says why (nothing was changed)."""


@dataclass(frozen=True)
class VendorRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class CategoryRef:
    id: int
    value: str
    label: str


@dataclass
class EventRow:
    """One event in a list, with what the list shows about it."""

    event: Event
    category: CategoryRef
    vendors: list[VendorRef] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    item_count: int = 0


@dataclass(frozen=True)
class LinkedItem:
    id: int
    title: str
    url: str | None
    published_at: dt.datetime | None
    status: str


@dataclass
class EventDetail:
    """An event with its category, vendors, tags, items and merge links."""

    event: Event
    category: CategoryRef
    vendors: list[VendorRef]
    tags: list[str]
    items: list[LinkedItem]
    merged_into: EventRow | None = None
    merged_from: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class EventFilters:
    """What the events list shows. ``include_merged`` False hides events merged into others."""

    status: str | None = None
    category: str | None = None  # taxonomy value
    vendor: str | None = None  # vendor slug
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    tag: str | None = None
    q: str | None = None
    include_merged: bool = False

    def __post_init__(self) -> None:
        for name in ("status", "category", "vendor", "tag"):
            object.__setattr__(self, name, no_nul(getattr(self, name)))


# --------------------------------------------------------------------------- validation


def normalize_tag(tag: str) -> str:
    """A free tag as stored: trimmed, single-spaced, lower-case; refused when empty or long."""
    value = _SPACES.sub(" ", (no_nul(tag) or "").strip()).lower()
    if not value:
        raise EventError("a tag cannot be empty")
    if len(value) > MAX_TAG:
        raise EventError(f"a tag is at most {MAX_TAG} characters")
    return value


def _check_title(title: str | None) -> str:
    value = _SPACES.sub(" ", (no_nul(title) or "").strip())
    if not value:
        raise EventError("an event needs a title")
    if len(value) > MAX_TITLE:
        raise EventError(f"a title is at most {MAX_TITLE} characters")
    return value


def _check_severity(severity: Any) -> int:
    try:
        value = int(severity)
    except (TypeError, ValueError):
        raise EventError("severity must be a whole number from 1 to 5") from None
    if not 1 <= value <= 5:
        raise EventError("severity must be from 1 to 5")
    return value


def _check_confidence(confidence: Any) -> float:
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        raise EventError("confidence must be a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise EventError("confidence must be from 0 to 1")
    return value


def _check_status(status: str) -> str:
    if status not in EVENT_STATUSES:
        raise EventError(f"status must be one of: {', '.join(EVENT_STATUSES)}")
    return status


def _check_direction(value: Any, name: str) -> int:
    try:
        direction = int(value)
    except (TypeError, ValueError):
        raise EventError(f"{name} must be -1, 0 or 1") from None
    if direction not in DIRECTIONS:
        raise EventError(f"{name} must be -1 (lowers risk), 0 (no effect) or 1 (raises risk)")
    return direction


def _check_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise EventError("the date must be YYYY-MM-DD") from None


def category_by_value(*, session: Session, value: str) -> Category:
    """The taxonomy category with this value; EventError when there is none."""
    value = no_nul(value) or ""
    category = session.exec(select(Category).where(Category.value == value)).first()
    if category is None:
        raise EventError(f"unknown category {value!r}")
    return category


def _check_vendors(session: Session, vendor_ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(v) for v in vendor_ids})
    if not wanted:
        return []
    bad = [v for v in wanted if not 0 < v <= items_service.MAX_ID]
    if bad:
        raise EventError(f"no such vendor: {', '.join(str(v) for v in bad[:20])}")
    found = set(session.exec(select(col(Vendor.id)).where(col(Vendor.id).in_(wanted))))
    missing = [v for v in wanted if v not in found]
    if missing:
        raise EventError(f"no such vendor: {', '.join(str(v) for v in missing)}")
    return wanted


def _get(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id) if 0 < event_id <= items_service.MAX_ID else None
    if event is None:
        raise EventError(f"no event with id {event_id}")
    return event


def _vendor_ids_of(session: Session, event_id: int) -> list[int]:
    query = select(col(EventVendor.vendor_id)).where(col(EventVendor.event_id) == event_id)
    return sorted(session.exec(query))


def _item_ids_of(session: Session, event_id: int) -> list[int]:
    query = select(col(EventItem.item_id)).where(col(EventItem.event_id) == event_id)
    return sorted(session.exec(query))


def _tags_of(session: Session, event_id: int) -> list[str]:
    query = select(col(EventTag.tag)).where(col(EventTag.event_id) == event_id)
    return sorted(session.exec(query))


def _snapshot(session: Session, event: Event) -> dict[str, Any]:
    """The audited state of an event (fields, category value, vendor ids)."""
    category = session.get(Category, event.category_id)
    return {
        "title": event.title,
        "category": category.value if category else None,
        "severity": event.severity,
        "occurred_at": event.occurred_at,
        "status": event.status,
        "confidence": event.confidence,
        "direction_stability": event.direction_stability,
        "direction_lock_in": event.direction_lock_in,
        "note": event.note,
        "vendor_ids": _vendor_ids_of(session, event.id or 0),
    }


# --------------------------------------------------------------------------- defaults from items


def vendors_of_items(*, session: Session, item_ids: Iterable[int]) -> list[int]:
    """The union of the items' matched vendors."""
    ids = list(item_ids)
    if not ids:
        return []
    query = select(col(ItemVendor.vendor_id)).where(col(ItemVendor.item_id).in_(ids)).distinct()
    return sorted(session.exec(query))


def best_category_of_items(*, session: Session, item_ids: Iterable[int]) -> Category | None:
    """The most confident category suggested for any of the items (ties: most items, then
    value), or None."""
    ids = list(item_ids)
    if not ids:
        return None
    query = (
        select(
            col(ItemCategory.category_id),
            func.max(ItemCategory.confidence),
            func.count(),
        )
        .where(col(ItemCategory.item_id).in_(ids))
        .group_by(col(ItemCategory.category_id))
    )
    rows = list(session.exec(query))
    if not rows:
        return None
    categories = {
        c.id: c
        for c in session.exec(select(Category).where(col(Category.id).in_([r[0] for r in rows])))
    }
    best = sorted(rows, key=lambda r: (-float(r[1] or 0), -int(r[2]), categories[r[0]].value))
    return categories[best[0][0]]


def _defaults_from_items(
    session: Session, item_ids: Sequence[int]
) -> tuple[str | None, dt.date | None]:
    """The earliest item's title and date (UTC) as the default title and date."""
    if not item_ids:
        return None, None
    rows = list(
        session.exec(
            select(col(Item.title), col(Item.published_at), col(Item.id))
            .where(col(Item.id).in_(item_ids))
            .order_by(col(Item.published_at), col(Item.id))
        )
    )
    dated = [r for r in rows if r[1] is not None]
    first = dated[0] if dated else rows[0]
    when = first[1]
    return first[0], (when.astimezone(dt.UTC).date() if when is not None else None)


# --------------------------------------------------------------------------- changes


def create_event(
    *,
    session: Session,
    actor: User | str,
    title: str | None = None,
    category_value: str | None = None,
    severity: int | None = None,
    occurred_at: dt.date | None = None,
    vendor_ids: Iterable[int] | None = None,
    item_ids: Iterable[int] = (),
    status: str = EventStatus.confirmed.value,
    confidence: float = 1.0,
    direction_stability: int | None = None,
    direction_lock_in: int | None = None,
    note: str | None = None,
    tags: Iterable[str] = (),
) -> Event:
    """Record an event, from items or by hand. Defaults from the items: vendors = union of their
    matched vendors, category = the most confident suggestion, title and date = the earliest
    item's; severity and directions from the category. The items become triaged."""
    items = items_service.existing_ids(session=session, item_ids=item_ids)
    if category_value:
        category = category_by_value(session=session, value=category_value)
    else:
        found = best_category_of_items(session=session, item_ids=items)
        if found is None:
            raise EventError("choose a category (none was suggested for these items)")
        category = found
    item_title, item_date = _defaults_from_items(session, items)
    event = Event(
        title=_check_title(title or item_title),
        category_id=category.id or 0,
        severity=_check_severity(category.default_severity if severity is None else severity),
        occurred_at=_check_date(occurred_at or item_date or utcnow().date()),
        status=_check_status(status),
        confidence=_check_confidence(confidence),
        direction_stability=_check_direction(
            category.direction_stability if direction_stability is None else direction_stability,
            "direction_stability",
        ),
        direction_lock_in=_check_direction(
            category.direction_lock_in if direction_lock_in is None else direction_lock_in,
            "direction_lock_in",
        ),
        note=(no_nul(note) or "").strip() or None,
        created_by_id=actor.id if isinstance(actor, User) else None,
    )
    if vendor_ids is None:
        vendors = vendors_of_items(session=session, item_ids=items)
    else:
        vendors = _check_vendors(session, vendor_ids)
    clean_tags = sorted({normalize_tag(t) for t in tags})
    session.add(event)
    session.flush()
    assert event.id is not None
    for vendor_id in vendors:
        session.add(EventVendor(event_id=event.id, vendor_id=vendor_id))
    for item_id in items:
        session.add(EventItem(event_id=event.id, item_id=item_id))
    for tag in clean_tags:
        session.add(EventTag(event_id=event.id, tag=tag))
    session.flush()
    after = _snapshot(session, event) | {"item_ids": items, "tags": clean_tags}
    audit.record(
        session=session,
        actor=actor,
        action="event.create",
        entity_type="event",
        entity_id=event.id,
        after=after,
    )
    items_service.mark_triaged(session=session, item_ids=items, actor=actor)
    return event


EDITABLE = (
    "title",
    "category_value",
    "severity",
    "occurred_at",
    "status",
    "confidence",
    "direction_stability",
    "direction_lock_in",
    "note",
    "vendor_ids",
)


def update_event(
    *, session: Session, event_id: int, changes: Mapping[str, Any], actor: User | str
) -> Event:
    """Change any of an event's fields (see EDITABLE); the audit log gets before and after."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise EventError(f"cannot edit: {', '.join(sorted(unknown))}")
    event = _get(session, event_id)
    before = _snapshot(session, event)
    # Validate everything first, so a bad field changes nothing.
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "title":
            values["title"] = _check_title(value)
        elif key == "category_value":
            values["category_id"] = category_by_value(session=session, value=value).id
        elif key == "severity":
            values["severity"] = _check_severity(value)
        elif key == "occurred_at":
            values["occurred_at"] = _check_date(value)
        elif key == "status":
            values["status"] = _check_status(value)
        elif key == "confidence":
            values["confidence"] = _check_confidence(value)
        elif key in ("direction_stability", "direction_lock_in"):
            values[key] = _check_direction(value, key)
        elif key == "note":
            values["note"] = (no_nul(value) or "").strip() or None
        elif key == "vendor_ids":
            values["vendor_ids"] = _check_vendors(session, value or [])
    new_vendors = values.pop("vendor_ids", None)
    for key, value in values.items():
        setattr(event, key, value)
    if new_vendors is not None and new_vendors != before["vendor_ids"]:
        session.execute(delete(EventVendor).where(col(EventVendor.event_id) == event_id))
        for vendor_id in new_vendors:
            session.add(EventVendor(event_id=event_id, vendor_id=vendor_id))
    event.updated_at = utcnow()
    session.add(event)
    session.flush()
    old, new = audit.diff(before, _snapshot(session, event))
    if new:
        audit.record(
            session=session,
            actor=actor,
            action="event.update",
            entity_type="event",
            entity_id=event_id,
            before=old,
            after=new,
        )
    return event


def set_status(*, session: Session, event_id: int, status: str, actor: User | str) -> Event:
    """Confirm, dismiss or re-suggest an event."""
    return update_event(session=session, event_id=event_id, changes={"status": status}, actor=actor)


def attach_items(
    *, session: Session, event_id: int, item_ids: Iterable[int], actor: User | str
) -> list[int]:
    """Link items to an event (they become triaged); returns the ids newly linked."""
    event = _get(session, event_id)
    if event.merged_into_id is not None:
        raise EventError(f"event {event_id} was merged into event {event.merged_into_id}")
    wanted = items_service.existing_ids(session=session, item_ids=item_ids)
    have = set(_item_ids_of(session, event_id))
    added = [i for i in wanted if i not in have]
    for item_id in added:
        session.add(EventItem(event_id=event_id, item_id=item_id))
    if added:
        event.updated_at = utcnow()
        session.add(event)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="event.attach_items",
            entity_type="event",
            entity_id=event_id,
            before={"item_ids": sorted(have)},
            after={"item_ids": sorted(have | set(added))},
        )
    items_service.mark_triaged(session=session, item_ids=wanted, actor=actor)
    return added


def detach_item(*, session: Session, event_id: int, item_id: int, actor: User | str) -> bool:
    """Unlink an item from an event; it goes back to the inbox when no other event holds it."""
    _get(session, event_id)
    have = _item_ids_of(session, event_id)
    if item_id not in have:
        return False
    session.execute(
        delete(EventItem).where(
            col(EventItem.event_id) == event_id, col(EventItem.item_id) == item_id
        )
    )
    audit.record(
        session=session,
        actor=actor,
        action="event.detach_item",
        entity_type="event",
        entity_id=event_id,
        before={"item_ids": have},
        after={"item_ids": [i for i in have if i != item_id]},
    )
    elsewhere = session.exec(select(EventItem).where(col(EventItem.item_id) == item_id)).first()
    if elsewhere is None:
        items_service.set_status(
            session=session, item_ids=[item_id], status=ItemStatus.new.value, actor=actor
        )
    return True


def add_tag(*, session: Session, event_id: int, tag: str, actor: User | str) -> str | None:
    """Put a free tag on an event; returns the tag as stored, or None if it was already there."""
    _get(session, event_id)
    value = normalize_tag(tag)
    if session.get(EventTag, (event_id, value)) is not None:
        return None
    session.add(EventTag(event_id=event_id, tag=value))
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="event.tag_add",
        entity_type="event",
        entity_id=event_id,
        after={"tag": value},
    )
    return value


def remove_tag(*, session: Session, event_id: int, tag: str, actor: User | str) -> bool:
    """Take a free tag off an event; False when it was not there."""
    _get(session, event_id)
    value = normalize_tag(tag)
    row = session.get(EventTag, (event_id, value))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="event.tag_remove",
        entity_type="event",
        entity_id=event_id,
        before={"tag": value},
    )
    return True


def merge_events(*, session: Session, source_id: int, target_id: int, actor: User | str) -> Event:
    """Fold a duplicate event (source) into another (target): its items, vendors and tags move
    to the target; the source is dismissed and points at the target."""
    if source_id == target_id:
        raise EventError("an event cannot be merged into itself")
    source = _get(session, source_id)
    target = _get(session, target_id)
    if source.merged_into_id is not None:
        raise EventError(f"event {source_id} was already merged into event {source.merged_into_id}")
    if target.merged_into_id is not None:
        raise EventError(f"event {target_id} was merged into event {target.merged_into_id}")
    src_items, dst_items = _item_ids_of(session, source_id), _item_ids_of(session, target_id)
    src_vendors, dst_vendors = (
        _vendor_ids_of(session, source_id),
        _vendor_ids_of(session, target_id),
    )
    src_tags, dst_tags = _tags_of(session, source_id), _tags_of(session, target_id)
    for item_id in sorted(set(src_items) - set(dst_items)):
        session.add(EventItem(event_id=target_id, item_id=item_id))
    for vendor_id in sorted(set(src_vendors) - set(dst_vendors)):
        session.add(EventVendor(event_id=target_id, vendor_id=vendor_id))
    for tag in sorted(set(src_tags) - set(dst_tags)):
        session.add(EventTag(event_id=target_id, tag=tag))
    session.execute(delete(EventItem).where(col(EventItem.event_id) == source_id))
    session.execute(delete(EventVendor).where(col(EventVendor.event_id) == source_id))
    session.execute(delete(EventTag).where(col(EventTag.event_id) == source_id))
    before_source = {"status": source.status, "merged_into_id": None, "item_ids": src_items}
    source.status = EventStatus.dismissed.value
    source.merged_into_id = target_id
    source.updated_at = target.updated_at = utcnow()
    session.add(source)
    session.add(target)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="event.merge",
        entity_type="event",
        entity_id=source_id,
        before=before_source,
        after={"status": source.status, "merged_into_id": target_id, "item_ids": []},
    )
    audit.record(
        session=session,
        actor=actor,
        action="event.merge_in",
        entity_type="event",
        entity_id=target_id,
        before={"item_ids": dst_items, "vendor_ids": dst_vendors, "tags": dst_tags},
        after={
            "merged_from": source_id,
            "item_ids": sorted(set(src_items) | set(dst_items)),
            "vendor_ids": sorted(set(src_vendors) | set(dst_vendors)),
            "tags": sorted(set(src_tags) | set(dst_tags)),
        },
    )
    return target


# --------------------------------------------------------------------------- queries


def _conditions(session: Session, filters: EventFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if filters.status:
        conds.append(col(Event.status) == _check_status(filters.status))
    if filters.category:
        conds.append(
            exists().where(
                col(Category.id) == col(Event.category_id), col(Category.value) == filters.category
            )
        )
    if filters.vendor:
        conds.append(
            exists().where(
                col(EventVendor.event_id) == col(Event.id),
                col(EventVendor.vendor_id) == col(Vendor.id),
                col(Vendor.slug) == filters.vendor,
            )
        )
    if filters.tag:
        conds.append(
            exists().where(
                col(EventTag.event_id) == col(Event.id), col(EventTag.tag) == filters.tag.lower()
            )
        )
    if filters.date_from:
        conds.append(col(Event.occurred_at) >= filters.date_from)
    if filters.date_to:
        conds.append(col(Event.occurred_at) <= filters.date_to)
    if not filters.include_merged:
        conds.append(col(Event.merged_into_id).is_(None))
    if filters.q:
        match = search.event_match(session=session, q=filters.q)
        if match is not None:
            conds.append(match)
    return conds


def _rows(session: Session, events: Sequence[Event]) -> list[EventRow]:
    """Events as list rows with category, vendors, tags and item counts (four queries)."""
    ids = [e.id for e in events if e.id is not None]
    categories = {
        c.id: CategoryRef(id=c.id or 0, value=c.value, label=c.label)
        for c in session.exec(
            select(Category).where(col(Category.id).in_({e.category_id for e in events}))
        )
    }
    vendors: dict[int, list[VendorRef]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    counts: dict[int, int] = {}
    if ids:
        query = (
            select(EventVendor, Vendor)
            .join(Vendor, col(Vendor.id) == col(EventVendor.vendor_id))
            .where(col(EventVendor.event_id).in_(ids))
            .order_by(col(Vendor.name))
        )
        for link, vendor in session.exec(query):
            vendors[link.event_id].append(
                VendorRef(id=vendor.id or 0, slug=vendor.slug, name=vendor.name)
            )
        tag_query = select(EventTag).where(col(EventTag.event_id).in_(ids)).order_by(EventTag.tag)
        for row in session.exec(tag_query):
            tags[row.event_id].append(row.tag)
        count_query = (
            select(col(EventItem.event_id), func.count())
            .where(col(EventItem.event_id).in_(ids))
            .group_by(col(EventItem.event_id))
        )
        counts = {int(e): int(n) for e, n in session.exec(count_query)}
    return [
        EventRow(
            event=e,
            category=categories[e.category_id],
            vendors=vendors.get(e.id or 0, []),
            tags=tags.get(e.id or 0, []),
            item_count=counts.get(e.id or 0, 0),
        )
        for e in events
    ]


def list_events(
    *,
    session: Session,
    filters: EventFilters | None = None,
    page: int = 1,
    per_page: int | None = None,
) -> Page[EventRow]:
    """Events matching the filters, latest first, one page."""
    filters = filters or EventFilters()
    page, per_page = clamp(page, per_page)
    conds = _conditions(session, filters)
    where = and_(*conds) if conds else true()
    total = session.exec(select(func.count()).select_from(Event).where(where)).one()
    query = (
        select(Event)
        .where(where)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(per_page)
        .offset(offset(page, per_page))
    )
    events = list(session.exec(query))
    return Page(items=_rows(session, events), page=page, per_page=per_page, total=int(total))


def get_event(*, session: Session, event_id: int) -> EventDetail | None:
    """An event with everything its page shows, or None."""
    event = session.get(Event, event_id) if 0 < event_id <= items_service.MAX_ID else None
    if event is None:
        return None
    row = _rows(session, [event])[0]
    item_query = (
        select(Item)
        .join(EventItem, col(EventItem.item_id) == col(Item.id))
        .where(col(EventItem.event_id) == event_id)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
    )
    linked = [
        LinkedItem(
            id=i.id or 0, title=i.title, url=i.url, published_at=i.published_at, status=i.status
        )
        for i in session.exec(item_query)
    ]
    merged_into = None
    if event.merged_into_id is not None:
        target = session.get(Event, event.merged_into_id)
        if target is not None:
            merged_into = _rows(session, [target])[0]
    merged_query = select(col(Event.id)).where(col(Event.merged_into_id) == event_id)
    merged_from = sorted(int(i or 0) for i in session.exec(merged_query))
    return EventDetail(
        event=event,
        category=row.category,
        vendors=row.vendors,
        tags=row.tags,
        items=linked,
        merged_into=merged_into,
        merged_from=merged_from,
    )


def list_categories(*, session: Session) -> list[Category]:
    """The taxonomy, by label, for forms."""
    return list(session.exec(select(Category).order_by(Category.label)))


def list_vendor_refs(*, session: Session) -> list[VendorRef]:
    """Every vendor, by name, for forms."""
    return [
        VendorRef(id=v.id or 0, slug=v.slug, name=v.name)
        for v in session.exec(select(Vendor).order_by(Vendor.name))
    ]


@dataclass(frozen=True)
class EventChoice:
    """An event offered in a form's choice (attach to, merge into)."""

    id: int
    title: str
    occurred_at: dt.date


def open_events(*, session: Session, limit: int = 100) -> list[EventChoice]:
    """The latest events that are neither dismissed nor merged away, for "attach to event" and
    "merge into" choices (one light query)."""
    query = (
        select(col(Event.id), col(Event.title), col(Event.occurred_at))
        .where(col(Event.merged_into_id).is_(None), col(Event.status) != "dismissed")
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(limit)
    )
    return [
        EventChoice(id=int(i or 0), title=title, occurred_at=day)
        for i, title, day in session.exec(query)
    ]
