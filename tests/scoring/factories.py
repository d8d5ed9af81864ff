"""The scoring tests' defaults over the shared factories (tests/factories.py): categories that
count in both dimensions, confirmed severity-5 events of 2026-11-01, items published that day.
Rows are flushed, never committed."""

from __future__ import annotations

import datetime as dt
from functools import partial

from tests import factories
from tests.factories import make_fact, make_feed, make_vendor

__all__ = ["make_category", "make_event", "make_fact", "make_feed", "make_item", "make_vendor"]

make_category = partial(
    factories.make_category,
    weight_stability=1.0,
    weight_lock_in=0.5,
    direction_stability=1,
    direction_lock_in=1,
    half_life_days=365.0,
)
make_event = partial(
    factories.make_event,
    severity=5,
    occurred_at=dt.date(2026, 11, 1),
    status="confirmed",
    confidence=1.0,
)
make_item = partial(factories.make_item, published_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC))
