"""Vendor and portfolio risk reports: one plain data structure, built from the database at an
as-of date, that every renderer (HTML, PDF, XLSX, CSV, JSON, Markdown) turns into a file.

The numbers are the stored scores. For each vendor and dimension the report uses the newest
score snapshot stored on the as-of day (UTC); when there is none, it computes the scores for
that day with the scoring model and stores them as snapshots first (run id ``report``), so a
report's numbers can always be found again in ``score_snapshot`` and a re-export of the same
day shows the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from kb.models import (
    Category,
    Dimension,
    Event,
    EventItem,
    EventStatus,
    EventVendor,
    Item,
    ScoreSnapshot,
    Vendor,
    VendorFact,
    utcnow,
)
from kb.scoring import service as scoring
from kb.scoring.weights import load_weights
from kb.vendors.schemas import FACT_KEYS

DIMENSIONS: tuple[str, ...] = (Dimension.stability.value, Dimension.lock_in.value)
DIMENSION_LABELS = {"stability": "Stability risk", "lock_in": "Lock-in risk"}
REPORT_RUN_ID = "report"
TREND_DAYS = 365
FORMATS = ("html", "pdf", "xlsx", "csv", "json", "md")
BINARY_FORMATS = ("pdf", "xlsx")
SCHEMA_VERSION = "1.0"
EARLIEST = dt.date(1970, 1, 1)

FACT_LABELS = {
    "open_weights": "Open weights available",
    "self_hosting": "Self-hosting / on-premises",
    "openai_compatible_api": "OpenAI-compatible API",
    "data_export": "Data export",
    "finetune_portability": "Fine-tune portability",
    "data_residency": "Data residency options",
    "exclusive_cloud_ties": "Exclusive cloud ties",
    "certifications": "Certifications (SOC 2, ISO 27001, HIPAA)",
    "government_ties": "Government ties",
}
# Facts where "yes" is the risky answer; for every other fact "yes" is the favourable one.
RISKY_WHEN_YES = frozenset({"exclusive_cloud_ties", "government_ties"})
# The lock-in checklist and the data-sovereignty facts (a fact may be in both).
LOCK_IN_FACTS = (
    "open_weights",
    "self_hosting",
    "openai_compatible_api",
    "data_export",
    "finetune_portability",
    "exclusive_cloud_ties",
)
SOVEREIGNTY_FACTS = (
    "data_residency",
    "government_ties",
    "self_hosting",
    "exclusive_cloud_ties",
    "certifications",
)

METHOD = (
    "Each score is 0-100; higher means more risk. Bands: low < {moderate:g} <= moderate < "
    "{high:g} <= high < {severe:g} <= severe.",
    "Each counted event adds c = direction x category weight x severity/5 x confidence x "
    "source reliability x 0.5^(age in days / category half-life); S is the sum over the "
    "vendor's events. Only confirmed events count; dismissed events never do.",
    "The profile part P = 100 x sum(weight x risk) / sum(weight) comes from the vendor's "
    "profile facts (the lock-in checklist; corporate form for stability). score = b x P + "
    "(1 - b) x 100 x (1 - exp(-S/k)) when S >= 0, and b x P x exp(S/k) when risk-lowering news "
    "outweighs (S < 0). All constants are in kb/data/scoring.yaml; the category weights and "
    "half-lives are in the taxonomy.",
    "Confidence grows with the share of known profile facts and the amount of evidence, so a "
    "quiet vendor is not shown as safe.",
    "The drivers listed with each score are its contributions; their points add up to the score.",
    "The numbers are the score snapshots stored for the as-of day: the newest snapshot of that "
    "day (UTC), or, when there was none, one computed and stored when the report was made.",
)


class ReportError(ValueError):
    """The report cannot be built as asked (unknown vendor, bad date); the message says why."""


@dataclass(frozen=True)
class Link:
    """A source article (or page) behind an event or a driver."""

    title: str
    url: str


@dataclass(frozen=True)
class Driver:
    """One contribution to a score: an event or a profile fact, and its points."""

    kind: str  # event | fact
    ref: str
    label: str
    points: float
    date: dt.date | None
    source_url: str | None
    links: tuple[Link, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviousScore:
    """The score the change is measured against."""

    as_of: dt.datetime
    value: float
    band: str


@dataclass(frozen=True)
class TrendPoint:
    date: dt.date
    value: float


@dataclass(frozen=True)
class ScoreLine:
    """One dimension's stored score, with its drivers, trend and change."""

    dimension: str
    value: float
    band: str
    confidence: float
    model_version: str
    as_of: dt.datetime
    snapshot_id: int | None
    drivers: tuple[Driver, ...]
    previous: PreviousScore | None = None
    trend: tuple[TrendPoint, ...] = ()

    @property
    def label(self) -> str:
        return DIMENSION_LABELS.get(self.dimension, self.dimension)

    @property
    def change(self) -> float | None:
        """Value minus the previous value (one decimal), or None without a previous score."""
        if self.previous is None:
            return None
        return round(self.value - self.previous.value, 1)

    @property
    def trend_word(self) -> str:
        """rising / falling / steady / new, from the change."""
        change = self.change
        if change is None:
            return "new"
        if change >= 1.0:
            return "rising"
        if change <= -1.0:
            return "falling"
        return "steady"


