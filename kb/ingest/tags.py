"""Stage 4b, tags (pure): category suggestions from the readable rules in
``kb/data/tagging_rules.yaml``, each with a confidence and the words that triggered it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.ingest.match import norm, trie_regex


class TagRulesError(ValueError):
    """The tagging rules file is unreadable or invalid; the message names the field."""


class _VendorMatching(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ignore: list[str] = Field(default_factory=list)
    not_when: dict[str, list[str]] = Field(default_factory=dict)


class TagRulesFile(BaseModel):
    """The shape of tagging_rules.yaml."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    min_confidence: float = Field(default=0.35, gt=0, le=1)
    body_factor: float = Field(default=0.6, gt=0, le=1)
    feed_default_confidence: float = Field(default=0.5, gt=0, le=1)
    categories: dict[str, dict[str, float]]
    vendor_matching: _VendorMatching = Field(default_factory=_VendorMatching)


def default_rules_path() -> Path:
    """The rules file shipped with kb."""
    return Path(str(resources.files("kb") / "data" / "tagging_rules.yaml"))


def load_rules(path: Path | None = None) -> TagRulesFile:
    """Read and validate the tagging rules."""
    path = path or default_rules_path()
    try:
        # libyaml's loader when available: this file is read on every run, even all-304 ones.
        loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (safe loader)
    except OSError as exc:
        raise TagRulesError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise TagRulesError(f"{path}: not valid YAML: {exc}") from exc
    try:
        rules = TagRulesFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TagRulesError(f"{path}: {where}: {first['msg']}") from exc
    for category, words in rules.categories.items():
        for word, weight in words.items():
            if not 0 < weight <= 1:
                raise TagRulesError(
                    f"{path}: categories.{category}.{word}: weight must be in (0, 1]"
                )
            if not word.strip("* "):
                raise TagRulesError(f"{path}: categories.{category}: empty keyword")
    return rules


@dataclass(frozen=True)
class Suggestion:
    """A suggested category for one item."""

    value: str
    confidence: float
    triggers: list[str] = field(default_factory=list)


@dataclass
class Tagger:
    """Suggests categories; build once per run (one compiled trie pattern for every keyword)."""

    rules: TagRulesFile
    pattern: re.Pattern[str] | None
    exact: dict[str, list[tuple[str, float]]]  # keyword -> [(category, weight)]
    stems: list[tuple[str, list[tuple[str, float]]]]  # wildcard stems, longest first
    known: set[str] | None = None  # categories present in the database (None: all)

    @classmethod
    def build(cls, rules: TagRulesFile, *, known: set[str] | None = None) -> Tagger:
        exact: dict[str, list[tuple[str, float]]] = {}
        stems: dict[str, list[tuple[str, float]]] = {}
        for category, words in rules.categories.items():
            if known is not None and category not in known:
                continue
            for word, weight in words.items():
                word = word.strip()
                if word.endswith("*"):
                    stems.setdefault(norm(word.rstrip("*")), []).append((category, weight))
                else:
                    exact.setdefault(norm(word), []).append((category, weight))
        body = trie_regex([*exact, *((s, True) for s in stems)])
        pattern = None
        if body is not None:
            pattern = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)
        ordered = sorted(stems.items(), key=lambda kv: -len(kv[0]))
        return cls(rules=rules, pattern=pattern, exact=exact, stems=ordered, known=known)

    def _weights(self, word: str) -> list[tuple[str, float]]:
        found = self.exact.get(word)
        if found is not None:
            return found
        for stem, weights in self.stems:
            if word.startswith(stem):
                return weights
        return []

    def unknown_categories(self) -> list[str]:
        """Rule categories that the database's taxonomy does not have (skipped)."""
        if self.known is None:
            return []
        return sorted(set(self.rules.categories) - self.known)

    def suggest(self, *, title: str, body: str, defaults: Iterable[str] = ()) -> list[Suggestion]:
        """Categories for an item, most confident first."""
        hits: dict[str, dict[str, float]] = {}
        if self.pattern is not None:
            for text, factor in ((title, 1.0), (body, self.rules.body_factor)):
                if not text:
                    continue
                for m in self.pattern.finditer(text):
                    word = norm(m.group(0))
                    for category, weight in self._weights(word):
                        words = hits.setdefault(category, {})
                        words[word] = max(words.get(word, 0.0), weight * factor)
        for value in defaults:
            if self.known is None or value in self.known:
                hits.setdefault(value, {})["feed default"] = self.rules.feed_default_confidence
        out = []
        for category, words in hits.items():
            remaining = 1.0
            for w in words.values():
                remaining *= 1.0 - w
            confidence = round(1.0 - remaining, 3)
            if confidence >= self.rules.min_confidence or "feed default" in words:
                triggers = sorted(words, key=lambda w: -words[w])
                out.append(Suggestion(category, confidence, triggers))
        out.sort(key=lambda s: (-s.confidence, s.value))
        return out
