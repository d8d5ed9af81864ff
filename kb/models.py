"""Every table of kb (DESIGN.md section 3). Migrations in ``migrations/`` build these tables;
tests fail when the two drift apart."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, MetaData, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Constraint naming convention: stable names make migrations portable between SQLite and
# PostgreSQL and let batch operations on SQLite find constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)
metadata = SQLModel.metadata


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def ts(*, nullable: bool = True, index: bool = False) -> Any:
    """A UTC timestamp column."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def created_ts() -> Any:
    """A non-null UTC timestamp column defaulting to now."""
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def json_col(default: Any = None) -> Any:
    """A JSON column (JSON on SQLite, JSON on PostgreSQL)."""
    if default is None:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Origin(StrEnum):
    """Where a row's values came from: the shipped catalog or an analyst's edit."""

    catalog = "catalog"
    analyst = "analyst"


class Role(StrEnum):
    viewer = "viewer"
    analyst = "analyst"
    admin = "admin"


class EventStatus(StrEnum):
    suggested = "suggested"
    confirmed = "confirmed"
    dismissed = "dismissed"


class ItemStatus(StrEnum):
    new = "new"
    triaged = "triaged"
    dismissed = "dismissed"


class Dimension(StrEnum):
    stability = "stability"
    lock_in = "lock_in"


# --------------------------------------------------------------------------- vendors


class Vendor(SQLModel, table=True):
    """An LLM provider whose risk kb tracks."""

    __tablename__ = "vendor"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    website: str | None = Field(default=None, max_length=500)
    jurisdiction: str | None = Field(default=None, max_length=16)
    corporate_form: str | None = Field(default=None, max_length=40)
    parent: str | None = Field(default=None, max_length=200)
    description: str | None = None
    origin: str = Field(default=Origin.catalog, max_length=16)
    # Fields an analyst changed; the catalog loader leaves those alone.
    edited_fields: list[str] = json_col(list)
    created_at: dt.datetime = created_ts()
    updated_at: dt.datetime = created_ts()


