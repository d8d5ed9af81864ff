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


def make_event(
    session: Session,
    vendor,
    *,
    category: str = "lawsuit",
    status: str = "confirmed",
    title: str = "Founder sues the company",
    severity: int = 5,
    days_ago: int = 3,
    **kw,
):
    """An event of a taxonomy category concerning one vendor (committed)."""
    import datetime as dt

    from sqlmodel import select

    from kb.models import Category, Event, EventVendor

    cat = session.exec(select(Category).where(Category.value == category)).one()
    event = Event(
        title=title,
        category_id=cat.id,
        severity=severity,
        status=status,
        occurred_at=dt.date.today() - dt.timedelta(days=days_ago),
        direction_stability=kw.pop("direction_stability", cat.direction_stability),
        direction_lock_in=kw.pop("direction_lock_in", cat.direction_lock_in),
        **kw,
    )
    session.add(event)
    session.flush()
    session.add(EventVendor(event_id=event.id, vendor_id=vendor.id))
    session.commit()
    return event


def make_item(session: Session, vendor=None, *, title: str = "A report", **kw):
    """An item (optionally matched to a vendor), committed."""
    import hashlib
    import uuid

    from kb.models import Item, ItemVendor, utcnow

    key = uuid.uuid4().hex
    item = Item(
        dedup_key=key,
        guid=key,
        url=f"https://news.example/{key}",
        title=title,
        content_hash=hashlib.sha256(key.encode()).hexdigest(),
        published_at=kw.pop("published_at", utcnow()),
        **kw,
    )
    session.add(item)
    session.flush()
    if vendor is not None:
        session.add(ItemVendor(item_id=item.id, vendor_id=vendor.id, alias=vendor.name))
    session.commit()
    return item


def make_feed(session: Session, *, name: str = "Example news", **kw):
    """A feed row (committed)."""
    from kb.models import Feed

    feed = Feed(name=name, url=kw.pop("url", f"https://{name.replace(' ', '-')}.example/rss"), **kw)
    session.add(feed)
    session.commit()
    return feed


def vendor(session: Session, slug: str = "openai"):
    """A catalog vendor by slug."""
    from sqlmodel import select

    from kb.models import Vendor

    return session.exec(select(Vendor).where(Vendor.slug == slug)).one()
