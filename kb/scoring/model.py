"""The scoring model: pure arithmetic over plain rows (no database), explained line by line.

Per vendor and dimension (stability, lock_in), with the constants of kb/data/scoring.yaml:

- each counted event adds ``c = direction * weight * severity/5 * confidence * reliability
  * 0.5 ** (age_days / half_life)``; ``S`` is their sum;
- the profile part ``P = 100 * sum(w_f * risk_f) / sum(w_f)`` comes from the vendor's facts;
- ``score = b*P + F(S)`` with ``F(S) = (1-b) * 100 * (1 - exp(-S/K))`` for ``S >= 0`` and
  ``F(S) = b*P * (exp(S/K) - 1)`` for ``S < 0`` (risk-lowering news discounts the profile
  part, never below 0). ``F`` rises with ``S``, so a risk-raising event never lowers a score;
- contributions: fact f adds ``b * 100 * w_f * risk_f / sum(w)``; risk-raising events share
  ``F(S+)`` in proportion to their ``c`` (``S+`` = sum of positive c), risk-lowering events
  share ``F(S) - F(S+)`` in proportion to theirs. The points add up to the score.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kb.scoring.weights import DimensionWeights, ScoringWeights, load_weights

DIMENSIONS = ("stability", "lock_in")
BANDS = ("low", "moderate", "high", "severe")
OTHER_REF = "other"


@dataclass(frozen=True)
class Contribution:
    """One line of a score's arithmetic: an event or a fact and the points it added."""

    kind: str  # "event" | "fact"
    ref: str  # event id (as str) or fact key
    label: str
    points: float
    detail: dict[str, Any]
    source_url: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class DimensionScore:
    """One dimension's score, band, confidence and contributions (largest |points| first)."""

    dimension: str
    value: float
    band: str
    confidence: float
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class VendorScore:
    """Both dimensions of one vendor at one as-of time."""

    vendor_id: int
    slug: str
    name: str
    as_of: dt.datetime
    model_version: str
    stability: DimensionScore
    lock_in: DimensionScore

    def dimension(self, name: str) -> DimensionScore:
        """The score of dimension ``name``."""
        if name == "stability":
            return self.stability
        if name == "lock_in":
            return self.lock_in
        raise KeyError(name)


@dataclass(frozen=True)
class EventRow:
    """One event as it concerns one vendor, with its category's constants."""

    event_id: int
    title: str
    category: str
    severity: int
    confidence: float
    occurred_at: dt.date
    direction_stability: int
    direction_lock_in: int
    weight_stability: float
    weight_lock_in: float
    half_life_days: float
    grade: str | None = None  # best source feed grade; None: no items (default grade)
    status: str = "confirmed"
    source_url: str | None = None


@dataclass(frozen=True)
class FactRow:
    """One profile fact of a vendor (or its corporate form, key ``corporate_form``)."""

    key: str
    value: str
    source_url: str | None = None
    checked_at: dt.date | None = None


@dataclass(frozen=True)
class EventTotals:
    """Sums over ALL counted events of one vendor and dimension (from SQL when the event list
    passed to the model is only the top candidates)."""

    positive: float = 0.0
    negative: float = 0.0
    count: int = 0


@dataclass
class _Term:
    row: EventRow
    c: float
    detail: dict[str, Any] = field(default_factory=dict)


def band_for(value: float, weights: ScoringWeights | None = None) -> str:
    """The band of a 0..100 value: low < moderate <= v < high <= v < severe <= v."""
    edges = (weights or load_weights()).bands
    if value >= edges.severe:
        return "severe"
    if value >= edges.high:
        return "high"
    if value >= edges.moderate:
        return "moderate"
    return "low"


def band_rank(band: str | None) -> int:
    """0 for low .. 3 for severe; -1 for none."""
    return BANDS.index(band) if band in BANDS else -1


# Past this many half-lives an event is forgotten (its share would be below 1e-301): so
# "counts" never hinges on where floating point underflows, and SQL can count without it.
MAX_HALF_LIVES = 1000


def decay(age_days: float, half_life_days: float) -> float:
    """The share of an event's weight left after ``age_days``: halves every half-life;
    0 from ``MAX_HALF_LIVES`` half-lives on."""
    halvings = max(age_days, 0.0) / half_life_days
    if halvings >= MAX_HALF_LIVES:
        return 0.0
    return float(0.5**halvings)


def age_days(occurred_at: dt.date, as_of: dt.date) -> int:
    """Whole days between the event and the as-of date (0 on the same day)."""
    return (as_of - occurred_at).days


def event_contribution(
    row: EventRow, dimension: str, *, as_of: dt.date, weights: ScoringWeights
) -> tuple[float, dict[str, Any]]:
    """The raw contribution c of one event to one dimension, and its inputs."""
    if dimension == "stability":
        direction, weight = row.direction_stability, row.weight_stability
    else:
        direction, weight = row.direction_lock_in, row.weight_lock_in
    age = age_days(row.occurred_at, as_of)
    dec = decay(age, row.half_life_days)
    rel = weights.reliability.multiplier(row.grade)
    c = direction * weight * row.severity / 5 * row.confidence * rel * dec
    detail = {
        "category": row.category,
        "status": row.status,
        "direction": direction,
        "weight": weight,
        "severity": row.severity,
        "confidence": row.confidence,
        "grade": (row.grade or weights.reliability.default_grade).upper(),
        "reliability": rel,
        "age_days": age,
        "half_life_days": row.half_life_days,
        "decay": dec,
        "c": c,
    }
    return c, detail


