"""Vendor risk scores: queries over plain rows, snapshots, alerts, what-if previews.

The arithmetic lives in :mod:`kb.scoring.model`; this module only gathers its inputs with a
few SQL queries and stores the results. Services never commit: the caller owns the
transaction.

Reproducibility: a score at ``as_of`` counts the events that occurred on or before the
as-of date (UTC), with their status, confidence and links as stored now, the vendor's facts
as stored now, the categories' weights and half-lives as stored now and the weights file's
constants. The same data and the same ``as_of`` give the same scores.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import ColumnElement, Table, and_, func, or_, select
from sqlmodel import Session, col

from kb.models import (
    Category,
    Event,
    EventItem,
    EventStatus,
    EventVendor,
    Feed,
    Item,
    ItemSource,
    ScoreSnapshot,
    Vendor,
    VendorFact,
    utcnow,
)
from kb.scoring import model
from kb.scoring import queries as queries_mod
from kb.scoring.model import EventRow, EventTotals, FactRow, VendorScore
from kb.scoring.weights import ScoringWeights, load_weights

STATUSES = tuple(s.value for s in EventStatus)
# Up to this many counted (vendor, event) links, every event is loaded and listed by the model
# directly; above it, only each vendor's top-N candidates are loaded.
FETCH_ALL_LIMIT = 10_000
# The aggregate pass also lists every link whose |c| reaches this floor (id and exact c); the
# (dimension, sign) classes whose top-N threshold is at least the floor take their candidates
# from that list, so only classes with a lower threshold need the candidate scan.
ID_FLOOR = 0.15


def _table(model_class: Any) -> Table:
    table: Table = model_class.__table__
    return table


# Table handles for typed Core queries over plain rows (no ORM objects where volume matters).
T_VENDOR = _table(Vendor).c
T_FACT = _table(VendorFact).c
T_EVENT = _table(Event).c
T_EV = _table(EventVendor).c
T_EI = _table(EventItem).c
T_CAT = _table(Category).c
T_FEED = _table(Feed).c
T_ITEM = _table(Item).c
T_SRC = _table(ItemSource).c
T_SNAP = _table(ScoreSnapshot).c


class ScoringError(ValueError):
    """A scoring request was refused; the message says why."""


@dataclass(frozen=True)
class Alert:
    """A vendor whose band worsened or whose score jumped since its previous snapshot."""

    vendor_id: int
    slug: str
    dimension: str
    previous: float | None
    current: float
    previous_band: str | None
    band: str
    reason: str
    as_of: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        return data


@dataclass(frozen=True)
class SnapshotResult:
    """What one scoring run stored and flagged."""

    scores: dict[int, VendorScore]
    alerts: list[Alert]
    run_id: str = ""


def _as_of(as_of: dt.datetime | None) -> dt.datetime:
    if as_of is None:
        return utcnow()
    if as_of.tzinfo is None:
        return as_of.replace(tzinfo=dt.UTC)
    return as_of.astimezone(dt.UTC)


def _check_statuses(overrides: Mapping[int, str]) -> None:
    for event_id, status in overrides.items():
        if status not in STATUSES:
            raise ScoringError(
                f"event {event_id}: status must be one of {', '.join(STATUSES)}, not {status!r}"
            )


# --------------------------------------------------------------------------- inputs


def _facts(session: Session, vendors: Sequence[Any]) -> dict[int, list[FactRow]]:
    ids = [v.id for v in vendors]
    out: dict[int, list[FactRow]] = {
        v.id: [FactRow(key="corporate_form", value=v.corporate_form or "unknown")] for v in vendors
    }
    query = select(
        T_FACT.vendor_id, T_FACT.key, T_FACT.value, T_FACT.source_url, T_FACT.checked_at
    ).where(T_FACT.vendor_id.in_(ids))
    for vid, key, value, url, checked in session.execute(query):
        out[vid].append(FactRow(key=key, value=value, source_url=url, checked_at=checked))
    return out


def _event_urls(session: Session, event_ids: Sequence[int]) -> dict[int, str]:
    """The first item URL per event, for the given events."""
    ids = sorted(set(event_ids))
    if not ids:
        return {}
    query_urls = (
        select(T_EI.event_id, T_ITEM.url, T_ITEM.published_at, T_ITEM.id)
        .join(_table(Item), T_ITEM.id == T_EI.item_id)
        .where(queries_mod.ids_in(session, T_EI.event_id, ids), T_ITEM.url.is_not(None))
    )
    first: dict[int, tuple[Any, ...]] = {}
    for eid, url, published, item_id in session.execute(query_urls):
        key = (published is None, published or dt.datetime.min.replace(tzinfo=dt.UTC), item_id)
        if eid not in first or key < first[eid][0]:
            first[eid] = (key, url)
    return {eid: url for eid, (_k, url) in first.items()}


def _event_rows(
    session: Session,
    *,
    day: dt.date,
    vendor_ids: Sequence[int],
    statuses: Sequence[str],
    overrides: Mapping[int, str],
    event_ids: Sequence[int] | None = None,
) -> dict[int, list[EventRow]]:
    """The counted events of the vendors (all, or only ``event_ids``) as plain rows."""
    status_ok: ColumnElement[bool] = T_EVENT.status.in_(list(statuses))
    if overrides:
        status_ok = or_(status_ok, T_EVENT.id.in_(list(overrides)))
    base = (
        select(
            T_EV.vendor_id,
            T_EVENT.id,
            T_EVENT.title,
            T_EVENT.status,
            T_EVENT.severity,
            T_EVENT.confidence,
            T_EVENT.occurred_at,
            T_EVENT.direction_stability,
            T_EVENT.direction_lock_in,
            T_CAT.value,
            T_CAT.weight_stability,
            T_CAT.weight_lock_in,
            T_CAT.half_life_days,
            T_EVENT.source_grade,
        )
        .join(_table(Event), T_EVENT.id == T_EV.event_id)
        .join(_table(Category), T_CAT.id == T_EVENT.category_id)
        .where(
            and_(
                T_EVENT.merged_into_id.is_(None),
                T_EVENT.occurred_at <= day,
                status_ok,
            )
        )
    )
    if event_ids is None:
        query = base.where(T_EV.vendor_id.in_(list(vendor_ids)))
    else:  # driven by the event ids; the vendors are filtered below
        query = base.where(queries_mod.ids_in(session, T_EV.event_id, event_ids))
    wanted = set(vendor_ids)
    raw = []
    for r in session.execute(query):
        status = overrides.get(r[1], r[3])
        if status in statuses and r[0] in wanted:
            raw.append((r, status))
    urls = _event_urls(session, [r[1] for r, _s in raw])
    out: dict[int, list[EventRow]] = defaultdict(list)
    for r, status in raw:
        out[r[0]].append(
            EventRow(
                event_id=r[1],
                title=r[2],
                status=status,
                severity=r[4],
                confidence=r[5],
                occurred_at=r[6],
                direction_stability=r[7],
                direction_lock_in=r[8],
                category=r[9],
                weight_stability=r[10],
                weight_lock_in=r[11],
                half_life_days=r[12],
                grade=r[13],
                source_url=urls.get(r[1]),
            )
        )
    return out


# --------------------------------------------------------------------------- scores


def compute_scores(
    *,
    session: Session,
    as_of: dt.datetime | None = None,
    include_suggested: bool = False,
    vendor_ids: Sequence[int] | None = None,
    status_overrides: Mapping[int, str] | None = None,
    weights: ScoringWeights | None = None,
    parallel: bool = True,
) -> dict[int, VendorScore]:
    """Score vendors (all, or ``vendor_ids``) at ``as_of`` (default now), both dimensions.

    A big rescore may run in forked processes, each scoring a range of vendors (see
    :func:`parallel_workers`; ``parallel=False`` never does); the scores are the same."""
    weights = weights or load_weights()
    when = _as_of(as_of)
    day = when.date()
    overrides = dict(status_overrides or {})
    _check_statuses(overrides)
    statuses = ["confirmed", "suggested"] if include_suggested else ["confirmed"]
    vq = select(T_VENDOR.id, T_VENDOR.slug, T_VENDOR.name, T_VENDOR.corporate_form).order_by(
        T_VENDOR.id
    )
    if vendor_ids is not None:
        vq = vq.where(T_VENDOR.id.in_(list(vendor_ids)))
    vendors = list(session.execute(vq))
    if not vendors:
        return {}
    workers = parallel_workers(session, len(vendors)) if parallel else 1
    if workers > 1:
        job = (when, include_suggested, overrides, weights)
        try:
            return _score_in_processes(session, [v.id for v in vendors], workers, job)
        except OSError:  # no processes to be had (limits, memory): score in this one
            pass
    facts = _facts(session, vendors)
    filters = queries_mod.Filters(
        day=day,
        statuses=tuple(statuses),
        include_ids=tuple(sorted(k for k, v in overrides.items() if v in statuses)),
        exclude_ids=tuple(sorted(k for k, v in overrides.items() if v not in statuses)),
        vendor_ids=None if vendor_ids is None else tuple(v.id for v in vendors),
    )
    agg = queries_mod.aggregate_events(
        session=session,
        filters=filters,
        weights=weights,
        id_floor=ID_FLOOR,
    )
    events = _listed_events(
        session,
        agg=agg,
        filters=filters,
        weights=weights,
        vendor_ids=[v.id for v in vendors],
        overrides=overrides,
    )
    zero = {d: EventTotals() for d in model.DIMENSIONS}
    return {
        v.id: model.score_vendor(
            vendor_id=v.id,
            slug=v.slug,
            name=v.name,
            as_of=when,
            facts=facts[v.id],
            events=events.get(v.id, []),
            weights=weights,
            totals=agg.totals.get(v.id, zero),
        )
        for v in vendors
    }


# A rescore over at least this many events may be split over forked processes (one per CPU,
# at most PARALLEL_MAX), each scoring a contiguous range of vendors: score_link is clustered
# by vendor, so each reads its own part of it.
PARALLEL_MIN_EVENTS = 200_000
PARALLEL_MAX = 4


def parallel_workers(session: Session, vendors: int) -> int:
    """How many processes a rescore of ``vendors`` vendors may use: more than one only on a
    SQLite file when this process has a single thread (forking a threaded process, such as a
    web worker, is not safe), ``fork`` exists, there are 2+ CPUs, the session holds no
    uncommitted writes (the workers read what is committed) and the event table is big."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or vendors < 2 or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    database = bind.url.database  # type: ignore[union-attr]
    if not database or database == ":memory:" or bind.url.query.get("mode") == "memory":  # type: ignore[union-attr]
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cpus or 1) < 2:
        return 1
    session.flush()
    dbapi = session.connection().connection.dbapi_connection
    if dbapi is None or getattr(dbapi, "in_transaction", True):
        return 1
    biggest = session.execute(select(func.max(T_EVENT.id))).scalar()
    if (biggest or 0) < PARALLEL_MIN_EVENTS:
        return 1
    return min(cpus or 1, PARALLEL_MAX, vendors)


