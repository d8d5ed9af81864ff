"""Feeds: keep the feed table in step with feeds.yaml, record fetch outcomes, report feed health.

The URL rule: ``source_url`` is the URL as written in feeds.yaml, ``url`` the one fetched. A
permanent redirect moves ``url`` and leaves ``source_url`` alone, so the next sync does not undo
it; only a change of the URL in the file (``source_url`` differs from the file) resets ``url``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from kb.audit import service as audit
from kb.models import Category, Feed, ItemSource, Vendor, utcnow

ACTOR_FILE = "feeds.yaml"
ACTOR_INGEST = "ingest"
BACKOFF_BASE = dt.timedelta(minutes=15)
BACKOFF_MAX = dt.timedelta(hours=24)
STATES = ("ok", "warning", "error", "gone", "disabled", "never")


class FeedConfigError(ValueError):
    """feeds.yaml names something the database does not know (a vendor, a tag)."""


class FeedSpecLike(Protocol):
    """The fields of one feeds.yaml entry (kb.ingest.sources.FeedSpec has them)."""

    name: str
    url: str
    kind: str
    reliability: str
    vendor: str | None
    tags: list[str]
    include: list[str]
    exclude: list[str]
    enabled: bool


@dataclass
class SyncReport:
    """What a sync changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _config(spec: FeedSpecLike, vendor_id: int | None) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "reliability": spec.reliability,
        "default_vendor_id": vendor_id,
        "default_tags": list(spec.tags),
        "include_keywords": list(spec.include),
        "exclude_keywords": list(spec.exclude),
        "enabled": spec.enabled,
    }


def sync_feeds(
    *,
    session: Session,
    specs: Iterable[FeedSpecLike],
    lines: Mapping[str, int] | None = None,
    where: str = "feeds.yaml",
) -> SyncReport:
    """Create and update feed rows from feeds.yaml (by name); feeds no longer listed are
    disabled, never deleted (their items keep their sources). Raises FeedConfigError when a
    feed names an unknown vendor or tag (once the catalog is loaded)."""
    specs = list(specs)
    lines = lines or {}
    report = SyncReport()
    vendors = {slug: vid for vid, slug in session.exec(select(Vendor.id, Vendor.slug))}
    categories = set(session.exec(select(Category.value)))
    for spec in specs:
        at = f"{where}:{lines.get(spec.name, 0)}"
        if spec.vendor and spec.vendor not in vendors:
            if vendors:
                raise FeedConfigError(
                    f"{at}: feed {spec.name!r}: vendor: unknown vendor slug {spec.vendor!r} "
                    f"(known: {', '.join(sorted(vendors))})"
                )
            report.warnings.append(
                f"feed {spec.name!r}: vendor {spec.vendor!r} ignored until the catalog is "
                "loaded (kb vendors load)"
            )
        unknown = [t for t in spec.tags if t not in categories]
        if unknown and categories:
            raise FeedConfigError(
                f"{at}: feed {spec.name!r}: tags: unknown taxonomy value(s) "
                f"{', '.join(unknown)} (known: {', '.join(sorted(categories))})"
            )
    existing = {f.name: f for f in session.exec(select(Feed))}
    now = utcnow()
    for spec in specs:
        values = _config(spec, vendors.get(spec.vendor) if spec.vendor else None)
        feed = existing.get(spec.name)
        if feed is None:
            feed = Feed(name=spec.name, url=spec.url, source_url=spec.url, **values)
            session.add(feed)
            session.flush()
            report.created.append(spec.name)
            audit.record(
                session=session,
                actor=ACTOR_FILE,
                action="feed.create",
                entity_type="feed",
                entity_id=feed.id,
                after={"name": spec.name, "url": spec.url, **values},
            )
            continue
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        if spec.url != feed.source_url:
            # The file's URL changed: fetch the new one from scratch.
            before.update(url=feed.url, source_url=feed.source_url)
            after.update(url=spec.url, source_url=spec.url)
            feed.url = spec.url
            feed.source_url = spec.url
            feed.etag = feed.last_modified = None
            feed.gone = False
            feed.error_count = 0
            feed.next_check_at = None
            feed.last_error = None
        for name, value in values.items():
            if getattr(feed, name) != value:
                before[name] = getattr(feed, name)
                after[name] = value
                setattr(feed, name, value)
        if after:
            feed.updated_at = now
            session.add(feed)
            report.updated.append(spec.name)
            audit.record(
                session=session,
                actor=ACTOR_FILE,
                action="feed.update",
                entity_type="feed",
                entity_id=feed.id,
                before=before,
                after=after,
            )
        else:
            report.unchanged.append(spec.name)
    listed = {s.name for s in specs}
    for name, feed in existing.items():
        if name not in listed and feed.enabled:
            feed.enabled = False
            feed.updated_at = now
            session.add(feed)
            report.disabled.append(name)
            audit.record(
                session=session,
                actor=ACTOR_FILE,
                action="feed.disable",
                entity_type="feed",
                entity_id=feed.id,
                before={"enabled": True},
                after={"enabled": False, "reason": f"not in {where}"},
            )
    session.flush()
    return report


