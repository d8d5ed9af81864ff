"""The JSON API: token auth, vendors, facts, scores; and a schemathesis run over /openapi.json."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlmodel import Session

from kb.users import tokens
from tests.web.factories import get_vendor, make_event, make_user


@pytest.fixture
def token(session: Session) -> str:
    user = make_user(session, username="script", role="viewer")
    _row, secret = tokens.create_token(session=session, user=user, name="tests")
    session.commit()
    return secret


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_needs_a_token(client):
    response = client.get("/api/v1/vendors")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"].startswith("authentication required")


def test_vendors_list_and_detail(client, catalog: Session, auth):
    body = client.get("/api/v1/vendors?per_page=5", headers=auth).json()
    assert body["per_page"] == 5 and len(body["items"]) == 5 and body["total"] >= 18
    assert body["pages"] == -(-body["total"] // 5)
    detail = client.get("/api/v1/vendors/anthropic", headers=auth).json()
    assert detail["slug"] == "anthropic" and "Claude" in detail["aliases"]
    facts = {f["key"]: f for f in detail["facts"]}
    assert len(facts) == 9
    assert facts["open_weights"]["source_url"].startswith("http")
    assert facts["open_weights"]["checked_at"]
    missing = client.get("/api/v1/vendors/nope", headers=auth)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_scores_for_all_vendors_and_one_with_contributions(client, catalog: Session, auth):
    session = catalog
    event = make_event(session, vendor=get_vendor(session, "openai"), severity=5)
    everyone = client.get("/api/v1/scores", headers=auth).json()
    slugs = [s["slug"] for s in everyone["items"]]
    assert "openai" in slugs and len(slugs) == everyone["total"]
    first = everyone["items"][0]
    assert first["stability"]["band"] in {"low", "moderate", "high", "severe"}
    assert first["stability"]["contributions"] is None
    one = client.get("/api/v1/vendors/openai/scores", headers=auth).json()
    refs = [c["ref"] for c in one["score"]["stability"]["contributions"]]
    assert str(event.id) in refs
    assert one["history"] == []
    past = client.get("/api/v1/scores?as_of=2020-01-01T00:00:00Z", headers=auth).json()
    openai_then = next(s for s in past["items"] if s["slug"] == "openai")
    openai_now = next(s for s in everyone["items"] if s["slug"] == "openai")
    assert openai_then["stability"]["value"] < openai_now["stability"]["value"]
    assert client.get("/api/v1/scores?as_of=1900-01-01", headers=auth).status_code == 422


def test_session_cookie_also_works_for_the_api(client_as, catalog: Session):
    assert client_as("viewer").get("/api/v1/vendors").status_code == 200


def test_openapi_documents_bearer_auth_and_docs_are_local(client):
    schema = client.get("/openapi.json").json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert "/api/v1/vendors/{slug}/scores" in schema["paths"]
    assert not any(p.startswith(("/login", "/users")) for p in schema["paths"])


def test_api_never_answers_with_a_server_error(app, catalog: Session, auth):
    """Schemathesis over every operation in /openapi.json, with the app in-process."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    assert "GET /api/v1/vendors/{slug}/scores" in labels
