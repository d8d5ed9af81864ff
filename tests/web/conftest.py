"""Web fixtures: the real app on the test database, and clients signed in per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from sqlmodel import Session
from starlette.testclient import TestClient

from kb.config import Settings
from kb.web.app import create_app
from tests.web.factories import login, make_user


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with light parameters: web tests sign in hundreds of times, and the
    production cost (64 MiB, 3 passes) is deliberately slow."""
    from argon2 import PasswordHasher

    from kb.users import service as users_service

    monkeypatch.setattr(
        users_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def client_as(app: FastAPI, session: Session) -> Iterator[Callable[[str], TestClient]]:
    """``client_as("analyst")``: a new client signed in as a fresh user with that role."""
    opened: list[TestClient] = []

    def make(role: str) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        opened.append(c)
        make_user(session, username=f"{role}{len(opened)}", role=role)
        response = login(c, f"{role}{len(opened)}")
        assert response.status_code == 303, response.text
        return c

    yield make
    for c in opened:
        c.close()
