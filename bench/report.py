"""Benchmark: the portfolio report of 50 vendors with 10,000 events, in every format.

Builds a fresh SQLite database (or the one in KB_BENCH_DATABASE_URL, which must be empty),
stores one score snapshot per vendor and dimension, then times building the report data and
rendering each format, each ``--repeat`` times (default 3; the median is reported, so one
stall of a busy machine does not decide the verdict). Goal: each format under 2 s (build +
render). The baseline, measured in the same run, is json.dumps of the report's plain data:
each format is shown as a ratio of it.

    .venv/bin/python bench/report.py [--vendors 50] [--events 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time

from sqlalchemy import insert
from sqlmodel import Session

from kb import migrate
from kb.config import Settings
from kb.db import make_engine
from kb.models import (
    Category,
    Event,
    EventItem,
    EventVendor,
    Item,
    Vendor,
    VendorFact,
)
from kb.reports import render, service
from kb.scoring import service as scoring
from kb.vendors.schemas import FACT_KEYS

GOAL_S = 2.0
AS_OF = dt.date(2026, 11, 20)
CATEGORIES = [
    ("governance-shift", 0.8, 0.1),
    ("leadership-change", 0.6, 0.0),
    ("ownership-funding", 0.5, 0.2),
    ("lawsuit", 0.6, 0.1),
    ("regulatory-action", 0.7, 0.3),
    ("licensing-change", 0.3, 0.7),
    ("pricing-change", 0.2, 0.5),
    ("model-deprecation", 0.3, 0.6),
    ("terms-policy-change", 0.3, 0.5),
    ("data-privacy", 0.5, 0.2),
    ("security-incident", 0.6, 0.1),
    ("outage", 0.4, 0.1),
    ("partnership-exclusivity", 0.2, 0.8),
]


def seed(session: Session, *, vendors: int, events: int) -> None:
    """Vendors with nine facts each, categories, events linked to one or two vendors and an
    article each; bulk inserts so seeding stays quick."""
    rng = random.Random(7)
    session.execute(
        insert(Category),
        [
            {
                "value": value,
                "label": value.replace("-", " ").capitalize(),
                "weight_stability": ws,
                "weight_lock_in": wl,
                "direction_stability": 1,
                "direction_lock_in": 1 if wl else 0,
                "half_life_days": 365.0,
                "default_severity": 3,
                "origin": "catalog",
                "edited_fields": [],
            }
            for value, ws, wl in CATEGORIES
        ],
    )
    now = dt.datetime.now(dt.UTC)
    session.execute(
        insert(Vendor),
        [
            {
                "slug": f"vendor-{i:02d}",
                "name": f"Vendor {i:02d} AI",
                "website": f"https://vendor{i}.example",
                "jurisdiction": rng.choice(["US", "FR", "CN", "GB", "CA"]),
                "corporate_form": rng.choice(["private", "public-company", "capped-profit"]),
                "origin": "catalog",
                "edited_fields": [],
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1, vendors + 1)
        ],
    )
    session.execute(
        insert(VendorFact),
        [
            {
                "vendor_id": v,
                "key": key,
                "value": rng.choice(["yes", "partial", "no", "unknown"]),
                "detail": f"Detail of {key} for vendor {v}.",
                "source_url": f"https://vendor{v}.example/docs/{key}",
                "checked_at": dt.date(2026, 10, 1),
                "origin": "catalog",
                "updated_at": now,
            }
            for v in range(1, vendors + 1)
            for key in FACT_KEYS
        ],
    )
    start = AS_OF.toordinal() - 2 * 365
    session.execute(
        insert(Item),
        [
            {
                "dedup_key": f"item-{i}",
                "url": f"https://news.example/{i}",
                "title": f"News report {i} on a vendor \u2013 analysis",
                "content_hash": f"{i:064d}",
                "published_at": now,
                "status": "triaged",
                "first_seen_at": now,
                "updated_at": now,
            }
            for i in range(1, events + 1)
        ],
    )
    session.execute(
        insert(Event),
        [
            {
                "title": f"Event {i}: something changed at a vendor (lawsuit, terms, pricing)",
                "category_id": rng.randint(1, len(CATEGORIES)),
                "severity": rng.randint(1, 5),
                "occurred_at": dt.date.fromordinal(rng.randint(start, AS_OF.toordinal())),
                "status": "suggested" if rng.random() < 0.1 else "confirmed",
                "confidence": round(rng.uniform(0.5, 1.0), 2),
                "direction_stability": 1,
                "direction_lock_in": rng.choice([-1, 0, 1]),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1, events + 1)
        ],
    )
    links = []
    for i in range(1, events + 1):
        first = rng.randint(1, vendors)
        links.append({"event_id": i, "vendor_id": first})
        if rng.random() < 0.1:
            second = rng.randint(1, vendors)
            if second != first:
                links.append({"event_id": i, "vendor_id": second})
    session.execute(insert(EventVendor), links)
    session.execute(
        insert(EventItem), [{"event_id": i, "item_id": i} for i in range(1, events + 1)]
    )
    when = dt.datetime.combine(AS_OF, dt.time(6), tzinfo=dt.UTC)
    scoring.snapshot_scores(session=session, as_of=when - dt.timedelta(days=7), run_id="bench-0")
    scoring.snapshot_scores(session=session, as_of=when, run_id="bench-1")


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median_timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    """The last result and the median wall time of ``repeat`` calls."""
    times = []
    result = None
    for _ in range(repeat):
        result, seconds = timed(fn)
        times.append(seconds)
    return result, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=50)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is shown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("KB_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        engine = make_engine(Settings(database_url=url))
        migrate.upgrade(engine)
        with Session(engine) as session:
            _, seed_s = timed(lambda: seed(session, vendors=args.vendors, events=args.events))
            session.commit()
        print(
            f"seeded {args.vendors} vendors, {args.events} events, 2 snapshot runs "
            f"in {seed_s:.2f} s ({engine.dialect.name})"
        )
        with Session(engine) as session:
            report, build_s = median_timed(
                lambda: service.build_report(session=session, as_of=AS_OF), args.repeat
            )
        engine.dispose()
    n_events = sum(len(v.events) for v in report.vendors)
    _, baseline_s = median_timed(lambda: json.dumps(service.report_dict(report)), args.repeat)
    print(f"report data: {len(report.vendors)} vendors, {n_events} vendor-event rows")
    print(f"build report data (SQL):     {build_s:7.3f} s")
    print(f"baseline json.dumps of data: {baseline_s:7.3f} s")
    print(f"{'format':<6} {'render s':>9} {'total s':>8} {'x baseline':>11} {'size':>10}  goal")
    failed = []
    for fmt in service.FORMATS:
        data, render_s = median_timed(lambda fmt=fmt: render.render(report, fmt), args.repeat)
        total = build_s + render_s
        ok = total < GOAL_S
        if not ok:
            failed.append(fmt)
        print(
            f"{fmt:<6} {render_s:9.3f} {total:8.3f} {render_s / baseline_s:10.1f}x "
            f"{len(data) / 1024:8.0f} kB  {'ok' if ok else 'OVER'} (< {GOAL_S:.0f} s)"
        )
    if failed:
        print(f"over the {GOAL_S:.0f} s goal: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
