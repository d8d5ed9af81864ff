"""The pure scoring model: hand-computed examples and properties (hypothesis)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.scoring import model
from kb.scoring.model import EventRow, EventTotals, FactRow
from kb.scoring.weights import load_weights

W = load_weights()
DAY = dt.date(2026, 11, 23)
AS_OF = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


def ev(event_id: int = 1, **kw: object) -> EventRow:
    values: dict[str, object] = {
        "event_id": event_id,
        "title": f"event {event_id}",
        "category": "lawsuit",
        "severity": 5,
        "confidence": 1.0,
        "occurred_at": DAY,
        "direction_stability": 1,
        "direction_lock_in": 1,
        "weight_stability": 1.0,
        "weight_lock_in": 1.0,
        "half_life_days": 365.0,
        "grade": "A",
    }
    values.update(kw)
    return EventRow(**values)  # type: ignore[arg-type]


def test_bands_edges() -> None:
    assert model.band_for(0) == "low"
    assert model.band_for(24.9) == "low"
    assert model.band_for(25) == "moderate"
    assert model.band_for(49.9) == "moderate"
    assert model.band_for(50) == "high"
    assert model.band_for(75) == "severe"
    assert model.band_for(100) == "severe"


def test_decay_halves_every_half_life() -> None:
    assert model.decay(0, 365) == 1.0
    assert model.decay(365, 365) == pytest.approx(0.5)
    assert model.decay(730, 365) == pytest.approx(0.25)


def test_one_fresh_event_no_facts() -> None:
    # Stability with no facts: P = 100 * (2*0.5 + 1*0.5 + 1*0.6) / 4 = 52.5 (all unknown:
    # corporate form 0.5, government ties 0.5, certifications 0.6); b*P = 0.3 * 52.5 = 15.75.
    # c = 1 * 1.0 * 5/5 * 1.0 * 1.0 (grade A) * 1 (age 0) = 1.0;
    # F = 0.7 * 100 * (1 - exp(-1/2)) = 27.5428; score = 43.2928 -> 43.3 (moderate).
    d = model.score_dimension(dimension="stability", facts={}, events=[ev()], as_of=DAY, weights=W)
    assert d.value == 43.3
    assert d.band == "moderate"
    # Confidence: 0.3 * 0 (nothing known) + 0.7 * (1 + 1) / (1 + 1 + 9) = 0.127.
    assert d.confidence == 0.127
    points = {c.ref: c.points for c in d.contributions}
    assert points["1"] == pytest.approx(27.5428, abs=1e-4)
    assert sum(points.values()) == pytest.approx(43.2928, abs=1e-3)


def test_risk_lowering_event_discounts_the_profile() -> None:
    # Lock-in, every fact "no" except cloud ties "no" (risk 0): P = 100 * 13/15 = 86.667;
    # b*P = 52.0. One open-weights release, c = -1 * 1.0 * 1 * 1 * 1 * 1 = -1:
    # score = 52.0 * exp(-1/1.5) = 26.6977 -> 26.7; the release took 52.0 - 26.6977 = 25.3023.
    facts = {
        k: FactRow(key=k, value="no")
        for k in (
            "open_weights",
            "self_hosting",
            "openai_compatible_api",
            "data_export",
            "finetune_portability",
            "data_residency",
            "exclusive_cloud_ties",
        )
    }
    d = model.score_dimension(
        dimension="lock_in", facts=facts, events=[ev(direction_lock_in=-1)], as_of=DAY, weights=W
    )
    assert d.value == 26.7
    points = {c.ref: c.points for c in d.contributions}
    assert points["1"] == pytest.approx(-25.3023, abs=1e-4)
    assert sum(points.values()) == pytest.approx(26.6977, abs=1e-3)


def test_top_n_and_other_events_line() -> None:
    few = W.model_copy(update={"contributions": W.contributions.model_copy(update={"top_n": 2})})
    events = [ev(i, severity=i) for i in range(1, 6)]
    d = model.score_dimension(
        dimension="stability", facts={}, events=events, as_of=DAY, weights=few
    )
    listed = [c for c in d.contributions if c.kind == "event"]
    assert [c.ref for c in listed if c.ref != model.OTHER_REF] == ["5", "4"]
    other = next(c for c in listed if c.ref == model.OTHER_REF)
    assert other.label == "3 other events"
    assert sum(c.points for c in d.contributions) == pytest.approx(d.value, abs=0.06)
    full = model.score_dimension(
        dimension="stability", facts={}, events=events, as_of=DAY, weights=W
    )
    assert full.value == d.value


def test_future_events_do_not_count_in_score_vendor() -> None:
    s = model.score_vendor(
        vendor_id=1,
        slug="x",
        name="X",
        as_of=AS_OF,
        facts=[],
        events=[ev(occurred_at=DAY + dt.timedelta(days=1))],
        weights=W,
    )
    assert all(c.kind == "fact" for c in s.stability.contributions)


# --------------------------------------------------------------------------- properties

fact_values = st.sampled_from(["yes", "partial", "no", "unknown"])
facts_strategy = st.dictionaries(
    st.sampled_from(
        [
            "open_weights",
            "self_hosting",
            "openai_compatible_api",
            "data_export",
            "finetune_portability",
            "data_residency",
            "exclusive_cloud_ties",
            "certifications",
            "government_ties",
        ]
    ),
    fact_values,
).map(lambda d: {k: FactRow(key=k, value=v) for k, v in d.items()})


@st.composite
def events_strategy(draw: st.DrawFn, min_size: int = 0) -> list[EventRow]:
    n = draw(st.integers(min_value=min_size, max_value=12))
    out = []
    for i in range(n):
        out.append(
            ev(
                i + 1,
                severity=draw(st.integers(1, 5)),
                confidence=draw(st.floats(0, 1)),
                occurred_at=DAY - dt.timedelta(days=draw(st.integers(0, 3000))),
                direction_stability=draw(st.sampled_from([-1, 0, 1])),
                direction_lock_in=draw(st.sampled_from([-1, 0, 1])),
                weight_stability=draw(st.floats(0, 1)),
                weight_lock_in=draw(st.floats(0, 1)),
                half_life_days=draw(st.floats(1, 2000)),
                grade=draw(st.sampled_from([None, "A", "B", "C", "D", "E", "F"])),
            )
        )
    return out


def raw_value(dimension: str, facts: dict[str, FactRow], events: list[EventRow]) -> float:
    d = model.score_dimension(dimension=dimension, facts=facts, events=events, as_of=DAY, weights=W)
    return sum(c.points for c in d.contributions)


@settings(max_examples=150, deadline=None)
@given(
    facts=facts_strategy,
    events=events_strategy(),
    extra=events_strategy(min_size=1),
    dimension=st.sampled_from(model.DIMENSIONS),
)
def test_a_risk_raising_event_never_lowers_a_score(
    facts: dict[str, FactRow], events: list[EventRow], extra: list[EventRow], dimension: str
) -> None:
    raising = [
        EventRow(
            **{
                **e.__dict__,
                "event_id": 1000 + e.event_id,
                "direction_stability": 1,
                "direction_lock_in": 1,
            }
        )
        for e in extra[:1]
    ]
    before = model.score_dimension(
        dimension=dimension, facts=facts, events=events, as_of=DAY, weights=W
    )
    after = model.score_dimension(
        dimension=dimension, facts=facts, events=events + raising, as_of=DAY, weights=W
    )
    assert after.value >= before.value


@settings(max_examples=150, deadline=None)
@given(
    event=events_strategy(min_size=1),
    dimension=st.sampled_from(model.DIMENSIONS),
    days=st.integers(1, 3000),
)
def test_decay_lowers_an_events_weight_over_time(
    event: list[EventRow], dimension: str, days: int
) -> None:
    e = event[0]
    older = EventRow(**{**e.__dict__, "occurred_at": e.occurred_at - dt.timedelta(days=days)})
    c_new, _ = model.event_contribution(e, dimension, as_of=DAY, weights=W)
    c_old, _ = model.event_contribution(older, dimension, as_of=DAY, weights=W)
    assert abs(c_old) <= abs(c_new)
    if abs(c_new) > 1e-6 and days >= e.half_life_days / 10:
        assert abs(c_old) < abs(c_new)


@settings(max_examples=150, deadline=None)
@given(facts=facts_strategy, events=events_strategy(), dimension=st.sampled_from(model.DIMENSIONS))
def test_points_add_up_and_value_is_in_range(
    facts: dict[str, FactRow], events: list[EventRow], dimension: str
) -> None:
    d = model.score_dimension(dimension=dimension, facts=facts, events=events, as_of=DAY, weights=W)
    assert 0 <= d.value <= 100
    assert 0 <= d.confidence <= 1
    assert d.band == model.band_for(d.value)
    total = sum(c.points for c in d.contributions)
    assert total == pytest.approx(d.value, abs=0.05 + 1e-4 * len(d.contributions))
    magnitudes = [abs(c.points) for c in d.contributions]
    assert magnitudes == sorted(magnitudes, reverse=True)


@settings(max_examples=100, deadline=None)
@given(facts=facts_strategy, events=events_strategy(), dimension=st.sampled_from(model.DIMENSIONS))
def test_totals_from_sql_give_the_same_score(
    facts: dict[str, FactRow], events: list[EventRow], dimension: str
) -> None:
    # The service passes totals computed in SQL; the same totals computed here must give the
    # same value as letting the model sum the events itself.
    cs = [model.event_contribution(e, dimension, as_of=DAY, weights=W)[0] for e in events]
    totals = EventTotals(
        positive=math.fsum(c for c in cs if c > 0),
        negative=math.fsum(c for c in cs if c < 0),
        count=sum(1 for c in cs if c != 0),
    )
    a = model.score_dimension(dimension=dimension, facts=facts, events=events, as_of=DAY, weights=W)
    b = model.score_dimension(
        dimension=dimension, facts=facts, events=events, as_of=DAY, weights=W, totals=totals
    )
    assert a == b
