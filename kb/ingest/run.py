"""Stage 6, run: orchestrate one ingestion and return a report.

sources -> lock -> sync feeds -> fetch (concurrently, in the background) -> for each feed as it
arrives: parse, normalize, match, tag, store and record its health, in ONE transaction per feed.
A failing feed rolls back alone; a run killed at any point loses nothing committed, and the next
run takes over the stale lock and completes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb.config import Settings
from kb.db import session_scope
from kb.feeds import service as feeds
from kb.ingest import lock as joblock
from kb.ingest.fetch import DEFAULT_USER_AGENT, FetchOptions, FetchRequest, FetchResult, iter_fetch
from kb.ingest.match import KeywordFilter, Matcher
from kb.ingest.normalize import normalize_entry
from kb.ingest.parse import ParseError, parse_feed
from kb.ingest.sources import load_sources
from kb.ingest.store import (
    CategoryLink,
    PreparedEntry,
    VendorLink,
    category_ids,
    load_alias_rules,
    store_entries,
)
from kb.ingest.tags import Tagger, load_rules
from kb.models import Feed, IngestRun, utcnow

LOCK_NAME = "ingest"
HEARTBEAT_EVERY = 20.0  # seconds
FAILED_STATES = ("error", "gone", "deferred")


@dataclass
class FeedOutcome:
    """What happened to one feed in one run."""

    name: str
    url: str
    status: str  # ok | not-modified | error | gone | deferred
    http_status: int | None = None
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0
    filtered: int = 0
    skipped: int = 0
    error: str | None = None
    ill_formed: bool = False
    problem: str | None = None
    redirected_to: str | None = None
    next_check_at: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATES


@dataclass
class RunReport:
    """The outcome of one run, per feed; saved as JSON on the ingest_run row."""

    run_id: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    feeds: list[FeedOutcome] = field(default_factory=list)
    sync: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.failed]

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.feeds)

    @property
    def exit_code(self) -> int:
        """0 when every feed succeeded, 1 when some failed (DESIGN.md section 5)."""
        return 1 if self.failed else 0

    @property
    def status(self) -> str:
        if not self.failed:
            return "ok"
        return "failed" if len(self.failed) == len(self.feeds) else "partial"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "totals": {
                k: self.total(k)
                for k in ("entries", "new", "updated", "unchanged", "linked", "filtered", "skipped")
            }
            | {"feeds": len(self.feeds), "failed": len(self.failed)},
            "feeds": [asdict(f) for f in self.feeds],
            "sync": self.sync,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class FeedPlan:
    """The plain data one feed's processing needs (no ORM object crosses transactions)."""

    id: int
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    default_vendor_id: int | None
    default_tags: tuple[str, ...]
    filter: KeywordFilter


def fetch_options(settings: Settings) -> FetchOptions:
    """Fetch limits from the settings."""
    return FetchOptions(
        timeout=settings.ingest_timeout,
        connect_timeout=min(10.0, settings.ingest_timeout),
        max_bytes=settings.ingest_max_bytes,
        concurrency=settings.ingest_concurrency,
        user_agent=settings.ingest_user_agent or DEFAULT_USER_AGENT,
        ca_file=settings.ingest_ca_file or None,
    )


@dataclass
class Prepared:
    """One feed's entries after parse, normalize, match and tag (what the store stage needs)."""

    entries_total: int
    ill_formed: bool
    problem: str | None
    prepared: list[PreparedEntry]
    filtered: int = 0
    skipped: int = 0


def prepare_feed(
    *,
    plan: FeedPlan,
    body: bytes,
    final_url: str | None,
    content_type: str | None,
    now: dt.datetime,
    matcher: Matcher,
    tagger: Tagger,
    cats: dict[str, int],
) -> Prepared:
    """The pure stages for one fetched body; raises ParseError when it is not a feed."""
    parsed = parse_feed(body, url=final_url or plan.url, content_type=content_type)
    out = Prepared(
        entries_total=len(parsed.entries),
        ill_formed=parsed.ill_formed,
        problem=parsed.problem,
        prepared=[],
    )
    for raw in parsed.entries:
        try:
            entry = normalize_entry(raw, feed_url=plan.url, now=now)
        except Exception:  # one odd entry never sinks its feed
            out.skipped += 1
            continue
        if not plan.filter.keeps(entry.text):
            out.filtered += 1
            continue
        vendors = [
            VendorLink(vendor_id=m.vendor_id, alias=m.alias, evidence=m.evidence)
            for m in matcher.match(entry.text)
        ]
        if plan.default_vendor_id is not None and all(
            v.vendor_id != plan.default_vendor_id for v in vendors
        ):
            vendors.append(
                VendorLink(
                    vendor_id=plan.default_vendor_id,
                    alias=None,
                    evidence=f"published by the vendor's own feed {plan.name!r}",
                    origin="feed-default",
                    score=0.8,
                )
            )
        categories = [
            CategoryLink(cats[s.value], s.confidence, s.triggers)
            for s in tagger.suggest(title=entry.title, body=entry.text, defaults=plan.default_tags)
            if s.value in cats
        ]
        out.prepared.append(PreparedEntry(entry=entry, vendors=vendors, categories=categories))
    return out


