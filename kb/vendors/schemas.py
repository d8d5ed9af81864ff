"""The shapes of the shipped catalog files (vendors.yaml, taxonomy.yaml), strictly validated."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FACT_KEYS = (
    "open_weights",
    "self_hosting",
    "openai_compatible_api",
    "data_export",
    "finetune_portability",
    "data_residency",
    "exclusive_cloud_ties",
    "certifications",
    "government_ties",
)
FactValue = Literal["yes", "partial", "no", "unknown"]
CorporateForm = Literal[
    "non-profit",
    "capped-profit",
    "public-benefit-corp",
    "public-company",
    "private",
    "subsidiary",
    "state-owned",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AliasSpec(_Strict):
    text: str = Field(min_length=1, max_length=200)
    kind: Literal["name", "product", "model", "person"] = "name"
    case_sensitive: bool = False
    context: list[str] = Field(default_factory=list)


class FactSpec(_Strict):
    key: str
    value: FactValue
    detail: str | None = None
    source_url: str = Field(pattern=r"^https?://")
    checked_at: dt.date

    @field_validator("key")
    @classmethod
    def _known_key(cls, value: str) -> str:
        if value not in FACT_KEYS:
            raise ValueError(f"unknown fact key {value!r}; known: {', '.join(FACT_KEYS)}")
        return value


class VendorSpec(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    website: str | None = Field(default=None, pattern=r"^https?://")
    jurisdiction: str | None = Field(default=None, pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
    corporate_form: CorporateForm | None = None
    parent: str | None = None
    description: str | None = None
    aliases: list[AliasSpec] = Field(default_factory=list)
    facts: list[FactSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_within(self) -> VendorSpec:
        keys = [f.key for f in self.facts]
        if len(keys) != len(set(keys)):
            raise ValueError(f"vendor {self.slug}: a fact key is listed twice")
        texts = [a.text for a in self.aliases]
        if len(texts) != len(set(texts)):
            raise ValueError(f"vendor {self.slug}: an alias is listed twice")
        return self


class VendorCatalog(_Strict):
    version: int
    vendors: list[VendorSpec]

    @model_validator(mode="after")
    def _unique_across(self) -> VendorCatalog:
        seen: dict[str, str] = {}
        slugs: set[str] = set()
        for vendor in self.vendors:
            if vendor.slug in slugs:
                raise ValueError(f"vendor slug {vendor.slug!r} is listed twice")
            slugs.add(vendor.slug)
            for alias in vendor.aliases:
                key = alias.text.casefold()
                if key in seen and seen[key] != vendor.slug:
                    raise ValueError(
                        f"alias {alias.text!r} belongs to both {seen[key]} and {vendor.slug}"
                    )
                seen[key] = vendor.slug
        return self


class Direction(_Strict):
    stability: Literal[-1, 0, 1]
    lock_in: Literal[-1, 0, 1]


class Weights(_Strict):
    stability: float = Field(ge=0, le=1)
    lock_in: float = Field(ge=0, le=1)


class CategorySpec(_Strict):
    value: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    label: str
    description: str
    default_severity: int = Field(ge=1, le=5)
    weights: Weights
    direction: Direction
    half_life_days: float = Field(gt=0)


class Taxonomy(_Strict):
    version: int
    namespace: str = "kb:event"
    categories: list[CategorySpec]

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        values = [c.value for c in self.categories]
        if len(values) != len(set(values)):
            raise ValueError("a category value is listed twice")
        return self
