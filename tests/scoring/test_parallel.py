"""A big rescore may be split over forked processes, one range of vendors each; the scores
must be exactly those of one process, and the split must never happen where it is unsafe
(PostgreSQL, a threaded process such as a web worker, uncommitted writes, a small table)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import text
from sqlmodel import Session

from kb.db import is_sqlite
from kb.scoring import service
from tests.scoring.factories import make_category, make_event, make_vendor

AS_OF = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


@pytest.fixture
def world(session: Session) -> Session:
    vendors = [make_vendor(session) for _ in range(5)]
    cats = [make_category(session, half_life_days=30.0 * (i + 1)) for i in range(3)]
    for i in range(60):
        make_event(
            session,
            vendors=[vendors[i % 5], vendors[(i + 1 + i % 3) % 5]] if i % 4 else [vendors[i % 5]],
            category=cats[i % 3],
            severity=1 + i % 5,
            confidence=0.3 + (i % 7) / 10,
            status=("confirmed", "suggested", "dismissed")[i % 3],
            occurred_at=AS_OF.date() - dt.timedelta(days=3 * i),
        )
    session.commit()  # the workers read what is committed
    return session


@pytest.fixture
def may_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a big table, two CPUs and a single thread (pytest-xdist runs an I/O thread)."""
    monkeypatch.setattr(service, "PARALLEL_MIN_EVENTS", 0)
    monkeypatch.setattr(service.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(service.threading, "active_count", lambda: 1)


def test_parallel_scores_equal_one_process(world: Session, may_fork, monkeypatch) -> None:
    session = world
    if not is_sqlite(session.get_bind()):
        assert service.parallel_workers(session, 5) == 1  # PostgreSQL: never forks
        return
    assert service.parallel_workers(session, 5) == 2
    calls = []
    real = service._score_in_processes

    def spy(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_score_in_processes", spy)
    for include_suggested in (False, True):
        for limit in (10_000, -1):  # every event loaded / top-N from the SQL listing
            monkeypatch.setattr(service, "FETCH_ALL_LIMIT", limit)
            one = service.compute_scores(
                session=session, as_of=AS_OF, include_suggested=include_suggested, parallel=False
            )
            split = service.compute_scores(
                session=session, as_of=AS_OF, include_suggested=include_suggested
            )
            assert split == one
            assert list(split) == list(one)  # same vendor order
    assert len(calls) == 4 and all(len(ids) >= 5 for ids in calls)


def test_no_fork_where_unsafe(world: Session, may_fork, monkeypatch) -> None:
    session = world
    if not is_sqlite(session.get_bind()):
        assert service.parallel_workers(session, 5) == 1
        return
    assert service.parallel_workers(session, 1) == 1  # one vendor: nothing to split
    monkeypatch.setattr(service, "PARALLEL_MIN_EVENTS", 10**9)
    assert service.parallel_workers(session, 5) == 1  # a small table
    monkeypatch.setattr(service, "PARALLEL_MIN_EVENTS", 0)
    monkeypatch.setattr(service.os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert service.parallel_workers(session, 5) == 1  # one CPU
    monkeypatch.setattr(service.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(service.threading, "active_count", threading.active_count)
    if threading.active_count() > 1:
        assert service.parallel_workers(session, 5) == 1  # a threaded process
    monkeypatch.setattr(service.threading, "active_count", lambda: 1)
    session.execute(text("UPDATE event SET severity = 1"))  # uncommitted: workers would miss it
    assert service.parallel_workers(session, 5) == 1
    session.rollback()
    assert service.parallel_workers(session, 5) == 2


def test_a_failed_fork_falls_back_to_one_process(world: Session, may_fork, monkeypatch) -> None:
    session = world
    one = service.compute_scores(session=session, as_of=AS_OF, parallel=False)

    def no_processes(*_args, **_kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(service, "_score_in_processes", no_processes)
    assert service.compute_scores(session=session, as_of=AS_OF) == one