def _score_share(
    session: Session, vendor_ids: list[int], job: tuple[Any, ...]
) -> dict[int, VendorScore]:
    """Score ``vendor_ids`` in this process (``job``: as-of, suggested, overrides, weights)."""
    when, include_suggested, overrides, weights = job
    return compute_scores(
        session=session,
        as_of=when,
        include_suggested=include_suggested,
        vendor_ids=vendor_ids,
        status_overrides=overrides,
        weights=weights,
        parallel=False,
    )


def _score_part(task: tuple[str, list[int], tuple[Any, ...]]) -> dict[int, VendorScore]:
    """In a forked worker: score a share of the vendors on a new engine of its own."""
    from kb.config import Settings
    from kb.db import make_engine

    url, vendor_ids, job = task
    engine = make_engine(Settings(database_url=url))
    try:
        with Session(engine) as session:
            return _score_share(session, vendor_ids, job)
    finally:
        engine.dispose()


def _score_in_processes(
    session: Session, vendor_ids: list[int], workers: int, job: tuple[Any, ...]
) -> dict[int, VendorScore]:
    """Score contiguous ranges of ``vendor_ids`` in ``workers`` processes: this one takes the
    first range (its results need no pickling), forked workers the others."""
    url = session.get_bind().url.render_as_string(hide_password=False)  # type: ignore[union-attr]
    size = -(-len(vendor_ids) // workers)
    shares = [vendor_ids[i : i + size] for i in range(0, len(vendor_ids), size)]
    with multiprocessing.get_context("fork").Pool(len(shares) - 1) as pool:
        pending = pool.map_async(_score_part, [(url, ids, job) for ids in shares[1:]])
        parts = [_score_share(session, shares[0], job), *pending.get()]
    merged = {vid: score for part in parts for vid, score in part.items()}
    return {vid: merged[vid] for vid in vendor_ids if vid in merged}


def _listed_events(
    session: Session,
    *,
    agg: queries_mod.Aggregate,
    filters: queries_mod.Filters,
    weights: ScoringWeights,
    vendor_ids: Sequence[int],
    overrides: Mapping[int, str],
) -> dict[int, list[EventRow]]:
    """The events each vendor's contributions list may show. Few events in all: every one.
    Else, per vendor, dimension and sign, the top_n largest |c|. The aggregate pass listed
    every link whose |c| reaches ID_FLOOR; a class with at least top_n such links (or with
    all of its links listed) takes its top_n from that list. A vendor with a class reaching
    below the floor has all of its links read (a range of the clustered score_link)."""
    top_n = weights.contributions.top_n
    kwargs: dict[str, Any] = {
        "day": filters.day,
        "statuses": filters.statuses,
        "overrides": overrides,
    }
    links = sum(t.count for totals in agg.totals.values() for t in totals.values())
    if links <= FETCH_ALL_LIMIT:
        return _event_rows(session, vendor_ids=vendor_ids, **kwargs)
    short = set(agg.unlisted_vendors)
    for key, n in agg.counts.items():
        got = agg.listed.get(key, 0)
        if got < top_n and got < n:
            short.add(key[0])
    if short:
        queries_mod.add_candidates(
            agg,
            queries_mod.vendor_links(
                session=session, filters=filters, weights=weights, vendor_ids=sorted(short)
            ),
        )
    top = queries_mod.top_events(agg.candidates, top_n)
    ids = sorted({i for ids in top.values() for i in ids})
    out: dict[int, list[EventRow]] = {}
    for vid, events in _event_rows(session, vendor_ids=vendor_ids, event_ids=ids, **kwargs).items():
        keep = set(top.get(vid, ()))
        out[vid] = [e for e in events if e.event_id in keep]
    return out


def contributions_json(score: model.DimensionScore) -> list[dict[str, Any]]:
    """A dimension's contributions as JSON-ready dicts (what a snapshot stores)."""
    out = []
    for c in score.contributions:
        d = asdict(c)
        d["date"] = c.date.isoformat() if c.date else None
        out.append(d)
    return out


def _alert_for(
    *,
    vendor_id: int,
    slug: str,
    dimension: str,
    previous: tuple[float, str] | None,
    current: float,
    band: str,
    threshold: float,
    as_of: dt.datetime | None,
) -> Alert | None:
    """An alert when the band worsened or the value moved by >= threshold; else None."""
    if previous is None:
        return None
    prev_value, prev_band = previous
    delta = round(current - prev_value, 1)
    reasons = []
    if model.band_rank(band) > model.band_rank(prev_band):
        reasons.append(f"band worsened {prev_band} -> {band}")
    if abs(delta) >= threshold:
        reasons.append(f"{'jumped' if delta > 0 else 'dropped'} {delta:+.1f}")
    if not reasons:
        return None
    return Alert(
        vendor_id=vendor_id,
        slug=slug,
        dimension=dimension,
        previous=prev_value,
        current=current,
        previous_band=prev_band,
        band=band,
        reason="; ".join(reasons),
        as_of=as_of,
    )


def _ranked_snapshots(
    session: Session, *, before: dt.datetime | None, keep: int
) -> dict[tuple[int, str], list[tuple[int, dt.datetime, float, str]]]:
    """The newest ``keep`` snapshots (id, as_of, value, band) per (vendor, dimension)."""
    rn = (
        func.row_number()
        .over(
            partition_by=(T_SNAP.vendor_id, T_SNAP.dimension),
            order_by=(T_SNAP.as_of.desc(), T_SNAP.id.desc()),
        )
        .label("rn")
    )
    inner = select(
        T_SNAP.id, T_SNAP.vendor_id, T_SNAP.dimension, T_SNAP.as_of, T_SNAP.value, T_SNAP.band, rn
    )
    if before is not None:
        inner = inner.where(T_SNAP.as_of <= before)
    sub = inner.subquery()
    query = select(sub).where(sub.c.rn <= keep).order_by(sub.c.vendor_id, sub.c.dimension, sub.c.rn)
    out: dict[tuple[int, str], list[tuple[int, dt.datetime, float, str]]] = defaultdict(list)
    for r in session.execute(query):
        out[(r.vendor_id, r.dimension)].append((r.id, r.as_of, r.value, r.band))
    return out


def snapshot_scores(
    *,
    session: Session,
    as_of: dt.datetime | None = None,
    run_id: str | None = None,
    include_suggested: bool = False,
    vendor_ids: Sequence[int] | None = None,
    weights: ScoringWeights | None = None,
) -> SnapshotResult:
    """Score every vendor (or ``vendor_ids``), store one snapshot per vendor and dimension,
    and flag alerts against each vendor's previous snapshot (newest at or before ``as_of``)."""
    weights = weights or load_weights()
    when = _as_of(as_of)
    run_id = run_id or f"score-{when:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    scores = compute_scores(
        session=session,
        as_of=when,
        include_suggested=include_suggested,
        vendor_ids=vendor_ids,
        weights=weights,
    )
    previous = _ranked_snapshots(session, before=when, keep=1)
    alerts: list[Alert] = []
    for vid, score in scores.items():
        for dim in model.DIMENSIONS:
            ds = score.dimension(dim)
            prev = previous.get((vid, dim))
            alert = _alert_for(
                vendor_id=vid,
                slug=score.slug,
                dimension=dim,
                previous=(prev[0][2], prev[0][3]) if prev else None,
                current=ds.value,
                band=ds.band,
                threshold=weights.alerts.jump_threshold,
                as_of=when,
            )
            if alert:
                alerts.append(alert)
            session.add(
                ScoreSnapshot(
                    vendor_id=vid,
                    dimension=dim,
                    as_of=when,
                    value=ds.value,
                    band=ds.band,
                    confidence=ds.confidence,
                    model_version=score.model_version,
                    contributions=contributions_json(ds),
                    run_id=run_id,
                )
            )
    session.flush()
    return SnapshotResult(scores=scores, alerts=alerts, run_id=run_id)


