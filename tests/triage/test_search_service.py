"""Full-text search over items and events on both databases; hostile query strings are safe."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlmodel import Session

from kb.events import service as events
from kb.items import service as items
from kb.search import service as search

from .factories import BASE_TIME, make_category, make_item

WEIRD = [
    '"',
    '""',
    "AND OR (",
    "NOT",
    "*",
    "a*b^c:d",
    "title:openai",
    "NEAR(openai lawsuit)",
    "'; DROP TABLE item; --",
    "\\",
    "{}[]()<>!@#$%^&*",
    "-openai",
    "openai -",
    "\x00",
    "ünïcödé ✓ 中文",
    "x" * 2000,
]


@pytest.fixture
def corpus(session: Session) -> dict:
    cat = make_category(session, value="lawsuit", label="Lawsuit")
    rows = {
        "suit": make_item(
            session,
            title="Authors sue OpenAI over training data",
            summary="<p>A class action lawsuit was filed in California.</p>",
        ),
        "outage": make_item(
            session, title="Claude outage", summary="<p>Anthropic reports elevated errors</p>"
        ),
        "html": make_item(
            session,
            title="<script>alert(1)</script> headline",
            summary='<p><a href="https://x.example">Lawsuits</a> &amp; more</p>',
        ),
    }
    ev = events.create_event(
        session=session,
        actor="cli",
        title="Authors v. OpenAI",
        category_value=cat.value,
        occurred_at=dt.date(2026, 5, 1),
        note="Copyright class action about training data",
    )
    session.commit()
    return {**rows, "event": ev}


def test_items_and_events_found_with_stemming(session: Session, corpus: dict) -> None:
    found = search.search(session=session, q="lawsuit")
    assert [h.id for h in found.items.items] == [
        corpus["html"].id,
        corpus["suit"].id,
    ]  # newest first
    assert found.items.total == 2 and not found.items_capped
    hit = found.items.items[1]
    assert hit.excerpt == "A class action lawsuit was filed in California."  # tags stripped
    assert search.search(session=session, q="training").events.items[0].id == corpus["event"].id
    assert [h.id for h in search.search(session=session, q="copyright").events.items] == [
        corpus["event"].id
    ]
    # words AND together; "quoted phrases" keep their order
    assert [h.id for h in search.search(session=session, q="openai training").items.items] == [
        corpus["suit"].id
    ]
    assert search.search(session=session, q='"training authors"').items.total == 0
    assert search.search(session=session, q='"sue openai"').items.total == 1


def test_index_follows_updates_and_deletes(session: Session, corpus: dict) -> None:
    item = corpus["outage"]
    item.title = "Claude downtime"
    item.summary = None
    session.add(item)
    session.commit()
    assert search.search_items(session=session, q="outage")[0].total == 0
    assert search.search_items(session=session, q="downtime")[0].total == 1
    session.delete(item)
    session.commit()
    assert search.search_items(session=session, q="downtime")[0].total == 0
    events.update_event(
        session=session, event_id=corpus["event"].id, changes={"note": "moved"}, actor="cli"
    )
    session.commit()
    assert search.search_events(session=session, q="copyright")[0].total == 0


def test_weird_queries_never_error(session: Session, corpus: dict) -> None:
    for q in WEIRD:
        check_query(session, q)


def check_query(session: Session, q: str) -> None:
    results = search.search(session=session, q=q)
    assert results.items.total >= 0 and results.events.total >= 0
    # the same text as an inbox or events-list filter
    inbox = items.inbox(session=session, filters=items.InboxFilters(q=q, status="all"))
    assert inbox.total >= 0
    assert events.list_events(session=session, filters=events.EventFilters(q=q)).total >= 0


def test_parse_query() -> None:
    assert search.parse_query('  "Open  AI" sues, AND or (x) ') == search.ParsedQuery(
        ("Open AI", "sues", "x")
    )
    assert search.parse_query('"') is None and search.parse_query("AND OR (") is None
    assert search.parse_query(None) is None
    assert len(search.parse_query(" ".join(["w"] * 100)).phrases) == search.MAX_TERMS


def test_pagination_and_capped_totals(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(12):
        make_item(session, title=f"Pricing change {n}", published_at=BASE_TIME)
    session.commit()
    page, capped = search.search_items(session=session, q="pricing", page=2, per_page=5)
    assert page.total == 12 and page.pages == 3 and not capped
    assert [h.title for h in page.items] == [f"Pricing change {n}" for n in (6, 5, 4, 3, 2)]
    monkeypatch.setattr(search, "COUNT_CAP", 10)
    page, capped = search.search_items(session=session, q="pricing")
    assert capped and page.total == 10


def test_postgres_uses_the_gin_index(session: Session, corpus: dict) -> None:
    if session.get_bind().dialect.name != "postgresql":
        assert session.execute(text("SELECT count(*) FROM item_fts")).scalar_one() == 3
        return
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        session.execute(
            text(
                f"EXPLAIN SELECT id FROM item WHERE {search.PG_ITEM_TSV} "
                "@@ websearch_to_tsquery('english', 'lawsuit')"
            )
        ).scalars()
    )
    assert "ix_item_fts" in plan, plan
