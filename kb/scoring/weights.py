"""Load and validate kb/data/scoring.yaml, the one versioned file of scoring weights."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kb.vendors.schemas import FACT_KEYS, CorporateForm

FACT_VALUES = ("yes", "partial", "no", "unknown")
CORPORATE_FORMS = (*get_args(CorporateForm), "unknown")
GRADES = ("A", "B", "C", "D", "E", "F")
DIMENSIONS = ("stability", "lock_in")


class WeightsError(ValueError):
    """The weights file is missing, unparsable or invalid; the message names the place."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactWeight(_Strict):
    """How one profile fact (or the corporate form) drives a dimension's profile part."""

    label: str = Field(min_length=1)
    weight: float = Field(ge=0)
    risk: dict[str, float]

    @model_validator(mode="after")
    def _risks_in_range(self) -> FactWeight:
        for value, risk in self.risk.items():
            if not 0 <= risk <= 1:
                raise ValueError(f"risk for {value!r} must be within 0..1, not {risk}")
        return self


class DimensionWeights(_Strict):
    """The constants of one dimension."""

    k: float = Field(gt=0, description="saturation constant K of the event part")
    profile_blend: float = Field(ge=0, lt=1, description="share b of the profile part")
    facts: dict[str, FactWeight] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_facts(self) -> DimensionWeights:
        for key, fw in self.facts.items():
            if key == "corporate_form":
                expected: tuple[str, ...] = CORPORATE_FORMS
            elif key in FACT_KEYS:
                expected = FACT_VALUES
            else:
                raise ValueError(
                    f"unknown fact {key!r}; known: corporate_form, {', '.join(FACT_KEYS)}"
                )
            if set(fw.risk) != set(expected):
                raise ValueError(f"fact {key!r}: risk must list exactly {', '.join(expected)}")
        if self.profile_blend > 0 and sum(f.weight for f in self.facts.values()) <= 0:
            raise ValueError("profile_blend > 0 needs at least one fact with a weight > 0")
        return self

    @property
    def total_fact_weight(self) -> float:
        return sum(f.weight for f in self.facts.values())


class Reliability(_Strict):
    default_grade: str
    grades: dict[str, float]

    @model_validator(mode="after")
    def _grades(self) -> Reliability:
        if set(self.grades) != set(GRADES):
            raise ValueError(f"grades must list exactly {', '.join(GRADES)}")
        for grade, mult in self.grades.items():
            if not 0 <= mult <= 1:
                raise ValueError(f"grade {grade}: multiplier must be within 0..1")
        if self.default_grade not in GRADES:
            raise ValueError(f"default_grade must be one of {', '.join(GRADES)}")
        return self

    def multiplier(self, grade: str | None) -> float:
        """The multiplier of a grade; no grade means the default, an unknown one the worst."""
        if grade is None:
            return self.grades[self.default_grade]
        return self.grades.get(grade.strip().upper(), self.grades["F"])


class Confidence(_Strict):
    prior: float = Field(ge=0)
    k: float = Field(gt=0)


class Bands(_Strict):
    moderate: float
    high: float
    severe: float

    @model_validator(mode="after")
    def _increasing(self) -> Bands:
        if not 0 < self.moderate < self.high < self.severe < 100:
            raise ValueError("band edges must satisfy 0 < moderate < high < severe < 100")
        return self


class Alerts(_Strict):
    jump_threshold: float = Field(gt=0)


class Contributions(_Strict):
    top_n: int = Field(ge=1, le=1000)


class ScoringWeights(_Strict):
    """Every constant of the scoring model, with its version."""

    model_version: str = Field(min_length=1, max_length=32)
    dimensions: dict[str, DimensionWeights]
    reliability: Reliability
    confidence: Confidence
    bands: Bands
    alerts: Alerts
    contributions: Contributions

    @model_validator(mode="after")
    def _both_dimensions(self) -> ScoringWeights:
        if set(self.dimensions) != set(DIMENSIONS):
            raise ValueError(f"dimensions must be exactly {', '.join(DIMENSIONS)}")
        return self


def default_path() -> Path:
    """The weights file shipped with kb."""
    return Path(__file__).resolve().parent.parent / "data" / "scoring.yaml"


def read_weights(path: Path) -> ScoringWeights:
    """Parse and validate a weights file, with errors that name the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise WeightsError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return ScoringWeights.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise WeightsError(
            f"{path}: {where}: {first['msg']} ({exc.error_count()} error(s) in all)"
        ) from exc


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> ScoringWeights:
    return read_weights(Path(path))


def load_weights(path: Path | None = None) -> ScoringWeights:
    """The weights in ``path`` (default: the shipped file), re-read when the file changes."""
    path = path or default_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read: {exc.strerror}") from exc
    return _cached(str(path), mtime)