def list_feeds(*, session: Session) -> list[Feed]:
    """Every feed, by name."""
    return list(session.exec(select(Feed).order_by(col(Feed.name))))


def due_feeds(*, session: Session, now: dt.datetime, force: bool = False) -> list[Feed]:
    """Enabled feeds that are not gone, whose back-off (next_check_at) has passed."""
    feeds = [f for f in list_feeds(session=session) if f.enabled and not f.gone]
    if force:
        return feeds
    return [f for f in feeds if f.next_check_at is None or f.next_check_at <= now]


def backoff(error_count: int) -> dt.timedelta:
    """How long a feed rests after its n-th consecutive error: 15 min, doubling, at most 24 h."""
    return min(BACKOFF_BASE * (2 ** max(error_count - 1, 0)), BACKOFF_MAX)


def record_success(
    *,
    session: Session,
    feed: Feed,
    now: dt.datetime,
    status: int | None,
    etag: str | None,
    last_modified: str | None,
    permanent_url: str | None = None,
    ill_formed: bool | None = None,
    problem: str | None = None,
    entries: int = 0,
) -> None:
    """A fetch that worked (200 parsed, or 304): clear the error state, keep the validators,
    and follow a permanent redirect (audited)."""
    if permanent_url and permanent_url != feed.url:
        audit.record(
            session=session,
            actor=ACTOR_INGEST,
            action="feed.redirect",
            entity_type="feed",
            entity_id=feed.id,
            before={"url": feed.url},
            after={"url": permanent_url},
        )
        feed.url = permanent_url[:2000]
    feed.checked_at = now
    feed.last_success_at = now
    feed.last_status = status
    if etag is not None or status != 304:
        feed.etag = (etag or None) and etag[:500]
    if last_modified is not None or status != 304:
        feed.last_modified = (last_modified or None) and last_modified[:100]
    if ill_formed is not None:
        feed.ill_formed = ill_formed
    feed.last_error = problem if ill_formed else None
    feed.error_count = 0
    feed.next_check_at = None
    feed.gone = False
    feed.entries_total += entries
    session.add(feed)


def record_not_modified(
    *, session: Session, changes: list[dict[str, Any]], now: dt.datetime
) -> None:
    """Many 304 answers at once (set-based): each change is {"id", "etag", "last_modified"}
    (validators the server re-sent, or None to keep the stored ones)."""
    if not changes:
        return
    table = Feed.__table__  # type: ignore[attr-defined]
    state = {
        "checked_at": now,
        "last_success_at": now,
        "last_status": 304,
        "error_count": 0,
        "next_check_at": None,
        "gone": False,
    }
    for keep in (True, False):
        rows = [
            {"b_id": c["id"], "b_etag": c["etag"], "b_lm": c["last_modified"]}
            for c in changes
            if (c["etag"] is None and c["last_modified"] is None) is keep
        ]
        if not rows:
            continue
        values: dict[str, Any] = dict(state)
        if not keep:
            values["etag"] = func.coalesce(bindparam("b_etag"), table.c.etag)
            values["last_modified"] = func.coalesce(bindparam("b_lm"), table.c.last_modified)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(values)
            .execution_options(synchronize_session=False),
            rows,
        )
    # An ill-formed flag and last_error belong to the last parse, which a 304 does not repeat.


def record_failure(
    *,
    session: Session,
    feed: Feed,
    now: dt.datetime,
    error: str,
    status: int | None = None,
    retry_after: float | None = None,
    gone: bool = False,
) -> None:
    """A fetch or parse that failed: keep the error, count it, and back off (Retry-After wins)."""
    feed.checked_at = now
    feed.last_status = status
    feed.last_error = error[:2000]
    feed.error_count += 1
    feed.gone = gone
    if retry_after is not None:
        feed.next_check_at = now + dt.timedelta(seconds=retry_after)
    else:
        feed.next_check_at = now + backoff(feed.error_count)
    session.add(feed)


def feed_state(feed: Feed) -> str:
    """ok | warning | error | gone | disabled | never."""
    if not feed.enabled:
        return "disabled"
    if feed.gone:
        return "gone"
    if feed.checked_at is None:
        return "never"
    if feed.error_count > 0:
        return "error"
    if feed.ill_formed:
        return "warning"
    return "ok"


def feed_health(*, session: Session) -> list[dict[str, Any]]:
    """One row per feed for the health page: fetch state, item count and a state word."""
    counts = dict(
        session.exec(
            select(ItemSource.feed_id, func.count()).group_by(col(ItemSource.feed_id))
        ).all()
    )
    return [
        {
            "id": f.id,
            "name": f.name,
            "url": f.url,
            "source_url": f.source_url,
            "kind": f.kind,
            "reliability": f.reliability,
            "enabled": f.enabled,
            "last_status": f.last_status,
            "last_error": f.last_error,
            "error_count": f.error_count,
            "checked_at": f.checked_at,
            "last_success_at": f.last_success_at,
            "next_check_at": f.next_check_at,
            "gone": f.gone,
            "ill_formed": f.ill_formed,
            "items": counts.get(f.id or 0, 0),
            "state": feed_state(f),
        }
        for f in list_feeds(session=session)
    ]
