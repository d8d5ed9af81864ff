"""/api/v1 items and events: token auth, filters, pagination, create (analyst), and a
schemathesis run over these operations with an analyst token (no server error)."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlmodel import Session, select

from kb.events import service as events
from kb.models import AuditLog, Event
from kb.users import tokens
from tests.web.factories import make_user

from .factories import BASE_TIME, make_category, make_feed, make_item, make_vendor


def bearer(session: Session, role: str) -> dict[str, str]:
    user = make_user(session, username=f"script-{role}", role=role)
    _row, secret = tokens.create_token(session=session, user=user, name="tests")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def data(session: Session) -> dict:
    openai = make_vendor(session, slug="openai", name="OpenAI")
    cat = make_category(session, value="lawsuit", label="Lawsuit", default_severity=4)
    feed = make_feed(session, name="Wire")
    a = make_item(
        session,
        title="Authors sue OpenAI",
        vendors=[openai],
        categories=[(cat, 0.9)],
        feeds=[feed],
        published_at=BASE_TIME,
    )
    b = make_item(session, title="Quiet news", published_at=BASE_TIME + dt.timedelta(hours=1))
    session.commit()
    return {"openai": openai, "a": a, "b": b, "feed": feed}


def test_items_api(client, session: Session, data: dict) -> None:
    auth = bearer(session, "viewer")
    assert client.get("/api/v1/items").status_code == 401
    body = client.get("/api/v1/items", headers=auth).json()
    assert [i["id"] for i in body["items"]] == [data["b"].id, data["a"].id]
    assert body["total"] == 2 and body["pages"] == 1
    body = client.get(
        "/api/v1/items", headers=auth, params={"vendor": "openai", "q": "sue", "per_page": 1}
    ).json()
    item = body["items"][0]
    assert item["vendors"] == ["openai"] and item["suggested_categories"] == ["lawsuit"]
    assert item["feeds"] == ["Wire"]
    detail = client.get(f"/api/v1/items/{data['a'].id}", headers=auth).json()
    assert detail["vendors"][0]["evidence"] == "... OpenAI said ..."
    assert detail["suggested_categories"][0]["triggers"] == ["trigger"]
    assert client.get("/api/v1/items/999999", headers=auth).status_code == 404
    assert client.get("/api/v1/items?status=bogus", headers=auth).status_code == 422


def test_events_api_create_list_detail(client, session: Session, data: dict) -> None:
    viewer, analyst = bearer(session, "viewer"), bearer(session, "analyst")
    payload = {"item_ids": [data["a"].id], "tags": ["Copyright"]}
    assert client.post("/api/v1/events", json=payload, headers=viewer).status_code == 403
    response = client.post("/api/v1/events", json=payload, headers=analyst)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["category"] == "lawsuit" and created["vendors"] == ["openai"]
    assert created["severity"] == 4 and created["status"] == "confirmed"
    assert created["tags"] == ["copyright"] and created["items"][0]["status"] == "triaged"
    entry = session.exec(select(AuditLog).where(AuditLog.action == "event.create")).one()
    assert entry.actor_name == "script-analyst"
    listing = client.get("/api/v1/events", headers=viewer, params={"vendor": "openai"}).json()
    assert [e["id"] for e in listing["items"]] == [created["id"]]
    assert listing["items"][0]["item_count"] == 1
    one = client.get(f"/api/v1/events/{created['id']}", headers=viewer).json()
    assert one["title"] == "Authors sue OpenAI"
    assert client.get("/api/v1/events/999999", headers=viewer).status_code == 404
    for bad in [
        {"title": "x"},  # no category, no items
        {"title": "x", "category": "nope"},
        {"title": "x", "category": "lawsuit", "vendors": ["nobody"]},
        {"title": "x", "category": "lawsuit", "item_ids": [424242]},
        {"title": "x", "category": "lawsuit", "severity": 7},
    ]:
        response = client.post("/api/v1/events", json=bad, headers=analyst)
        assert response.status_code == 422, (bad, response.text)
    assert len(session.exec(select(Event)).all()) == 1


TRIAGE_OPERATIONS = (
    "GET /api/v1/items",
    "GET /api/v1/items/{item_id}",
    "GET /api/v1/events",
    "GET /api/v1/events/{event_id}",
    "POST /api/v1/events",
)


def test_triage_api_never_answers_with_a_server_error(app, session: Session, data: dict) -> None:
    events.create_event(session=session, item_ids=[data["a"].id], actor="cli")
    session.commit()
    auth = bearer(session, "analyst")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in TRIAGE_OPERATIONS:
            continue
        seen.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    assert sorted(seen) == sorted(TRIAGE_OPERATIONS)
