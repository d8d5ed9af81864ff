"""Plain factories for scoring tests: rows created directly, flushed, never committed."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlmodel import Session

from kb.models import (
    Category,
    Event,
    EventItem,
    EventVendor,
    Feed,
    Item,
    ItemSource,
    Vendor,
    VendorFact,
)

_seq = itertools.count(1)


def make_vendor(session: Session, **overrides: Any) -> Vendor:
    n = next(_seq)
    values: dict[str, Any] = {"slug": f"vendor-{n}", "name": f"Vendor {n}"}
    values.update(overrides)
    vendor = Vendor(**values)
    session.add(vendor)
    session.flush()
    return vendor


def make_fact(session: Session, vendor: Vendor, key: str, value: str, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "vendor_id": vendor.id,
        "key": key,
        "value": value,
        "source_url": f"https://example.org/{key}",
        "checked_at": dt.date(2026, 10, 1),
    }
    values.update(overrides)
    session.add(VendorFact(**values))
    session.flush()


def make_category(session: Session, **overrides: Any) -> Category:
    n = next(_seq)
    values: dict[str, Any] = {
        "value": f"category-{n}",
        "label": f"Category {n}",
        "weight_stability": 1.0,
        "weight_lock_in": 0.5,
        "direction_stability": 1,
        "direction_lock_in": 1,
        "half_life_days": 365.0,
    }
    values.update(overrides)
    category = Category(**values)
    session.add(category)
    session.flush()
    return category


def make_event(
    session: Session,
    *,
    vendors: list[Vendor],
    category: Category,
    items: list[Item] | None = None,
    **overrides: Any,
) -> Event:
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"Event {n}",
        "category_id": category.id,
        "severity": 5,
        "occurred_at": dt.date(2026, 11, 1),
        "status": "confirmed",
        "confidence": 1.0,
        "direction_stability": category.direction_stability,
        "direction_lock_in": category.direction_lock_in,
    }
    values.update(overrides)
    event = Event(**values)
    session.add(event)
    session.flush()
    assert event.id is not None
    for vendor in vendors:
        assert vendor.id is not None
        session.add(EventVendor(event_id=event.id, vendor_id=vendor.id))
    for item in items or []:
        assert item.id is not None
        session.add(EventItem(event_id=event.id, item_id=item.id))
    session.flush()
    return event


def make_feed(session: Session, **overrides: Any) -> Feed:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"Feed {n}",
        "url": f"https://feed{n}.example.org/rss",
        "reliability": "C",
    }
    values.update(overrides)
    feed = Feed(**values)
    session.add(feed)
    session.flush()
    return feed


def make_item(session: Session, *, feeds: list[Feed], **overrides: Any) -> Item:
    n = next(_seq)
    values: dict[str, Any] = {
        "dedup_key": f"item-{n}",
        "url": f"https://news.example.org/{n}",
        "title": f"Item {n}",
        "content_hash": f"{n:064d}",
        "published_at": dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC),
    }
    values.update(overrides)
    item = Item(**values)
    session.add(item)
    session.flush()
    assert item.id is not None
    for feed in feeds:
        assert feed.id is not None
        session.add(ItemSource(item_id=item.id, feed_id=feed.id))
    session.flush()
    return item