@dataclass(frozen=True)
class EventLine:
    """One event of a vendor's timeline, with links to the articles that reported it."""

    id: int
    date: dt.date
    title: str
    category: str
    category_label: str
    severity: int
    status: str
    confidence: float
    direction_stability: int
    direction_lock_in: int
    note: str | None
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class FactLine:
    """A profile fact, with its source and the date it was checked."""

    key: str
    value: str
    detail: str | None
    source_url: str | None
    checked_at: dt.date | None

    @property
    def label(self) -> str:
        return FACT_LABELS.get(self.key, self.key.replace("_", " ").capitalize())

    @property
    def assessment(self) -> str:
        """favourable / partial / unfavourable / unknown, for the checklist."""
        if self.value == "partial":
            return "partial"
        if self.value not in ("yes", "no"):
            return "unknown"
        good = self.value == ("no" if self.key in RISKY_WHEN_YES else "yes")
        return "favourable" if good else "unfavourable"


@dataclass(frozen=True)
class VendorSection:
    """Everything a report says about one vendor."""

    id: int
    slug: str
    name: str
    website: str | None
    jurisdiction: str | None
    corporate_form: str | None
    parent: str | None
    description: str | None
    scores: tuple[ScoreLine, ...]
    events: tuple[EventLine, ...]
    facts: tuple[FactLine, ...]

    def score(self, dimension: str) -> ScoreLine:
        for line in self.scores:
            if line.dimension == dimension:
                return line
        raise KeyError(dimension)

    @property
    def lock_in_checklist(self) -> tuple[FactLine, ...]:
        by_key = {f.key: f for f in self.facts}
        return tuple(by_key[k] for k in LOCK_IN_FACTS if k in by_key)

    @property
    def sovereignty_facts(self) -> tuple[FactLine, ...]:
        by_key = {f.key: f for f in self.facts}
        return tuple(by_key[k] for k in SOVEREIGNTY_FACTS if k in by_key)


@dataclass(frozen=True)
class Report:
    """A vendor report (one section) or a portfolio report (every vendor)."""

    kind: str  # vendor | portfolio
    title: str
    as_of: dt.date
    since: dt.date | None
    generated_at: dt.datetime
    vendors: tuple[VendorSection, ...]
    method: tuple[str, ...] = ()

    @property
    def model_versions(self) -> tuple[str, ...]:
        return tuple(sorted({s.model_version for v in self.vendors for s in v.scores}))

    def file_name(self, fmt: str) -> str:
        """A default file name, e.g. report-openai-2026-11-23.pdf or portfolio-2026-11-23.xlsx."""
        if self.kind == "vendor" and self.vendors:
            return f"report-{self.vendors[0].slug}-{self.as_of.isoformat()}.{fmt}"
        return f"portfolio-{self.as_of.isoformat()}.{fmt}"