def score_history(
    *,
    session: Session,
    vendor_id: int,
    dimension: str | None = None,
    since: dt.datetime | None = None,
) -> list[ScoreSnapshot]:
    """A vendor's stored snapshots, oldest first."""
    query = select(ScoreSnapshot).where(col(ScoreSnapshot.vendor_id) == vendor_id)
    if dimension is not None:
        query = query.where(col(ScoreSnapshot.dimension) == dimension)
    if since is not None:
        query = query.where(col(ScoreSnapshot.as_of) >= _as_of(since))
    query = query.order_by(col(ScoreSnapshot.as_of), col(ScoreSnapshot.id))
    return list(session.scalars(query))


def latest_snapshots(*, session: Session) -> dict[int, dict[str, ScoreSnapshot]]:
    """The newest snapshot of every vendor and dimension: vendor id -> dimension -> row."""
    ranked = _ranked_snapshots(session, before=None, keep=1)
    ids = [rows[0][0] for rows in ranked.values()]
    out: dict[int, dict[str, ScoreSnapshot]] = defaultdict(dict)
    for start in range(0, len(ids), 500):
        query = select(ScoreSnapshot).where(col(ScoreSnapshot.id).in_(ids[start : start + 500]))
        for row in session.scalars(query):
            out[row.vendor_id][row.dimension] = row
    return dict(out)


