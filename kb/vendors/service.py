"""Vendor queries and analyst edits of vendor profiles."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from kb.audit import service as audit
from kb.models import (
    Category,
    Event,
    EventItem,
    EventStatus,
    EventVendor,
    Item,
    ItemVendor,
    Origin,
    ScoreSnapshot,
    User,
    Vendor,
    VendorAlias,
    VendorFact,
    utcnow,
)
from kb.pagination import Page, clamp, offset
from kb.vendors.schemas import FACT_KEYS

EDITABLE_VENDOR_FIELDS = (
    "name",
    "website",
    "jurisdiction",
    "corporate_form",
    "parent",
    "description",
)
FACT_VALUES = ("yes", "partial", "no", "unknown")


class VendorError(ValueError):
    """A vendor change was refused; the message says why."""


def list_vendors(*, session: Session) -> list[Vendor]:
    """All vendors by name."""
    return list(session.exec(select(Vendor).order_by(Vendor.name)))


def get_vendor(*, session: Session, slug: str) -> Vendor | None:
    """The vendor with this slug, or None."""
    return session.exec(select(Vendor).where(Vendor.slug == slug)).first()


def facts_of(*, session: Session, vendor_id: int) -> list[VendorFact]:
    """A vendor's profile facts in catalog order of keys."""
    rows = list(session.exec(select(VendorFact).where(VendorFact.vendor_id == vendor_id)))
    order = {k: i for i, k in enumerate(FACT_KEYS)}
    return sorted(rows, key=lambda f: (order.get(f.key, len(order)), f.key))


def aliases_of(*, session: Session, vendor_id: int) -> list[VendorAlias]:
    """A vendor's aliases."""
    query = select(VendorAlias).where(VendorAlias.vendor_id == vendor_id).order_by(VendorAlias.text)
    return list(session.exec(query))


def update_vendor(
    *, session: Session, vendor: Vendor, changes: dict[str, Any], actor: User | str
) -> Vendor:
    """Apply an analyst's edits to vendor fields; the catalog loader will leave them alone."""
    unknown = set(changes) - set(EDITABLE_VENDOR_FIELDS)
    if unknown:
        raise VendorError(f"cannot edit: {', '.join(sorted(unknown))}")
    before = {k: getattr(vendor, k) for k in changes}
    before, after = audit.diff(before, changes)
    if not after:
        return vendor
    for key, value in after.items():
        setattr(vendor, key, value)
    vendor.edited_fields = sorted(set(vendor.edited_fields or []) | set(after))
    vendor.updated_at = utcnow()
    session.add(vendor)
    audit.record(
        session=session,
        actor=actor,
        action="vendor.update",
        entity_type="vendor",
        entity_id=vendor.id,
        before=before,
        after=after,
    )
    return vendor


def set_fact(
    *,
    session: Session,
    vendor: Vendor,
    key: str,
    value: str,
    source_url: str,
    checked_at: dt.date,
    detail: str | None,
    actor: User | str,
) -> VendorFact:
    """Record an analyst's profile fact with its source and date; it outranks the catalog."""
    if key not in FACT_KEYS:
        raise VendorError(f"unknown fact {key!r}")
    if value not in FACT_VALUES:
        raise VendorError(f"value must be one of {', '.join(FACT_VALUES)}")
    if not source_url.startswith(("http://", "https://")):
        raise VendorError("a fact needs a source URL (http:// or https://)")
    assert vendor.id is not None
    row = session.exec(
        select(VendorFact).where(VendorFact.vendor_id == vendor.id, VendorFact.key == key)
    ).first()
    new: dict[str, Any] = {
        "value": value,
        "source_url": source_url,
        "checked_at": checked_at,
        "detail": detail,
    }
    before: dict[str, Any] = {}
    if row is None:
        row = VendorFact(vendor_id=vendor.id, key=key, **new)
    else:
        before = {k: getattr(row, k) for k in new}
        for k, v in new.items():
            setattr(row, k, v)
    row.origin = Origin.analyst
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if isinstance(actor, User) else None
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="vendor_fact.set",
        entity_type="vendor",
        entity_id=vendor.id,
        before={"key": key, **before} if before else None,
        after={"key": key, **new},
    )
    return row


# --------------------------------------------------------------------------- vendor pages


@dataclass(frozen=True)
class VendorEventRow:
    """One event on a vendor's timeline (plain values, read in one query)."""

    id: int
    title: str
    category: str
    category_label: str
    severity: int
    occurred_at: dt.date
    status: str
    direction_stability: int
    direction_lock_in: int
    items: int


