"""Plain factories and helpers for web tests: users of each role, signed-in clients."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlmodel import Session
from starlette.testclient import TestClient

from kb.models import User
from kb.users import service as users

PASSWORD = "correct horse battery"


def make_user(session: Session, *, username: str = "ana", role: str = "analyst", **kw) -> User:
    """A committed user with the shared test password."""
    user = users.create_user(
        session=session, username=username, password=kw.pop("password", PASSWORD), role=role
    )
    for key, value in kw.items():
        setattr(user, key, value)
    session.add(user)
    session.commit()
    return user


def soup(response) -> BeautifulSoup:
    """The response's HTML, parsed."""
    return BeautifulSoup(response.text, "lxml")


def csrf_from(html: str) -> str:
    """The CSRF token in the first form of a page."""
    field = BeautifulSoup(html, "lxml").find("input", attrs={"name": "csrf_token"})
    assert field is not None, "no csrf_token field on the page"
    return str(field["value"])


def login(client: TestClient, username: str, password: str = PASSWORD, next: str = "/"):
    """Sign in through the real form (fetching its CSRF token); returns the POST response."""
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "csrf_token": token},
        follow_redirects=False,
    )


def page_csrf(client: TestClient, path: str = "/login") -> str:
    """The session's CSRF token, read from a page's form."""
    return csrf_from(client.get(path).text)