# --------------------------------------------------------------------------- building


def parse_date(value: str | None, *, name: str) -> dt.date | None:
    """A YYYY-MM-DD option value as a date (None stays None); a clear error otherwise."""
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def build_report(
    *,
    session: Session,
    vendor_slug: str | None = None,
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """Gather one vendor's (or, without a slug, every vendor's) report at the as-of date."""
    now = now or utcnow()
    today = now.astimezone(dt.UTC).date()
    as_of = as_of or today
    if as_of > today:
        raise ReportError(f"--as-of {as_of} is in the future")
    if as_of < EARLIEST or (since is not None and since < EARLIEST):
        raise ReportError(f"dates must be on or after {EARLIEST.isoformat()}")
    if since is not None and since >= as_of:
        raise ReportError(f"--since {since} must be before the as-of date {as_of}")
    if vendor_slug is not None:
        vendor = session.exec(select(Vendor).where(Vendor.slug == vendor_slug)).first()
        if vendor is None:
            raise ReportError(f"unknown vendor {vendor_slug!r}")
        vendors = [vendor]
    else:
        vendors = list(session.exec(select(Vendor).order_by(Vendor.name, Vendor.slug)))
    ids = [v.id for v in vendors if v.id is not None]

    current = _snapshots_on(session=session, vendor_ids=ids, day=as_of, now=now)
    if since is not None:
        previous = {
            key: PreviousScore(as_of=snap.as_of, value=snap.value, band=snap.band)
            for key, snap in _snapshots_on(
                session=session, vendor_ids=ids, day=since, now=now
            ).items()
        }
    else:
        previous = _previous_snapshots(session=session, vendor_ids=ids, before=as_of)
    trends = _trends(session=session, vendor_ids=ids, day=as_of)
    events = _events(session=session, vendor_ids=ids, day=as_of)
    facts = _facts(session=session, vendor_ids=ids)
    event_links = {e.id: e.links for lines in events.values() for e in lines}

    sections = []
    for vendor in vendors:
        assert vendor.id is not None
        scores = []
        for dim in DIMENSIONS:
            snap = current[(vendor.id, dim)]
            scores.append(
                ScoreLine(
                    dimension=dim,
                    value=snap.value,
                    band=snap.band,
                    confidence=snap.confidence,
                    model_version=snap.model_version,
                    as_of=snap.as_of,
                    snapshot_id=snap.id,
                    drivers=_drivers(snap.contributions, event_links),
                    previous=previous.get((vendor.id, dim)),
                    trend=tuple(trends.get((vendor.id, dim), ())),
                )
            )
        sections.append(
            VendorSection(
                id=vendor.id,
                slug=vendor.slug,
                name=vendor.name,
                website=vendor.website,
                jurisdiction=vendor.jurisdiction,
                corporate_form=vendor.corporate_form,
                parent=vendor.parent,
                description=vendor.description,
                scores=tuple(scores),
                events=tuple(events.get(vendor.id, ())),
                facts=tuple(facts.get(vendor.id, ())),
            )
        )
    if vendor_slug is not None:
        title = f"{vendors[0].name}: vendor risk report"
    else:
        title = "LLM vendor portfolio risk report"
    return Report(
        method=method_text(),
        kind="vendor" if vendor_slug is not None else "portfolio",
        title=title,
        as_of=as_of,
        since=since,
        generated_at=now,
        vendors=tuple(sections),
    )


def method_text() -> tuple[str, ...]:
    """The method paragraphs, with the band edges of the scoring weights file."""
    bands = load_weights().bands
    return tuple(
        p.format(moderate=bands.moderate, high=bands.high, severe=bands.severe) for p in METHOD
    )


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _snapshots_on(
    *, session: Session, vendor_ids: Sequence[int], day: dt.date, now: dt.datetime
) -> dict[tuple[int, str], ScoreSnapshot]:
    """The newest snapshot per vendor and dimension stored on ``day``; missing ones are
    computed for that day and stored first."""
    found = _stored_on(session=session, vendor_ids=vendor_ids, day=day)
    missing = sorted({vid for vid in vendor_ids for d in DIMENSIONS if (vid, d) not in found})
    if missing:
        start, end = _day_bounds(day)
        # Today: the scores as of now; a past day: as of its last second.
        at = now if start <= now < end else end - dt.timedelta(seconds=1)
        store_scores(session=session, vendor_ids=missing, as_of=at)
        found = _stored_on(session=session, vendor_ids=vendor_ids, day=day)
    return found


def _stored_on(
    *, session: Session, vendor_ids: Sequence[int], day: dt.date
) -> dict[tuple[int, str], ScoreSnapshot]:
    start, end = _day_bounds(day)
    query = (
        select(ScoreSnapshot)
        .where(
            col(ScoreSnapshot.vendor_id).in_(vendor_ids),
            col(ScoreSnapshot.as_of) >= start,
            col(ScoreSnapshot.as_of) < end,
        )
        .order_by(col(ScoreSnapshot.as_of), col(ScoreSnapshot.id))
    )
    found: dict[tuple[int, str], ScoreSnapshot] = {}
    for snap in session.exec(query):
        found[(snap.vendor_id, snap.dimension)] = snap  # newest last
    return found


def store_scores(*, session: Session, vendor_ids: Sequence[int], as_of: dt.datetime) -> None:
    """Compute the vendors' scores at ``as_of`` and store them as snapshots (run ``report``)."""
    scores = scoring.compute_scores(session=session, as_of=as_of, vendor_ids=list(vendor_ids))
    for vendor_score in scores.values():
        for dim_score in (vendor_score.stability, vendor_score.lock_in):
            session.add(
                ScoreSnapshot(
                    vendor_id=vendor_score.vendor_id,
                    dimension=dim_score.dimension,
                    as_of=vendor_score.as_of,
                    value=dim_score.value,
                    band=dim_score.band,
                    confidence=dim_score.confidence,
                    model_version=vendor_score.model_version,
                    contributions=scoring.contributions_json(dim_score),
                    run_id=REPORT_RUN_ID,
                )
            )
    session.flush()


def _previous_snapshots(
    *, session: Session, vendor_ids: Sequence[int], before: dt.date
) -> dict[tuple[int, str], PreviousScore]:
    """The newest score per vendor and dimension stored before ``before`` (the previous
    report's numbers)."""
    start, _ = _day_bounds(before)
    newest = (
        select(
            ScoreSnapshot.vendor_id,
            ScoreSnapshot.dimension,
            func.max(ScoreSnapshot.as_of).label("as_of"),
        )
        .where(col(ScoreSnapshot.vendor_id).in_(vendor_ids), col(ScoreSnapshot.as_of) < start)
        .group_by(col(ScoreSnapshot.vendor_id), col(ScoreSnapshot.dimension))
        .subquery()
    )
    query = (
        sa_select(
            col(ScoreSnapshot.vendor_id),
            col(ScoreSnapshot.dimension),
            col(ScoreSnapshot.as_of),
            col(ScoreSnapshot.value),
            col(ScoreSnapshot.band),
        )
        .join(
            newest,
            (col(ScoreSnapshot.vendor_id) == newest.c.vendor_id)
            & (col(ScoreSnapshot.dimension) == newest.c.dimension)
            & (col(ScoreSnapshot.as_of) == newest.c.as_of),
        )
        .order_by(col(ScoreSnapshot.id))
    )
    return {
        (vendor_id, dimension): PreviousScore(as_of=as_of, value=value, band=band)
        for vendor_id, dimension, as_of, value, band in session.connection().execute(query)
    }


def _trends(
    *, session: Session, vendor_ids: Sequence[int], day: dt.date
) -> dict[tuple[int, str], list[TrendPoint]]:
    """One point per day (the day's newest snapshot) over the year up to ``day``."""
    _, end = _day_bounds(day)
    query = (
        select(
            ScoreSnapshot.vendor_id,
            ScoreSnapshot.dimension,
            ScoreSnapshot.as_of,
            ScoreSnapshot.value,
        )
        .where(
            col(ScoreSnapshot.vendor_id).in_(vendor_ids),
            col(ScoreSnapshot.as_of) >= end - dt.timedelta(days=TREND_DAYS),
            col(ScoreSnapshot.as_of) < end,
        )
        .order_by(col(ScoreSnapshot.as_of), col(ScoreSnapshot.id))
    )
    per_day: dict[tuple[int, str], dict[dt.date, float]] = defaultdict(dict)
    for vendor_id, dimension, as_of, value in session.exec(query):
        per_day[(vendor_id, dimension)][as_of.astimezone(dt.UTC).date()] = value
    return {
        key: [TrendPoint(date=d, value=v) for d, v in sorted(days.items())]
        for key, days in per_day.items()
    }


def _events(
    *, session: Session, vendor_ids: Sequence[int], day: dt.date
) -> dict[int, list[EventLine]]:
    """Each vendor's confirmed and suggested events up to ``day``, newest first, with links."""
    shown = (EventStatus.confirmed.value, EventStatus.suggested.value)
    conditions = (
        col(EventVendor.vendor_id).in_(vendor_ids),
        col(Event.status).in_(shown),
        col(Event.occurred_at) <= day,
        col(Event.merged_into_id).is_(None),
    )
    query = (
        sa_select(
            col(EventVendor.vendor_id),
            col(Event.id),
            col(Event.occurred_at),
            col(Event.title),
            col(Category.value),
            col(Category.label),
            col(Event.severity),
            col(Event.status),
            col(Event.confidence),
            col(Event.direction_stability),
            col(Event.direction_lock_in),
            col(Event.note),
        )
        .join(EventVendor, col(EventVendor.event_id) == col(Event.id))
        .join(Category, col(Category.id) == col(Event.category_id))
        .where(*conditions)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
    )
    rows: list[Any] = list(session.connection().execute(query))
    event_ids = (
        select(Event.id)
        .join(EventVendor, col(EventVendor.event_id) == col(Event.id))
        .where(*conditions)
    )
    links_query = (
        select(EventItem.event_id, Item.title, Item.url)
        .join(Item, col(Item.id) == col(EventItem.item_id))
        .where(col(EventItem.event_id).in_(event_ids), col(Item.url).is_not(None))
        .order_by(col(EventItem.event_id), col(Item.published_at), col(Item.id))
    )
    links: dict[int, list[Link]] = defaultdict(list)
    seen: set[tuple[int, str]] = set()
    for event_id, title, url in session.exec(links_query):
        if url is None or (event_id, url) in seen:
            continue
        seen.add((event_id, url))
        links[event_id].append(Link(title=title or url, url=url))
    out: dict[int, list[EventLine]] = defaultdict(list)
    for row in rows:
        out[row[0]].append(
            EventLine(
                id=row[1],
                date=row[2],
                title=row[3],
                category=row[4],
                category_label=row[5],
                severity=row[6],
                status=row[7],
                confidence=row[8],
                direction_stability=row[9],
                direction_lock_in=row[10],
                note=row[11],
                links=tuple(links.get(row[1], ())),
            )
        )
    return out


def _facts(*, session: Session, vendor_ids: Sequence[int]) -> dict[int, list[FactLine]]:
    """Each vendor's profile facts in catalog key order."""
    order = {k: i for i, k in enumerate(FACT_KEYS)}
    query = sa_select(
        col(VendorFact.vendor_id),
        col(VendorFact.key),
        col(VendorFact.value),
        col(VendorFact.detail),
        col(VendorFact.source_url),
        col(VendorFact.checked_at),
    ).where(col(VendorFact.vendor_id).in_(vendor_ids))
    out: dict[int, list[FactLine]] = defaultdict(list)
    for vendor_id, key, value, detail, source_url, checked_at in session.connection().execute(
        query
    ):
        out[vendor_id].append(
            FactLine(
                key=key, value=value, detail=detail, source_url=source_url, checked_at=checked_at
            )
        )
    for lines in out.values():
        lines.sort(key=lambda f: (order.get(f.key, len(order)), f.key))
    return out


def _drivers(
    contributions: Sequence[dict[str, Any]] | None, event_links: dict[int, tuple[Link, ...]]
) -> tuple[Driver, ...]:
    """A snapshot's stored contributions as drivers, biggest effect first, with article links."""
    drivers = []
    for raw in contributions or ():
        kind = str(raw.get("kind", ""))
        ref = str(raw.get("ref", ""))
        date = raw.get("date")
        links: tuple[Link, ...] = ()
        if kind == "event" and ref.isdigit():
            links = event_links.get(int(ref), ())
        drivers.append(
            Driver(
                kind=kind,
                ref=ref,
                label=str(raw.get("label") or ref),
                points=float(raw.get("points") or 0.0),
                date=dt.date.fromisoformat(date[:10]) if isinstance(date, str) and date else None,
                source_url=raw.get("source_url") or None,
                links=links,
                detail=dict(raw.get("detail") or {}),
            )
        )
    drivers.sort(key=lambda d: (-abs(d.points), d.kind, d.ref))
    return tuple(drivers)


# --------------------------------------------------------------------------- plain data


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _links(links: Iterable[Link]) -> list[dict[str, str]]:
    return [{"title": link.title, "url": link.url} for link in links]


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready plain data (the shape kb/data/report.schema.json describes)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": report.kind,
        "title": report.title,
        "as_of": report.as_of.isoformat(),
        "since": _iso(report.since),
        "generated_at": report.generated_at.isoformat(),
        "model_versions": list(report.model_versions),
        "method": list(report.method),
        "vendors": [_vendor_dict(v) for v in report.vendors],
    }


