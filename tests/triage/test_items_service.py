"""The inbox: filters, newest first, pagination, eager-loaded details; dismiss with audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from kb.items import service as items
from kb.models import AuditLog, Item

from .factories import BASE_TIME, make_category, make_feed, make_item, make_vendor


@pytest.fixture
def inbox_world(session: Session) -> dict:
    openai = make_vendor(session, slug="openai", name="OpenAI")
    xai = make_vendor(session, slug="xai", name="xAI")
    lawsuit = make_category(session, value="lawsuit", label="Lawsuit")
    outage = make_category(session, value="outage", label="Outage")
    wire, blog = make_feed(session, name="Wire"), make_feed(session, name="Blog")
    rows = {
        "old": make_item(
            session,
            title="OpenAI sued over training data",
            vendors=[openai],
            categories=[(lawsuit, 0.9)],
            feeds=[wire],
            published_at=BASE_TIME - dt.timedelta(days=3),
        ),
        "mid": make_item(
            session,
            title="Grok goes down for hours",
            vendors=[xai],
            categories=[(outage, 0.8), (lawsuit, 0.1)],
            feeds=[wire, blog],
            published_at=BASE_TIME - dt.timedelta(days=1),
            summary="<p>An <b>outage</b> at xAI &amp; friends</p>",
        ),
        "new": make_item(
            session,
            title="Nothing to see",
            feeds=[blog],
            published_at=BASE_TIME,
        ),
        "done": make_item(session, title="Already triaged", status="triaged"),
    }
    session.commit()
    return {"feeds": (wire, blog), "xai": xai, **rows}


def ids(page) -> list[int]:
    return [r.item.id for r in page.items]


def test_default_inbox_is_new_items_newest_first(session: Session, inbox_world: dict) -> None:
    page = items.inbox(session=session)
    w = inbox_world
    assert ids(page) == [w["new"].id, w["mid"].id, w["old"].id]
    assert page.total == 3
    mid = page.items[1]
    assert [v.slug for v in mid.vendors] == ["xai"]
    assert mid.vendors[0].evidence == "... xAI said ..."
    assert [c.value for c in mid.categories] == ["outage", "lawsuit"]  # most confident first
    assert mid.top_category.confidence == 0.8
    assert [f.name for f in mid.feeds] == ["Blog", "Wire"]


@pytest.mark.parametrize("dense", [2_000, 0])  # IN by id / EXISTS while walking the dates
def test_filters(
    session: Session, inbox_world: dict, dense: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(items, "DENSE_LINKS", dense)
    w = inbox_world
    wire, blog = w["feeds"]

    def find(**kw: object) -> list[int]:
        return ids(items.inbox(session=session, filters=items.InboxFilters(**kw)))

    assert find(vendor="openai") == [w["old"].id]
    assert find(category="lawsuit") == [w["mid"].id, w["old"].id]
    assert find(feed_id=blog.id) == [w["new"].id, w["mid"].id]
    assert find(date_from=(BASE_TIME - dt.timedelta(days=1)).date()) == [w["new"].id, w["mid"].id]
    assert find(date_to=(BASE_TIME - dt.timedelta(days=1)).date()) == [w["mid"].id, w["old"].id]
    assert find(q="outage") == [w["mid"].id]  # found in the summary
    assert find(q="sued training") == [w["old"].id]
    assert find(q="grok", vendor="xai", category="outage", feed_id=wire.id) == [w["mid"].id]
    assert find(status="triaged") == [w["done"].id]
    assert len(find(status="all")) == 4
    assert find(q='" AND OR (') == [w["new"].id, w["mid"].id, w["old"].id]  # no words: ignored
    with pytest.raises(items.ItemError):
        find(status="bogus")


def test_pagination_counts(session: Session) -> None:
    for n in range(7):
        make_item(session, published_at=BASE_TIME + dt.timedelta(minutes=n), title=f"T{n}")
    session.commit()
    first = items.inbox(session=session, per_page=3)
    assert first.total == 7 and first.pages == 3 and first.has_next and not first.has_prev
    third = items.inbox(session=session, page=3, per_page=3)
    assert [r.item.title for r in third.items] == ["T0"]
    assert items.inbox(session=session, page=99, per_page=3).items == []


def test_page_is_loaded_in_few_queries(session: Session, engine, inbox_world: dict) -> None:
    for n in range(30):
        make_item(session, title=f"Filler {n}", vendors=[], feeds=[inbox_world["feeds"][0]])
    session.commit()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        page = items.inbox(session=session, per_page=50)
        # templates read these without touching the database
        _ = [(r.vendors, r.categories, r.feeds, r.item.title) for r in page.items]
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(page.items) == 33
    assert len(statements) <= 5, statements


def test_item_detail(session: Session, inbox_world: dict) -> None:
    detail = items.get_item(session=session, item_id=inbox_world["mid"].id)
    assert detail is not None
    assert [f.name for f in detail.feeds] == ["Blog", "Wire"]
    assert detail.categories[0].triggers == ["trigger"]
    assert detail.events == []
    assert items.get_item(session=session, item_id=999999) is None


def test_dismiss_items_audited(session: Session, inbox_world: dict) -> None:
    w = inbox_world
    changed = items.dismiss_items(
        session=session, item_ids=[w["old"].id, w["mid"].id, w["mid"].id], actor="alice"
    )
    session.commit()
    assert changed == 2
    assert items.dismiss_items(session=session, item_ids=[w["old"].id], actor="alice") == 0
    assert {i.id for i in session.exec(select(Item).where(Item.status == "dismissed"))} == {
        w["old"].id,
        w["mid"].id,
    }
    entries = session.exec(select(AuditLog).where(AuditLog.action == "item.status")).all()
    assert sorted(int(e.entity_id) for e in entries) == sorted([w["old"].id, w["mid"].id])
    assert all(
        e.before == {"status": "new"} and e.after == {"status": "dismissed"} for e in entries
    )
    assert all(e.actor_name == "alice" for e in entries)
    with pytest.raises(items.ItemError, match="no such item: 123456"):
        items.dismiss_items(session=session, item_ids=[123456], actor="alice")


def test_group_candidates(session: Session, inbox_world: dict) -> None:
    rows = items.group_candidates(session=session, days=2)
    w = inbox_world
    # the newest inbox item is at BASE_TIME; "old" is 3 days before: outside the window
    assert [r.id for r in rows] == [w["new"].id, w["mid"].id]
    assert rows[1].vendor_ids == frozenset({w["xai"].id}) and rows[0].vendor_ids == frozenset()


def test_suggested_groups_memoized_until_the_inbox_changes(session: Session) -> None:
    vendor = make_vendor(session, slug="acme", name="Acme")
    a = make_item(session, title="Acme sued over data leak", vendors=[vendor])
    b = make_item(session, title="Acme sued over the data leak", vendors=[vendor])
    session.commit()
    cache = items.GroupCache(ttl=60)

    def groups() -> list[tuple[int, ...]]:
        total = items.inbox(session=session).total
        found = items.suggested_groups(session=session, total=total, cache=cache)
        return [g.item_ids for g in found.groups]

    assert groups() == [(a.id, b.id)]
    first = items.suggested_groups(session=session, total=2, cache=cache)
    assert items.suggested_groups(session=session, total=2, cache=cache) is first  # memoized
    assert first.titles == {a.id: a.title, b.id: b.title}
    items.dismiss_items(session=session, item_ids=[b.id], actor="x")
    session.commit()
    assert groups() == []  # the count changed: recomputed
    c = make_item(session, title="Acme sued over a data leak", vendors=[vendor])
    items.dismiss_items(session=session, item_ids=[a.id], actor="x")
    d = make_item(session, title="Acme is sued over data leak", vendors=[vendor])
    session.commit()
    assert groups() == [(c.id, d.id)]  # same count, newer items: recomputed


def test_text_filter_dense_path_and_capped_count(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.search import service as search

    made = [
        make_item(session, title=f"Pricing change {n}", published_at=BASE_TIME + dt.timedelta(n))
        for n in range(6)
    ]
    make_item(session, title="Other news", published_at=BASE_TIME + dt.timedelta(days=9))
    session.commit()
    expected = [i.id for i in reversed(made)]
    for dense in (1_000, 1):  # few matches: look up by id; many: walk the date index
        monkeypatch.setattr(search, "DENSE_MATCHES", dense)
        page = items.inbox(session=session, filters=items.InboxFilters(q="pricing"))
        assert ids(page) == expected and page.total == 6
    monkeypatch.setattr(items, "COUNT_CAP", 3)
    page = items.inbox(session=session, per_page=2)
    assert page.total == 4  # "more than 3"
    assert len(page.items) == 2
