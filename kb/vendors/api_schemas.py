"""JSON API shapes for vendors, profile facts and scores (``/api/v1``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Paged(BaseModel, Generic[T]):
    """One page of a list: the items and where they sit in the whole."""

    items: list[T]
    page: int = Field(description="1-based page number")
    per_page: int
    total: int = Field(description="items in the whole list")
    pages: int


class VendorOut(BaseModel):
    """A vendor's identity and corporate profile."""

    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    website: str | None = None
    jurisdiction: str | None = Field(default=None, description="ISO 3166 code")
    corporate_form: str | None = None
    parent: str | None = None
    description: str | None = None


class FactOut(BaseModel):
    """A profile fact (mostly a lock-in driver) with its source and the date it was checked."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    value: str = Field(description="yes | partial | no | unknown")
    detail: str | None = None
    source_url: str | None = None
    checked_at: dt.date | None = None
    origin: str = Field(description="catalog | analyst")
    updated_at: dt.datetime


class VendorDetailOut(VendorOut):
    """A vendor with its aliases and profile facts."""

    aliases: list[str]
    facts: list[FactOut]


class ContributionOut(BaseModel):
    """One line of a score's arithmetic: an event or a fact and the points it added."""

    kind: str = Field(description="event | fact")
    ref: str = Field(description="event id or fact key")
    label: str
    points: float
    detail: dict[str, Any]
    source_url: str | None = None
    date: dt.date | None = None


class DimensionOut(BaseModel):
    """One dimension's score: value 0-100, band, confidence 0-1 and (optionally) why."""

    dimension: str = Field(description="stability | lock_in")
    value: float
    band: str = Field(description="low | moderate | high | severe")
    confidence: float
    contributions: list[ContributionOut] | None = Field(
        default=None, description="largest first; only on the per-vendor endpoint"
    )


class ScoreOut(BaseModel):
    """Both risk dimensions of one vendor at one as-of time."""

    slug: str
    name: str
    as_of: dt.datetime
    model_version: str
    stability: DimensionOut
    lock_in: DimensionOut


class HistoryPointOut(BaseModel):
    """One stored score snapshot."""

    as_of: dt.datetime
    dimension: str
    value: float
    band: str
    confidence: float
    model_version: str


class VendorScoresOut(BaseModel):
    """A vendor's score now (with contributions) and its stored history, oldest first."""

    score: ScoreOut
    history: list[HistoryPointOut]
