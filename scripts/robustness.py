"""Robustness run: every file of ../shared/corpus/feedparser and ../shared/corpus/feeds through
kb's ingestion stages (parse, normalize, match, tag, store) on a scratch SQLite database.

Reports crashes (any exception other than kb's own "not a feed" ParseError), entry counts, files
refused as non-feeds, ill-formed feeds that were recovered, and the slowest files. Exit 1 when
anything crashed, 0 otherwise; exit 0 with a note when the corpus folder is absent.

Run: ``.venv/bin/python scripts/robustness.py [--corpus DIR] [--verbose]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import migrate  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.db import make_engine, session_scope  # noqa: E402
from kb.feeds import service as feeds  # noqa: E402
from kb.ingest.match import KeywordFilter, Matcher  # noqa: E402
from kb.ingest.parse import ParseError  # noqa: E402
from kb.ingest.run import FeedPlan, prepare_feed  # noqa: E402
from kb.ingest.sources import FeedSpec  # noqa: E402
from kb.ingest.store import category_ids, load_alias_rules, store_entries  # noqa: E402
from kb.ingest.tags import Tagger, load_rules  # noqa: E402
from kb.models import utcnow  # noqa: E402
from kb.vendors import catalog  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
FOLDERS = ("feedparser", "feeds")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--verbose", action="store_true", help="print every refused file")
    args = parser.parse_args()
    roots = [args.corpus / f for f in FOLDERS if (args.corpus / f).is_dir()]
    if not roots:
        print(f"robustness: no corpus at {args.corpus} ({', '.join(FOLDERS)}); nothing to do")
        return 0
    files = sorted(
        p
        for r in roots
        for p in r.rglob("*")
        if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".rdf", ".json", "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'kb.sqlite3'}", data_dir=Path(tmp)
        )
        engine = make_engine(settings)
        migrate.upgrade(engine)
        rules = load_rules()
        with session_scope(engine) as session:
            catalog.load_taxonomy(session=session)
            catalog.load_vendors(session=session)
            feeds.sync_feeds(
                session=session,
                specs=[
                    FeedSpec(name=r.name, url=f"https://corpus.invalid/{r.name}") for r in roots
                ],
            )
            feed_ids = {f.name: f.id for f in feeds.list_feeds(session=session)}
            cats = category_ids(session=session)
            matcher = Matcher.build(
                load_alias_rules(session=session),
                ignore=rules.vendor_matching.ignore,
                not_when=rules.vendor_matching.not_when,
            )
        tagger = Tagger.build(rules, known=set(cats))
        counts: Counter[str] = Counter()
        crashes: list[tuple[Path, str]] = []
        slow: list[tuple[float, Path]] = []
        for path in files:
            root = next(r for r in roots if path.is_relative_to(r))
            feed_id = feed_ids[root.name]
            assert feed_id is not None
            plan = FeedPlan(
                id=feed_id,
                name=root.name,
                url=f"https://corpus.invalid/{path.relative_to(root)}",
                etag=None,
                last_modified=None,
                default_vendor_id=None,
                default_tags=(),
                filter=KeywordFilter.build(),
            )
            started = time.perf_counter()
            try:
                prepared = prepare_feed(
                    plan=plan,
                    body=path.read_bytes(),
                    final_url=plan.url,
                    content_type=None,
                    now=utcnow(),
                    matcher=matcher,
                    tagger=tagger,
                    cats=cats,
                )
                with session_scope(engine) as session:
                    stored = store_entries(
                        session=session, feed_id=feed_id, entries=prepared.prepared, now=utcnow()
                    )
            except ParseError as exc:
                counts["refused (not a feed)"] += 1
                if args.verbose:
                    print(f"  refused {path.relative_to(args.corpus)}: {exc}")
                continue
            except Exception:
                crashes.append((path, traceback.format_exc(limit=3)))
                continue
            finally:
                slow.append((time.perf_counter() - started, path))
            counts["parsed"] += 1
            counts["ill-formed, recovered"] += prepared.ill_formed
            counts["entries"] += prepared.entries_total
            counts["entries skipped"] += prepared.skipped
            counts["items new"] += stored.new
            counts["items updated"] += stored.updated
            counts["items already known"] += stored.unchanged
        engine.dispose()
    print(f"robustness: {len(files)} files from {', '.join(str(r) for r in roots)}")
    for key in (
        "parsed",
        "ill-formed, recovered",
        "refused (not a feed)",
        "entries",
        "entries skipped",
        "items new",
        "items updated",
        "items already known",
    ):
        print(f"  {key:<24} {counts[key]:>7}")
    print(f"  {'crashes':<24} {len(crashes):>7}")
    for seconds, path in sorted(slow, reverse=True)[:3]:
        print(f"  slowest: {seconds:6.3f} s  {path.relative_to(args.corpus)}")
    for path, trace in crashes:
        print(f"\nCRASH {path}:\n{trace}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
