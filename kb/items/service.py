"""The inbox (items waiting for triage), item detail, and item status changes.

Pages are built in a handful of queries: one COUNT, one page of items, then the matched vendors,
suggested categories and feeds of just those items (no lazy loads from templates).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, true, update
from sqlmodel import Session, col, select

from kb.audit import service as audit
from kb.events import grouping
from kb.models import (
    Category,
    Event,
    EventItem,
    Feed,
    Item,
    ItemCategory,
    ItemSource,
    ItemStatus,
    ItemVendor,
    User,
    Vendor,
    utcnow,
)
from kb.pagination import Page, clamp, offset
from kb.search import service as search

ITEM_STATUSES = tuple(s.value for s in ItemStatus)
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
COUNT_CAP = 10_000  # inbox totals are counted up to this (shown as "more than")


class ItemError(ValueError):
    """An item query or change was refused; the message says why."""


def no_nul(value: str | None) -> str | None:
    """Text without NUL characters (PostgreSQL refuses them in text; they are never meant)."""
    return value.replace("\x00", "") if value is not None else None


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows. ``status`` None or "all" means every status."""

    status: str | None = ItemStatus.new.value
    vendor: str | None = None  # vendor slug
    category: str | None = None  # taxonomy value of a suggested category
    feed_id: int | None = None
    date_from: dt.date | None = None  # published on or after (UTC)
    date_to: dt.date | None = None  # published on or before (UTC)
    q: str | None = None  # full-text search

    def __post_init__(self) -> None:
        for name in ("status", "vendor", "category"):
            object.__setattr__(self, name, no_nul(getattr(self, name)))


@dataclass(frozen=True)
class VendorMatch:
    """A vendor an item concerns, with the alias found and the text around it."""

    vendor_id: int
    slug: str
    name: str
    alias: str | None
    evidence: str | None
    origin: str


@dataclass(frozen=True)
class CategorySuggestion:
    """A category suggested for an item, with its confidence and trigger words."""

    category_id: int
    value: str
    label: str
    confidence: float
    triggers: list[str]


@dataclass(frozen=True)
class FeedRef:
    """A feed that carried an item."""

    feed_id: int
    name: str
    entry_url: str | None = None


@dataclass
class InboxRow:
    """One item on an inbox page, with everything the page shows about it."""

    item: Item
    vendors: list[VendorMatch] = field(default_factory=list)
    categories: list[CategorySuggestion] = field(default_factory=list)
    feeds: list[FeedRef] = field(default_factory=list)

    @property
    def top_category(self) -> CategorySuggestion | None:
        return self.categories[0] if self.categories else None


@dataclass(frozen=True)
class EventRef:
    """An event an item belongs to."""

    id: int
    title: str
    status: str
    occurred_at: dt.date


@dataclass
class ItemDetail:
    """An item with its sources, matched vendors, suggested categories and events."""

    item: Item
    vendors: list[VendorMatch]
    categories: list[CategorySuggestion]
    feeds: list[FeedRef]
    events: list[EventRef]


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


DENSE_LINKS = 2_000  # a vendor/category/feed with more items than this is "dense"


def _linked(
    session: Session, sub: Any, link_item_id: Any, where: ColumnElement[bool], ordered: bool
) -> ColumnElement[bool]:
    """``item.id IN (sub)``, or for a page query on SQLite when the link is dense, a
    correlated EXISTS: SQLite then walks the date index and stops once the page is full,
    instead of looking up and sorting every linked item. (Counting always uses IN.)"""
    if ordered and session.get_bind().dialect.name == "sqlite":
        limited = sub.limit(DENSE_LINKS + 1).subquery()
        many = session.exec(select(func.count()).select_from(limited)).one()
        if many > DENSE_LINKS:
            return exists().where(link_item_id == col(Item.id), where)
    return col(Item.id).in_(sub)


