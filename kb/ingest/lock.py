"""A named job lock in the database (the ``job_lock`` table), so two ingestion runs never overlap,
on SQLite and PostgreSQL alike.

Acquiring inserts the row; the primary key makes a second insert fail. A holder refreshes
``heartbeat_at`` while it works. A lock is stale, and taken over, when its heartbeat is older
than ``stale_after`` or when its holder ran on this host and that process no longer exists
(a run killed with SIGKILL leaves its row behind; the next run sees the dead pid).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from kb.models import JobLock, utcnow

DEFAULT_STALE_AFTER = dt.timedelta(minutes=30)
_table = JobLock.__table__  # type: ignore[attr-defined]


class LockBusy(RuntimeError):
    """Another live run holds the lock."""

    def __init__(self, name: str, owner: str, since: dt.datetime) -> None:
        super().__init__(
            f"another {name} run is in progress ({owner}, since {since:%Y-%m-%d %H:%M:%S} UTC); "
            "nothing was done"
        )
        self.owner = owner
        self.since = since


def make_owner() -> str:
    """host:pid:random — enough to tell a dead holder on this host from a live one."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def holder_is_dead(owner: str) -> bool:
    """True when the owner ran on this host and its process is gone."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    return not _pid_alive(pid)


@dataclass
class JobLockHandle:
    """A held lock: refresh it with ``heartbeat()``, give it back with ``release()``."""

    engine: Engine
    name: str
    owner: str

    def heartbeat(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_table)
                .where(_table.c.name == self.name, _table.c.owner == self.owner)
                .values(heartbeat_at=utcnow())
            )

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(_table).where(_table.c.name == self.name, _table.c.owner == self.owner)
            )

    def __enter__(self) -> JobLockHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(
    engine: Engine,
    name: str,
    *,
    owner: str | None = None,
    stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
) -> JobLockHandle:
    """Take the named lock or raise LockBusy; a stale lock is taken over."""
    owner = owner or make_owner()
    for _attempt in range(3):
        now = utcnow()
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(_table).values(name=name, owner=owner, acquired_at=now, heartbeat_at=now)
                )
            return JobLockHandle(engine=engine, name=name, owner=owner)
        except IntegrityError:
            pass
        with engine.connect() as conn:
            row = conn.execute(
                select(_table.c.owner, _table.c.acquired_at, _table.c.heartbeat_at).where(
                    _table.c.name == name
                )
            ).first()
        if row is None:
            continue  # released between our insert and our look: try again
        held_by, since, beat = row
        if now - beat > stale_after or holder_is_dead(held_by):
            # Remove exactly the stale row we saw; if someone else already did, no harm.
            with engine.begin() as conn:
                conn.execute(
                    delete(_table).where(
                        _table.c.name == name,
                        _table.c.owner == held_by,
                        _table.c.heartbeat_at == beat,
                    )
                )
            continue
        raise LockBusy(name, held_by, since)
    raise LockBusy(name, "unknown", utcnow())
