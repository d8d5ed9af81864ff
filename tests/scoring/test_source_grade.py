"""event.source_grade, the best feed grade of an event's items, is kept by database triggers
(SQLite and PostgreSQL) whoever writes: links, sources, feed grades, deletions, merges. Scores
read it instead of joining items and feeds, and must stay what the join gives."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import delete, text
from sqlmodel import Session

from kb.events import service as events_service
from kb.models import Event, EventItem, Feed, Item, ItemSource
from kb.scoring import model, service
from kb.scoring.model import EventRow, FactRow
from kb.scoring.weights import load_weights
from tests.scoring.factories import (
    make_category,
    make_event,
    make_fact,
    make_feed,
    make_item,
    make_vendor,
)

AS_OF = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
W = load_weights()
FEW = W.model_copy(update={"contributions": W.contributions.model_copy(update={"top_n": 3})})
JOINED_GRADES = text(
    "SELECT e.id, (SELECT min(f.reliability) FROM event_item ei "
    "JOIN item_source s ON s.item_id = ei.item_id JOIN feed f ON f.id = s.feed_id "
    "WHERE ei.event_id = e.id) FROM event e ORDER BY e.id"
)


def grade(session: Session, event: Event) -> str | None:
    session.flush()
    value = session.execute(
        text("SELECT source_grade FROM event WHERE id = :id"), {"id": event.id}
    ).scalar_one()
    return None if value is None else str(value)


def stored_grades(session: Session) -> list[tuple[int, str | None]]:
    session.flush()
    rows = session.execute(text("SELECT id, source_grade FROM event ORDER BY id"))
    return [(r[0], r[1]) for r in rows]


def joined_grades(session: Session) -> list[tuple[int, str | None]]:
    session.flush()
    return [(r[0], r[1]) for r in session.execute(JOINED_GRADES)]


def test_triggers_keep_the_grade_of_links_sources_and_feeds(session: Session) -> None:
    vendor = make_vendor(session)
    cat = make_category(session)
    feed_a, feed_c, feed_e = (make_feed(session, reliability=g) for g in "ACE")
    item1 = make_item(session, feeds=[feed_c])
    item2 = make_item(session, feeds=[feed_e])
    event = make_event(session, vendors=[vendor], category=cat)
    assert grade(session, event) is None  # no items: the default grade applies

    session.add(EventItem(event_id=event.id or 0, item_id=item1.id or 0))  # attach
    assert grade(session, event) == "C"
    source = ItemSource(item_id=item1.id or 0, feed_id=feed_a.id or 0)
    session.add(source)  # a better feed carries the item too
    assert grade(session, event) == "A"
    session.delete(source)
    assert grade(session, event) == "C"

    session.add(EventItem(event_id=event.id or 0, item_id=item2.id or 0))
    assert grade(session, event) == "C"  # a worse item does not lower the best grade
    session.execute(
        delete(EventItem).where(
            EventItem.event_id == event.id,  # type: ignore[arg-type]
            EventItem.item_id == item1.id,  # type: ignore[arg-type]
        )
    )  # detach
    assert grade(session, event) == "E"

    feed_e.reliability = "B"  # a feed's grade changes
    session.add(feed_e)
    assert grade(session, event) == "B"
    session.execute(
        text("UPDATE item_source SET feed_id = :f WHERE item_id = :i"),
        {"f": feed_c.id, "i": item2.id},
    )
    assert grade(session, event) == "C"

    session.delete(session.get(Item, item2.id))  # deleting the item cascades to its links
    assert grade(session, event) is None
    session.delete(session.get(Feed, feed_a.id))
    assert stored_grades(session) == joined_grades(session)


def test_merge_moves_the_grade_with_the_items(session: Session) -> None:
    vendor = make_vendor(session)
    cat = make_category(session)
    feed_a, feed_d = make_feed(session, reliability="A"), make_feed(session, reliability="D")
    source = make_event(
        session, vendors=[vendor], category=cat, items=[make_item(session, feeds=[feed_a])]
    )
    target = make_event(
        session, vendors=[vendor], category=cat, items=[make_item(session, feeds=[feed_d])]
    )
    assert (grade(session, source), grade(session, target)) == ("A", "D")
    events_service.merge_events(
        session=session, source_id=source.id or 0, target_id=target.id or 0, actor="tester"
    )
    assert (grade(session, source), grade(session, target)) == (None, "A")
    assert stored_grades(session) == joined_grades(session)


def seed(session: Session, rng: random.Random) -> None:
    """Vendors, facts, categories, feeds, items with one to three sources, events with zero
    to three items, then random churn: links removed and added, sources added, grades changed,
    items deleted."""
    vendors = [make_vendor(session) for _ in range(4)]
    for v in vendors:
        make_fact(session, vendor=v, key="open_weights", value=rng.choice(["yes", "no", "partial"]))
    cats = [
        make_category(session, weight_stability=0.9, weight_lock_in=0.1, half_life_days=540),
        make_category(session, weight_stability=0.3, weight_lock_in=0.8, half_life_days=120),
        make_category(session, weight_stability=0.0, weight_lock_in=0.8, direction_lock_in=-1),
    ]
    feeds = [make_feed(session, reliability=rng.choice("ABCDEF")) for _ in range(6)]
    items = [make_item(session, feeds=rng.sample(feeds, rng.randint(1, 3))) for _ in range(60)]
    events = []
    for _ in range(120):
        cat = rng.choice(cats)
        events.append(
            make_event(
                session,
                vendors=rng.sample(vendors, rng.randint(1, 2)),
                category=cat,
                items=rng.sample(items, rng.randint(0, 3)),
                severity=rng.randint(1, 5),
                confidence=rng.choice([0.3, 0.5, 0.8, 1.0]),
                occurred_at=AS_OF.date() - dt.timedelta(days=rng.randint(-10, 1500)),
                status=rng.choice(["confirmed", "confirmed", "suggested", "dismissed"]),
                direction_lock_in=cat.direction_lock_in,
            )
        )
    for event in rng.sample(events, 20):  # detach one item, attach another
        linked = session.execute(
            text("SELECT item_id FROM event_item WHERE event_id = :e"), {"e": event.id}
        ).scalars()
        first = next(iter(linked), None)
        if first is not None:
            session.execute(
                delete(EventItem).where(
                    EventItem.event_id == event.id,  # type: ignore[arg-type]
                    EventItem.item_id == first,  # type: ignore[arg-type]
                )
            )
        item = rng.choice(items)
        if item.id != first:
            session.merge(EventItem(event_id=event.id or 0, item_id=item.id or 0))
        session.flush()
    for item in rng.sample(items, 10):  # another feed carries the item
        feed = rng.choice(feeds)
        exists = session.execute(
            text("SELECT 1 FROM item_source WHERE item_id = :i AND feed_id = :f"),
            {"i": item.id, "f": feed.id},
        ).first()
        if exists is None:
            session.add(ItemSource(item_id=item.id or 0, feed_id=feed.id or 0))
            session.flush()
    for feed in rng.sample(feeds, 3):
        feed.reliability = rng.choice("ABCDEF")
        session.add(feed)
    session.flush()
    for item in rng.sample(items, 5):
        session.delete(item)
    session.flush()


def reference_scores(session: Session, weights: model.ScoringWeights) -> dict[int, object]:
    """The pure model over every counted event, with grades from the item -> feed join (what
    scoring read before event.source_grade existed)."""
    grades = dict(joined_grades(session))
    cats = {
        r[0]: r[1:]
        for r in session.execute(
            text("SELECT id, value, weight_stability, weight_lock_in, half_life_days FROM category")
        )
    }
    rows: dict[int, list[EventRow]] = {}
    query = text(
        "SELECT ev.vendor_id, e.id, e.title, e.category_id, e.severity, e.confidence, "
        "e.occurred_at, e.direction_stability, e.direction_lock_in FROM event e "
        "JOIN event_vendor ev ON ev.event_id = e.id "
        "WHERE e.status = 'confirmed' AND e.merged_into_id IS NULL"
    )
    for v, eid, title, k, sev, conf, day, ds, dl in session.execute(query):
        value, ws, wl, hl = cats[k]
        occurred = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        rows.setdefault(v, []).append(
            EventRow(
                event_id=eid,
                title=title,
                category=value,
                severity=sev,
                confidence=conf,
                occurred_at=occurred,
                direction_stability=ds,
                direction_lock_in=dl,
                weight_stability=ws,
                weight_lock_in=wl,
                half_life_days=hl,
                grade=grades[eid],
            )
        )
    facts: dict[int, list[FactRow]] = {}
    for v, key, value in session.execute(text("SELECT vendor_id, key, value FROM vendor_fact")):
        facts.setdefault(v, []).append(FactRow(key=key, value=value))
    out: dict[int, object] = {}
    for v, slug, name in session.execute(text("SELECT id, slug, name FROM vendor")):
        out[v] = model.score_vendor(
            vendor_id=v,
            slug=slug,
            name=name,
            as_of=AS_OF,
            facts=[FactRow(key="corporate_form", value="unknown"), *facts.get(v, [])],
            events=rows.get(v, []),
            weights=weights,
        )
    return out


def summary(score: object) -> list[tuple[object, ...]]:
    assert isinstance(score, model.VendorScore)
    out: list[tuple[object, ...]] = []
    for dim in model.DIMENSIONS:
        ds = score.dimension(dim)
        out.append((dim, ds.value, ds.band, ds.confidence))
        out.extend(
            (c.kind, c.ref, round(c.points, 3), c.detail.get("grade")) for c in ds.contributions
        )
    return out


@pytest.mark.parametrize("fetch_all_limit", [10_000, -1])
def test_scores_equal_the_joined_grades_on_a_seeded_dataset(
    session: Session, monkeypatch: pytest.MonkeyPatch, fetch_all_limit: int
) -> None:
    monkeypatch.setattr(service, "FETCH_ALL_LIMIT", fetch_all_limit)
    seed(session, random.Random(20261123))
    assert stored_grades(session) == joined_grades(session)
    for weights in (W, FEW):
        got = service.compute_scores(session=session, as_of=AS_OF, weights=weights)
        expected = reference_scores(session, weights)
        assert set(got) == set(expected)
        for vid, score in got.items():
            assert summary(score) == summary(expected[vid]), vid