def event_part(s: float, profile: float, dim: DimensionWeights) -> float:
    """F(S): the points events add to (S >= 0) or take off (S < 0) the profile part b*P."""
    b = dim.profile_blend
    if s >= 0:
        return (1 - b) * 100 * (1 - math.exp(-s / dim.k))
    return b * profile * (math.exp(s / dim.k) - 1)


def profile_part(
    facts: Mapping[str, FactRow], dim: DimensionWeights
) -> tuple[float, float, list[Contribution]]:
    """(P, share of fact weight that is known, fact contributions) for one dimension."""
    total = dim.total_fact_weight
    if total <= 0:
        return 0.0, 0.0, []
    b = dim.profile_blend
    p = 0.0
    known = 0.0
    lines: list[Contribution] = []
    for key, fw in dim.facts.items():
        fact = facts.get(key)
        value = fact.value if fact is not None and fact.value in fw.risk else "unknown"
        risk = fw.risk[value]
        share = fw.weight / total
        p += 100 * share * risk
        if value != "unknown":
            known += fw.weight
        lines.append(
            Contribution(
                kind="fact",
                ref=key,
                label=f"{fw.label}: {value}",
                points=round(b * 100 * share * risk, 4),
                detail={
                    "value": value,
                    "weight": fw.weight,
                    "risk": risk,
                    "share": share,
                    "profile_blend": b,
                },
                source_url=fact.source_url if fact is not None else None,
                date=fact.checked_at if fact is not None else None,
            )
        )
    return p, known / total, lines


def score_dimension(
    *,
    dimension: str,
    facts: Mapping[str, FactRow],
    events: Iterable[EventRow],
    as_of: dt.date,
    weights: ScoringWeights,
    totals: EventTotals | None = None,
) -> DimensionScore:
    """Score one dimension. ``events`` are all counted events, or (with ``totals`` from SQL)
    the candidates for the top-N list; the remainder becomes one "other events" line."""
    dim = weights.dimensions[dimension]
    b = dim.profile_blend
    p, known_share, fact_lines = profile_part(facts, dim)

    terms: list[_Term] = []
    for row in events:
        c, detail = event_contribution(row, dimension, as_of=as_of, weights=weights)
        if c != 0:
            terms.append(_Term(row=row, c=c, detail=detail))
    if totals is None:
        totals = EventTotals(
            positive=math.fsum(t.c for t in terms if t.c > 0),
            negative=math.fsum(t.c for t in terms if t.c < 0),
            count=len(terms),
        )
    s_pos, s_neg = totals.positive, totals.negative
    f_pos = event_part(s_pos, p, dim)
    f_all = event_part(s_pos + s_neg, p, dim)
    value = b * p + f_all

    # Points per event: positives share F(S+), negatives share F(S) - F(S+).
    scored: list[tuple[float, _Term]] = []
    for t in terms:
        if t.c > 0:
            pts = f_pos * t.c / s_pos if s_pos > 0 else 0.0
        else:
            pts = (f_all - f_pos) * t.c / s_neg if s_neg < 0 else 0.0
        scored.append((pts, t))
    scored.sort(
        key=lambda pt: (-abs(pt[0]), -pt[1].row.occurred_at.toordinal(), pt[1].row.event_id)
    )
    top = scored[: weights.contributions.top_n]
    event_lines = [
        Contribution(
            kind="event",
            ref=str(t.row.event_id),
            label=t.row.title,
            points=round(pts, 4),
            detail=t.detail,
            source_url=t.row.source_url,
            date=t.row.occurred_at,
        )
        for pts, t in top
    ]
    others = totals.count - len(top)
    rest = f_all - math.fsum(pts for pts, _ in top)
    if others > 0:
        rest_c = (s_pos + s_neg) - math.fsum(t.c for _, t in top)
        event_lines.append(
            Contribution(
                kind="event",
                ref=OTHER_REF,
                label=f"{others} other event{'s' if others != 1 else ''}",
                points=round(rest, 4),
                detail={"events": others, "c": rest_c},
            )
        )

    n = totals.count
    conf = weights.confidence
    evidence = (n + conf.prior) / (n + conf.prior + conf.k)
    confidence = b * known_share + (1 - b) * evidence
    lines = sorted(
        [*fact_lines, *event_lines],
        key=lambda c: (-abs(c.points), c.kind != "fact", c.ref),
    )
    clamped = min(max(value, 0.0), 100.0)
    rounded = round(clamped, 1)
    return DimensionScore(
        dimension=dimension,
        value=rounded,
        band=band_for(rounded, weights),
        confidence=round(confidence, 3),
        contributions=tuple(lines),
    )


def score_vendor(
    *,
    vendor_id: int,
    slug: str,
    name: str,
    as_of: dt.datetime,
    facts: Sequence[FactRow],
    events: Sequence[EventRow],
    weights: ScoringWeights | None = None,
    totals: Mapping[str, EventTotals] | None = None,
) -> VendorScore:
    """Score one vendor on both dimensions at ``as_of`` (tz-aware UTC)."""
    weights = weights or load_weights()
    by_key = {f.key: f for f in facts}
    day = as_of.astimezone(dt.UTC).date()
    counted = [e for e in events if e.occurred_at <= day]
    dims = {
        d: score_dimension(
            dimension=d,
            facts=by_key,
            events=counted,
            as_of=day,
            weights=weights,
            totals=(totals or {}).get(d),
        )
        for d in DIMENSIONS
    }
    return VendorScore(
        vendor_id=vendor_id,
        slug=slug,
        name=name,
        as_of=as_of,
        model_version=weights.model_version,
        stability=dims["stability"],
        lock_in=dims["lock_in"],
    )
