"""Web-test helpers: signing in through the real form, reading pages, and the shared factories
(tests/factories.py) bound for the web app, which reads on its own connections: every row is
committed; events and items concern catalog vendors."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from bs4 import BeautifulSoup
from sqlmodel import Session
from starlette.testclient import TestClient

from kb.models import Event, Item, Vendor, utcnow
from tests import factories
from tests.factories import PASSWORD, get_vendor

__all__ = [
    "PASSWORD",
    "csrf_from",
    "get_vendor",
    "login",
    "make_event",
    "make_feed",
    "make_item",
    "make_user",
    "page_csrf",
    "soup",
]

make_user = partial(factories.make_user, commit=True)
make_feed = partial(factories.make_feed, commit=True)


def make_event(
    session: Session,
    *,
    vendor: Vendor,
    category: str = "lawsuit",
    days_ago: int = 3,
    **fields: Any,
) -> Event:
    """A committed event of a taxonomy category concerning one vendor, ``days_ago`` days old."""
    values: dict[str, Any] = {
        "title": "Founder sues the company",
        "severity": 5,
        "status": "confirmed",
        "occurred_at": dt.date.today() - dt.timedelta(days=days_ago),
    }
    values.update(fields)
    return factories.make_event(
        session,
        category=factories.get_category(session, category),
        vendors=[vendor],
        commit=True,
        **values,
    )


def make_item(
    session: Session, *, vendor: Vendor | None = None, title: str = "A report", **fields: Any
) -> Item:
    """A committed item published now, optionally matched to a vendor (without evidence)."""
    fields.setdefault("published_at", utcnow())
    return factories.make_item(
        session,
        vendors=[vendor] if vendor is not None else [],
        evidence=None,
        title=title,
        commit=True,
        **fields,
    )


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