def change_since(
    *, session: Session, days: int = 7, as_of: dt.datetime | None = None
) -> dict[int, dict[str, float | None]]:
    """Per vendor and dimension: the newest value at ``as_of`` minus the newest value at
    ``as_of - days`` (None when there is no snapshot that old)."""
    when = _as_of(as_of)
    now = _ranked_snapshots(session, before=when, keep=1)
    then = _ranked_snapshots(session, before=when - dt.timedelta(days=days), keep=1)
    out: dict[int, dict[str, float | None]] = defaultdict(dict)
    for (vid, dim), rows in now.items():
        old = then.get((vid, dim))
        out[vid][dim] = round(rows[0][2] - old[0][2], 1) if old else None
    return dict(out)


def recent_alerts(
    *, session: Session, limit: int = 20, weights: ScoringWeights | None = None
) -> list[Alert]:
    """Alerts of each vendor's newest snapshot against the one before it, newest first."""
    weights = weights or load_weights()
    ranked = _ranked_snapshots(session, before=None, keep=2)
    slugs: dict[int, str] = {
        r[0]: r[1] for r in session.execute(select(T_VENDOR.id, T_VENDOR.slug))
    }
    alerts = []
    for (vid, dim), rows in ranked.items():
        if len(rows) < 2:
            continue
        (_i, as_of, value, band), (_j, _a, prev_value, prev_band) = rows[0], rows[1]
        alert = _alert_for(
            vendor_id=vid,
            slug=slugs.get(vid, str(vid)),
            dimension=dim,
            previous=(prev_value, prev_band),
            current=value,
            band=band,
            threshold=weights.alerts.jump_threshold,
            as_of=as_of,
        )
        if alert:
            alerts.append(alert)
    alerts.sort(
        key=lambda a: (
            -(a.as_of or dt.datetime.min.replace(tzinfo=dt.UTC)).timestamp(),
            -abs(a.current - (a.previous or 0.0)),
            a.slug,
            a.dimension,
        )
    )
    return alerts[:limit]


