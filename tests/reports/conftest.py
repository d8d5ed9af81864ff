"""A small world for report tests: two vendors with events, articles, facts and snapshots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlmodel import Session

from kb.models import Event, ScoreSnapshot, Vendor
from tests.factories import make_category, make_event, make_fact, make_item, make_vendor
from tests.reports.factories import contribution, make_snapshot

AS_OF = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@dataclass
class World:
    acme: Vendor
    other: Vendor
    lawsuit: Event
    release: Event
    suggested: Event
    dismissed: Event
    current: dict[str, ScoreSnapshot]  # acme's snapshots on AS_OF (the newest of the day)
    previous: dict[str, ScoreSnapshot]  # acme's snapshots before AS_OF


@pytest.fixture
def world(session: Session) -> World:
    acme = make_vendor(
        session,
        slug="acme",
        name="Acme AI \u201cLabs\u201d \u00e9t\u00e9 \u963f\u91cc",
        website="https://vendor1.example",
        jurisdiction="US",
        corporate_form="capped-profit",
        parent="Acme Holdings",
        description="Frontier lab <b>not bold</b>",
    )
    other = make_vendor(
        session,
        slug="other",
        name="Other Models",
        website="https://vendor2.example",
        jurisdiction="FR",
        corporate_form="private",
    )
    lawsuit_cat = make_category(
        session, value="lawsuit", label="Lawsuit", weight_stability=0.5, weight_lock_in=0.2
    )
    weights_cat = make_category(
        session,
        value="licensing-change",
        label="Licensing change",
        weight_stability=0.5,
        weight_lock_in=0.2,
    )
    lawsuit = make_event(
        session,
        vendors=[acme, other],
        category=lawsuit_cat,
        title="=SUM(1) Founder sues Acme | <script>x</script>",
        occurred_at=dt.date(2026, 10, 1),
        severity=4,
        items=[
            make_item(session, title="Reuters: founder sues", url="https://news.example/sues"),
            make_item(session, title="Evil link", url="javascript:alert(1)"),
        ],
    )
    release = make_event(
        session,
        vendors=[acme],
        category=weights_cat,
        title="Acme releases open weights\x0b",
        occurred_at=dt.date(2026, 11, 2),
        direction_stability=0,
        direction_lock_in=-1,
        items=[make_item(session, title="Acme blog", url="https://acme.example/blog/weights")],
    )
    suggested = make_event(
        session,
        vendors=[acme],
        category=lawsuit_cat,
        title="Rumoured lawsuit",
        occurred_at=dt.date(2026, 11, 10),
        status="suggested",
    )
    dismissed = make_event(
        session,
        vendors=[acme],
        category=lawsuit_cat,
        title="Dismissed noise",
        occurred_at=dt.date(2026, 11, 11),
        status="dismissed",
    )
    make_event(  # after the as-of date: not in the report
        session,
        vendors=[acme],
        category=lawsuit_cat,
        title="Future event",
        occurred_at=dt.date(2026, 11, 21),
    )
    make_fact(
        session,
        vendor=acme,
        key="open_weights",
        value="partial",
        detail="Some models",
        source_url="https://docs.example/open-weights",
        checked_at=dt.date(2026, 11, 1),
    )
    make_fact(
        session,
        vendor=acme,
        key="government_ties",
        value="no",
        detail=None,
        source_url="https://acme.example/trust",
        checked_at=dt.date(2026, 11, 1),
    )
    make_fact(
        session,
        vendor=acme,
        key="data_residency",
        value="yes",
        detail="EU and US",
        source_url="https://docs.example/open-weights",
        checked_at=dt.date(2026, 11, 1),
    )
    previous = {
        "stability": make_snapshot(
            session,
            vendor=acme,
            dimension="stability",
            as_of=dt.datetime(2026, 11, 13, 6, tzinfo=dt.UTC),
            value=30.1,
            band="moderate",
        ),
        "lock_in": make_snapshot(
            session,
            vendor=acme,
            dimension="lock_in",
            as_of=dt.datetime(2026, 11, 13, 6, tzinfo=dt.UTC),
            value=64.0,
            band="high",
        ),
    }
    # An older snapshot of the same day: the newest of the day wins.
    for dim in ("stability", "lock_in"):
        make_snapshot(
            session,
            vendor=acme,
            dimension=dim,
            as_of=dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC),
            value=99.9,
            band="severe",
        )
    current = {
        "stability": make_snapshot(
            session,
            vendor=acme,
            dimension="stability",
            as_of=dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC),
            value=37.4,
            band="moderate",
            confidence=0.4737,
            contributions=[
                contribution("event", str(lawsuit.id), lawsuit.title, 29.3, date="2026-10-01"),
                contribution(
                    "fact",
                    "corporate_form",
                    "Capped-profit structure",
                    8.1,
                    source_url="https://acme.example/structure",
                ),
            ],
        ),
        "lock_in": make_snapshot(
            session,
            vendor=acme,
            dimension="lock_in",
            as_of=dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC),
            value=55.6,
            band="high",
            confidence=0.6129,
            contributions=[
                contribution(
                    "fact",
                    "open_weights",
                    "Open weights: partial",
                    61.9,
                    source_url="https://docs.example/open-weights",
                ),
                contribution("event", str(release.id), release.title, -6.3, date="2026-11-02"),
            ],
        ),
    }
    for dim, value in (("stability", 12.0), ("lock_in", 70.2)):
        make_snapshot(
            session,
            vendor=other,
            dimension=dim,
            as_of=dt.datetime(2026, 11, 20, 7, tzinfo=dt.UTC),
            value=value,
            band="low" if value < 25 else "high",
        )
    session.commit()
    return World(acme, other, lawsuit, release, suggested, dismissed, current, previous)
