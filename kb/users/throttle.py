"""Sign-in throttling from the LoginAttempt table, so it holds across workers and restarts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from kb.models import LoginAttempt, utcnow

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20  # higher: an office behind one NAT address shares it


def is_throttled(
    *, session: Session, username: str, remote_addr: str | None, now: dt.datetime | None = None
) -> bool:
    """True when this name or address failed too often in the last 15 minutes."""
    since = (now or utcnow()) - WINDOW
    name = username.strip().lower()[:64]
    by_name = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == name, col(LoginAttempt.at) >= since)
    ).one()
    if by_name >= MAX_FAILURES_PER_USERNAME:
        return True
    if not remote_addr:
        return False
    by_addr = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.remote_addr == remote_addr, col(LoginAttempt.at) >= since)
    ).one()
    return by_addr >= MAX_FAILURES_PER_ADDRESS


def record_failure(
    *, session: Session, username: str, remote_addr: str | None, now: dt.datetime | None = None
) -> None:
    """Remember one failed sign-in (and forget those older than the window)."""
    at = now or utcnow()
    session.add(
        LoginAttempt(
            username=username.strip().lower()[:64],
            remote_addr=(remote_addr or None) and remote_addr[:64],
            at=at,
        )
    )
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < at - WINDOW))


def clear_failures(*, session: Session, username: str) -> None:
    """Forget a user's failures after a successful sign-in."""
    name = username.strip().lower()[:64]
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.username) == name))
