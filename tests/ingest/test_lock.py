"""The job lock on the job_lock table: exclusive, released, stale locks taken over."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from kb.ingest import lock
from kb.models import JobLock, utcnow


def test_only_one_holder_until_released(engine: Engine) -> None:
    first = lock.acquire(engine, "ingest")
    with pytest.raises(lock.LockBusy, match="another ingest run is in progress"):
        lock.acquire(engine, "ingest")
    other = lock.acquire(engine, "something-else")  # names are independent
    other.release()
    first.heartbeat()
    first.release()
    with lock.acquire(engine, "ingest"):
        pass
    lock.acquire(engine, "ingest").release()


def test_a_stale_heartbeat_is_taken_over(engine: Engine) -> None:
    lock.acquire(engine, "ingest", owner="elsewhere:1:abc")
    with pytest.raises(lock.LockBusy):
        lock.acquire(engine, "ingest")
    table = JobLock.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(table).values(heartbeat_at=utcnow() - dt.timedelta(hours=2)))
    handle = lock.acquire(engine, "ingest", stale_after=dt.timedelta(minutes=30))
    assert handle.owner != "elsewhere:1:abc"
    handle.release()


def test_a_dead_holder_on_this_host_is_taken_over(engine: Engine) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(proc.stdout)
    lock.acquire(engine, "ingest", owner=f"{socket.gethostname()}:{dead_pid}:dead")
    handle = lock.acquire(engine, "ingest")  # fresh heartbeat, but the process is gone
    handle.release()
    # a live process on this host keeps its lock
    lock.acquire(engine, "ingest", owner=f"{socket.gethostname()}:1:init")
    with pytest.raises(lock.LockBusy):
        lock.acquire(engine, "ingest")
