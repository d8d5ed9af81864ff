"""End to end in a real headless Chromium (Debian's, driven by Playwright): sign in, triage an
inbox item into an event, set its category, confirm it, tag it, see the vendor's score change,
sign out. The app runs under uvicorn on 127.0.0.1 (a free port) over a SQLite database.

Chromium comes from the project's setup (``make browser``); without it this test FAILS."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session, select

from kb import migrate
from kb.config import Settings
from kb.db import make_engine
from kb.models import Category, Feed, Item, ItemCategory, ItemSource, ItemVendor, Vendor, utcnow
from kb.users import service as users
from kb.vendors import catalog
from kb.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USERNAME, PASSWORD = "erin", "correct horse battery staple"

pytestmark = pytest.mark.browser


def seed(settings: Settings) -> dict[str, int]:
    """Catalog, an analyst, a feed and two inbox items matched to OpenAI."""
    engine = make_engine(settings)
    migrate.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        catalog.load_taxonomy(session=session)
        catalog.load_vendors(session=session)
        users.create_user(session=session, username=USERNAME, password=PASSWORD, role="analyst")
        openai = session.exec(select(Vendor).where(Vendor.slug == "openai")).one()
        lawsuit = session.exec(select(Category).where(Category.value == "lawsuit")).one()
        feed = Feed(name="Wire", url="https://wire.example/rss", reliability="A")
        session.add(feed)
        session.flush()
        ids = {}
        for n, title in enumerate(
            ["Authors file copyright lawsuit against OpenAI", "OpenAI ships a new model"]
        ):
            key = f"e2e:{n}"
            item = Item(
                dedup_key=key,
                guid=key,
                url=f"https://wire.example/{n}",
                title=title,
                summary="<p>Report</p>",
                content_hash=hashlib.sha256(key.encode()).hexdigest(),
                published_at=utcnow() - dt.timedelta(hours=n + 1),
            )
            session.add(item)
            session.flush()
            session.add(ItemVendor(item_id=item.id, vendor_id=openai.id, alias="OpenAI"))
            session.add(ItemSource(item_id=item.id, feed_id=feed.id))
            ids[f"item{n}"] = item.id
        # the first item's suggestion is deliberately wrong-ish: the analyst picks the category
        session.add(ItemCategory(item_id=ids["item0"], category_id=lawsuit.id, confidence=0.4))
        session.commit()
    engine.dispose()
    return ids


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """The real app under uvicorn on 127.0.0.1:<free port> (SQLite only: it is one browser
    flow, not a database test)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
        data_dir=tmp_path,
        secret_key="e2e-secret-key-not-for-production",
    )
    ids = seed(settings)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", ids
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def score(page, base: str, dimension: str = "stability") -> float:
    page.goto(f"{base}/vendors/openai")
    return float(page.locator(f"#score-{dimension} .score-value").inner_text())


def test_sign_in_triage_tag_score_sign_out(live_server: tuple[str, dict[str, int]]) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install it with `make browser`")
    from playwright.sync_api import expect, sync_playwright

    base, ids = live_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            failed: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on(
                "response",
                lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.set_default_timeout(10_000)

            # sign in
            page.goto(f"{base}/inbox")
            expect(page).to_have_url(f"{base}/login?next=%2Finbox")
            page.fill("input[name=username]", USERNAME)
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            expect(page).to_have_url(f"{base}/inbox")

            before = score(page, base)

            # the inbox: select one item, create an event from it
            page.goto(f"{base}/inbox")
            row = page.locator(f"tr.item-row[data-item-id='{ids['item0']}']")
            expect(row).to_contain_text("Authors file copyright lawsuit")
            row.locator("input[name=item_ids]").check()
            page.select_option("#bulk-action", "create-event")
            page.click("#bulk-submit")
            expect(page.locator("h1.event-title")).to_have_text(
                "Authors file copyright lawsuit against OpenAI"
            )
            expect(page.locator(".event-status")).to_have_text("suggested")
            event_url = page.url

            # set the category and confirm it, then tag it
            page.select_option("#field-category", "lawsuit")
            page.select_option("#field-status", "confirmed")
            page.click("#save-event")
            expect(page.locator(".flash")).to_contain_text("Event saved")
            expect(page.locator(".event-status")).to_have_text("confirmed")
            expect(page.locator(".event-category")).to_have_attribute("data-category", "lawsuit")
            page.fill("#tag-form input[name=tag]", "Copyright")
            page.click("#tag-form button[type=submit]")
            expect(page.locator(".event-tags .tag")).to_have_text(["copyright"])
            assert page.url == event_url

            # the item left the inbox; the vendor's stability score went up
            page.goto(f"{base}/inbox")
            expect(page.locator(f"tr.item-row[data-item-id='{ids['item0']}']")).to_have_count(0)
            after = score(page, base)
            assert after > before, (before, after)
            expect(page.locator("#score-stability table.breakdown")).to_contain_text(
                "Authors file copyright lawsuit"
            )

            # sign out
            page.click("header form button[type=submit]")
            expect(page).to_have_url(f"{base}/login")
            page.goto(f"{base}/inbox")
            expect(page).to_have_url(f"{base}/login?next=%2Finbox")
            # no CSP violations, script errors or missing resources (browsers ask for a
            # favicon on their own; kb has none)
            failed = [f for f in failed if not f.endswith("/favicon.ico")]
            assert failed == [], failed
            errors = [e for e in errors if not e.startswith("Failed to load resource")]
            assert errors == [], errors
        finally:
            browser.close()
