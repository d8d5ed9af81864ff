"""Dashboard, vendor list, vendor page (facts, live scores, chart, events), feed health."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from kb.items import service as items_service
from kb.models import AuditLog, VendorFact, utcnow
from kb.scoring import service as scoring
from tests.web.factories import get_vendor, make_event, make_feed, make_item, page_csrf, soup


def _score_value(page, dimension: str) -> float:
    card = page.select_one(f"#score-{dimension}")
    return float(card.select_one(".score-value").get_text())


def test_dashboard_lists_vendors_with_latest_scores_trend_and_change(client_as, catalog: Session):
    session = catalog
    openai = get_vendor(session, "openai")
    now = utcnow()
    scoring.snapshot_scores(session=session, as_of=now - dt.timedelta(days=10))
    make_event(session, vendor=openai, severity=5, days_ago=1)
    scoring.snapshot_scores(session=session, as_of=now)
    session.commit()
    viewer = client_as("viewer")
    page = soup(viewer.get("/"))
    rows = page.select("table.dashboard tbody tr")
    assert len(rows) >= 18
    row = page.select_one('tr[data-vendor="openai"]')
    assert row.select_one("a")["href"] == "/vendors/openai"
    assert len(row.select("svg.spark polyline")) == 2
    assert row.select_one(".band").get_text() in {"low", "moderate", "high", "severe"}
    change = row.select("td.change")[0].get_text()
    assert change.startswith("+")  # the lawsuit raised stability risk within the week
    assert page.select_one("section.alerts")


def test_dashboard_without_snapshots_says_so(client_as, catalog: Session):
    page = soup(client_as("viewer").get("/"))
    assert page.select('tr[data-vendor="anthropic"]')
    assert "kb score" in page.get_text()


def test_vendor_page_shows_facts_breakdown_chart_and_timeline(client_as, catalog: Session):
    session = catalog
    openai = get_vendor(session, "openai")
    event = make_event(
        session, vendor=openai, title="Board ousts CEO", category="leadership-change"
    )
    make_event(session, vendor=openai, title="Dismissed rumour", status="dismissed")
    page = soup(client_as("viewer").get("/vendors/openai"))
    assert page.select_one("h1").get_text() == "OpenAI"
    facts = page.select("table.facts tbody tr")
    assert len(facts) == 9
    assert page.select_one('tr[data-fact="open_weights"] a[href^="http"]')
    stability = page.select_one("#score-stability")
    refs = [tr["data-ref"] for tr in stability.select("tr[data-kind=event]")]
    assert str(event.id) in refs
    assert page.select_one("#score-lock_in tr[data-kind=fact]")
    assert page.select_one("svg.chart polyline")
    timeline = [tr.select_one("a").get_text() for tr in page.select("table.timeline tbody tr")]
    assert timeline == ["Board ousts CEO"]


def test_vendor_score_changes_when_an_event_is_confirmed(client_as, catalog: Session):
    session = catalog
    openai = get_vendor(session, "openai")
    viewer = client_as("viewer")
    before = _score_value(soup(viewer.get("/vendors/openai")), "stability")
    event = make_event(session, vendor=openai, status="suggested", severity=5)
    assert _score_value(soup(viewer.get("/vendors/openai")), "stability") == before
    event.status = "confirmed"
    session.add(event)
    session.commit()
    assert _score_value(soup(viewer.get("/vendors/openai")), "stability") > before


def test_unknown_vendor_is_404_page(client_as, catalog: Session):
    response = client_as("viewer").get("/vendors/nope")
    assert response.status_code == 404
    assert "no vendor" in soup(response).select_one(".error-detail").get_text()


def test_analyst_edits_a_fact_with_source_and_date_and_it_is_audited(client_as, catalog):
    session = catalog
    analyst = client_as("analyst")
    csrf = page_csrf(analyst, "/vendors/openai")
    response = analyst.post(
        "/vendors/openai/facts",
        data={
            "key": "open_weights",
            "value": "partial",
            "source_url": "https://openai.example/open-weights",
            "checked_at": "2026-11-20",
            "detail": "gpt-oss released",
            "csrf_token": csrf,
        },
    )
    page = soup(response)
    assert "set to partial" in page.select_one(".flash").get_text()
    row = page.select_one('tr[data-fact="open_weights"]')
    assert row.select_one(".fact-value").get_text() == "partial"
    assert "2026-11-20" in row.get_text() and "analyst" in row.get_text()
    session.expire_all()
    openai = get_vendor(session, "openai")
    fact = session.exec(
        select(VendorFact).where(
            VendorFact.vendor_id == openai.id, VendorFact.key == "open_weights"
        )
    ).one()
    assert fact.source_url == "https://openai.example/open-weights"
    assert fact.checked_at == dt.date(2026, 11, 20)
    entry = session.exec(select(AuditLog).where(AuditLog.action == "vendor_fact.set")).one()
    assert entry.actor_name.startswith("analyst")
    assert entry.after["value"] == "partial" and entry.before["key"] == "open_weights"


def test_bad_fact_is_refused_with_a_message_and_nothing_changes(client_as, catalog: Session):
    session = catalog
    analyst = client_as("analyst")
    csrf = page_csrf(analyst, "/vendors/openai")
    openai = get_vendor(session, "openai")
    before = {
        f.key: f.value
        for f in session.exec(select(VendorFact).where(VendorFact.vendor_id == openai.id))
    }
    for data, message in (
        ({"source_url": "ftp://x", "checked_at": "2026-11-20"}, "source URL"),
        ({"source_url": "https://x.example", "checked_at": "20/11/2026"}, "YYYY-MM-DD"),
    ):
        response = analyst.post(
            "/vendors/openai/facts",
            data={"key": "open_weights", "value": "yes", "csrf_token": csrf, **data},
        )
        assert message in soup(response).select_one(".flash-error").get_text()
    session.expire_all()
    after = {
        f.key: f.value
        for f in session.exec(select(VendorFact).where(VendorFact.vendor_id == openai.id))
    }
    assert after == before


def test_viewer_gets_no_fact_form(client_as, catalog: Session):
    page = soup(client_as("viewer").get("/vendors/openai"))
    assert page.select_one("form.fact-form") is None


def test_feed_health_page_and_dashboard_warning(client_as, session: Session):
    make_feed(
        session, name="Healthy", checked_at=utcnow(), last_success_at=utcnow(), last_status=200
    )
    make_feed(
        session,
        name="Broken",
        checked_at=utcnow(),
        last_status=500,
        last_error="HTTP 500 from server",
        error_count=3,
    )
    viewer = client_as("viewer")
    page = soup(viewer.get("/feeds"))
    rows = page.select("table.feeds tbody tr")
    assert [r["data-state"] for r in rows] == ["error", "ok"]
    assert "HTTP 500 from server" in rows[0].get_text()
    dash = soup(viewer.get("/"))
    warnings = dash.select(".feed-warnings li")
    assert len(warnings) == 1 and "Broken" in warnings[0].get_text()


def test_vendor_page_lists_recent_reports(client_as, catalog: Session):
    session = catalog
    make_item(
        session,
        vendor=get_vendor(session, "openai"),
        title="OpenAI changes terms",
        summary="<p>New <b>terms</b></p>",
    )
    page = soup(client_as("viewer").get("/vendors/openai"))
    item = page.select_one("ul.items li[data-item]")
    assert "OpenAI changes terms" in item.get_text()
    assert item.select_one(".summary b").get_text() == "terms"


def test_vendor_events_are_paginated(client_as, catalog: Session):
    session = catalog
    openai = get_vendor(session, "openai")
    for i in range(30):
        make_event(session, vendor=openai, title=f"Event {i:02d}", days_ago=i + 1, severity=2)
    viewer = client_as("viewer")
    first = soup(viewer.get("/vendors/openai"))
    assert len(first.select("table.timeline tbody tr")) == 25
    assert first.select_one("table.timeline a").get_text() == "Event 00"
    nxt = first.select_one("#events .pagination a[rel=next]")["href"]
    second = soup(viewer.get(nxt))
    titles = [a.get_text() for a in second.select("table.timeline tbody tr a")]
    assert titles == [f"Event {i:02d}" for i in range(25, 30)]


def test_dashboard_shows_new_snapshots_at_once(client_as, catalog: Session):
    session = catalog
    viewer = client_as("viewer")
    assert (
        soup(viewer.get("/")).select_one('tr[data-vendor="openai"] td.score').get_text() == "\u2013"
    )
    scoring.snapshot_scores(session=session)
    session.commit()
    cell = soup(viewer.get("/")).select_one('tr[data-vendor="openai"] td.score').get_text()
    assert float(cell) >= 0


def test_live_score_reuse_follows_every_input(client_as, catalog: Session):
    """The vendor page reuses a computed score only while its inputs are unchanged."""
    from kb.models import Category

    session = catalog
    openai = get_vendor(session, "openai")
    viewer = client_as("viewer")

    def value(dim: str = "stability") -> float:
        return _score_value(soup(viewer.get("/vendors/openai")), dim)

    start = value()
    event = make_event(session, vendor=openai, severity=5, status="suggested")
    assert value() == start
    event.status = "confirmed"  # changed behind the app's back: no audit, no updated_at
    session.add(event)
    session.commit()
    confirmed = value()
    assert confirmed > start
    event.severity = 1
    session.add(event)
    session.commit()
    assert value() < confirmed
    lawsuit = session.exec(select(Category).where(Category.value == "lawsuit")).one()
    lawsuit.weight_stability = 0.0
    session.add(lawsuit)
    session.commit()
    assert value() == start
    lock_in = value("lock_in")
    fact = session.exec(
        select(VendorFact).where(
            VendorFact.vendor_id == openai.id, VendorFact.key == "open_weights"
        )
    ).one()
    fact.value = "no" if fact.value != "no" else "yes"
    session.add(fact)
    session.commit()
    assert value("lock_in") != lock_in


@pytest.mark.parametrize("dense_links", [2_000, 3], ids=["sparse", "dense"])
def test_vendor_page_lists_the_ten_newest_items_of_that_vendor_only(
    client_as, catalog: Session, monkeypatch: pytest.MonkeyPatch, dense_links: int
):
    """The same ten items, newest first, whichever plan the query takes (dense: date walk)."""
    monkeypatch.setattr(items_service, "DENSE_LINKS", dense_links)
    session = catalog
    now = utcnow()
    openai, other = get_vendor(session, "openai"), get_vendor(session, "anthropic")
    for n in range(14):  # two items per day: ties on the date are broken by id, newest first
        make_item(
            session, vendor=openai, title=f"O{n}", published_at=now - dt.timedelta(days=n // 2)
        )
    make_item(session, vendor=other, title="Not OpenAI", published_at=now + dt.timedelta(hours=1))
    page = soup(client_as("viewer").get("/vendors/openai"))
    titles = [li.select_one("a").get_text() for li in page.select("ul.items li[data-item]")]
    assert titles == ["O1", "O0", "O3", "O2", "O5", "O4", "O7", "O6", "O9", "O8"]
