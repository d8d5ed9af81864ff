"""Benchmark: full-text search, the inbox query and suggested grouping at scale.

Builds a SQLite database (``alembic upgrade head``, then N items inserted through the normal
table, so the FTS5 triggers index them as ingestion would) and, when a PostgreSQL URL is given
(``--postgres URL`` or KB_TEST_POSTGRES_URL), a scratch PostgreSQL database with the same rows
(GIN expression index from the migration). Then, on each database:

- search: ``kb.search.service.search_items`` (page 1 with its capped count) for a rare word, a
  common word, two words and a phrase, against the baseline a database without full-text
  search would run, ``title LIKE '%word%' OR summary LIKE '%word%'`` (same page size);
- inbox: ``kb.items.service.inbox`` unfiltered, by vendor and by text;
- grouping (pure Python): ``suggest_groups`` on inbox-sized inputs against all-pairs
  comparison of the same input.

Prints p50/p95 in milliseconds and the ratio to the baseline measured in the same run.

    .venv/bin/python bench/triage.py [--items 1000000] [--repeat 15] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from kb import migrate
from kb.config import Settings
from kb.db import make_engine
from kb.events import grouping
from kb.items import service as items
from kb.search import service as search

COMMON = ["openai", "model", "release", "api", "pricing", "cloud", "policy", "update"]
RARE = ["subpoena", "antitrust", "insolvency", "whistleblower", "embargo", "recall"]
FILLER = [f"w{n}" for n in range(20_000)]  # a long tail of words, like real text
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def words(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            out.append(rng.choice(COMMON))
        elif r < 0.0805:
            out.append(rng.choice(RARE))
        else:
            out.append(rng.choice(FILLER))
    return " ".join(out)


def rows(count: int, seed: int = 5) -> Any:
    rng = random.Random(seed)
    for i in range(1, count + 1):
        published = T0 + dt.timedelta(seconds=30 * i)
        yield {
            "id": i,
            "dedup_key": f"bench:{i}",
            "title": words(rng, 9).capitalize(),
            "summary": f"<p>{words(rng, 30)}</p>",
            "content_hash": f"{i:064x}",
            "published_at": published,
            "status": "new" if rng.random() < 0.3 else "triaged",
        }


def build(engine: Engine, count: int) -> float:
    """Insert ``count`` items (and a vendor matched to every 20th) in batches; seconds taken."""
    migrate.upgrade(engine)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    insert = text(
        "INSERT INTO item (id, dedup_key, title, summary, content_hash, published_at, "
        "published_estimated, status, first_seen_at, updated_at) VALUES (:id, :dedup_key, "
        ":title, :summary, :content_hash, :published_at, false, :status, :published_at, "
        ":published_at)"
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO vendor (id, slug, name, origin, edited_fields, created_at, "
                "updated_at) VALUES (1, 'openai', 'OpenAI', 'catalog', '[]', :t, :t)"
            ),
            {"t": T0},
        )
    for row in rows(count):
        if engine.dialect.name == "sqlite":
            row["published_at"] = row["published_at"].replace(tzinfo=None)
        batch.append(row)
        if len(batch) == 20_000:
            _flush(engine, insert, batch)
            batch = []
    if batch:
        _flush(engine, insert, batch)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO item_vendor (item_id, vendor_id, score, origin) "
                "SELECT id, 1, 1.0, 'auto' FROM item WHERE id % 20 = 0"
            )
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _flush(engine: Engine, insert: Any, batch: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert, batch)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds over ``repeat`` runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def like_baseline(session: Session, word: str) -> Callable[[], Any]:
    """What search costs without a full-text index: a LIKE scan, same page, same count cap."""
    pattern = f"%{word}%"
    page = text(
        "SELECT id FROM item WHERE title LIKE :p OR summary LIKE :p ORDER BY id DESC LIMIT 50"
    )
    count = text(
        "SELECT count(*) FROM (SELECT 1 FROM item WHERE title LIKE :p OR summary LIKE :p "
        "LIMIT :cap) m"
    )

    def run() -> None:
        session.execute(page, {"p": pattern}).all()
        session.execute(count, {"p": pattern, "cap": search.COUNT_CAP + 1}).scalar_one()

    return run


def bench_db(label: str, engine: Engine, repeat: int) -> None:
    print(f"\n{label}")
    print(f"{'query':44} {'p50 ms':>8} {'p95 ms':>8} {'LIKE p50':>9} {'speed-up':>9} {'hits':>7}")
    with Session(engine) as session:
        queries = [
            ("rare word", RARE[0], RARE[0]),
            ("common word", COMMON[0], COMMON[0]),
            ("two words", f"{COMMON[1]} {COMMON[2]}", COMMON[1]),
            ("phrase", f'"{COMMON[3]} {COMMON[4]}"', COMMON[3]),
            ("no match", "zzzqqq", "zzzqqq"),
        ]
        for name, q, like_word in queries:
            p50, p95 = timed(lambda q=q: search.search_items(session=session, q=q), repeat)
            base, _ = timed(like_baseline(session, like_word), max(3, repeat // 5))
            page, capped = search.search_items(session=session, q=q)
            hits = f"{page.total}{'+' if capped else ''}"
            print(f"search: {name} ({q})"[:44].ljust(44), end=" ")
            print(f"{p50:8.1f} {p95:8.1f} {base:9.1f} {base / p50:8.0f}x {hits:>7}")
        print(f"{'inbox query':44} {'p50 ms':>8} {'p95 ms':>8}")
        for name, filters in [
            ("inbox: new, newest first", items.InboxFilters()),
            ("inbox: new, vendor openai", items.InboxFilters(vendor="openai")),
            ("inbox: new, text 'antitrust'", items.InboxFilters(q="antitrust")),
            ("inbox: all, text 'openai'", items.InboxFilters(status="all", q="openai")),
        ]:
            p50, p95 = timed(lambda f=filters: items.inbox(session=session, filters=f), repeat)
            print(f"{name:44} {p50:8.1f} {p95:8.1f}")


def all_pairs(candidates: list[grouping.Candidate], threshold: float = 0.5) -> int:
    """The naive baseline: compare every pair of titles."""
    norm = [grouping.normalize_title(c.title) for c in candidates]
    hits = 0
    for i in range(len(norm)):
        for j in range(i):
            if grouping.similarity(norm[i], norm[j]) >= threshold:
                hits += 1
    return hits


def bench_grouping(repeat: int) -> None:
    print("\ngrouping (pure Python)")
    print(f"{'candidates':12} {'p50 ms':>8} {'all pairs ms':>13} {'speed-up':>9} {'groups':>7}")
    rng = random.Random(3)
    for n in (500, 2000, 5000):
        cands = [
            items.GroupCandidate(
                id=i,
                title=words(rng, 9),
                published_at=T0 + dt.timedelta(minutes=10 * i),
                vendor_ids=frozenset({i % 7}),
            )
            for i in range(n)
        ]
        # a few real stories reported several times
        for k in range(n // 50):
            base = cands[k * 37 % n]
            cands.append(
                items.GroupCandidate(
                    id=n + k,
                    title=base.title + " report",
                    published_at=base.published_at,
                    vendor_ids=base.vendor_ids,
                )
            )
        p50, _ = timed(lambda c=cands: grouping.suggest_groups(c), max(3, repeat // 3))
        naive, _ = timed(lambda c=cands: all_pairs(c), 1)
        found = len(grouping.suggest_groups(cands))
        print(f"{len(cands):<12} {p50:8.1f} {naive:13.1f} {naive / p50:8.0f}x {found:>7}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", default=os.environ.get("KB_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
        took = build(engine, args.items)
        print(f"SQLite: {args.items:,} items inserted and FTS5-indexed by triggers in {took:.0f} s")
        bench_db(f"SQLite FTS5, {args.items:,} items", engine, args.repeat)
        engine.dispose()

    if args.postgres:
        admin_url = make_url(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"kb_bench_triage_{uuid.uuid4().hex[:8]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin_url.set(database=name).render_as_string(hide_password=False)
            engine = make_engine(Settings(database_url=url))
            took = build(engine, args.items)
            print(f"\nPostgreSQL: {args.items:,} items inserted, GIN-indexed in {took:.0f} s")
            bench_db(f"PostgreSQL GIN, {args.items:,} items", engine, args.repeat)
            engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        print("\n(PostgreSQL skipped: pass --postgres URL or set KB_TEST_POSTGRES_URL)")

    bench_grouping(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
