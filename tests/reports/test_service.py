"""Building the report data: stored snapshots, change, trend, events, links, facts, errors."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from kb.reports import service
from kb.reports.service import ReportError
from tests.reports.conftest import AS_OF, NOW, World
from tests.reports.factories import make_snapshot


def test_vendor_report_uses_the_newest_snapshot_of_the_day(session: Session, world: World) -> None:
    report = service.build_report(session=session, vendor_slug="acme", as_of=AS_OF, now=NOW)
    assert report.kind == "vendor"
    assert [v.slug for v in report.vendors] == ["acme"]
    acme = report.vendors[0]
    for dim, snap in world.current.items():
        line = acme.score(dim)
        assert (line.value, line.band, line.confidence) == (snap.value, snap.band, snap.confidence)
        assert line.snapshot_id == snap.id
        assert line.model_version == snap.model_version
    assert report.model_versions == ("2026.11-test",)
    assert report.file_name("pdf") == "report-acme-2026-11-20.pdf"


def test_change_is_against_the_previous_stored_score(session: Session, world: World) -> None:
    report = service.build_report(session=session, vendor_slug="acme", as_of=AS_OF, now=NOW)
    stability = report.vendors[0].score("stability")
    assert stability.previous is not None
    assert stability.previous.value == world.previous["stability"].value
    assert stability.change == round(37.4 - 30.1, 1)
    assert stability.trend_word == "rising"
    lock_in = report.vendors[0].score("lock_in")
    assert lock_in.change == round(55.6 - 64.0, 1)
    assert lock_in.trend_word == "falling"
    # The trend has one point per day: the day's newest snapshot.
    assert [(p.date, p.value) for p in stability.trend] == [
        (dt.date(2026, 11, 13), 30.1),
        (dt.date(2026, 11, 20), 37.4),
    ]


def test_change_since_a_given_date(session: Session, world: World) -> None:
    make_snapshot(
        session,
        vendor=world.acme,
        dimension="stability",
        as_of=dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC),
        value=20.0,
        band="low",
    )
    make_snapshot(
        session,
        vendor=world.acme,
        dimension="lock_in",
        as_of=dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC),
        value=50.0,
        band="high",
    )
    session.commit()
    report = service.build_report(
        session=session, vendor_slug="acme", as_of=AS_OF, since=dt.date(2026, 9, 1), now=NOW
    )
    assert report.since == dt.date(2026, 9, 1)
    assert report.vendors[0].score("stability").change == 17.4
    assert report.vendors[0].score("lock_in").change == 5.6


def test_events_timeline_links_and_drivers(session: Session, world: World) -> None:
    report = service.build_report(session=session, vendor_slug="acme", as_of=AS_OF, now=NOW)
    acme = report.vendors[0]
    # Confirmed and suggested, newest first; dismissed and later events left out.
    assert [(e.id, e.status) for e in acme.events] == [
        (world.suggested.id, "suggested"),
        (world.release.id, "confirmed"),
        (world.lawsuit.id, "confirmed"),
    ]
    lawsuit = acme.events[-1]
    assert [lk.url for lk in lawsuit.links] == [
        "https://news.example/sues",
        "javascript:alert(1)",  # kept as data; renderers only link http(s)
    ]
    drivers = acme.score("stability").drivers
    assert [d.ref for d in drivers] == [str(world.lawsuit.id), "corporate_form"]
    assert drivers[0].links == lawsuit.links
    assert drivers[0].date == dt.date(2026, 10, 1)
    # Biggest effect first, whatever the sign.
    assert [d.points for d in acme.score("lock_in").drivers] == [61.9, -6.3]
    assert round(sum(d.points for d in acme.score("stability").drivers), 1) == 37.4


def test_facts_checklist_and_sovereignty(session: Session, world: World) -> None:
    report = service.build_report(session=session, vendor_slug="acme", as_of=AS_OF, now=NOW)
    acme = report.vendors[0]
    assert [f.key for f in acme.facts] == ["open_weights", "data_residency", "government_ties"]
    assert {f.key: f.assessment for f in acme.facts} == {
        "open_weights": "partial",
        "data_residency": "favourable",
        "government_ties": "favourable",  # "no" government ties is the good answer
    }
    assert [f.key for f in acme.lock_in_checklist] == ["open_weights"]
    assert [f.key for f in acme.sovereignty_facts] == ["data_residency", "government_ties"]
    assert acme.facts[0].checked_at == dt.date(2026, 11, 1)


def test_portfolio_has_every_vendor_by_name(session: Session, world: World) -> None:
    report = service.build_report(session=session, as_of=AS_OF, now=NOW)
    assert report.kind == "portfolio"
    assert [v.slug for v in report.vendors] == ["acme", "other"]
    assert report.vendors[1].score("lock_in").value == 70.2
    assert report.vendors[1].score("stability").previous is None
    assert report.vendors[1].score("stability").trend_word == "new"
    assert [e.id for e in report.vendors[1].events] == [world.lawsuit.id]
    assert report.file_name("xlsx") == "portfolio-2026-11-20.xlsx"


def test_bad_requests_are_refused_clearly(session: Session, world: World) -> None:
    with pytest.raises(ReportError, match="unknown vendor 'nope'"):
        service.build_report(session=session, vendor_slug="nope", now=NOW)
    with pytest.raises(ReportError, match="in the future"):
        service.build_report(session=session, as_of=dt.date(2026, 11, 24), now=NOW)
    with pytest.raises(ReportError, match="on or after 1970-01-01"):
        service.build_report(session=session, as_of=dt.date(1, 1, 1), now=NOW)
    with pytest.raises(ReportError, match="must be before"):
        service.build_report(session=session, as_of=AS_OF, since=AS_OF, now=NOW)
    with pytest.raises(ReportError, match="YYYY-MM-DD"):
        service.parse_date("20-11-2026", name="--as-of")
    assert service.parse_date("2026-11-20", name="--as-of") == AS_OF


def test_missing_day_is_computed_stored_and_reused(session: Session, world: World) -> None:
    from sqlmodel import select

    from kb.models import ScoreSnapshot
    from kb.scoring import service as scoring

    day = dt.date(2026, 11, 22)  # no snapshot stored that day
    report = service.build_report(session=session, as_of=day, now=NOW)
    session.commit()
    stored = list(session.exec(select(ScoreSnapshot).where(ScoreSnapshot.run_id == "report")))
    assert len(stored) == 4  # two vendors x two dimensions
    assert {s.as_of for s in stored} == {dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=dt.UTC)}
    expected = scoring.compute_scores(
        session=session, as_of=dt.datetime(2026, 11, 22, 23, 59, 59, tzinfo=dt.UTC)
    )
    for section in report.vendors:
        for line in section.scores:
            computed = expected[section.id].dimension(line.dimension)
            assert (line.value, line.band, line.confidence) == (
                computed.value,
                computed.band,
                computed.confidence,
            )
            assert round(sum(d.points for d in line.drivers), 1) == line.value
    # The change is measured against the newest snapshot before that day (2026-11-20).
    assert report.vendors[0].score("stability").previous.value == 37.4
    again = service.build_report(session=session, as_of=day, now=NOW)
    assert [s.snapshot_id for v in again.vendors for s in v.scores] == [
        s.snapshot_id for v in report.vendors for s in v.scores
    ]
    assert len(list(session.exec(select(ScoreSnapshot)))) == 8 + 4  # nothing stored twice
