"""``kb export items``: every item as one JSON object per line, with its feeds, matched vendors
(and the evidence) and suggested categories (and the confidence). Streams in chunks, by id."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlmodel import Session

from kb.models import Category, Feed, Item, ItemCategory, ItemSource, ItemVendor, Vendor

FORMATS = ("jsonl",)
CHUNK = 500
_item = Item.__table__  # type: ignore[attr-defined]
_source = ItemSource.__table__  # type: ignore[attr-defined]
_feed = Feed.__table__  # type: ignore[attr-defined]
_ivendor = ItemVendor.__table__  # type: ignore[attr-defined]
_vendor = Vendor.__table__  # type: ignore[attr-defined]
_icat = ItemCategory.__table__  # type: ignore[attr-defined]
_category = Category.__table__  # type: ignore[attr-defined]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def iter_items(*, session: Session, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every item (first seen at or after ``since``, if given) as a plain dict, oldest id first."""
    last_id = 0
    while True:
        query = select(_item).where(_item.c.id > last_id).order_by(_item.c.id).limit(CHUNK)
        if since is not None:
            query = query.where(_item.c.first_seen_at >= since)
        rows = session.execute(query).mappings().all()
        if not rows:
            return
        ids = [r["id"] for r in rows]
        last_id = ids[-1]
        feeds: dict[int, list[str]] = {}
        for item_id, name in session.execute(
            select(_source.c.item_id, _feed.c.name)
            .join(_feed, _feed.c.id == _source.c.feed_id)
            .where(_source.c.item_id.in_(ids))
            .order_by(_source.c.id)
        ):
            feeds.setdefault(item_id, []).append(name)
        vendors: dict[int, list[dict[str, Any]]] = {}
        for item_id, slug, alias, evidence, origin in session.execute(
            select(
                _ivendor.c.item_id,
                _vendor.c.slug,
                _ivendor.c.alias,
                _ivendor.c.evidence,
                _ivendor.c.origin,
            )
            .join(_vendor, _vendor.c.id == _ivendor.c.vendor_id)
            .where(_ivendor.c.item_id.in_(ids))
            .order_by(_ivendor.c.id)
        ):
            vendors.setdefault(item_id, []).append(
                {"slug": slug, "alias": alias, "evidence": evidence, "origin": origin}
            )
        cats: dict[int, list[dict[str, Any]]] = {}
        for item_id, value, confidence, triggers in session.execute(
            select(_icat.c.item_id, _category.c.value, _icat.c.confidence, _icat.c.triggers)
            .join(_category, _category.c.id == _icat.c.category_id)
            .where(_icat.c.item_id.in_(ids))
            .order_by(_icat.c.confidence.desc(), _category.c.value)
        ):
            cats.setdefault(item_id, []).append(
                {"value": value, "confidence": confidence, "triggers": list(triggers or [])}
            )
        for r in rows:
            matches = vendors.get(r["id"], [])
            suggestions = cats.get(r["id"], [])
            yield {
                "id": r["id"],
                "guid": r["guid"],
                "url": r["url"],
                "title": r["title"],
                "summary": r["summary"],
                "author": r["author"],
                "published_at": _iso(r["published_at"]),
                "published_estimated": r["published_estimated"],
                "first_seen_at": _iso(r["first_seen_at"]),
                "updated_at": _iso(r["updated_at"]),
                "status": r["status"],
                "feeds": feeds.get(r["id"], []),
                "vendors": [m["slug"] for m in matches],
                "vendor_matches": matches,
                "suggested_categories": [s["value"] for s in suggestions],
                "category_suggestions": suggestions,
            }


def write_jsonl(*, session: Session, out: TextIO, since: dt.datetime | None = None) -> int:
    """Write every item as one JSON line; return how many were written."""
    count = 0
    for item in iter_items(session=session, since=since):
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count
