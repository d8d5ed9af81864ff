"""Report-test helpers beyond the shared factories (tests/factories.py): score snapshots and
their contributions. Rows are flushed, committed by the caller."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from kb.models import ScoreSnapshot, Vendor
from tests.factories import save


def make_snapshot(
    session: Session, *, vendor: Vendor, commit: bool = False, **fields: Any
) -> ScoreSnapshot:
    values: dict[str, Any] = {
        "dimension": "stability",
        "as_of": dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC),
        "value": 42.5,
        "band": "moderate",
        "confidence": 0.47,
        "model_version": "2026.11-test",
        "contributions": [],
        "run_id": "test",
    }
    values.update(fields)
    return save(session, ScoreSnapshot(vendor_id=vendor.id, **values), commit=commit)


def contribution(
    kind: str,
    ref: str,
    label: str,
    points: float,
    *,
    date: str | None = None,
    source_url: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref": ref,
        "label": label,
        "points": points,
        "detail": {},
        "source_url": source_url,
        "date": date,
    }