def what_if(
    *,
    session: Session,
    event_id: int,
    status: str,
    as_of: dt.datetime | None = None,
    include_suggested: bool = False,
    weights: ScoringWeights | None = None,
) -> dict[int, tuple[VendorScore, VendorScore]]:
    """Preview how setting an event's status would move its vendors' scores (nothing saved):
    vendor id -> (score now, score if changed)."""
    _check_statuses({event_id: status})
    if session.get(Event, event_id) is None:
        raise ScoringError(f"no event with id {event_id}")
    vendor_ids = list(session.scalars(select(T_EV.vendor_id).where(T_EV.event_id == event_id)))
    if not vendor_ids:
        return {}
    kwargs: dict[str, Any] = {
        "session": session,
        "as_of": _as_of(as_of),
        "include_suggested": include_suggested,
        "vendor_ids": vendor_ids,
        "weights": weights,
    }
    now = compute_scores(**kwargs)
    changed = compute_scores(**kwargs, status_overrides={event_id: status})
    return {vid: (now[vid], changed[vid]) for vid in now}


def post_alerts(
    *, url: str, alerts: Sequence[Alert], run_id: str = "", timeout: float = 10.0
) -> str | None:
    """POST the alerts as JSON to a webhook; returns an error message, or None on success.
    Never raises: a failing webhook must not fail a scoring run."""
    payload = {
        "source": "kb",
        "kind": "score-alerts",
        "run_id": run_id,
        "alerts": [a.to_dict() for a in alerts],
    }
    try:
        response = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"webhook {url}: {exc.__class__.__name__}: {exc}"
    if response.status_code >= 300:
        return f"webhook {url}: HTTP {response.status_code}"
    return None


__all__ = [
    "Alert",
    "EventTotals",
    "ScoringError",
    "SnapshotResult",
    "change_since",
    "compute_scores",
    "latest_snapshots",
    "post_alerts",
    "recent_alerts",
    "score_history",
    "snapshot_scores",
    "what_if",
]
