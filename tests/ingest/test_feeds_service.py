"""kb.feeds.service: sync from feeds.yaml (audited), fetch state, and feed health."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from kb.feeds import service
from kb.ingest.sources import FeedSpec
from kb.models import AuditLog, utcnow
from tests.ingest.factories import make_category, make_vendor


def spec(name: str, url: str = "https://x.test/feed", **kw: object) -> FeedSpec:
    return FeedSpec(name=name, url=url, **kw)  # type: ignore[arg-type]


def test_sync_creates_updates_and_audits(session: Session) -> None:
    acme = make_vendor(session, "acme")
    make_category(session, "outage")
    report = service.sync_feeds(session=session, specs=[spec("a", vendor="acme", tags=["outage"])])
    assert report.created == ["a"]
    (feed,) = service.list_feeds(session=session)
    assert feed.default_vendor_id == acme.id and feed.default_tags == ["outage"]
    assert feed.source_url == feed.url == "https://x.test/feed"
    again = service.sync_feeds(session=session, specs=[spec("a", vendor="acme", tags=["outage"])])
    assert again.unchanged == ["a"]
    changed = service.sync_feeds(session=session, specs=[spec("a", reliability="A")])
    assert changed.updated == ["a"]
    actions = [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id))]  # type: ignore[arg-type]
    assert actions == ["feed.create", "feed.update"]


def test_without_a_catalog_unknown_vendors_are_warnings(session: Session) -> None:
    report = service.sync_feeds(session=session, specs=[spec("a", vendor="acme", tags=["x"])])
    assert report.created == ["a"] and "kb vendors load" in report.warnings[0]


def test_health_states(session: Session) -> None:
    now = utcnow()
    service.sync_feeds(
        session=session,
        specs=[
            spec(n, url=f"https://x.test/{n}") for n in ("ok", "warn", "err", "gone", "off", "new")
        ],
    )
    feeds = {f.name: f for f in service.list_feeds(session=session)}
    service.record_success(
        session=session, feed=feeds["ok"], now=now, status=200, etag='"e"', last_modified=None
    )
    service.record_success(
        session=session,
        feed=feeds["warn"],
        now=now,
        status=200,
        etag=None,
        last_modified=None,
        ill_formed=True,
        problem="SAXParseException: mismatched tag",
    )
    service.record_failure(
        session=session, feed=feeds["err"], now=now, error="HTTP 500", status=500
    )
    service.record_failure(
        session=session, feed=feeds["gone"], now=now, error="HTTP 410", status=410, gone=True
    )
    feeds["off"].enabled = False
    session.flush()
    health = {h["name"]: h for h in service.feed_health(session=session)}
    assert {n: h["state"] for n, h in health.items()} == {
        "ok": "ok",
        "warn": "warning",
        "err": "error",
        "gone": "gone",
        "off": "disabled",
        "new": "never",
    }
    assert health["warn"]["last_error"].startswith("SAXParseException")
    assert health["err"]["error_count"] == 1 and health["err"]["next_check_at"] > now
    assert health["ok"]["items"] == 0 and set(health["ok"]) >= {
        "url",
        "kind",
        "enabled",
        "last_status",
        "checked_at",
        "last_success_at",
        "ill_formed",
    }
    # a 304 keeps the validators it was given
    service.record_success(
        session=session, feed=feeds["ok"], now=now, status=304, etag=None, last_modified=None
    )
    assert feeds["ok"].etag == '"e"'


def test_backoff_doubles_up_to_a_day() -> None:
    assert service.backoff(1) == dt.timedelta(minutes=15)
    assert service.backoff(2) == dt.timedelta(minutes=30)
    assert service.backoff(20) == dt.timedelta(hours=24)
