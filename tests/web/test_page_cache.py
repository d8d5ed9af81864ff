"""The page cache: pages are reused while the data is unchanged, every change shows on the
next request (made through the UI, by another connection or by another process), and what
belongs to a session (CSRF token, username, flash messages) is never shared."""

from __future__ import annotations

import threading
import time

from sqlmodel import Session

from kb.config import Settings
from kb.db import is_sqlite
from kb.web import pagecache
from kb.web.app import create_app
from tests.web.factories import csrf_from, get_vendor, make_event, make_item, soup


def _cache(client) -> pagecache.PageCache:
    cache = client.app.state.page_cache
    assert cache is not None
    return cache


def test_vendor_page_is_reused_until_a_change_and_every_change_shows(client_as, catalog):
    session = catalog
    openai = get_vendor(session, "openai")
    analyst = client_as("analyst")
    analyst.get("/")  # shows (and clears) the "signed in" message
    first = analyst.get("/vendors/openai")
    assert first.status_code == 200
    cache = _cache(analyst)
    hits = cache.hits
    again = analyst.get("/vendors/openai")
    if is_sqlite(session.get_bind()):  # PostgreSQL's probe also moves with other databases
        assert cache.hits == hits + 1
    assert again.text.count("csrf_token") == first.text.count("csrf_token")

    # A change made elsewhere (another connection: the test's own, as kb ingest would).
    make_event(
        session, vendor=openai, title="Regulator opens an inquiry", category="regulatory-action"
    )
    page = analyst.get("/vendors/openai")
    assert "Regulator opens an inquiry" in page.text

    # A change made through the UI shows on the page the redirect leads to.
    token = csrf_from(page.text)
    response = analyst.post(
        "/vendors/openai/facts",
        data={
            "key": "open_weights",
            "value": "yes",
            "source_url": "https://example.org/weights",
            "checked_at": "2026-11-01",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    row = soup(response).select_one('tr[data-fact="open_weights"]')
    assert "https://example.org/weights" in str(row)
    assert "https://example.org/weights" in str(
        soup(analyst.get("/vendors/openai")).select_one('tr[data-fact="open_weights"]')
    )


def test_inbox_and_dashboard_show_new_data_at_once(client_as, catalog):
    session = catalog
    openai = get_vendor(session, "openai")
    viewer = client_as("viewer")
    assert "Fresh report about pricing" not in viewer.get("/inbox").text
    viewer.get("/")
    make_item(session, vendor=openai, title="Fresh report about pricing")
    assert "Fresh report about pricing" in viewer.get("/inbox").text
    from kb.scoring import service as scoring

    assert "kb score" in viewer.get("/").text  # no snapshots yet
    scoring.snapshot_scores(session=session)
    session.commit()
    page = soup(viewer.get("/"))
    assert page.select_one('tr[data-vendor="openai"] .band') is not None


def test_each_session_gets_its_own_token_and_name(client_as, catalog):
    first, second = client_as("analyst"), client_as("analyst")
    page_one, page_two = first.get("/inbox"), second.get("/inbox")
    token_one, token_two = csrf_from(page_one.text), csrf_from(page_two.text)
    assert token_one != token_two
    assert "analyst1" in soup(page_one).select_one(".account").get_text()
    assert "analyst2" in soup(page_two).select_one(".account").get_text()
    for page in (page_one, page_two):
        assert pagecache.CSRF_MARK not in page.text
        assert pagecache.USER_MARK not in page.text
    # Each token is the one its session checks: a bulk action with it passes CSRF.
    response = second.post(
        "/inbox/bulk", data={"action": "dismiss", "csrf_token": token_two}, follow_redirects=False
    )
    assert response.status_code == 303
    assert (
        second.post("/inbox/bulk", data={"action": "dismiss", "csrf_token": token_one}).status_code
        == 403
    )


def test_roles_do_not_share_pages(client_as, catalog):
    analyst, viewer = client_as("analyst"), client_as("viewer")
    make_item(catalog, vendor=get_vendor(catalog, "openai"), title="Something to triage")
    assert soup(analyst.get("/inbox")).select('form[action="/inbox/bulk"]')
    assert not soup(viewer.get("/inbox")).select('form[action="/inbox/bulk"]')


def test_flash_messages_show_once_and_are_not_cached(client_as, catalog):
    analyst = client_as("analyst")
    page = analyst.get("/inbox")
    response = analyst.post(
        "/inbox/bulk", data={"action": "dismiss", "csrf_token": csrf_from(page.text)}
    )
    assert "Select at least one item first." in response.text  # the redirect's page
    assert "Select at least one item first." not in analyst.get("/inbox").text
    other = client_as("analyst")
    assert "Select at least one item first." not in other.get("/inbox").text


def test_page_cache_can_be_turned_off(settings: Settings, catalog):
    from starlette.testclient import TestClient

    from tests.web.factories import login, make_user

    app = create_app(settings.model_copy(update={"page_cache_entries": 0}))
    try:
        make_user(catalog, username="nocache", role="viewer")
        with TestClient(app, base_url="http://testserver") as c:
            assert login(c, "nocache").status_code == 303
            assert c.get("/").status_code == 200
            assert getattr(app.state, "page_cache", None) is None
    finally:
        app.state.engine.dispose()


# --------------------------------------------------------------------------- the cache itself


def test_least_recently_used_pages_go_first():
    cache = pagecache.PageCache(entries=2, seconds=60)
    cache.put(("a",), "A")
    cache.put(("b",), "B")
    assert cache.get(("a",)) == "A"  # a is now the most recent
    cache.put(("c",), "C")
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == "A" and cache.get(("c",)) == "C"
    assert len(cache) == 2


def test_pages_expire_after_their_age_limit():
    cache = pagecache.PageCache(entries=10, seconds=0.05)
    cache.put(("a",), "A")
    assert cache.get(("a",)) == "A"
    time.sleep(0.1)
    assert cache.get(("a",)) is None


def test_concurrent_misses_build_a_page_once():
    cache = pagecache.PageCache(entries=10, seconds=60)
    builds = []
    start = threading.Barrier(8)
    results: list[str] = []

    def build() -> str:
        builds.append(1)
        time.sleep(0.2)
        return "page"

    def request() -> None:
        start.wait()
        results.append(cache.get_or_build(("k",), build))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["page"] * 8
    assert len(builds) == 1


def test_a_failed_build_is_not_stored_and_the_next_request_builds_again():
    cache = pagecache.PageCache(entries=10, seconds=60)

    def broken() -> str:
        raise RuntimeError("database went away")

    try:
        cache.get_or_build(("k",), broken)
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the error must reach the caller")
    assert cache.get_or_build(("k",), lambda: "page") == "page"


def test_marks_survive_autoescaping_unchanged():
    from markupsafe import escape

    for mark in (pagecache.CSRF_MARK, pagecache.USER_MARK):
        assert str(escape(mark)) == mark and mark.isalnum()


def test_session_fixture_is_a_separate_connection(catalog: Session, client_as):
    """The tests above rely on the fixture's session being another connection than the
    app's (as kb ingest is): the app must not see uncommitted work."""
    analyst = client_as("analyst")
    openai = get_vendor(catalog, "openai")
    openai.name = "Uncommitted name"
    catalog.flush()
    assert "Uncommitted name" not in analyst.get("/vendors/openai").text
    catalog.rollback()


def test_each_request_counts_once_as_a_hit_or_a_miss():
    cache = pagecache.PageCache(entries=10, seconds=60)
    assert cache.get_or_build(("k",), lambda: "page") == "page"
    assert (cache.hits, cache.misses) == (0, 1)
    assert cache.get_or_build(("k",), lambda: "other") == "page"
    assert (cache.hits, cache.misses) == (1, 1)
