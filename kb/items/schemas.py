"""API models for items (``/api/v1/items``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class VendorMatchOut(BaseModel):
    """A vendor an item concerns and the text that matched."""

    slug: str
    name: str
    alias: str | None = Field(description="the alias found in the text")
    evidence: str | None = Field(description="the text around the match")
    origin: str = Field(description="auto | feed-default | analyst")


class CategorySuggestionOut(BaseModel):
    """A taxonomy category suggested for an item."""

    value: str = Field(description='taxonomy value, as in kb:event="<value>"')
    label: str
    confidence: float
    triggers: list[str] = Field(description="the words that triggered the suggestion")


class FeedRefOut(BaseModel):
    """A feed that carried an item."""

    id: int
    name: str
    entry_url: str | None


class ItemOut(BaseModel):
    """An item in a list."""

    id: int
    title: str
    url: str | None
    guid: str | None
    published_at: dt.datetime | None
    status: str = Field(description="new | triaged | dismissed")
    vendors: list[str] = Field(description="matched vendor slugs")
    suggested_categories: list[str] = Field(description="taxonomy values, most confident first")
    feeds: list[str] = Field(description="names of the feeds that carried it")


class EventRefOut(BaseModel):
    """An event an item belongs to."""

    id: int
    title: str
    status: str
    occurred_at: dt.date


class ItemDetailOut(BaseModel):
    """An item with its sources, vendor matches, category suggestions and events."""

    id: int
    title: str
    url: str | None
    guid: str | None
    summary: str | None = Field(description="sanitized HTML")
    author: str | None
    published_at: dt.datetime | None
    published_estimated: bool
    status: str
    first_seen_at: dt.datetime
    vendors: list[VendorMatchOut]
    suggested_categories: list[CategorySuggestionOut]
    feeds: list[FeedRefOut]
    events: list[EventRefOut]
