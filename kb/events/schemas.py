"""API models for events (``/api/v1/events``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class EventOut(BaseModel):
    """An event in a list."""

    id: int
    title: str
    category: str = Field(description='taxonomy value, as in kb:event="<value>"')
    severity: int = Field(ge=1, le=5)
    occurred_at: dt.date
    status: str = Field(description="suggested | confirmed | dismissed")
    confidence: float
    direction_stability: int = Field(description="-1 lowers risk, 0 no effect, 1 raises it")
    direction_lock_in: int
    vendors: list[str] = Field(description="vendor slugs")
    tags: list[str]
    item_count: int
    merged_into_id: int | None


class LinkedItemOut(BaseModel):
    """An item that reports an event."""

    id: int
    title: str
    url: str | None
    published_at: dt.datetime | None
    status: str


class EventDetailOut(EventOut):
    """An event with its note, items and merge links."""

    note: str | None
    items: list[LinkedItemOut]
    merged_from: list[int] = Field(description="ids of events merged into this one")
    created_at: dt.datetime
    updated_at: dt.datetime


class EventIn(BaseModel):
    """A new event. Given items, missing fields default from them: vendors = the items'
    matched vendors, category = the most confident suggestion, title and date = the earliest
    item's; severity and directions default from the category."""

    title: str | None = Field(default=None, max_length=1000)
    category: str | None = Field(default=None, max_length=64, description="taxonomy value")
    severity: int | None = Field(default=None, ge=1, le=5)
    occurred_at: dt.date | None = None
    status: Literal["suggested", "confirmed", "dismissed"] = "confirmed"
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    direction_stability: Literal[-1, 0, 1] | None = None
    direction_lock_in: Literal[-1, 0, 1] | None = None
    note: str | None = Field(default=None, max_length=20_000)
    vendors: list[str] | None = Field(
        default=None, max_length=100, description="vendor slugs (default: from the items)"
    )
    item_ids: list[int] = Field(default_factory=list, max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=50)
