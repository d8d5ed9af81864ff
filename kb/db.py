"""Engines and sessions. Nothing connects at import time."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from kb.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# ----------------------------------------------------------------------------- data version
# A cheap probe that changes whenever committed data may have changed, so callers (the web
# page cache) can reuse what they derived from the data while it stays the same.
#
# - SQLite: one extra connection per engine (the watcher) that never writes and only asks
#   ``PRAGMA data_version``, which changes whenever any *other* connection (this process's
#   pool, another web worker, ``kb ingest`` from cron) has committed since it last asked.
# - PostgreSQL: ``txid_current_snapshot()`` changes whenever a write transaction starts or
#   ends anywhere in the database (read-only transactions take no transaction id). False
#   alarms only cost a re-render.
class _Watcher:
    def __init__(self, engine: Engine) -> None:
        raw = engine.raw_connection()
        raw.detach()  # ours alone: out of the pool, never used for anything else
        self._dbapi = raw.dbapi_connection
        self._lock = threading.Lock()
        self._seen: Any = None
        self._epoch = 0

    def version(self) -> str:
        with self._lock:
            assert self._dbapi is not None
            seen = self._dbapi.execute("PRAGMA data_version").fetchone()[0]
            if seen != self._seen:
                self._seen = seen
                self._epoch += 1
            return f"e{self._epoch}"


_WATCHERS: weakref.WeakKeyDictionary[Engine, _Watcher] = weakref.WeakKeyDictionary()
_WATCHERS_LOCK = threading.Lock()


def data_version(session: Session) -> str:
    """An opaque string that differs whenever the data committed before this call differs
    from the data committed before an earlier call that returned the same string; reads made
    after the call see at least that data."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    if engine.dialect.name == "sqlite":
        watcher = _WATCHERS.get(engine)
        if watcher is None:
            with _WATCHERS_LOCK:
                watcher = _WATCHERS.get(engine) or _WATCHERS.setdefault(engine, _Watcher(engine))
        return watcher.version()
    return str(session.execute(text("SELECT txid_current_snapshot()::text")).scalar())


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """Build an engine for the settings' database (or ``url``), with SQLite tuned for a web app."""
    url = url or settings.effective_database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=settings.sql_echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            # Connections are cheap to keep and costly to churn: enough for the thread pool.
            pool_size=20,
            max_overflow=40,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=settings.sql_echo, pool_pre_ping=True, pool_size=10)


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for jobs and the CLI: commit on success, roll back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
