"""compute_scores and friends over a real database (SQLite and PostgreSQL), with a worked
example computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from kb.models import Vendor
from kb.scoring import service
from kb.scoring.model import VendorScore
from tests.scoring.factories import (
    make_category,
    make_event,
    make_fact,
    make_feed,
    make_item,
    make_vendor,
)

AS_OF = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

ACME_FACTS = {
    "open_weights": "no",
    "self_hosting": "no",
    "openai_compatible_api": "yes",
    "data_export": "partial",
    "finetune_portability": "no",
    "data_residency": "yes",
    "exclusive_cloud_ties": "yes",
    "certifications": "yes",
    "government_ties": "no",
}


def build_acme(session: Session) -> dict[str, int]:
    """The worked example of the README: one vendor, three counted events, four ignored."""
    acme = make_vendor(session, slug="acme", name="Acme AI", corporate_form="public-company")
    for key, value in ACME_FACTS.items():
        make_fact(session, vendor=acme, key=key, value=value)
    lawsuit = make_category(
        session,
        value="lawsuit-x",
        weight_stability=0.8,
        weight_lock_in=0.0,
        direction_stability=1,
        direction_lock_in=0,
        half_life_days=365,
    )
    exclusive = make_category(
        session,
        value="exclusivity-x",
        weight_stability=0.5,
        weight_lock_in=1.0,
        direction_stability=0,
        direction_lock_in=1,
        half_life_days=180,
    )
    release = make_category(
        session,
        value="open-weights-x",
        weight_stability=0.0,
        weight_lock_in=1.0,
        direction_stability=0,
        direction_lock_in=-1,
        half_life_days=365,
    )
    feed_a = make_feed(session, reliability="A")
    feed_c = make_feed(session, reliability="C")
    sued = make_event(
        session,
        vendors=[acme],
        category=lawsuit,
        title="Acme sued",
        severity=5,
        confidence=1.0,
        occurred_at=dt.date(2025, 11, 23),
        items=[make_item(session, feeds=[feed_a])],
    )
    deal = make_event(
        session,
        vendors=[acme],
        category=exclusive,
        title="Acme exclusive cloud deal",
        severity=4,
        confidence=0.75,
        occurred_at=dt.date(2026, 11, 23),
    )
    weights = make_event(
        session,
        vendors=[acme],
        category=release,
        title="Acme releases open weights",
        severity=5,
        confidence=1.0,
        occurred_at=dt.date(2024, 11, 23),
        items=[make_item(session, feeds=[feed_c]), make_item(session, feeds=[feed_a, feed_c])],
    )
    dismissed = make_event(session, vendors=[acme], category=lawsuit, status="dismissed")
    suggested = make_event(
        session, vendors=[acme], category=lawsuit, status="suggested", occurred_at=AS_OF.date()
    )
    future = make_event(
        session, vendors=[acme], category=lawsuit, occurred_at=dt.date(2026, 11, 24)
    )
    merged = make_event(session, vendors=[acme], category=lawsuit)
    merged.merged_into_id = sued.id
    session.add(merged)
    session.flush()
    assert acme.id is not None
    return {
        "vendor": acme.id,
        "sued": sued.id or 0,
        "deal": deal.id or 0,
        "weights": weights.id or 0,
        "dismissed": dismissed.id or 0,
        "suggested": suggested.id or 0,
        "future": future.id or 0,
    }


def points(score: VendorScore, dimension: str) -> dict[str, float]:
    return {c.ref: c.points for c in score.dimension(dimension).contributions}


def test_worked_example(session: Session) -> None:
    ids = build_acme(session)
    score = service.compute_scores(session=session, as_of=AS_OF)[ids["vendor"]]

    # Stability profile: corporate_form public-company (w 2, risk 0.2), government_ties no
    # (w 1, risk 0), certifications yes (w 1, risk 0): P = 100 * 0.4 / 4 = 10; b = 0.3 -> 3.0.
    # Event "Acme sued": c = 1 * 0.8 * 5/5 * 1.0 * rel(A)=1.0 * 0.5 ** (365/365) = 0.4.
    # F(0.4) = 0.7 * 100 * (1 - exp(-0.4 / 2)) = 12.6888; score = 3.0 + 12.6888 = 15.7 (low).
    # Confidence: 0.3 * 1 (all facts known) + 0.7 * (1 + 1) / (1 + 1 + 9) = 0.427.
    st = score.stability
    assert st.value == 15.7
    assert st.band == "low"
    assert st.confidence == 0.427
    pts = points(score, "stability")
    assert pts[str(ids["sued"])] == pytest.approx(12.6888, abs=1e-3)
    assert pts["corporate_form"] == pytest.approx(3.0)
    assert sum(pts.values()) == pytest.approx(15.6888, abs=1e-3)

    # Lock-in profile: open_weights no 3*1 + self_hosting no 3*1 + api yes 0 + export partial
    # 2*0.5 + finetune no 1.5*1 + residency yes 0 + cloud ties yes 2*1 = 10.5 of 15 -> P = 70;
    # b = 0.6 -> 42.0. Events: the deal c = 1 * 1.0 * 4/5 * 0.75 * rel(B, no items)=0.85 * 1
    # = 0.51; the release c = -1 * 1.0 * 5/5 * 1.0 * rel(best of C, A)=1.0 * 0.5 ** 2 = -0.25.
    # S = 0.26: F = 0.4 * 100 * (1 - exp(-0.26 / 1.5)) = 6.3657; score = 48.4 (moderate).
    # The deal gets F(S+) = F(0.51) = 11.5292, the release F(S) - F(S+) = -5.1635.
    # Confidence: 0.6 * 1 + 0.4 * (2 + 1) / (2 + 1 + 9) = 0.7.
    li = score.lock_in
    assert li.value == 48.4
    assert li.band == "moderate"
    assert li.confidence == 0.7
    pts = points(score, "lock_in")
    assert pts[str(ids["deal"])] == pytest.approx(11.5292, abs=1e-3)
    assert pts[str(ids["weights"])] == pytest.approx(-5.1635, abs=1e-3)
    assert pts["open_weights"] == pytest.approx(0.6 * 100 * 3 / 15)
    assert sum(pts.values()) == pytest.approx(48.3657, abs=1e-3)
    # Dismissed, suggested (not opted in), future and merged events never appear.
    listed = {c.ref for c in li.contributions} | {c.ref for c in st.contributions}
    for name in ("dismissed", "suggested", "future"):
        assert str(ids[name]) not in listed
    assert len([c for c in st.contributions if c.kind == "event"]) == 1
    # The first item's URL is the event's source, largest |points| first.
    lines = st.contributions
    assert abs(lines[0].points) >= abs(lines[-1].points)
    sued_line = next(c for c in st.contributions if c.ref == str(ids["sued"]))
    assert sued_line.source_url is not None and sued_line.source_url.startswith("https://")
    assert sued_line.detail["grade"] == "A"
    assert sued_line.date == dt.date(2025, 11, 23)


def test_suggested_events_count_only_when_opted_in(session: Session) -> None:
    ids = build_acme(session)
    without = service.compute_scores(session=session, as_of=AS_OF)[ids["vendor"]]
    with_ = service.compute_scores(session=session, as_of=AS_OF, include_suggested=True)[
        ids["vendor"]
    ]
    assert with_.stability.value > without.stability.value
    assert str(ids["suggested"]) in points(with_, "stability")


def test_past_as_of_ignores_later_events(session: Session) -> None:
    ids = build_acme(session)
    before = dt.datetime(2025, 11, 22, tzinfo=dt.UTC)
    score = service.compute_scores(session=session, as_of=before)[ids["vendor"]]
    assert str(ids["sued"]) not in points(score, "stability")
    # Only the profile part is left on stability: 3.0.
    assert score.stability.value == 3.0


def test_vendor_without_anything_scores_its_unknown_profile(session: Session) -> None:
    vendor = make_vendor(session)
    score = service.compute_scores(session=session, as_of=AS_OF)[vendor.id or 0]
    # Lock-in: every fact unknown -> P = 100 * (0.6*13 + 0.5*2) / 15 = 58.667; 0.6 * P = 35.2.
    assert score.lock_in.value == 35.2
    # Nothing known, no events: confidence = 0.4 * 1/10 = 0.04.
    assert score.lock_in.confidence == 0.04


def test_vendor_ids_and_unknown_status_override(session: Session) -> None:
    ids = build_acme(session)
    other = make_vendor(session)
    scores = service.compute_scores(session=session, as_of=AS_OF, vendor_ids=[other.id or 0])
    assert list(scores) == [other.id]
    with pytest.raises(service.ScoringError, match="status must be one of"):
        service.compute_scores(session=session, status_overrides={ids["sued"]: "maybe"})


def test_snapshots_history_and_alerts(session: Session) -> None:
    ids = build_acme(session)
    first = service.snapshot_scores(session=session, as_of=AS_OF - dt.timedelta(days=400))
    assert first.alerts == []
    second = service.snapshot_scores(session=session, as_of=AS_OF, run_id="run-2")
    session.commit()
    history = service.score_history(session=session, vendor_id=ids["vendor"])
    assert len(history) == 4
    assert {h.run_id for h in history[-2:]} == {"run-2"}
    stab = service.score_history(session=session, vendor_id=ids["vendor"], dimension="stability")
    assert [h.value for h in stab] == [3.0, 15.7]
    assert stab[-1].model_version == second.scores[ids["vendor"]].model_version
    assert stab[-1].contributions[0]["kind"] in ("event", "fact")
    assert stab[-1].as_of == AS_OF
    # Stability 3.0 -> 15.7 jumped by 12.7 >= 10 (threshold); the band stayed low. Lock-in
    # 400 days earlier: only the release counted, 330 days old: c = -0.5 ** (330/365) =
    # -0.5344, score = 42 * exp(-0.5344 / 1.5) = 29.4; now 48.4: jumped +19.0.
    alerts = [a for a in second.alerts if a.vendor_id == ids["vendor"]]
    assert [(a.dimension, a.reason) for a in alerts] == [
        ("stability", "jumped +12.7"),
        ("lock_in", "jumped +19.0"),
    ]
    assert [a.reason for a in service.recent_alerts(session=session)] == [
        "jumped +19.0",
        "jumped +12.7",
    ]
    latest = service.latest_snapshots(session=session)
    assert latest[ids["vendor"]]["stability"].value == 15.7
    change = service.change_since(session=session, days=7, as_of=AS_OF)
    assert change[ids["vendor"]]["stability"] == 12.7
    assert service.change_since(session=session, days=500, as_of=AS_OF)[ids["vendor"]] == {
        "stability": None,
        "lock_in": None,
    }


def test_what_if_previews_without_saving(session: Session) -> None:
    ids = build_acme(session)
    session.commit()
    preview = service.what_if(
        session=session, event_id=ids["sued"], status="dismissed", as_of=AS_OF
    )
    now, changed = preview[ids["vendor"]]
    assert now.stability.value == 15.7
    assert changed.stability.value == 3.0
    confirm = service.what_if(
        session=session, event_id=ids["suggested"], status="confirmed", as_of=AS_OF
    )
    now, changed = confirm[ids["vendor"]]
    assert changed.stability.value > now.stability.value
    assert session.get(Vendor, ids["vendor"]) is not None
    with pytest.raises(service.ScoringError, match="no event"):
        service.what_if(session=session, event_id=999_999, status="confirmed")