class VendorAlias(SQLModel, table=True):
    """A name that points at a vendor in text: brand, product, model family, person."""

    __tablename__ = "vendor_alias"
    __table_args__ = (UniqueConstraint("vendor_id", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=200)
    kind: str = Field(default="name", max_length=16)
    case_sensitive: bool = False
    # Words of which at least one must appear in the same text for an ambiguous alias to count.
    context: list[str] = json_col(list)
    origin: str = Field(default=Origin.catalog, max_length=16)


class VendorFact(SQLModel, table=True):
    """A profile fact (mostly lock-in drivers), with its source and the date it was checked."""

    __tablename__ = "vendor_fact"
    __table_args__ = (UniqueConstraint("vendor_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=64)
    value: str = Field(max_length=32)  # yes | partial | no | unknown
    detail: str | None = None
    source_url: str | None = Field(default=None, max_length=1000)
    checked_at: dt.date | None = None
    origin: str = Field(default=Origin.catalog, max_length=16)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    updated_at: dt.datetime = created_ts()


# --------------------------------------------------------------------------- taxonomy


class Category(SQLModel, table=True):
    """A taxonomy category, a MISP-style machine tag ``kb:event="<value>"``."""

    __tablename__ = "category"

    id: int | None = Field(default=None, primary_key=True)
    value: str = Field(max_length=64, unique=True)
    label: str = Field(max_length=200)
    description: str | None = None
    default_severity: int = 3
    weight_stability: float = 0.0
    weight_lock_in: float = 0.0
    direction_stability: int = 1
    direction_lock_in: int = 0
    half_life_days: float = 365.0
    origin: str = Field(default=Origin.catalog, max_length=16)
    edited_fields: list[str] = json_col(list)


# --------------------------------------------------------------------------- users


class User(SQLModel, table=True):
    """Someone who signs in: viewer (reads), analyst (triages, edits), admin (users, audit)."""

    __tablename__ = "user"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'analyst', 'admin')", name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.viewer, max_length=16)
    active: bool = True
    created_at: dt.datetime = created_ts()
    last_login_at: dt.datetime | None = ts()


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts calling the JSON API; only its hash is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=128, unique=True)
    created_at: dt.datetime = created_ts()
    last_used_at: dt.datetime | None = ts()
    revoked_at: dt.datetime | None = ts()


class LoginAttempt(SQLModel, table=True):
    """Failed sign-ins, to throttle guessing across workers and restarts."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    remote_addr: str | None = Field(default=None, max_length=64)
    at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


class AuditLog(SQLModel, table=True):
    """Append-only record of every change: who, when, what, before and after."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    actor_name: str = Field(max_length=64)  # kept even when the user is deleted; "cli", "ingest"
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = json_col()
    after: dict[str, Any] | None = json_col()


# --------------------------------------------------------------------------- feeds and items


class Feed(SQLModel, table=True):
    """A source from feeds.yaml plus its fetch state (feed health lives here)."""

    __tablename__ = "feed"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    url: str = Field(max_length=2000)
    # The URL as written in feeds.yaml; ``url`` may differ after a permanent redirect.
    source_url: str | None = Field(default=None, max_length=2000)
    kind: str = Field(default="news", max_length=32)  # news | vendor-blog | policy | regulator
    reliability: str = Field(default="C", max_length=1)  # A (best) .. F
    default_vendor_id: int | None = Field(
        default=None, foreign_key="vendor.id", ondelete="SET NULL"
    )
    default_tags: list[str] = json_col(list)
    include_keywords: list[str] = json_col(list)
    exclude_keywords: list[str] = json_col(list)
    enabled: bool = True
    # fetch state
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    checked_at: dt.datetime | None = ts()
    last_success_at: dt.datetime | None = ts()
    last_status: int | None = None
    last_error: str | None = None
    error_count: int = 0
    next_check_at: dt.datetime | None = ts()
    gone: bool = False
    ill_formed: bool = False
    entries_total: int = 0
    created_at: dt.datetime = created_ts()
    updated_at: dt.datetime = created_ts()


class Item(SQLModel, table=True):
    """One report (article, post, policy notice), stored once however many feeds carry it."""

    __tablename__ = "item"
    __table_args__ = (Index("ix_item_status_published", "status", "published_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=512, unique=True)
    guid: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, max_length=2000, index=True)
    title: str = Field(default="", max_length=1000)
    summary: str | None = None  # sanitized HTML
    author: str | None = Field(default=None, max_length=500)
    content_hash: str = Field(max_length=64)
    published_at: dt.datetime | None = ts(index=True)
    published_estimated: bool = False  # no date in the feed: first-seen time used
    status: str = Field(default=ItemStatus.new, max_length=16)
    first_seen_at: dt.datetime = created_ts()
    updated_at: dt.datetime = created_ts()


class ItemSource(SQLModel, table=True):
    """That a feed carried an item (the same story in two feeds is one item, two sources)."""

    __tablename__ = "item_source"
    __table_args__ = (UniqueConstraint("item_id", "feed_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True, ondelete="CASCADE")
    feed_id: int = Field(foreign_key="feed.id", index=True, ondelete="CASCADE")
    entry_guid: str | None = Field(default=None, max_length=2000)
    entry_url: str | None = Field(default=None, max_length=2000)
    first_seen_at: dt.datetime = created_ts()


class ItemVendor(SQLModel, table=True):
    """A vendor an item concerns, with the matched text as evidence."""

    __tablename__ = "item_vendor"
    __table_args__ = (UniqueConstraint("item_id", "vendor_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True, ondelete="CASCADE")
    vendor_id: int = Field(foreign_key="vendor.id", index=True, ondelete="CASCADE")
    alias: str | None = Field(default=None, max_length=200)
    evidence: str | None = None  # the sentence/snippet the alias was found in
    score: float = 1.0
    origin: str = Field(default="auto", max_length=16)  # auto | feed-default | analyst


class ItemCategory(SQLModel, table=True):
    """A category suggested for an item, with a confidence and the words that triggered it."""

    __tablename__ = "item_category"
    __table_args__ = (UniqueConstraint("item_id", "category_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True, ondelete="CASCADE")
    category_id: int = Field(foreign_key="category.id", index=True, ondelete="CASCADE")
    confidence: float = 0.0
    triggers: list[str] = json_col(list)


# --------------------------------------------------------------------------- events


class Event(SQLModel, table=True):
    """Something that happened in the world, gathered from items, concerning vendors."""

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
        CheckConstraint("status IN ('suggested', 'confirmed', 'dismissed')", name="status"),
        CheckConstraint("direction_stability IN (-1, 0, 1)", name="direction_stability"),
        CheckConstraint("direction_lock_in IN (-1, 0, 1)", name="direction_lock_in"),
        Index("ix_event_status_occurred", "status", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=1000)
    category_id: int = Field(foreign_key="category.id", index=True)
    severity: int = 3
    occurred_at: dt.date = Field(index=True)
    status: str = Field(default=EventStatus.suggested, max_length=16)
    confidence: float = 1.0
    direction_stability: int = 1
    direction_lock_in: int = 0
    note: str | None = None
    merged_into_id: int | None = Field(default=None, foreign_key="event.id", ondelete="SET NULL")
    # Best (lowest letter) reliability among the feeds of the event's items; NULL: no items.
    # Kept by database triggers (initial migration); code never writes it.
    source_grade: str | None = Field(default=None, max_length=1)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: dt.datetime = created_ts()
    updated_at: dt.datetime = created_ts()


class EventItem(SQLModel, table=True):
    """Links an event to the items that report it."""

    __tablename__ = "event_item"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    item_id: int = Field(foreign_key="item.id", primary_key=True, index=True, ondelete="CASCADE")


class EventVendor(SQLModel, table=True):
    """Links an event to the vendors it concerns."""

    __tablename__ = "event_vendor"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    vendor_id: int = Field(
        foreign_key="vendor.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class ScoreLink(SQLModel, table=True):
    """What scoring reads of each (event, vendor) link, in one narrow row: kept by database
    triggers on event and event_vendor (migration 0002), never written by kb itself.

    A full rescore scans this table alone (no join through event_vendor, no date parsing),
    and on SQLite it is clustered by (vendor, category, directions), so the sums per group
    stream without a sort. ``day`` is the event's date as days since 1970-01-01; ``base`` is
    ``severity / 5 * confidence``; ``grade`` is the source grade trimmed and in capitals;
    ``merged`` is 1 when the event was merged into another."""

    __tablename__ = "score_link"
    __table_args__ = {"sqlite_with_rowid": False}

    vendor_id: int = Field(foreign_key="vendor.id", primary_key=True, ondelete="CASCADE")
    category_id: int = Field(primary_key=True)
    ds: int = Field(primary_key=True)
    dl: int = Field(primary_key=True)
    event_id: int = Field(foreign_key="event.id", primary_key=True, index=True, ondelete="CASCADE")
    status: str = Field(max_length=16)
    merged: int
    day: int
    base: float
    grade: str | None = Field(default=None, max_length=1)


class EventTag(SQLModel, table=True):
    """A free tag an analyst put on an event (besides its taxonomy category)."""

    __tablename__ = "event_tag"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(max_length=100, primary_key=True)


# --------------------------------------------------------------------------- scores and runs


class ScoreSnapshot(SQLModel, table=True):
    """One computed score of one vendor on one dimension at one as-of date, with its arithmetic."""

    __tablename__ = "score_snapshot"
    __table_args__ = (
        Index("ix_score_snapshot_vendor_dim_asof", "vendor_id", "dimension", "as_of"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id", ondelete="CASCADE")
    dimension: str = Field(max_length=16)  # stability | lock_in
    as_of: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    value: float
    band: str = Field(max_length=16)
    confidence: float
    model_version: str = Field(max_length=32)
    contributions: list[dict[str, Any]] = json_col(list)
    run_id: str | None = Field(default=None, max_length=64, index=True)
    created_at: dt.datetime = created_ts()


class IngestRun(SQLModel, table=True):
    """One ingestion run: when, outcome, and per-feed counts."""

    __tablename__ = "ingest_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: dt.datetime = created_ts()
    finished_at: dt.datetime | None = ts()
    status: str = Field(default="running", max_length=16)  # running | ok | partial | failed
    feeds_total: int = 0
    feeds_failed: int = 0
    items_new: int = 0
    items_updated: int = 0
    report: dict[str, Any] | None = json_col()
    host: str | None = Field(default=None, max_length=200)
    pid: int | None = None


class JobLock(SQLModel, table=True):
    """A named lock held in the database so two runs never overlap (SQLite and PostgreSQL)."""

    __tablename__ = "job_lock"

    name: str = Field(max_length=64, primary_key=True)
    owner: str = Field(max_length=200)
    acquired_at: dt.datetime = created_ts()
    heartbeat_at: dt.datetime = created_ts()