def newest_of_vendor(*, session: Session, vendor_id: int, limit: int = 10) -> list[Item]:
    """The newest items matched to a vendor, newest first (on SQLite, a dense vendor walks the
    date index and stops after ``limit`` rows instead of sorting all its items)."""
    where = col(ItemVendor.vendor_id) == vendor_id
    sub = select(col(ItemVendor.item_id)).where(where)
    query = (
        select(Item)
        .where(_linked(session, sub, col(ItemVendor.item_id), where, True))
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


def _conditions(
    session: Session, filters: InboxFilters, *, ordered: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE conditions for the filters (sub-queries, so the page query needs no joins).
    ``ordered``: for a query that reads rows newest first with a limit (not for counting)."""
    conds: list[ColumnElement[bool]] = []
    if filters.status and filters.status != "all":
        if filters.status not in ITEM_STATUSES:
            raise ItemError(f"status must be one of: all, {', '.join(ITEM_STATUSES)}")
        conds.append(col(Item.status) == filters.status)
    # IN (sub-query) rather than EXISTS by default: its cost follows the number of matches,
    # not the size of the table (a rare vendor would otherwise scan every item).
    if filters.vendor:
        vendor_id = select(col(Vendor.id)).where(col(Vendor.slug) == filters.vendor)
        where = col(ItemVendor.vendor_id) == vendor_id.scalar_subquery()
        sub = select(col(ItemVendor.item_id)).where(where)
        conds.append(_linked(session, sub, col(ItemVendor.item_id), where, ordered))
    if filters.category:
        category_id = select(col(Category.id)).where(col(Category.value) == filters.category)
        where = col(ItemCategory.category_id) == category_id.scalar_subquery()
        sub = select(col(ItemCategory.item_id)).where(where)
        conds.append(_linked(session, sub, col(ItemCategory.item_id), where, ordered))
    if filters.feed_id is not None and not 0 < filters.feed_id <= MAX_ID:
        conds.append(false())
    elif filters.feed_id is not None:
        where = col(ItemSource.feed_id) == filters.feed_id
        sub = select(col(ItemSource.item_id)).where(where)
        conds.append(_linked(session, sub, col(ItemSource.item_id), where, ordered))
    if filters.date_from:
        conds.append(col(Item.published_at) >= _day_start(filters.date_from))
    if filters.date_to:
        conds.append(col(Item.published_at) < _day_start(filters.date_to + dt.timedelta(days=1)))
    if filters.q:
        match = search.item_match(session=session, q=filters.q, ordered=ordered)
        if match is not None:
            conds.append(match)
    return conds


def inbox(
    *,
    session: Session,
    filters: InboxFilters | None = None,
    page: int = 1,
    per_page: int | None = None,
) -> Page[InboxRow]:
    """Items matching the filters, newest first, one page, with their vendors/categories/feeds.
    The total is counted up to COUNT_CAP + 1 (more than COUNT_CAP: show "more than")."""
    filters = filters or InboxFilters()
    page, per_page = clamp(page, per_page)
    conds = _conditions(session, filters)
    count_where = and_(*conds) if conds else true()
    # Counted up to COUNT_CAP + 1: the cost of the count stays bounded on a huge inbox.
    capped = select(col(Item.id)).where(count_where).limit(COUNT_CAP + 1).subquery()
    total = session.exec(select(func.count()).select_from(capped)).one()
    conds = _conditions(session, filters, ordered=True)
    where = and_(*conds) if conds else true()
    query = (
        select(Item)
        .where(where)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(per_page)
        .offset(offset(page, per_page))
    )
    items = list(session.exec(query))
    rows = attach_details(session=session, items=items)
    return Page(items=rows, page=page, per_page=per_page, total=int(total))


def attach_details(*, session: Session, items: Sequence[Item]) -> list[InboxRow]:
    """The items as rows with vendors, categories and feeds, in three queries in all."""
    ids = [i.id for i in items if i.id is not None]
    vendors = vendor_matches(session=session, item_ids=ids)
    categories = category_suggestions(session=session, item_ids=ids)
    feeds = feeds_of(session=session, item_ids=ids)
    return [
        InboxRow(
            item=i,
            vendors=vendors.get(i.id or 0, []),
            categories=categories.get(i.id or 0, []),
            feeds=feeds.get(i.id or 0, []),
        )
        for i in items
    ]


def vendor_matches(*, session: Session, item_ids: Iterable[int]) -> dict[int, list[VendorMatch]]:
    """Matched vendors per item id (by vendor name)."""
    ids = list(item_ids)
    out: dict[int, list[VendorMatch]] = defaultdict(list)
    if not ids:
        return out
    query = (
        select(ItemVendor, Vendor)
        .join(Vendor, col(Vendor.id) == col(ItemVendor.vendor_id))
        .where(col(ItemVendor.item_id).in_(ids))
        .order_by(col(Vendor.name))
    )
    for link, vendor in session.exec(query):
        out[link.item_id].append(
            VendorMatch(
                vendor_id=vendor.id or 0,
                slug=vendor.slug,
                name=vendor.name,
                alias=link.alias,
                evidence=link.evidence,
                origin=link.origin,
            )
        )
    return out


def category_suggestions(
    *, session: Session, item_ids: Iterable[int]
) -> dict[int, list[CategorySuggestion]]:
    """Suggested categories per item id, most confident first."""
    ids = list(item_ids)
    out: dict[int, list[CategorySuggestion]] = defaultdict(list)
    if not ids:
        return out
    query = (
        select(ItemCategory, Category)
        .join(Category, col(Category.id) == col(ItemCategory.category_id))
        .where(col(ItemCategory.item_id).in_(ids))
        .order_by(col(ItemCategory.confidence).desc(), col(Category.value))
    )
    for link, category in session.exec(query):
        out[link.item_id].append(
            CategorySuggestion(
                category_id=category.id or 0,
                value=category.value,
                label=category.label,
                confidence=link.confidence,
                triggers=list(link.triggers or []),
            )
        )
    return out


def feeds_of(*, session: Session, item_ids: Iterable[int]) -> dict[int, list[FeedRef]]:
    """The feeds that carried each item, by feed name."""
    ids = list(item_ids)
    out: dict[int, list[FeedRef]] = defaultdict(list)
    if not ids:
        return out
    query = (
        select(ItemSource, Feed)
        .join(Feed, col(Feed.id) == col(ItemSource.feed_id))
        .where(col(ItemSource.item_id).in_(ids))
        .order_by(col(Feed.name))
    )
    for source, feed in session.exec(query):
        out[source.item_id].append(
            FeedRef(feed_id=feed.id or 0, name=feed.name, entry_url=source.entry_url)
        )
    return out


def get_item(*, session: Session, item_id: int) -> ItemDetail | None:
    """An item with its sources, matched vendors, suggested categories and events; or None."""
    item = session.get(Item, item_id) if 0 < item_id <= MAX_ID else None
    if item is None:
        return None
    row = attach_details(session=session, items=[item])[0]
    query = (
        select(Event)
        .join(EventItem, col(EventItem.event_id) == col(Event.id))
        .where(col(EventItem.item_id) == item_id)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
    )
    events = [
        EventRef(id=e.id or 0, title=e.title, status=e.status, occurred_at=e.occurred_at)
        for e in session.exec(query)
    ]
    return ItemDetail(
        item=item, vendors=row.vendors, categories=row.categories, feeds=row.feeds, events=events
    )


def existing_ids(*, session: Session, item_ids: Iterable[int]) -> list[int]:
    """The ids among ``item_ids`` that exist, sorted; raises ItemError naming any missing."""
    wanted = sorted({int(i) for i in item_ids})
    if not wanted:
        return []
    bad = [i for i in wanted if not 0 < i <= MAX_ID]
    if bad:
        raise ItemError(f"no such item: {', '.join(str(i) for i in bad[:20])}")
    found = set(session.exec(select(col(Item.id)).where(col(Item.id).in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ItemError(f"no such item: {', '.join(str(i) for i in missing)}")
    return wanted


def set_status(*, session: Session, item_ids: Iterable[int], status: str, actor: User | str) -> int:
    """Set the status of items (new, triaged, dismissed); audit each change; return how many."""
    if status not in ITEM_STATUSES:
        raise ItemError(f"status must be one of: {', '.join(ITEM_STATUSES)}")
    ids = existing_ids(session=session, item_ids=item_ids)
    if not ids:
        return 0
    query = select(col(Item.id), col(Item.status)).where(
        col(Item.id).in_(ids), col(Item.status) != status
    )
    before: dict[int, str] = {int(i or 0): old for i, old in session.exec(query)}
    if not before:
        return 0
    session.execute(
        update(Item)
        .where(col(Item.id).in_(list(before)))
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    for item_id, old in sorted(before.items()):
        audit.record(
            session=session,
            actor=actor,
            action="item.status",
            entity_type="item",
            entity_id=item_id,
            before={"status": old},
            after={"status": status},
        )
    return len(before)


def dismiss_items(*, session: Session, item_ids: Iterable[int], actor: User | str) -> int:
    """Dismiss items (not worth an event); audited; returns how many changed."""
    return set_status(
        session=session, item_ids=item_ids, status=ItemStatus.dismissed.value, actor=actor
    )


def mark_triaged(*, session: Session, item_ids: Iterable[int], actor: User | str) -> int:
    """Mark items triaged (they now belong to an event); audited; returns how many changed."""
    return set_status(
        session=session, item_ids=item_ids, status=ItemStatus.triaged.value, actor=actor
    )


def feeds_for_filter(*, session: Session) -> list[FeedRef]:
    """Every feed by name, for the inbox filter."""
    query = select(col(Feed.id), col(Feed.name)).order_by(col(Feed.name))
    return [FeedRef(feed_id=int(i or 0), name=name) for i, name in session.exec(query)]


@dataclass(frozen=True)
class GroupCandidate:
    """The few fields grouping needs about one inbox item."""

    id: int
    title: str
    published_at: dt.datetime | None
    vendor_ids: frozenset[int]


def group_candidates(
    *,
    session: Session,
    filters: InboxFilters | None = None,
    days: int = 14,
    limit: int = 500,
) -> list[GroupCandidate]:
    """The newest inbox items (at most ``limit``, published in the last ``days`` days before the
    newest one) as plain rows for the grouping of similar stories."""
    filters = filters or InboxFilters()
    conds = _conditions(session, filters, ordered=True)
    where = and_(*conds) if conds else true()
    newest = session.exec(select(func.max(Item.published_at)).where(where)).one()
    if newest is not None:
        if isinstance(newest, str):  # SQLite returns the raw text for an aggregate
            newest = dt.datetime.fromisoformat(newest)
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=dt.UTC)
        where = and_(where, col(Item.published_at) >= newest - dt.timedelta(days=days))
    query = (
        select(col(Item.id), col(Item.title), col(Item.published_at))
        .where(where)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    rows = list(session.exec(query))
    vendor_ids: dict[int, set[int]] = defaultdict(set)
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        links = session.exec(
            select(col(ItemVendor.item_id), col(ItemVendor.vendor_id)).where(
                col(ItemVendor.item_id).in_(chunk)
            )
        )
        for item_id, vendor_id in links:
            vendor_ids[item_id].add(vendor_id)
    return [
        GroupCandidate(
            id=int(item_id or 0),
            title=title or "",
            published_at=published_at,
            vendor_ids=frozenset(vendor_ids.get(int(item_id or 0), ())),
        )
        for item_id, title, published_at in rows
    ]


class GroupCache:
    """A small, time-limited memo of suggested groups per inbox filter (keep one per app).

    The key includes the number of matching items and the newest item id, so dismissing,
    triaging or ingesting items recomputes at once; other edits show within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 60.0, size: int = 64) -> None:
        self.ttl, self.size = ttl, size
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                return None
            return hit[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._data) >= self.size:
                oldest = min(self._data, key=lambda k: self._data[k][0])
                del self._data[oldest]
            self._data[key] = (time.monotonic(), value)


@dataclass(frozen=True)
class SuggestedGroups:
    """Suggested groups and the titles of their items."""

    groups: list[grouping.SuggestedGroup]
    titles: dict[int, str]


def suggested_groups(
    *,
    session: Session,
    filters: InboxFilters | None = None,
    total: int | None = None,
    cache: GroupCache | None = None,
    max_groups: int = 10,
) -> SuggestedGroups:
    """Groups of inbox items that report the same story (see kb.events.grouping), over the
    newest matching items; memoized in ``cache`` when given (``total``: the inbox count)."""
    filters = filters or InboxFilters()
    key = None
    if cache is not None:
        newest = session.exec(select(func.max(Item.id))).one()
        key = (filters, total, newest)
        hit = cache.get(key)
        if hit is not None:
            return hit
    candidates = group_candidates(session=session, filters=filters)
    groups = grouping.suggest_groups(candidates)[:max_groups]
    wanted = {i for g in groups for i in g.item_ids}
    result = SuggestedGroups(
        groups=groups, titles={c.id: c.title for c in candidates if c.id in wanted}
    )
    if cache is not None:
        cache.put(key, result)
    return result
