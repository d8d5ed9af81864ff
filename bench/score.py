"""Benchmark: a full rescore of every vendor over many events, against a plain SQL aggregate.

Builds a SQLite database with ``alembic upgrade head``, bulk-inserts 100 vendors and N events
(default 1,000,000) with raw ``executemany`` (the database's triggers fill ``score_link`` as
the links go in, as they do for every writer), then times, in the same run:

- baseline: ``SELECT vendor_id, sum(severity * confidence) ... GROUP BY vendor_id`` (one scan,
  no scoring), the floor any scoring query has to pay;
- ``kb.scoring.service.compute_scores`` for all vendors (both dimensions, bands, confidence,
  contributions), as shipped (split over one forked process per CPU when the table is big)
  and in one process (``parallel=False``), checking both give the same scores.

- the same aggregate forced to scan the events in table order, the floor of any one-pass
  query over the events.

Prints the figures, the ratios, and whether the goal (< 1 s for 1M events) is met.

    .venv/bin/python bench/score.py [--events N] [--vendors N] [--keep PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 1.0
AS_OF = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
GRADES = "ABCDEF"
# (value, weight_stability, weight_lock_in, direction_stability, direction_lock_in, half-life)
CATEGORIES = [
    ("governance-shift", 0.9, 0.3, 1, 1, 730),
    ("leadership-change", 0.7, 0.1, 1, 0, 365),
    ("ownership-funding", 0.6, 0.4, 1, 1, 540),
    ("lawsuit", 0.6, 0.1, 1, 0, 540),
    ("regulatory-action", 0.7, 0.3, 1, 1, 540),
    ("licensing-change", 0.3, 0.8, 1, 1, 365),
    ("pricing-change", 0.2, 0.6, 1, 1, 270),
    ("model-deprecation", 0.3, 0.7, 1, 1, 270),
    ("terms-policy-change", 0.4, 0.5, 1, 1, 365),
    ("data-privacy", 0.5, 0.2, 1, 0, 365),
    ("security-incident", 0.6, 0.1, 1, 0, 270),
    ("outage", 0.4, 0.0, 1, 0, 90),
    ("partnership-exclusivity", 0.3, 0.9, 1, 1, 540),
    ("open-weights-release", 0.1, 0.8, 0, -1, 540),
]
FACT_KEYS = (
    "open_weights",
    "self_hosting",
    "openai_compatible_api",
    "data_export",
    "finetune_portability",
    "data_residency",
    "exclusive_cloud_ties",
    "certifications",
    "government_ties",
)


def build(path: Path, *, vendors: int, events: int, seed: int = 7) -> None:
    """Create and fill the benchmark database at ``path``."""
    from kb import migrate
    from kb.config import Settings
    from kb.db import make_engine

    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    migrate.upgrade(engine)
    engine.dispose()

    rng = random.Random(seed)
    now = AS_OF.strftime("%Y-%m-%d %H:%M:%S.000000")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    cur = con.cursor()
    cur.executemany(
        "INSERT INTO vendor (id, slug, name, origin, edited_fields, created_at, updated_at) "
        "VALUES (?, ?, ?, 'catalog', '[]', ?, ?)",
        [(v, f"vendor-{v:03d}", f"Vendor {v:03d}", now, now) for v in range(1, vendors + 1)],
    )
    values = ("yes", "partial", "no", "unknown")
    cur.executemany(
        "INSERT INTO vendor_fact (vendor_id, key, value, source_url, checked_at, origin, "
        "updated_at) VALUES (?, ?, ?, 'https://example.org/fact', '2026-10-01', 'catalog', ?)",
        [(v, k, rng.choice(values), now) for v in range(1, vendors + 1) for k in FACT_KEYS],
    )
    cur.executemany(
        "INSERT INTO category (id, value, label, default_severity, weight_stability, "
        "weight_lock_in, direction_stability, direction_lock_in, half_life_days, origin, "
        "edited_fields) VALUES (?, ?, ?, 3, ?, ?, ?, ?, ?, 'catalog', '[]')",
        [(i, c[0], c[0], c[1], c[2], c[3], c[4], c[5]) for i, c in enumerate(CATEGORIES, 1)],
    )
    feeds = 20
    cur.executemany(
        "INSERT INTO feed (id, name, url, kind, reliability, default_tags, include_keywords, "
        "exclude_keywords, enabled, error_count, gone, ill_formed, entries_total, created_at, "
        "updated_at) VALUES (?, ?, ?, 'news', ?, '[]', '[]', '[]', 1, 0, 0, 0, 0, ?, ?)",
        [
            (f, f"feed {f}", f"https://feed{f}.example.org/rss", GRADES[f % 6], now, now)
            for f in range(1, feeds + 1)
        ],
    )
    start = AS_OF.date() - dt.timedelta(days=5 * 365)
    statuses = ["confirmed"] * 7 + ["suggested"] * 2 + ["dismissed"]
    batch = 100_000
    item_id = 0
    for first in range(1, events + 1, batch):
        ev_rows, link_rows, item_rows, src_rows, ei_rows = [], [], [], [], []
        for e in range(first, min(first + batch, events + 1)):
            cat = rng.randrange(len(CATEGORIES))
            c = CATEGORIES[cat]
            day = start + dt.timedelta(days=rng.randrange(5 * 365 + 60))
            ev_rows.append(
                (
                    e,
                    f"event {e}",
                    cat + 1,
                    rng.randint(1, 5),
                    day.isoformat(),
                    rng.choice(statuses),
                    round(rng.uniform(0.3, 1.0), 2),
                    c[3],
                    c[4],
                    e - 1 if e > 1 and rng.random() < 0.01 else None,
                    now,
                    now,
                )
            )
            v = rng.randint(1, vendors)
            link_rows.append((e, v))
            if rng.random() < 0.1:
                other = rng.randint(1, vendors)
                if other != v:
                    link_rows.append((e, other))
            if rng.random() < 0.3:
                item_id += 1
                item_rows.append((item_id, f"k{item_id}", f"https://n.example.org/{item_id}"))
                src_rows.append((item_id, rng.randint(1, feeds)))
                ei_rows.append((e, item_id))
        cur.executemany(
            "INSERT INTO event (id, title, category_id, severity, occurred_at, status, "
            "confidence, direction_stability, direction_lock_in, merged_into_id, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ev_rows,
        )
        cur.executemany("INSERT INTO event_vendor (event_id, vendor_id) VALUES (?, ?)", link_rows)
        cur.executemany(
            "INSERT INTO item (id, dedup_key, url, title, content_hash, published_estimated, "
            f"status, first_seen_at, updated_at) VALUES (?, ?, ?, 't', 'h', 0, 'new', "
            f"'{now}', '{now}')",
            item_rows,
        )
        cur.executemany(
            f"INSERT INTO item_source (item_id, feed_id, first_seen_at) VALUES (?, ?, '{now}')",
            src_rows,
        )
        cur.executemany("INSERT INTO event_item (event_id, item_id) VALUES (?, ?)", ei_rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()


def _time(fn: object, repeat: int) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events (default 1M)")
    parser.add_argument("--vendors", type=int, default=100, help="vendors (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best kept")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    args = parser.parse_args(argv)

    from sqlalchemy import text
    from sqlmodel import Session

    from kb.config import Settings
    from kb.db import make_engine
    from kb.scoring import service

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.sqlite3"
        if not path.exists():
            start = time.perf_counter()
            build(path, vendors=args.vendors, events=args.events)
            print(
                f"built {path.name}: {args.vendors} vendors, {args.events:,} events "
                f"in {time.perf_counter() - start:.1f} s"
            )
        engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
        with Session(engine) as session:
            baseline_sql = text(
                "SELECT ev.vendor_id, sum(e.severity * e.confidence) FROM event e "
                "JOIN event_vendor ev ON ev.event_id = e.id "
                "WHERE e.status = 'confirmed' AND e.merged_into_id IS NULL GROUP BY ev.vendor_id"
            )
            floor_sql = text(
                "SELECT ev.vendor_id, sum(e.severity * e.confidence) FROM event e NOT INDEXED "
                "CROSS JOIN event_vendor ev ON ev.event_id = e.id "
                "WHERE e.status = 'confirmed' AND e.merged_into_id IS NULL GROUP BY ev.vendor_id"
            )
            t_base, rows = _time(lambda: session.execute(baseline_sql).all(), args.repeat)
            t_floor, _ = _time(lambda: session.execute(floor_sql).all(), args.repeat)
            t_score, scores = _time(
                lambda: service.compute_scores(session=session, as_of=AS_OF), args.repeat
            )
            workers = service.parallel_workers(session, args.vendors)
            t_serial, serial = _time(
                lambda: service.compute_scores(session=session, as_of=AS_OF, parallel=False),
                args.repeat,
            )
            session.rollback()
        engine.dispose()
    assert isinstance(scores, dict) and isinstance(rows, list)
    values = [s.stability.value for s in scores.values()] + [
        s.lock_in.value for s in scores.values()
    ]
    listed = statistics.mean(
        len(s.stability.contributions) + len(s.lock_in.contributions) for s in scores.values()
    )
    print(
        f"plain SQL aggregate (sum(severity*confidence) per vendor): {t_base:.3f} s "
        f"({len(rows)} rows)"
    )
    print(
        f"compute_scores, all {len(scores)} vendors, both dimensions, contributions: "
        f"{t_score:.3f} s (mean {listed:.0f} contribution lines per vendor; "
        f"scores {min(values):.1f}..{max(values):.1f})"
    )
    print(
        f"  as shipped: {workers} process(es); in one process (parallel=False): "
        f"{t_serial:.3f} s, same scores: {serial == scores}"
    )
    print(
        f"the same aggregate forced to scan events in table order (the floor of any one-pass "
        f"query): {t_floor:.3f} s"
    )
    print(
        f"ratio compute_scores / plain aggregate: {t_score / t_base:.2f}x; "
        f"/ scan floor: {t_score / t_floor:.2f}x"
    )
    if args.events >= 1_000_000:
        verdict = "met" if t_score < GOAL_SECONDS else "NOT met"
        print(
            f"goal: full rescore of {args.vendors} vendors over {args.events:,} events "
            f"< {GOAL_SECONDS:.0f} s on SQLite: {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
