"""Stage 5, store: upsert one feed's entries in the caller's transaction, in set-based SQL.

- New entry (dedup key unseen): insert the item, its source, vendors and category suggestions.
- Known entry, new feed: add the source (the same story in two feeds is one item, two sources)
  and any vendors/categories this feed adds.
- Known entry, changed content hash, from the feed that first brought it: an edit; the item is
  updated in place and its automatic vendors/categories recomputed (an analyst's stay).
  Other feeds' versions of the same story do not flip the item back and forth.
The unique constraint on ``item.dedup_key`` backs all of this; nothing is deduplicated in memory
only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session

from kb.ingest.match import AliasRule
from kb.ingest.normalize import NormalEntry
from kb.models import Category, Item, ItemCategory, ItemSource, ItemVendor, Vendor, VendorAlias

CHUNK = 500
_item = Item.__table__  # type: ignore[attr-defined]
_source = ItemSource.__table__  # type: ignore[attr-defined]
_ivendor = ItemVendor.__table__  # type: ignore[attr-defined]
_icat = ItemCategory.__table__  # type: ignore[attr-defined]
_alias = VendorAlias.__table__  # type: ignore[attr-defined]
_vendor = Vendor.__table__  # type: ignore[attr-defined]
_category = Category.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class VendorLink:
    """A vendor for an item: from an alias match or the feed's default vendor."""

    vendor_id: int
    alias: str | None
    evidence: str | None
    origin: str = "auto"  # auto | feed-default
    score: float = 1.0


@dataclass(frozen=True)
class CategoryLink:
    """A suggested category for an item."""

    category_id: int
    confidence: float
    triggers: list[str]


@dataclass(frozen=True)
class PreparedEntry:
    """A normalized entry with its matches, ready to store."""

    entry: NormalEntry
    vendors: list[VendorLink] = field(default_factory=list)
    categories: list[CategoryLink] = field(default_factory=list)


