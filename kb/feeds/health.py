"""Feed health for the UI: each feed's state from its fetch columns, plus item counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from kb.models import Feed, ItemSource, utcnow

STALE_AFTER = dt.timedelta(days=14)


@dataclass(frozen=True)
class FeedHealth:
    """One feed's state as the UI shows it."""

    id: int
    name: str
    url: str
    kind: str
    reliability: str
    enabled: bool
    checked_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_status: int | None
    last_error: str | None
    error_count: int
    next_check_at: dt.datetime | None
    state: str  # ok | failing | gone | stale | never-checked | disabled
    items: int
    items_week: int

    @property
    def warning(self) -> bool:
        """True when an analyst should look at this feed."""
        return self.state in ("failing", "gone", "stale")


def _state(feed: Feed, now: dt.datetime) -> str:
    if not feed.enabled:
        return "disabled"
    if feed.gone:
        return "gone"
    if feed.error_count > 0 or feed.last_error:
        return "failing"
    if feed.checked_at is None:
        return "never-checked"
    if feed.last_success_at is None or now - feed.last_success_at > STALE_AFTER:
        return "stale"
    return "ok"


def feed_health(
    *, session: Session, with_counts: bool = True, now: dt.datetime | None = None
) -> list[FeedHealth]:
    """Every feed with its state (problems first), and how many items it brought."""
    now = now or utcnow()
    totals: dict[int, int] = {}
    week: dict[int, int] = {}
    if with_counts:
        group = (col(ItemSource.feed_id),)
        counts = sa_select(*group, func.count()).group_by(*group)
        totals = {int(r[0]): int(r[1]) for r in session.execute(counts)}
        recent = (
            sa_select(*group, func.count())
            .where(col(ItemSource.first_seen_at) >= now - dt.timedelta(days=7))
            .group_by(*group)
        )
        week = {int(r[0]): int(r[1]) for r in session.execute(recent)}
    rows = []
    for feed in session.exec(select(Feed).order_by(col(Feed.name))):
        assert feed.id is not None
        rows.append(
            FeedHealth(
                id=feed.id,
                name=feed.name,
                url=feed.url,
                kind=feed.kind,
                reliability=feed.reliability,
                enabled=feed.enabled,
                checked_at=feed.checked_at,
                last_success_at=feed.last_success_at,
                last_status=feed.last_status,
                last_error=feed.last_error,
                error_count=feed.error_count,
                next_check_at=feed.next_check_at,
                state=_state(feed, now),
                items=totals.get(feed.id, 0),
                items_week=week.get(feed.id, 0),
            )
        )
    rows.sort(key=lambda r: (not r.warning, r.name.casefold()))
    return rows
