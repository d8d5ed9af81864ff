"""The whole job against a live fixture server, on SQLite and PostgreSQL: nothing lost, nothing
stored twice, bad feeds never stop the run, fetch state and back-off recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb.config import Settings
from kb.feeds.service import FeedConfigError
from kb.ingest.fetch import FetchOptions
from kb.ingest.run import RunReport, run_ingest
from kb.models import Feed, IngestRun, Item, ItemCategory, ItemSource, ItemVendor, utcnow
from tests.ingest.factories import entry, feed_spec, make_category, make_vendor, rss, write_feeds
from tests.ingest.server import FeedServer, Route

FAST = FetchOptions(timeout=1.0, connect_timeout=0.5, max_bytes=256 * 1024, concurrency=4)


def run(settings: Settings, engine: Engine, feeds: list[dict[str, Any]], **kw: Any) -> RunReport:
    path = write_feeds(settings.data_dir / "feeds.yaml", feeds)
    return run_ingest(engine=engine, settings=settings, feeds_path=path, options=FAST, **kw)


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def by_name(report: RunReport) -> dict[str, Any]:
    return {f.name: f for f in report.feeds}


def feed(session: Session, name: str) -> Feed:
    session.expire_all()
    return session.execute(select(Feed).where(Feed.name == name)).scalar_one()


def test_first_run_stores_rerun_adds_nothing(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    feed_server.routes["/a"] = Route(body=rss([entry(i) for i in range(10)]), etag='"a1"')
    feed_server.routes["/b"] = Route(body=rss([entry(i) for i in range(20, 25)]))
    feeds = [feed_spec("A", feed_server.url("/a")), feed_spec("B", feed_server.url("/b"))]
    first = run(settings, engine, feeds)
    assert first.exit_code == 0 and first.status == "ok"
    assert (by_name(first)["A"].new, by_name(first)["B"].new) == (10, 5)
    assert count(session, Item) == 15 and count(session, ItemSource) == 15

    second = run(settings, engine, feeds)
    assert by_name(second)["A"].status == "not-modified"
    assert by_name(second)["B"].unchanged == 5 and second.total("new") == 0
    assert second.total("updated") == 0
    assert count(session, Item) == 15 and count(session, ItemSource) == 15
    assert feed_server.hits_of("/a")[-1].headers["if-none-match"] == '"a1"'

    runs = session.execute(select(IngestRun).order_by(IngestRun.id)).scalars().all()  # type: ignore[arg-type]
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[0].items_new == 15 and runs[0].finished_at is not None
    assert {f["name"] for f in runs[0].report["feeds"]} == {"A", "B"}  # type: ignore[index]


def test_same_story_in_two_feeds_is_one_item_with_two_sources(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    shared = entry(1, link="https://news.example.test/story/1?utm_source=feedA", guid=None)
    other = entry(1, link="https://news.example.test/story/1?utm_source=feedB#top", guid=None)
    feed_server.routes["/a"] = Route(body=rss([shared, entry(2)]))
    feed_server.routes["/b"] = Route(body=rss([other]))
    report = run(
        settings,
        engine,
        [feed_spec("A", feed_server.url("/a")), feed_spec("B", feed_server.url("/b"))],
    )
    assert report.total("new") == 2 and report.total("linked") == 1
    item = session.execute(
        select(Item).where(Item.url == "https://news.example.test/story/1")
    ).scalar_one()
    feeds = session.execute(select(ItemSource.feed_id).where(ItemSource.item_id == item.id)).all()
    assert len(feeds) == 2


def test_edited_entries_update_in_place_without_a_duplicate(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    acme = make_vendor(session, "acme", "Acme")
    make_vendor(session, "globex", "Globex")
    session.commit()
    feed_server.routes["/a"] = Route(body=rss([entry(1, title="Acme ships a model"), entry(2)]))
    feeds = [feed_spec("A", feed_server.url("/a"))]
    run(settings, engine, feeds)
    feed_server.routes["/a"] = Route(body=rss([entry(1, title="Globex ships a model"), entry(2)]))
    report = run(settings, engine, feeds)
    assert (report.total("new"), report.total("updated"), report.total("unchanged")) == (0, 1, 1)
    assert count(session, Item) == 2
    item = session.execute(select(Item).where(Item.title == "Globex ships a model")).scalar_one()
    vendors = (
        session.execute(select(ItemVendor.vendor_id).where(ItemVendor.item_id == item.id))
        .scalars()
        .all()
    )
    assert acme.id not in vendors and len(vendors) == 1


def test_missing_guids_dates_and_duplicates_within_a_feed(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    no_guid = entry(1, guid=None)
    nothing = {"title": "Only a title", "description": "and a body"}
    undated = entry(3, pubDate=None)
    future = entry(4, pubDate="Mon, 01 Jan 2035 00:00:00 GMT")
    feed_server.routes["/a"] = Route(body=rss([no_guid, nothing, undated, future, no_guid]))
    feeds = [feed_spec("A", feed_server.url("/a"))]
    first = run(settings, engine, feeds)
    assert first.total("new") == 4
    items = {i.title: i for i in session.execute(select(Item)).scalars()}
    assert items["Only a title"].dedup_key.startswith("hash:")
    assert items["Story number 1"].dedup_key.startswith("url:")
    assert items["Story number 3"].published_estimated
    assert items["Story number 4"].published_estimated
    assert items["Story number 4"].published_at <= utcnow()  # type: ignore[operator]
    assert not items["Story number 1"].published_estimated
    before = {t: i.published_at for t, i in items.items()}
    second = run(settings, engine, feeds)
    assert second.total("new") == 0 and second.total("updated") == 0
    session.expire_all()
    after = {i.title: i.published_at for i in session.execute(select(Item)).scalars()}
    assert after == before  # first-seen dates stay put


def test_failures_are_recorded_back_off_and_recover(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    feed_server.routes["/ok"] = Route(body=rss([entry(1)]))
    feed_server.routes["/bad"] = Route(status=500)
    feeds = [feed_spec("ok", feed_server.url("/ok")), feed_spec("bad", feed_server.url("/bad"))]
    report = run(settings, engine, feeds)
    assert report.exit_code == 1 and report.status == "partial"
    assert [f.name for f in report.failed] == ["bad"]
    bad = feed(session, "bad")
    assert bad.error_count == 1 and bad.last_status == 500 and "500" in (bad.last_error or "")
    assert bad.next_check_at is not None and bad.next_check_at > utcnow()

    hits = len(feed_server.hits_of("/bad"))
    again = run(settings, engine, feeds)
    assert by_name(again)["bad"].status == "deferred" and again.exit_code == 1
    assert len(feed_server.hits_of("/bad")) == hits  # backing off: not fetched

    feed_server.routes["/bad"] = Route(body=rss([entry(2)]))
    fixed = run(settings, engine, feeds, force=True)
    assert fixed.exit_code == 0 and by_name(fixed)["bad"].new == 1
    bad = feed(session, "bad")
    assert bad.error_count == 0 and bad.last_error is None and bad.next_check_at is None


def test_gone_feeds_are_marked_and_not_fetched_again(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    feed_server.routes["/gone"] = Route(status=410)
    feeds = [feed_spec("gone", feed_server.url("/gone"))]
    assert by_name(run(settings, engine, feeds))["gone"].status == "gone"
    assert feed(session, "gone").gone
    report = run(settings, engine, feeds)
    assert by_name(report)["gone"].status == "gone" and report.exit_code == 1
    assert len(feed_server.hits_of("/gone")) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_check(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer, status: int
) -> None:
    feed_server.routes["/busy"] = Route(status=status, headers={"Retry-After": "3600"})
    run(settings, engine, [feed_spec("busy", feed_server.url("/busy"))])
    busy = feed(session, "busy")
    assert busy.next_check_at is not None
    wait = (busy.next_check_at - utcnow()).total_seconds()
    assert 3500 < wait <= 3600


def test_permanent_redirect_moves_the_url_and_the_file_does_not_undo_it(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    feed_server.routes["/new"] = Route(body=rss([entry(1)]))
    feed_server.routes["/old"] = Route(status=301, location=feed_server.url("/new"))
    feed_server.routes["/other"] = Route(body=rss([entry(2)]))
    feeds = [feed_spec("moved", feed_server.url("/old"))]
    report = run(settings, engine, feeds)
    assert by_name(report)["moved"].redirected_to == feed_server.url("/new")
    assert feed(session, "moved").url == feed_server.url("/new")
    run(settings, engine, feeds)  # same file: the stored URL stays the redirected one
    moved = feed(session, "moved")
    assert moved.url == feed_server.url("/new") and moved.source_url == feed_server.url("/old")
    assert len(feed_server.hits_of("/old")) == 1
    # the file's URL changed: that wins
    run(settings, engine, [feed_spec("moved", feed_server.url("/other"))])
    assert feed(session, "moved").url == feed_server.url("/other")


def test_bad_bodies_are_per_feed_errors_and_broken_xml_is_kept(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    broken = rss([entry(1), entry(2)]).replace(b"</channel></rss>", b"<item><title>a & b")
    latin = rss([entry(3, title="Señor café")], encoding="iso-8859-1").replace(
        b'encoding="iso-8859-1"', b'encoding="utf-8"'
    )
    feed_server.routes["/html"] = Route(
        body=b"<!DOCTYPE html><html><body>hi</body></html>", content_type="text/html"
    )
    feed_server.routes["/empty"] = Route(body=b"")
    feed_server.routes["/broken"] = Route(body=broken)
    feed_server.routes["/latin"] = Route(body=latin)
    feed_server.routes["/huge"] = Route(body=b"<rss>" + b"x" * (FAST.max_bytes + 1) + b"</rss>")
    feed_server.routes["/slow"] = Route(body=rss([entry(9)]), delay=2)
    feed_server.routes["/good"] = Route(body=rss([entry(5)]), gzip=True)
    names = ["html", "empty", "broken", "latin", "huge", "slow", "good"]
    report = run(settings, engine, [feed_spec(n, feed_server.url(f"/{n}")) for n in names])
    out = by_name(report)
    assert "HTML page" in (out["html"].error or "")
    assert "empty body" in (out["empty"].error or "")
    assert "larger than" in (out["huge"].error or "")
    assert "timed out" in (out["slow"].error or "")
    assert out["broken"].status == "ok" and out["broken"].ill_formed and out["broken"].new >= 2
    assert out["latin"].status == "ok" and out["latin"].new == 1
    assert out["good"].new == 1
    assert feed(session, "broken").ill_formed
    assert {f.name for f in report.failed} == {"html", "empty", "huge", "slow"}
    titles = set(session.execute(select(Item.title)).scalars())
    assert "Story number 5" in titles and any(t.startswith("Se") for t in titles)


def test_vendors_feed_defaults_filters_and_tags(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    acme = make_vendor(
        session,
        "acme",
        "Acme",
        aliases=[{"text": "Acme"}, {"text": "RoadRunner", "kind": "product"}],
    )
    globex = make_vendor(session, "globex", "Globex")
    lawsuit = make_category(session, "lawsuit")
    outage = make_category(session, "outage")
    session.commit()
    feed_server.routes["/blog"] = Route(
        body=rss([entry(1, title="RoadRunner 2 is out"), entry(2, title="Our offsite")])
    )
    feed_server.routes["/news"] = Route(
        body=rss(
            [
                entry(10, title="Globex sued in class action lawsuit"),
                entry(11, title="Cooking tips", description="nothing about it"),
                entry(12, title="Globex webinar on lawsuits"),
            ]
        )
    )
    feeds = [
        feed_spec(
            "blog", feed_server.url("/blog"), kind="vendor-blog", vendor="acme", tags=["outage"]
        ),
        feed_spec(
            "news", feed_server.url("/news"), include=["Globex", "Acme"], exclude=["webinar"]
        ),
    ]
    report = run(settings, engine, feeds)
    assert by_name(report)["news"].filtered == 2 and by_name(report)["news"].new == 1
    links = session.execute(
        select(
            Item.title,
            ItemVendor.vendor_id,
            ItemVendor.origin,
            ItemVendor.alias,
            ItemVendor.evidence,
        ).join(ItemVendor, ItemVendor.item_id == Item.id)  # type: ignore[arg-type]
    ).all()
    got = {(t, v, o, a) for t, v, o, a, _e in links}
    assert ("RoadRunner 2 is out", acme.id, "auto", "RoadRunner") in got
    assert ("Our offsite", acme.id, "feed-default", None) in got
    assert ("Globex sued in class action lawsuit", globex.id, "auto", "Globex") in got
    assert all(e for *_x, e in links)
    cats = session.execute(
        select(
            Item.title, ItemCategory.category_id, ItemCategory.confidence, ItemCategory.triggers
        ).join(ItemCategory, ItemCategory.item_id == Item.id)  # type: ignore[arg-type]
    ).all()
    by_title = {(t, c): (conf, trig) for t, c, conf, trig in cats}
    conf, trig = by_title[("Globex sued in class action lawsuit", lawsuit.id)]
    assert conf > 0.9 and "class action" in trig
    assert by_title[("Our offsite", outage.id)] == (0.5, ["feed default"])


def test_a_bad_configuration_fetches_nothing(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    make_vendor(session, "acme")
    session.commit()
    feed_server.routes["/a"] = Route(body=rss([entry(1)]))
    with pytest.raises(
        FeedConfigError, match=r"feeds.yaml:\d+: .*vendor: unknown vendor slug 'nope'"
    ):
        run(settings, engine, [feed_spec("a", feed_server.url("/a"), vendor="nope")])
    assert feed_server.hits == [] and count(session, IngestRun) == 0 and count(session, Feed) == 0
    # the lock was given back
    assert run(settings, engine, [feed_spec("a", feed_server.url("/a"))]).exit_code == 0


def test_feeds_dropped_from_the_file_are_disabled_not_deleted(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    feed_server.routes["/a"] = Route(body=rss([entry(1)]))
    feed_server.routes["/b"] = Route(body=rss([entry(2)]))
    run(
        settings,
        engine,
        [feed_spec("a", feed_server.url("/a")), feed_spec("b", feed_server.url("/b"))],
    )
    report = run(settings, engine, [feed_spec("a", feed_server.url("/a"))])
    assert report.sync["disabled"] == ["b"] and [f.name for f in report.feeds] == ["a"]
    assert not feed(session, "b").enabled and count(session, Item) == 2
    assert dt.datetime.now(dt.UTC) >= report.started_at