# Worker processes parse while the main process stores: feedparser is pure Python and
# CPU-bound, so on a machine with 2+ cores this overlaps the two halves of the job.
_WORKER: tuple[Matcher, Tagger, dict[str, int]] | None = None


def _init_worker(matcher: Matcher, tagger: Tagger, cats: dict[str, int]) -> None:
    global _WORKER
    _WORKER = (matcher, tagger, cats)
    # If the run is killed (even with SIGKILL), its workers must not linger: they watch it.
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(1)


def _noop() -> None:
    return None


def _prepare_job(
    plan: FeedPlan, body: bytes, final_url: str | None, content_type: str | None, now: dt.datetime
) -> Prepared:
    assert _WORKER is not None
    matcher, tagger, cats = _WORKER
    out = prepare_feed(
        plan=plan,
        body=body,
        final_url=final_url,
        content_type=content_type,
        now=now,
        matcher=matcher,
        tagger=tagger,
        cats=cats,
    )
    # The plain text served matching and tagging; the store does not need it: don't ship it.
    for i, p in enumerate(out.prepared):
        out.prepared[i] = dataclasses.replace(p, entry=dataclasses.replace(p.entry, text=""))
    return out


def _make_pool(workers: int, pipeline: _Pipeline) -> ProcessPoolExecutor | None:
    """A pool of parse workers, forked now, before any other thread of this run starts."""
    if workers <= 1 or not hasattr(os, "fork"):
        return None
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(pipeline.matcher, pipeline.tagger, pipeline.cats),
    )
    for f in [pool.submit(_noop) for _ in range(workers)]:
        f.result()
    return pool


class _Pipeline:
    """Per-run state: the compiled matcher and tagger, and the clock."""

    def __init__(self, engine: Engine, matcher: Matcher, tagger: Tagger, cats: dict[str, int]):
        self.engine = engine
        self.matcher = matcher
        self.tagger = tagger
        self.cats = cats

    def prepare(self, plan: FeedPlan, result: FetchResult, now: dt.datetime) -> Prepared:
        return prepare_feed(
            plan=plan,
            body=result.body,
            final_url=result.final_url,
            content_type=result.headers.get("content-type"),
            now=now,
            matcher=self.matcher,
            tagger=self.tagger,
            cats=self.cats,
        )

    def process(
        self,
        plan: FeedPlan,
        result: FetchResult,
        prepped: Prepared | BaseException | None = None,
    ) -> FeedOutcome:
        """One feed, one transaction (``prepped``: the worker's result, if one parsed it)."""
        started = time.monotonic()
        now = utcnow()
        out = FeedOutcome(name=plan.name, url=plan.url, status="ok", http_status=result.status)
        try:
            with session_scope(self.engine) as session:
                feed = session.get(Feed, plan.id)
                assert feed is not None
                if result.error is not None:
                    self._fail(session, feed, out, result, result.error, now)
                elif result.not_modified:
                    out.status = "not-modified"
                    feeds.record_success(
                        session=session,
                        feed=feed,
                        now=now,
                        status=304,
                        etag=result.etag,
                        last_modified=result.last_modified,
                        permanent_url=result.permanent_url,
                    )
                else:
                    if prepped is None:
                        try:
                            prepped = self.prepare(plan, result, now)
                        except ParseError as exc:
                            prepped = exc
                    if isinstance(prepped, ParseError):
                        self._fail(session, feed, out, result, str(prepped), now)
                    elif isinstance(prepped, BaseException):
                        raise prepped
                    else:
                        counts = store_entries(
                            session=session, feed_id=plan.id, entries=prepped.prepared, now=now
                        )
                        out.entries = prepped.entries_total
                        out.filtered, out.skipped = prepped.filtered, prepped.skipped
                        out.new, out.updated = counts.new, counts.updated
                        out.unchanged, out.linked = counts.unchanged, counts.linked
                        out.ill_formed, out.problem = prepped.ill_formed, prepped.problem
                        feeds.record_success(
                            session=session,
                            feed=feed,
                            now=now,
                            status=result.status,
                            etag=result.etag,
                            last_modified=result.last_modified,
                            permanent_url=result.permanent_url,
                            ill_formed=prepped.ill_formed,
                            problem=prepped.problem,
                            entries=out.new,
                        )
                if result.permanent_url and result.permanent_url != plan.url and not out.failed:
                    out.redirected_to = result.permanent_url
        except Exception as exc:  # a bug or a database error: this feed fails, the run goes on
            out = FeedOutcome(
                name=plan.name,
                url=plan.url,
                status="error",
                http_status=result.status,
                error=f"could not process: {type(exc).__name__}: {exc}"[:2000],
            )
            with session_scope(self.engine) as session:
                feed = session.get(Feed, plan.id)
                if feed is not None:
                    feeds.record_failure(session=session, feed=feed, now=now, error=out.error or "")
        out.seconds = round(time.monotonic() - started + result.elapsed, 3)
        return out

    @staticmethod
    def _fail(
        session: Session,
        feed: Feed,
        out: FeedOutcome,
        result: FetchResult,
        error: str,
        now: dt.datetime,
    ) -> None:
        out.status = "gone" if result.gone else "error"
        out.error = error
        feeds.record_failure(
            session=session,
            feed=feed,
            now=now,
            error=error,
            status=result.status,
            retry_after=result.retry_after,
            gone=result.gone,
        )
        out.next_check_at = feed.next_check_at.isoformat() if feed.next_check_at else None