def _vendor_dict(v: VendorSection) -> dict[str, Any]:
    return {
        "slug": v.slug,
        "name": v.name,
        "website": v.website,
        "jurisdiction": v.jurisdiction,
        "corporate_form": v.corporate_form,
        "parent": v.parent,
        "description": v.description,
        "scores": {s.dimension: _score_dict(s) for s in v.scores},
        "events": [
            {
                "id": e.id,
                "date": e.date.isoformat(),
                "title": e.title,
                "category": e.category,
                "category_label": e.category_label,
                "severity": e.severity,
                "status": e.status,
                "confidence": e.confidence,
                "direction": {"stability": e.direction_stability, "lock_in": e.direction_lock_in},
                "note": e.note,
                "links": _links(e.links),
            }
            for e in v.events
        ],
        "facts": [
            {
                "key": f.key,
                "label": f.label,
                "value": f.value,
                "assessment": f.assessment,
                "detail": f.detail,
                "source_url": f.source_url,
                "checked_at": _iso(f.checked_at),
                "lock_in_checklist": f.key in LOCK_IN_FACTS,
                "sovereignty": f.key in SOVEREIGNTY_FACTS,
            }
            for f in v.facts
        ],
    }


def _score_dict(s: ScoreLine) -> dict[str, Any]:
    return {
        "value": s.value,
        "band": s.band,
        "confidence": s.confidence,
        "model_version": s.model_version,
        "as_of": s.as_of.isoformat(),
        "snapshot_id": s.snapshot_id,
        "trend": s.trend_word,
        "previous": (
            {
                "as_of": s.previous.as_of.isoformat(),
                "value": s.previous.value,
                "band": s.previous.band,
            }
            if s.previous is not None
            else None
        ),
        "change": s.change,
        "history": [{"date": p.date.isoformat(), "value": p.value} for p in s.trend],
        "drivers": [
            {
                "kind": d.kind,
                "ref": d.ref,
                "label": d.label,
                "points": d.points,
                "date": _iso(d.date),
                "source_url": d.source_url,
                "links": _links(d.links),
            }
            for d in s.drivers
        ],
    }
