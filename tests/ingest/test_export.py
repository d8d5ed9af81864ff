"""`kb export items` content: vendors with evidence, categories with confidence."""

from __future__ import annotations

import io
import json

from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb.config import Settings
from kb.ingest.export import write_jsonl
from kb.ingest.fetch import FetchOptions
from kb.ingest.run import run_ingest
from tests.ingest.factories import entry, feed_spec, make_category, make_vendor, rss, write_feeds
from tests.ingest.server import FeedServer, Route


def test_items_export_carries_matches_and_suggestions(
    settings: Settings, engine: Engine, session: Session, feed_server: FeedServer
) -> None:
    make_vendor(session, "acme", "Acme")
    make_category(session, "lawsuit")
    session.commit()
    feed_server.routes["/a"] = Route(body=rss([entry(1, title="Acme sued in a class action")]))
    feed_server.routes["/b"] = Route(body=rss([entry(1, title="Acme sued in a class action")]))
    path = write_feeds(
        settings.data_dir / "feeds.yaml",
        [feed_spec("A", feed_server.url("/a")), feed_spec("B", feed_server.url("/b"))],
    )
    run_ingest(engine=engine, settings=settings, feeds_path=path, options=FetchOptions(timeout=2))
    out = io.StringIO()
    assert write_jsonl(session=session, out=out) == 1
    (row,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert row["title"] == "Acme sued in a class action"
    assert row["url"] == "https://news.example.test/story/1"
    assert row["guid"] == "https://news.example.test/story/1"
    assert sorted(row["feeds"]) == ["A", "B"]
    assert row["vendors"] == ["acme"]
    (match,) = row["vendor_matches"]
    assert match["alias"] == "Acme" and "Acme sued" in match["evidence"]
    assert match["origin"] == "auto"
    assert row["suggested_categories"] == ["lawsuit"]
    (suggestion,) = row["category_suggestions"]
    assert suggestion["confidence"] > 0.8 and "class action" in suggestion["triggers"]
    assert row["published_at"] == "2026-11-02T10:00:00+00:00"
    assert row["published_estimated"] is False
