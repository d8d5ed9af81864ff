"""Events: create from items (defaults), edit, tags, attach/detach, merge, lists; audit written."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, col, select

from kb.events import service as events
from kb.models import AuditLog, Event, EventItem, EventTag, EventVendor, Item

from .factories import BASE_TIME, make_category, make_item, make_user, make_vendor


def audit_actions(session: Session, entity_type: str, entity_id: int) -> list[str]:
    rows = session.exec(
        select(AuditLog)
        .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == str(entity_id))
        .order_by(col(AuditLog.id))
    )
    return [r.action for r in rows]


@pytest.fixture
def world(session: Session) -> dict:
    openai = make_vendor(session, slug="openai", name="OpenAI")
    msft = make_vendor(session, slug="microsoft", name="Microsoft")
    lawsuit = make_category(
        session, value="lawsuit", label="Lawsuit", default_severity=4, direction_lock_in=0
    )
    release = make_category(
        session,
        value="open-weights-release",
        label="Open weights",
        default_severity=2,
        direction_stability=0,
        direction_lock_in=-1,
    )
    analyst = make_user(session, role="analyst")
    a = make_item(
        session,
        title="NYT sues OpenAI",
        vendors=[openai],
        categories=[(lawsuit, 0.9), (release, 0.2)],
        published_at=BASE_TIME + dt.timedelta(hours=5),
    )
    b = make_item(
        session,
        title="OpenAI and Microsoft sued",
        vendors=[openai, msft],
        categories=[(lawsuit, 0.7)],
        published_at=BASE_TIME,
    )
    session.commit()
    return {
        "openai": openai,
        "msft": msft,
        "lawsuit": lawsuit,
        "release": release,
        "analyst": analyst,
        "a": a,
        "b": b,
    }


def test_create_from_items_takes_defaults_and_triages(session: Session, world: dict) -> None:
    event = events.create_event(
        session=session, item_ids=[world["a"].id, world["b"].id], actor=world["analyst"]
    )
    session.commit()
    detail = events.get_event(session=session, event_id=event.id)
    assert detail is not None
    assert detail.category.value == "lawsuit"  # the most confident suggestion
    assert {v.slug for v in detail.vendors} == {"openai", "microsoft"}  # union of matches
    assert event.title == "OpenAI and Microsoft sued"  # the earliest item's title
    assert event.occurred_at == BASE_TIME.date()
    assert event.severity == 4  # the category's default
    assert (event.direction_stability, event.direction_lock_in) == (1, 0)
    assert event.status == "confirmed"
    assert [i.id for i in detail.items] == [world["a"].id, world["b"].id]
    statuses = {i.status for i in session.exec(select(Item))}
    assert statuses == {"triaged"}
    assert audit_actions(session, "event", event.id) == ["event.create"]
    assert audit_actions(session, "item", world["a"].id) == ["item.status"]
    entry = session.exec(select(AuditLog).where(AuditLog.action == "event.create")).one()
    assert entry.actor_name == world["analyst"].username
    assert entry.after["item_ids"] == [world["a"].id, world["b"].id]


def test_create_by_hand_with_explicit_fields_and_tags(session: Session, world: dict) -> None:
    event = events.create_event(
        session=session,
        actor="cli",
        title="  Llama weights   released ",
        category_value="open-weights-release",
        severity=2,
        occurred_at=dt.date(2026, 1, 2),
        vendor_ids=[world["msft"].id],
        status="suggested",
        confidence=0.5,
        tags=["Watch", "watch", " EU  AI act "],
    )
    session.commit()
    assert event.title == "Llama weights released"
    assert event.direction_lock_in == -1 and event.direction_stability == 0
    detail = events.get_event(session=session, event_id=event.id)
    assert detail.tags == ["eu ai act", "watch"]
    assert [v.slug for v in detail.vendors] == ["microsoft"]


BAD_INPUT = [
    ({"title": "x", "category_value": "nope"}, "unknown category"),
    ({"title": "x", "category_value": "lawsuit", "severity": 9}, "severity"),
    ({"title": "x", "category_value": "lawsuit", "confidence": 1.5}, "confidence"),
    ({"title": "x", "category_value": "lawsuit", "status": "maybe"}, "status"),
    ({"title": "x", "category_value": "lawsuit", "direction_lock_in": 2}, "direction"),
    ({"title": " ", "category_value": "lawsuit"}, "title"),
    ({"title": "x", "category_value": "lawsuit", "vendor_ids": [99999]}, "no such vendor"),
    ({"title": "x", "category_value": "lawsuit", "item_ids": [99999]}, "no such item"),
    ({"title": "x", "category_value": "lawsuit", "tags": [""]}, "tag"),
    ({"title": "x"}, "choose a category"),
]


def test_bad_input_is_refused_and_nothing_written(session: Session, world: dict) -> None:
    for kwargs, message in BAD_INPUT:
        with pytest.raises(ValueError, match=message):
            events.create_event(session=session, actor="cli", **kwargs)
        session.rollback()
        assert session.exec(select(Event)).all() == [], kwargs


def test_update_any_field_with_audit_before_after(session: Session, world: dict) -> None:
    event = events.create_event(
        session=session, item_ids=[world["a"].id], status="suggested", actor="cli"
    )
    session.commit()
    events.update_event(
        session=session,
        event_id=event.id,
        changes={
            "category_value": "open-weights-release",
            "severity": 5,
            "status": "confirmed",
            "direction_lock_in": -1,
            "confidence": 0.8,
            "note": " Analyst note ",
            "vendor_ids": [world["msft"].id],
            "title": "Renamed",
            "occurred_at": "2026-11-01",
        },
        actor=world["analyst"],
    )
    session.commit()
    session.refresh(event)
    assert event.status == "confirmed" and event.severity == 5 and event.note == "Analyst note"
    assert event.occurred_at == dt.date(2026, 11, 1)
    entry = session.exec(select(AuditLog).where(AuditLog.action == "event.update")).one()
    assert entry.before["category"] == "lawsuit"
    assert entry.after["category"] == "open-weights-release"
    assert entry.before["vendor_ids"] == [world["openai"].id]
    assert entry.after["vendor_ids"] == [world["msft"].id]
    assert entry.before["status"] == "suggested" and entry.after["status"] == "confirmed"
    assert "title" in entry.after and entry.after["occurred_at"] == "2026-11-01"


def test_update_refuses_bad_field_and_changes_nothing(session: Session, world: dict) -> None:
    event = events.create_event(session=session, item_ids=[world["a"].id], actor="cli")
    session.commit()
    with pytest.raises(events.EventError):
        events.update_event(
            session=session,
            event_id=event.id,
            changes={"title": "New", "severity": 0},
            actor="cli",
        )
    session.rollback()
    session.refresh(event)
    assert event.title == "NYT sues OpenAI"
    with pytest.raises(events.EventError, match="cannot edit"):
        events.update_event(session=session, event_id=event.id, changes={"id": 3}, actor="cli")
    with pytest.raises(events.EventError, match="no event"):
        events.set_status(session=session, event_id=424242, status="confirmed", actor="cli")


def test_tags_attach_detach(session: Session, world: dict) -> None:
    event = events.create_event(session=session, item_ids=[world["a"].id], actor="cli")
    assert events.add_tag(session=session, event_id=event.id, tag="Copyright", actor="cli") == (
        "copyright"
    )
    assert events.add_tag(session=session, event_id=event.id, tag="copyright", actor="cli") is None
    assert events.attach_items(
        session=session, event_id=event.id, item_ids=[world["a"].id, world["b"].id], actor="cli"
    ) == [world["b"].id]
    session.commit()
    assert session.get(Item, world["b"].id).status == "triaged"
    assert events.detach_item(
        session=session, event_id=event.id, item_id=world["b"].id, actor="cli"
    )
    assert not events.detach_item(
        session=session, event_id=event.id, item_id=world["b"].id, actor="cli"
    )
    assert events.remove_tag(session=session, event_id=event.id, tag="COPYRIGHT", actor="cli")
    session.commit()
    assert session.get(Item, world["b"].id).status == "new"  # back in the inbox
    assert session.exec(select(EventTag)).all() == []
    assert audit_actions(session, "event", event.id) == [
        "event.create",
        "event.tag_add",
        "event.attach_items",
        "event.detach_item",
        "event.tag_remove",
    ]


def test_merge_moves_items_vendors_tags(session: Session, world: dict) -> None:
    target = events.create_event(
        session=session, item_ids=[world["a"].id], tags=["keep"], actor="cli"
    )
    source = events.create_event(
        session=session, item_ids=[world["b"].id], tags=["keep", "moved"], actor="cli"
    )
    session.commit()
    events.merge_events(session=session, source_id=source.id, target_id=target.id, actor="cli")
    session.commit()
    session.refresh(source)
    assert source.merged_into_id == target.id and source.status == "dismissed"
    links = session.exec(select(EventItem.event_id, EventItem.item_id)).all()
    assert sorted(links) == sorted([(target.id, world["a"].id), (target.id, world["b"].id)])
    vendors = session.exec(select(EventVendor.vendor_id).where(EventVendor.event_id == target.id))
    assert sorted(vendors) == sorted([world["openai"].id, world["msft"].id])
    detail = events.get_event(session=session, event_id=target.id)
    assert detail.tags == ["keep", "moved"] and detail.merged_from == [source.id]
    merged = events.get_event(session=session, event_id=source.id)
    assert merged.merged_into.event.id == target.id and merged.items == []
    assert audit_actions(session, "event", source.id)[-1] == "event.merge"
    assert audit_actions(session, "event", target.id)[-1] == "event.merge_in"
    # merged events leave the default list and cannot be merged again
    page = events.list_events(session=session)
    assert [r.event.id for r in page.items] == [target.id]
    with pytest.raises(events.EventError, match="already merged"):
        events.merge_events(session=session, source_id=source.id, target_id=target.id, actor="x")
    with pytest.raises(events.EventError, match="itself"):
        events.merge_events(session=session, source_id=target.id, target_id=target.id, actor="x")


def test_list_filters_and_pagination(session: Session, world: dict) -> None:
    made = []
    for n in range(5):
        made.append(
            events.create_event(
                session=session,
                actor="cli",
                title=f"Event {n}",
                category_value="lawsuit" if n % 2 else "open-weights-release",
                occurred_at=dt.date(2026, 1, 1 + n),
                vendor_ids=[world["openai"].id] if n < 3 else [world["msft"].id],
                status="confirmed" if n < 4 else "suggested",
                tags=["hot"] if n == 2 else [],
            )
        )
    session.commit()
    page = events.list_events(session=session, per_page=2, page=1)
    assert page.total == 5 and page.pages == 3
    assert [r.event.title for r in page.items] == ["Event 4", "Event 3"]  # latest first
    last = events.list_events(session=session, per_page=2, page=3)
    assert [r.event.title for r in last.items] == ["Event 0"]

    def titles(**kw: object) -> list[str]:
        rows = events.list_events(session=session, filters=events.EventFilters(**kw)).items
        return [r.event.title for r in rows]

    assert titles(status="suggested") == ["Event 4"]
    assert titles(category="lawsuit") == ["Event 3", "Event 1"]
    assert titles(vendor="microsoft") == ["Event 4", "Event 3"]
    assert titles(tag="HOT") == ["Event 2"]
    assert titles(date_from=dt.date(2026, 1, 2), date_to=dt.date(2026, 1, 3)) == [
        "Event 2",
        "Event 1",
    ]
    assert titles(q="event 3") == ["Event 3"]
    row = events.list_events(session=session, filters=events.EventFilters(tag="hot")).items[0]
    assert row.category.value == "open-weights-release" and row.tags == ["hot"]
    assert [v.slug for v in row.vendors] == ["openai"] and row.item_count == 0