@dataclass
class StoreCounts:
    """What storing one feed did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # known items this feed now also carries (counted in unchanged too)


def load_alias_rules(*, session: Session) -> list[AliasRule]:
    """Every vendor alias, for building the matcher once per run."""
    rows = session.execute(
        select(
            _alias.c.vendor_id,
            _vendor.c.slug,
            _alias.c.text,
            _alias.c.case_sensitive,
            _alias.c.context,
        ).join(_vendor, _vendor.c.id == _alias.c.vendor_id)
    ).all()
    return [
        AliasRule(
            vendor_id=vid, slug=slug, text=text, case_sensitive=bool(cs), context=tuple(ctx or ())
        )
        for vid, slug, text, cs, ctx in rows
    ]


def category_ids(*, session: Session) -> dict[str, int]:
    """Taxonomy value -> category id."""
    return {v: i for i, v in session.execute(select(_category.c.id, _category.c.value)).all()}


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _insert_links(
    session: Session,
    item_ids: dict[str, int],
    prepared: Iterable[PreparedEntry],
    skip_vendors: set[tuple[int, int]],
    skip_categories: set[tuple[int, int]],
) -> None:
    vrows: list[dict[str, Any]] = []
    crows: list[dict[str, Any]] = []
    for p in prepared:
        item_id = item_ids[p.entry.dedup_key]
        for v in p.vendors:
            if (item_id, v.vendor_id) in skip_vendors:
                continue
            skip_vendors.add((item_id, v.vendor_id))
            vrows.append(
                {
                    "item_id": item_id,
                    "vendor_id": v.vendor_id,
                    "alias": v.alias[:200] if v.alias else None,
                    "evidence": v.evidence,
                    "score": v.score,
                    "origin": v.origin,
                }
            )
        for c in p.categories:
            if (item_id, c.category_id) in skip_categories:
                continue
            skip_categories.add((item_id, c.category_id))
            crows.append(
                {
                    "item_id": item_id,
                    "category_id": c.category_id,
                    "confidence": c.confidence,
                    "triggers": list(c.triggers),
                }
            )
    if vrows:
        session.execute(insert(_ivendor), vrows)
    if crows:
        session.execute(insert(_icat), crows)


def store_entries(
    *,
    session: Session,
    feed_id: int,
    entries: Sequence[PreparedEntry],
    now: dt.datetime,
) -> StoreCounts:
    """Upsert one feed's entries (see the module docstring); never commits."""
    counts = StoreCounts()
    batch: dict[str, PreparedEntry] = {}
    for p in entries:  # the same entry twice in one feed counts once
        batch.setdefault(p.entry.dedup_key, p)
    if not batch:
        return counts
    keys = list(batch)
    existing: dict[str, tuple[int, str, bool]] = {}
    for part in _chunks(keys):
        for item_id, key, chash, estimated in session.execute(
            select(
                _item.c.id, _item.c.dedup_key, _item.c.content_hash, _item.c.published_estimated
            ).where(_item.c.dedup_key.in_(part))
        ):
            existing[key] = (item_id, chash, estimated)
    known_ids = [v[0] for v in existing.values()]
    carried: set[int] = set()  # items this feed already carries
    primary: dict[int, int] = {}  # item -> the feed that first brought it
    for part in _chunks(known_ids):
        carried.update(
            session.execute(
                select(_source.c.item_id).where(
                    _source.c.feed_id == feed_id, _source.c.item_id.in_(part)
                )
            ).scalars()
        )
        first = (
            select(func.min(_source.c.id))
            .where(_source.c.item_id.in_(part))
            .group_by(_source.c.item_id)
        )
        primary.update(
            session.execute(
                select(_source.c.item_id, _source.c.feed_id).where(_source.c.id.in_(first))
            ).all()
        )

    # New items, in one multi-row INSERT ... RETURNING.
    new_rows = []
    for key, p in batch.items():
        if key in existing:
            continue
        e = p.entry
        new_rows.append(
            {
                "dedup_key": key,
                "guid": e.guid,
                "url": e.url,
                "title": e.title,
                "summary": e.summary,
                "author": e.author,
                "content_hash": e.content_hash,
                "published_at": e.published_at,
                "published_estimated": e.published_estimated,
                "status": "new",
                "first_seen_at": now,
                "updated_at": now,
            }
        )
    item_ids = {key: v[0] for key, v in existing.items()}
    if new_rows:
        result = session.execute(
            insert(_item).returning(_item.c.id, _item.c.dedup_key, sort_by_parameter_order=True),
            new_rows,
        )
        for item_id, key in result.all():
            item_ids[key] = item_id
        counts.new = len(new_rows)

    # Edits: a changed content hash from the item's primary feed (or an orphan item).
    edited: list[PreparedEntry] = []
    edit_rows = []
    for key, (item_id, chash, _estimated) in existing.items():
        p = batch[key]
        owner = primary.get(item_id)
        if p.entry.content_hash != chash and owner in (None, feed_id):
            e = p.entry
            edited.append(p)
            edit_rows.append(
                {
                    "b_id": item_id,
                    "guid": e.guid,
                    "url": e.url,
                    "title": e.title,
                    "summary": e.summary,
                    "author": e.author,
                    "content_hash": e.content_hash,
                    "updated_at": now,
                    # A date the feed gives replaces the stored one; an estimated one does not.
                    **(
                        {"published_at": e.published_at, "published_estimated": False}
                        if not e.published_estimated
                        else {}
                    ),
                }
            )
    if edit_rows:
        with_date = [r for r in edit_rows if "published_at" in r]
        without = [r for r in edit_rows if "published_at" not in r]
        for rows in (with_date, without):
            if not rows:
                continue
            values: dict[str, Any] = {k: bindparam(k) for k in rows[0] if k != "b_id"}
            session.execute(
                update(_item).where(_item.c.id == bindparam("b_id")).values(values),
                rows,
                execution_options={"synchronize_session": False},
            )
        ids = [item_ids[p.entry.dedup_key] for p in edited]
        for part in _chunks(ids):
            session.execute(
                delete(_ivendor).where(_ivendor.c.item_id.in_(part), _ivendor.c.origin != "analyst")
            )
            session.execute(delete(_icat).where(_icat.c.item_id.in_(part)))
        counts.updated = len(edited)

    # Sources: this feed carries every entry it listed.
    src_rows = [
        {
            "item_id": item_ids[key],
            "feed_id": feed_id,
            "entry_guid": p.entry.guid,
            "entry_url": p.entry.url,
            "first_seen_at": now,
        }
        for key, p in batch.items()
        if item_ids[key] not in carried
    ]
    if src_rows:
        session.execute(insert(_source), src_rows)

    # Vendors and categories: all of them for new and edited items; for known items newly
    # carried by this feed, whatever this feed adds (e.g. its default vendor).
    newly_linked = [
        p
        for key, p in batch.items()
        if key in existing and item_ids[key] not in carried and p not in edited
    ]
    counts.linked = len(newly_linked)
    counts.unchanged = len(existing) - counts.updated
    refresh = [p for key, p in batch.items() if key not in existing] + edited
    keep_ids = [item_ids[p.entry.dedup_key] for p in edited + newly_linked]
    have_v: set[tuple[int, int]] = set()
    have_c: set[tuple[int, int]] = set()
    for part in _chunks(keep_ids):
        have_v.update(
            session.execute(
                select(_ivendor.c.item_id, _ivendor.c.vendor_id).where(_ivendor.c.item_id.in_(part))
            ).all()
        )
        have_c.update(
            session.execute(
                select(_icat.c.item_id, _icat.c.category_id).where(_icat.c.item_id.in_(part))
            ).all()
        )
    _insert_links(session, item_ids, refresh + newly_linked, have_v, have_c)
    return counts
