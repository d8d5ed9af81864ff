"""Plain factories for report tests: rows made directly, committed by the caller."""

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
    Item,
    ScoreSnapshot,
    Vendor,
    VendorFact,
)

_seq = itertools.count(1)


def make_vendor(session: Session, **overrides: Any) -> Vendor:
    n = next(_seq)
    values: dict[str, Any] = {
        "slug": f"vendor-{n}",
        "name": f"Vendor {n}",
        "website": f"https://vendor{n}.example",
        "jurisdiction": "US",
        "corporate_form": "private",
        "parent": None,
    }
    values.update(overrides)
    vendor = Vendor(**values)
    session.add(vendor)
    session.flush()
    return vendor


def make_category(session: Session, **overrides: Any) -> Category:
    n = next(_seq)
    values: dict[str, Any] = {
        "value": f"category-{n}",
        "label": f"Category {n}",
        "weight_stability": 0.5,
        "weight_lock_in": 0.2,
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
    links: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
    **overrides: Any,
) -> Event:
    values: dict[str, Any] = {
        "title": f"Event {next(_seq)}",
        "category_id": category.id,
        "severity": 3,
        "occurred_at": dt.date(2026, 10, 1),
        "status": "confirmed",
    }
    values.update(overrides)
    event = Event(**values)
    session.add(event)
    session.flush()
    for vendor in vendors:
        session.add(EventVendor(event_id=event.id, vendor_id=vendor.id))
    for title, url in links:
        n = next(_seq)
        item = Item(dedup_key=f"item-{n}", title=title, url=url, content_hash=f"{n:064d}")
        session.add(item)
        session.flush()
        session.add(EventItem(event_id=event.id, item_id=item.id))
    session.flush()
    return event


def make_fact(session: Session, *, vendor: Vendor, **overrides: Any) -> VendorFact:
    values: dict[str, Any] = {
        "key": "open_weights",
        "value": "no",
        "detail": "Weights are not published.",
        "source_url": "https://docs.example/open-weights",
        "checked_at": dt.date(2026, 11, 1),
    }
    values.update(overrides)
    fact = VendorFact(vendor_id=vendor.id, **values)
    session.add(fact)
    session.flush()
    return fact


def make_snapshot(session: Session, *, vendor: Vendor, **overrides: Any) -> ScoreSnapshot:
    values: dict[str, Any] = {
        "dimension": "stability",
        "as_of": dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC),
        "value": 42.5,
        "band": "moderate",
        "confidence": 0.47,
        "model_version": "2026.11-test",
        "contributions": [],
        "run_id": "test",
    }
    values.update(overrides)
    snap = ScoreSnapshot(vendor_id=vendor.id, **values)
    session.add(snap)
    session.flush()
    return snap


def contribution(
    kind: str,
    ref: str,
    label: str,
    points: float,
    *,
    date: str | None = None,
    source_url: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref": ref,
        "label": label,
        "points": points,
        "detail": {},
        "source_url": source_url,
        "date": date,
    }