def events_of(
    *,
    session: Session,
    vendor_id: int,
    page: int = 1,
    per_page: int = 25,
    include_dismissed: bool = False,
) -> Page[VendorEventRow]:
    """One page of the events concerning a vendor, newest first (merged-away events left out)."""
    page, per_page = clamp(page, per_page)
    where = [col(EventVendor.vendor_id) == vendor_id, col(Event.merged_into_id).is_(None)]
    if not include_dismissed:
        where.append(col(Event.status) != EventStatus.dismissed)
    total = session.execute(
        sa_select(func.count())
        .select_from(EventVendor)
        .join(Event, col(Event.id) == col(EventVendor.event_id))
        .where(*where)
    ).scalar_one()
    query = (
        sa_select(
            col(Event.id),
            col(Event.title),
            col(Category.value),
            col(Category.label),
            col(Event.severity),
            col(Event.occurred_at),
            col(Event.status),
            col(Event.direction_stability),
            col(Event.direction_lock_in),
        )
        .join(EventVendor, col(EventVendor.event_id) == col(Event.id))
        .join(Category, col(Category.id) == col(Event.category_id))
        .where(*where)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(per_page)
        .offset(offset(page, per_page))
    )
    found = list(session.execute(query))
    counts: dict[int, int] = {}
    if found:
        ids = [row[0] for row in found]
        count_query = (
            sa_select(col(EventItem.event_id), func.count())
            .where(col(EventItem.event_id).in_(ids))
            .group_by(col(EventItem.event_id))
        )
        counts = {int(r[0]): int(r[1]) for r in session.execute(count_query)}
    rows = [
        VendorEventRow(
            id=row[0],
            title=row[1],
            category=row[2],
            category_label=row[3],
            severity=row[4],
            occurred_at=row[5],
            status=row[6],
            direction_stability=row[7],
            direction_lock_in=row[8],
            items=counts.get(row[0], 0),
        )
        for row in found
    ]
    return Page(items=rows, page=page, per_page=per_page, total=int(total))


def recent_items_of(*, session: Session, vendor_id: int, limit: int = 20) -> list[Item]:
    """The newest items matched to a vendor."""
    query = (
        select(Item)
        .join(ItemVendor, col(ItemVendor.item_id) == col(Item.id))
        .where(ItemVendor.vendor_id == vendor_id)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


@dataclass(frozen=True)
class ScorePoint:
    """One stored score value (a snapshot without its contributions)."""

    as_of: dt.datetime
    value: float
    band: str
    confidence: float


def score_series(
    *, session: Session, since: dt.datetime, vendor_ids: list[int] | None = None
) -> dict[int, dict[str, list[ScorePoint]]]:
    """Stored scores per vendor and dimension since a time, oldest first (for trend lines and
    the dashboard; reads only these columns, never the contributions)."""
    query = (
        sa_select(
            col(ScoreSnapshot.vendor_id),
            col(ScoreSnapshot.dimension),
            col(ScoreSnapshot.as_of),
            col(ScoreSnapshot.value),
            col(ScoreSnapshot.band),
            col(ScoreSnapshot.confidence),
        )
        .where(col(ScoreSnapshot.as_of) >= since)
        .order_by(col(ScoreSnapshot.as_of), col(ScoreSnapshot.id))
    )
    if vendor_ids is not None:
        query = query.where(col(ScoreSnapshot.vendor_id).in_(vendor_ids))
    out: dict[int, dict[str, list[ScorePoint]]] = {}
    for vendor_id, dimension, as_of, value, band, confidence in session.execute(query):
        point = ScorePoint(as_of=as_of, value=value, band=band, confidence=confidence)
        out.setdefault(vendor_id, {}).setdefault(dimension, []).append(point)
    return out


def snapshot_version(*, session: Session) -> tuple[int, int]:
    """(newest snapshot id, snapshot count): changes whenever snapshots are added or removed,
    so pages may cache what they derive from snapshots."""
    row = session.execute(
        sa_select(func.max(col(ScoreSnapshot.id)), func.count()).select_from(ScoreSnapshot)
    ).one()
    return int(row[0] or 0), int(row[1])


def score_inputs_fingerprint(*, session: Session, vendor_id: int) -> int:
    """A hash of what a vendor's live score is computed from (its events with their status,
    severity, confidence, dates, directions, category and merges; their linked items; the
    taxonomy weights; the vendor's facts and corporate form). Equal fingerprints mean the
    same inputs, so the vendor page may reuse a score computed moments ago."""
    events = session.execute(
        sa_select(
            col(Event.id),
            col(Event.status),
            col(Event.severity),
            col(Event.confidence),
            cast(col(Event.occurred_at), String),  # as text: no per-row date parsing
            col(Event.category_id),
            col(Event.direction_stability),
            col(Event.direction_lock_in),
            col(Event.merged_into_id),
        )
        .join(EventVendor, col(EventVendor.event_id) == col(Event.id))
        .where(col(EventVendor.vendor_id) == vendor_id)
        .order_by(col(Event.id))
    ).all()
    links = session.execute(
        sa_select(func.count(), func.max(col(EventItem.item_id)))
        .select_from(EventItem)
        .join(EventVendor, col(EventVendor.event_id) == col(EventItem.event_id))
        .where(col(EventVendor.vendor_id) == vendor_id)
    ).one()
    categories = session.execute(
        sa_select(
            col(Category.id),
            col(Category.value),
            col(Category.weight_stability),
            col(Category.weight_lock_in),
            col(Category.half_life_days),
        ).order_by(col(Category.id))
    ).all()
    facts = session.execute(
        sa_select(
            col(VendorFact.key),
            col(VendorFact.value),
            col(VendorFact.source_url),
            cast(col(VendorFact.checked_at), String),
        )
        .where(col(VendorFact.vendor_id) == vendor_id)
        .order_by(col(VendorFact.key))
    ).all()
    form = session.execute(
        sa_select(col(Vendor.corporate_form), col(Vendor.name), col(Vendor.slug)).where(
            col(Vendor.id) == vendor_id
        )
    ).one_or_none()
    return hash(
        (
            tuple(map(tuple, events)),
            tuple(links),
            tuple(map(tuple, categories)),
            tuple(map(tuple, facts)),
            tuple(form) if form else None,
        )
    )