def run_ingest(
    *,
    engine: Engine,
    settings: Settings,
    feeds_path: Path | None = None,
    rules_path: Path | None = None,
    force: bool = False,
    options: FetchOptions | None = None,
    progress: Callable[[FeedOutcome, int, int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    stale_after: dt.timedelta = joblock.DEFAULT_STALE_AFTER,
    workers: int | None = None,
) -> RunReport:
    """Run one ingestion. Raises SourcesError, TagRulesError or FeedConfigError on a bad
    configuration (before anything is fetched) and LockBusy when another run is in progress."""
    sources = load_sources(feeds_path or settings.feeds_file)
    rules = load_rules(rules_path)
    options = options or fetch_options(settings)
    handle = joblock.acquire(engine, LOCK_NAME, stale_after=stale_after)
    try:
        return _run_locked(
            engine=engine,
            handle=handle,
            sources=sources,
            rules=rules,
            force=force,
            options=options,
            progress=progress,
            on_start=on_start,
            workers=settings.ingest_workers if workers is None else workers,
        )
    finally:
        handle.release()


def _run_locked(
    *,
    engine: Engine,
    handle: joblock.JobLockHandle,
    sources: Any,
    rules: Any,
    force: bool,
    options: FetchOptions,
    progress: Callable[[FeedOutcome, int, int], None] | None,
    on_start: Callable[[int], None] | None,
    workers: int,
) -> RunReport:
    now = utcnow()
    report = RunReport(run_id=None, started_at=now)
    run_table = IngestRun.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        sync = feeds.sync_feeds(
            session=session, specs=sources.feeds, lines=sources.lines, where=str(sources.path)
        )
        report.sync = {
            k: getattr(sync, k) for k in ("created", "updated", "disabled") if getattr(sync, k)
        }
        report.warnings.extend(sync.warnings)
        cats = category_ids(session=session)
        tagger = Tagger.build(rules, known=set(cats) if cats else None)
        if cats and tagger.unknown_categories():
            report.warnings.append(
                "tagging rules name categories missing from the taxonomy (skipped): "
                + ", ".join(tagger.unknown_categories())
            )
        alias_rules = load_alias_rules(session=session)
        if not alias_rules:
            report.warnings.append("no vendor aliases: run `kb vendors load` to match vendors")
        matcher = Matcher.build(
            alias_rules,
            ignore=rules.vendor_matching.ignore,
            not_when=rules.vendor_matching.not_when,
        )
        listed = {f.name for f in sources.feeds}
        plans: list[FeedPlan] = []
        for feed in feeds.list_feeds(session=session):
            if feed.name not in listed or not feed.enabled:
                continue
            assert feed.id is not None
            if feed.gone and not force:
                report.feeds.append(
                    FeedOutcome(
                        name=feed.name,
                        url=feed.url,
                        status="gone",
                        http_status=feed.last_status,
                        error=f"gone since {feed.checked_at:%Y-%m-%d}: {feed.last_error}"
                        if feed.checked_at
                        else "gone",
                    )
                )
                continue
            due = force or feed.next_check_at is None or feed.next_check_at <= now
            if not due:
                assert feed.next_check_at is not None
                report.feeds.append(
                    FeedOutcome(
                        name=feed.name,
                        url=feed.url,
                        status="deferred",
                        http_status=feed.last_status,
                        error=f"backing off after {feed.error_count} error(s): {feed.last_error}",
                        next_check_at=feed.next_check_at.isoformat(),
                    )
                )
                continue
            plans.append(
                FeedPlan(
                    id=feed.id,
                    name=feed.name,
                    url=feed.url,
                    etag=feed.etag,
                    last_modified=feed.last_modified,
                    default_vendor_id=feed.default_vendor_id,
                    default_tags=tuple(feed.default_tags or ()),
                    filter=KeywordFilter.build(
                        include=feed.include_keywords or (), exclude=feed.exclude_keywords or ()
                    ),
                )
            )
        # Runs that died without finishing (SIGKILL, power loss) are marked as such.
        session.execute(
            update(run_table).where(run_table.c.status == "running").values(status="interrupted")
        )
        run = IngestRun(
            started_at=now,
            feeds_total=len(plans) + len(report.feeds),
            host=socket.gethostname()[:200],
            pid=os.getpid(),
        )
        session.add(run)
        session.flush()
        report.run_id = run.id
    total = len(plans) + len(report.feeds)
    if on_start is not None:
        on_start(total)
    done = 0
    for early in report.feeds:
        done += 1
        if progress is not None:
            progress(early, done, total)
    pipeline = _Pipeline(engine, matcher, tagger, cats)
    by_id = {p.id: p for p in plans}
    requests = [
        FetchRequest(key=p.id, url=p.url, etag=p.etag, last_modified=p.last_modified) for p in plans
    ]
    last_beat = time.monotonic()
    status = "interrupted"
    # 304s only touch fetch state: they are written together, set-based, not one by one.
    unchanged: list[dict[str, Any]] = []

    def flush_unchanged() -> None:
        if unchanged:
            with session_scope(engine) as session:
                feeds.record_not_modified(session=session, changes=unchanged, now=utcnow())
            unchanged.clear()

    pool = _make_pool(workers, pipeline) if len(plans) > 1 else None
    parsing: dict[Future[Prepared], tuple[FeedPlan, FetchResult]] = {}

    def finish(future: Future[Prepared]) -> None:
        plan, result = parsing.pop(future)
        try:
            prepped: Prepared | BaseException = future.result()
        except BaseException as exc:  # ParseError, or a worker that died
            prepped = exc
        record(pipeline.process(plan, result, prepped))

    def record(outcome: FeedOutcome) -> None:
        nonlocal done, last_beat
        report.feeds.append(outcome)
        done += 1
        if progress is not None:
            progress(outcome, done, total)
        if time.monotonic() - last_beat > HEARTBEAT_EVERY:
            handle.heartbeat()
            last_beat = time.monotonic()

    try:
        for result in iter_fetch(requests, options, idle=0.05):
            for ready in [f for f in parsing if f.done()]:
                finish(ready)
            if result is None:  # nothing fetched lately: store what the workers parsed
                if time.monotonic() - last_beat > HEARTBEAT_EVERY:
                    handle.heartbeat()
                    last_beat = time.monotonic()
                continue
            plan = by_id[result.request.key]
            if pool is not None and result.error is None and not result.not_modified:
                try:
                    job = pool.submit(
                        _prepare_job,
                        plan,
                        result.body,
                        result.final_url,
                        result.headers.get("content-type"),
                        utcnow(),
                    )
                except BrokenProcessPool:  # a worker died (e.g. out of memory): go on without
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
                    report.warnings.append("a parse worker died; the rest parsed in-process")
                else:
                    parsing[job] = (plan, result)
                    continue
            if result.not_modified and result.error is None and not result.permanent_url:
                outcome = FeedOutcome(
                    name=plan.name,
                    url=plan.url,
                    status="not-modified",
                    http_status=304,
                    seconds=round(result.elapsed, 3),
                )
                unchanged.append(
                    {"id": plan.id, "etag": result.etag, "last_modified": result.last_modified}
                )
                if len(unchanged) >= 100:
                    flush_unchanged()
            else:
                outcome = pipeline.process(plan, result)
            record(outcome)
        for ready in as_completed(list(parsing)):
            finish(ready)
        status = report.status
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        flush_unchanged()
        report.finished_at = utcnow()
        with session_scope(engine) as session:
            session.execute(
                update(run_table)
                .where(run_table.c.id == report.run_id)
                .values(
                    finished_at=report.finished_at,
                    status=status,
                    feeds_failed=len(report.failed),
                    items_new=report.total("new"),
                    items_updated=report.total("updated"),
                    report=report.to_dict(),
                )
            )
    return report
