"""Row factories shared by the test packages.

Every factory is ``make_x(session, *, <links>, commit=False, **fields) -> row``, keywords only:
``fields`` are the model's columns and override the defaults; the row is added and flushed, and
committed as well with ``commit=True`` (tests that go through the web app, which reads on its own
connections). The defaults are the model's own plus unique placeholders (slug, name, url, keys)
numbered from one counter, whose values no test may rely on. A package whose rows need other
defaults binds them once in its own factories module (tests/scoring, tests/triage, tests/web).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select

from kb.models import (
    Category,
    Event,
    EventItem,
    EventVendor,
    Feed,
    Item,
    ItemCategory,
    ItemSource,
    ItemVendor,
    User,
    Vendor,
    VendorFact,
)
from kb.users import service as users

PASSWORD = "correct horse battery"

_seq = itertools.count(1)
Row = TypeVar("Row", bound=SQLModel)


def next_n() -> int:
    """The next number for a placeholder (unique within the test process)."""
    return next(_seq)


def save(session: Session, row: Row, *, commit: bool = False) -> Row:
    """Add and flush ``row`` (and commit, with ``commit=True``)."""
    session.add(row)
    session.flush()
    if commit:
        session.commit()
    return row


def get_vendor(session: Session, slug: str) -> Vendor:
    """An existing vendor (from the catalog or made before) by slug."""
    return session.exec(select(Vendor).where(Vendor.slug == slug)).one()


def get_category(session: Session, value: str) -> Category:
    """An existing taxonomy category by value."""
    return session.exec(select(Category).where(Category.value == value)).one()


def make_vendor(session: Session, *, commit: bool = False, **fields: Any) -> Vendor:
    n = next_n()
    row = Vendor(**{"slug": f"vendor-{n}", "name": f"Vendor {n}", **fields})
    return save(session, row, commit=commit)


def make_category(session: Session, *, commit: bool = False, **fields: Any) -> Category:
    n = next_n()
    row = Category(**{"value": f"category-{n}", "label": f"Category {n}", **fields})
    return save(session, row, commit=commit)


def make_fact(
    session: Session, *, vendor: Vendor, commit: bool = False, **fields: Any
) -> VendorFact:
    """A profile fact of ``vendor``; by default an unknown ``open_weights`` checked 2026-10-01."""
    values: dict[str, Any] = {"key": "open_weights", "value": "unknown"}
    values.update(fields)
    values.setdefault("source_url", f"https://example.org/{values['key']}")
    values.setdefault("checked_at", dt.date(2026, 10, 1))
    return save(session, VendorFact(vendor_id=vendor.id, **values), commit=commit)


def make_feed(session: Session, *, commit: bool = False, **fields: Any) -> Feed:
    n = next_n()
    row = Feed(**{"name": f"Feed {n}", "url": f"https://feeds.example.org/{n}.xml", **fields})
    return save(session, row, commit=commit)


def make_item(
    session: Session,
    *,
    vendors: Iterable[Vendor] = (),
    evidence: str | None = "... {name} said ...",
    categories: Iterable[tuple[Category, float]] = (),
    triggers: Iterable[str] = ("trigger",),
    feeds: Iterable[Feed] = (),
    commit: bool = False,
    **fields: Any,
) -> Item:
    """An item, matched to ``vendors`` (with ``evidence``, formatted with the vendor's name, or
    none), suggested for ``categories`` (each with its confidence, found by ``triggers``) and
    carried by ``feeds`` (the item's url as the entry url)."""
    n = next_n()
    values: dict[str, Any] = {
        "dedup_key": f"item-{n}",
        "guid": f"urn:test:{n}",
        "url": f"https://news.example.org/{n}",
        "title": f"Item {n}",
        "content_hash": hashlib.sha256(str(n).encode()).hexdigest(),
    }
    values.update(fields)
    item = save(session, Item(**values))
    assert item.id is not None
    for v in vendors:
        session.add(
            ItemVendor(
                item_id=item.id,
                vendor_id=v.id,
                alias=v.name,
                evidence=None if evidence is None else evidence.format(name=v.name),
            )
        )
    for c, confidence in categories:
        session.add(
            ItemCategory(
                item_id=item.id, category_id=c.id, confidence=confidence, triggers=list(triggers)
            )
        )
    for f in feeds:
        assert f.id is not None
        session.add(ItemSource(item_id=item.id, feed_id=f.id, entry_url=item.url))
    return save(session, item, commit=commit)


def make_event(
    session: Session,
    *,
    category: Category,
    vendors: Iterable[Vendor] = (),
    items: Iterable[Item] = (),
    commit: bool = False,
    **fields: Any,
) -> Event:
    """A confirmed event of ``category`` (its directions by default) on 2026-11-01, about
    ``vendors``, with ``items`` attached."""
    values: dict[str, Any] = {
        "title": f"Event {next_n()}",
        "category_id": category.id,
        "occurred_at": dt.date(2026, 11, 1),
        "status": "confirmed",
        "direction_stability": category.direction_stability,
        "direction_lock_in": category.direction_lock_in,
    }
    values.update(fields)
    event = save(session, Event(**values))
    assert event.id is not None
    for vendor in vendors:
        assert vendor.id is not None
        session.add(EventVendor(event_id=event.id, vendor_id=vendor.id))
    for item in items:
        assert item.id is not None
        session.add(EventItem(event_id=event.id, item_id=item.id))
    return save(session, event, commit=commit)


def make_user(
    session: Session,
    *,
    username: str | None = None,
    role: str = "analyst",
    password: str = PASSWORD,
    commit: bool = False,
    **fields: Any,
) -> User:
    """A user made through the users service (hashed password, audited); ``fields`` are set
    on it afterwards."""
    user = users.create_user(
        session=session,
        username=username if username is not None else f"{role}{next_n()}",
        password=password,
        role=role,
    )
    for key, value in fields.items():
        setattr(user, key, value)
    return save(session, user, commit=commit)
