"""score_link, the narrow per-(event, vendor) row scoring reads, is kept by database triggers
(SQLite and PostgreSQL) whoever writes: new links, every scoring column of an event, source
grades (themselves kept by triggers), merges and deletions. After every change it must equal
what event JOIN event_vendor gives."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, text, update
from sqlmodel import Session

from kb.models import Event, EventItem, EventVendor, Feed, Vendor
from tests.scoring.factories import make_category, make_event, make_feed, make_item, make_vendor

EPOCH = dt.date(1970, 1, 1)


def expected(session: Session) -> set[tuple]:
    rows = session.execute(
        text(
            "SELECT ev.vendor_id, e.category_id, e.id, e.status, e.merged_into_id, e.occurred_at,"
            " e.severity, e.confidence, e.source_grade, e.direction_stability,"
            " e.direction_lock_in FROM event e JOIN event_vendor ev ON ev.event_id = e.id"
        )
    )
    out = set()
    for v, k, e, status, merged, occurred, sev, conf, grade, ds, dl in rows:
        day = dt.date.fromisoformat(occurred) if isinstance(occurred, str) else occurred
        out.add(
            (
                v,
                k,
                e,
                status,
                int(merged is not None),
                (day - EPOCH).days,
                round(sev / 5 * conf, 12),
                grade.strip().upper() if grade else None,
                ds,
                dl,
            )
        )
    return out


def actual(session: Session) -> set[tuple]:
    rows = session.execute(
        text(
            "SELECT vendor_id, category_id, event_id, status, merged, day, base, grade, ds, dl "
            "FROM score_link"
        )
    )
    return {(*r[:6], round(float(r[6]), 12), *r[7:]) for r in rows}


def check(session: Session) -> None:
    session.flush()
    assert actual(session) == expected(session)


def test_score_link_follows_every_write(session: Session) -> None:
    acme, globex = make_vendor(session), make_vendor(session)
    lawsuit = make_category(session)
    pricing = make_category(session, weight_lock_in=0.6)
    a = make_event(session, vendors=[acme, globex], category=lawsuit)
    b = make_event(session, vendors=[acme], category=pricing, confidence=0.4, severity=2)
    check(session)
    assert len(actual(session)) == 3

    # Every scoring column of an event.
    session.execute(
        update(Event)
        .where(Event.id == a.id)
        .values(
            status="suggested",
            severity=3,
            confidence=0.7,
            occurred_at=dt.date(2025, 2, 28),
            category_id=pricing.id,
            direction_stability=-1,
            direction_lock_in=0,
        )
    )
    check(session)

    # A source grade appears, improves, is capitalised; the feed is regraded.
    feed = make_feed(session, reliability="D")
    item = make_item(session, feeds=[feed])
    session.add(EventItem(event_id=b.id, item_id=item.id))
    check(session)
    assert ("D",) == tuple(
        session.execute(text("SELECT grade FROM score_link WHERE event_id = :e"), {"e": b.id})
        .scalars()
        .all()
    )
    session.execute(update(Feed).where(Feed.id == feed.id).values(reliability="b"))
    check(session)
    session.execute(update(Event).where(Event.id == b.id).values(source_grade="c"))
    check(session)

    # Links come and go; a merge flags the merged event.
    session.add(EventVendor(event_id=b.id, vendor_id=globex.id))
    check(session)
    session.execute(
        delete(EventVendor).where(EventVendor.event_id == a.id, EventVendor.vendor_id == acme.id)
    )
    check(session)
    session.execute(update(Event).where(Event.id == a.id).values(merged_into_id=b.id))
    check(session)

    # Deleting an event or a vendor removes their rows.
    session.execute(delete(EventItem).where(EventItem.event_id == b.id))
    session.execute(update(Event).where(Event.id == a.id).values(merged_into_id=None))
    session.execute(delete(EventVendor).where(EventVendor.event_id == a.id))
    session.execute(delete(Event).where(Event.id == a.id))
    check(session)
    session.execute(delete(EventVendor).where(EventVendor.vendor_id == globex.id))
    session.execute(delete(Vendor).where(Vendor.id == globex.id))
    check(session)
    assert {r[2] for r in actual(session)} == {b.id}


def test_the_orm_path_keeps_it_too(session: Session) -> None:
    vendor = make_vendor(session)
    cat = make_category(session)
    event = make_event(session, vendors=[vendor], category=cat)
    event.status = "dismissed"
    event.confidence = 0.25
    session.add(event)
    check(session)
    session.delete(event)
    check(session)
    assert actual(session) == set()


def test_events_past_max_half_lives_count_nowhere(session: Session, monkeypatch) -> None:
    """The model forgets an event after MAX_HALF_LIVES half-lives, and so does the SQL pass
    (which counts links without looking at b): both paths give the same count."""
    from kb.scoring import model, service
    from kb.scoring.weights import load_weights

    assert model.decay(999, 1) > 0
    assert model.decay(1000, 1) == 0
    weights = load_weights()
    few = weights.model_copy(
        update={"contributions": weights.contributions.model_copy(update={"top_n": 1})}
    )
    vendor = make_vendor(session)
    fast = make_category(session, weight_stability=1.0, half_life_days=1.0)
    as_of = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    for age in (0, 1, 999, 1000, 5000):
        make_event(
            session,
            vendors=[vendor],
            category=fast,
            occurred_at=as_of.date() - dt.timedelta(days=age),
        )
    results = []
    for limit in (10_000, -1):  # every event loaded / SQL totals with the top N
        monkeypatch.setattr(service, "FETCH_ALL_LIMIT", limit)
        score = service.compute_scores(session=session, as_of=as_of, weights=few)[vendor.id]
        other = [c for c in score.stability.contributions if c.ref == model.OTHER_REF]
        results.append((score.stability.value, score.stability.confidence, other[0].label))
    assert results[0] == results[1]
    assert results[0][2] == "2 other events"  # ages 1 and 999; 1000 and 5000 are forgotten
