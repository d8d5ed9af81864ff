"""The triage tests' defaults over the shared factories (tests/factories.py): categories with a
stability weight, items with a summary, published at BASE_TIME. Rows are flushed."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from sqlmodel import Session

from kb.models import Item
from tests import factories
from tests.factories import make_feed, make_user, make_vendor

__all__ = ["BASE_TIME", "make_category", "make_feed", "make_item", "make_user", "make_vendor"]

BASE_TIME = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

# Otherwise the model's defaults: severity 3, no lock-in weight, directions (1, 0).
make_category = partial(factories.make_category, weight_stability=1.0)


def make_item(session: Session, **fields: Any) -> Item:
    """An item (see tests.factories.make_item) titled and summarised by number."""
    n = factories.next_n()
    values: dict[str, Any] = {
        "title": f"Item number {n}",
        "summary": f"<p>Summary of item {n}</p>",
        "published_at": BASE_TIME,
    }
    values.update(fields)
    return factories.make_item(session, **values)
