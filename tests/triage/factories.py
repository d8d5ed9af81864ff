"""Plain factories for triage tests: make_x(session, **overrides) -> a flushed row."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from kb.models import (
    Category,
    Feed,
    Item,
    ItemCategory,
    ItemSource,
    ItemVendor,
    User,
    Vendor,
)
from kb.users import service as users

_seq = itertools.count(1)
BASE_TIME = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def vendor(session: Session, slug: str) -> Vendor:
    """A vendor by slug (from the catalog or made before)."""
    row = session.exec(select(Vendor).where(Vendor.slug == slug)).first()
    assert row is not None, f"no vendor {slug}"
    return row


def category(session: Session, value: str) -> Category:
    """A taxonomy category by value."""
    row = session.exec(select(Category).where(Category.value == value)).first()
    assert row is not None, f"no category {value}"
    return row


def make_vendor(session: Session, **overrides: Any) -> Vendor:
    n = next(_seq)
    values: dict[str, Any] = {"slug": f"vendor-{n}", "name": f"Vendor {n}"}
    values.update(overrides)
    row = Vendor(**values)
    session.add(row)
    session.flush()
    return row


def make_category(session: Session, **overrides: Any) -> Category:
    n = next(_seq)
    values: dict[str, Any] = {
        "value": f"category-{n}",
        "label": f"Category {n}",
        "default_severity": 3,
        "weight_stability": 1.0,
        "weight_lock_in": 0.0,
        "direction_stability": 1,
        "direction_lock_in": 0,
    }
    values.update(overrides)
    row = Category(**values)
    session.add(row)
    session.flush()
    return row


def make_feed(session: Session, **overrides: Any) -> Feed:
    n = next(_seq)
    values: dict[str, Any] = {"name": f"Feed {n}", "url": f"https://feeds.example.org/{n}.xml"}
    values.update(overrides)
    row = Feed(**values)
    session.add(row)
    session.flush()
    return row


def make_item(
    session: Session,
    *,
    vendors: Iterable[Vendor] = (),
    categories: Iterable[tuple[Category, float]] = (),
    feeds: Iterable[Feed] = (),
    triggers: Iterable[str] = ("trigger",),
    **overrides: Any,
) -> Item:
    """An item, optionally matched to vendors, with suggested categories and sources."""
    n = next(_seq)
    values: dict[str, Any] = {
        "dedup_key": f"test:{n}",
        "guid": f"urn:test:{n}",
        "url": f"https://news.example.org/{n}",
        "title": f"Item number {n}",
        "summary": f"<p>Summary of item {n}</p>",
        "content_hash": hashlib.sha256(str(n).encode()).hexdigest(),
        "published_at": BASE_TIME,
    }
    values.update(overrides)
    item = Item(**values)
    session.add(item)
    session.flush()
    assert item.id is not None
    for v in vendors:
        session.add(
            ItemVendor(
                item_id=item.id,
                vendor_id=v.id,
                alias=v.name,
                evidence=f"... {v.name} said ...",
            )
        )
    for c, confidence in categories:
        session.add(
            ItemCategory(
                item_id=item.id, category_id=c.id, confidence=confidence, triggers=list(triggers)
            )
        )
    for f in feeds:
        session.add(ItemSource(item_id=item.id, feed_id=f.id, entry_url=values["url"]))
    session.flush()
    return item


def make_user(session: Session, role: str = "analyst", **overrides: Any) -> User:
    n = next(_seq)
    username = overrides.pop("username", f"{role}{n}")
    password = overrides.pop("password", "correct horse battery")
    return users.create_user(session=session, username=username, password=password, role=role)
