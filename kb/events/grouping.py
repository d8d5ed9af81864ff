"""Suggested grouping (pure): inbox items that report the same story become one suggested event.

Two items are "the same story" when they share a vendor (or both name none), were published
within ``window_days`` of each other, and their normalized titles are similar (token Jaccard of
lightly stemmed words without stop words >= ``threshold``). Similar pairs are joined transitively
(union-find). The result is deterministic for the same input.

It scales by bucketing, not by comparing all pairs: items are bucketed by vendor, and inside a
bucket an inverted index of title words finds the earlier items within the time window that share
a word with the current one; each word remembers at most ``per_word_cap`` recent items, so a very
common word cannot make the work quadratic.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "over",
        "says",
        "say",
        "the",
        "their",
        "this",
        "to",
        "up",
        "was",
        "will",
        "with",
        "new",
        "after",
        "amid",
        "about",
        "against",
        "than",
        "that",
        "out",
        "more",
        "first",
        "just",
        "how",
        "why",
        "what",
        "who",
        "when",
        "now",
        "ai",
    }
)
_WORD = re.compile(r"[a-z0-9]+")


class Candidate(Protocol):
    """What grouping needs to know about an item (kb.items.service.GroupCandidate fits)."""

    @property
    def id(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def published_at(self) -> dt.datetime | None: ...

    @property
    def vendor_ids(self) -> frozenset[int]: ...


@dataclass(frozen=True)
class SuggestedGroup:
    """Items that look like one story, offered as one event."""

    item_ids: tuple[int, ...]  # ascending
    title: str  # the title of the earliest item
    vendor_ids: tuple[int, ...]  # union of the items' vendors, ascending
    first_published: dt.datetime | None
    last_published: dt.datetime | None
    similarity: float  # the lowest pairwise similarity that joined the group

    @property
    def size(self) -> int:
        return len(self.item_ids)


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """A very light English stemmer: enough to make "sue", "sues", "sued" and "suing" meet."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) - len(suffix) >= 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) >= 3 and word.endswith("e"):
        word = word[:-1]
    return word


def normalize_title(title: str) -> frozenset[str]:
    """The set of significant, lightly stemmed, accent-free lower-case words of a title."""
    folded = title.lower()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = (w for w in _WORD.findall(folded) if w not in STOP_WORDS)
    return frozenset(_stem(w) for w in words if len(w) > 1 or w.isdigit())


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller id becomes the root: deterministic
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _when(c: Candidate) -> dt.datetime:
    value = c.published_at
    if value is None:
        return _EPOCH
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def suggest_groups(
    candidates: Iterable[Candidate],
    *,
    threshold: float = 0.5,
    window_days: float = 3.0,
    min_size: int = 2,
    per_word_cap: int = 50,
) -> list[SuggestedGroup]:
    """Groups of at least ``min_size`` items that report the same story, largest first, then
    newest first."""
    items: dict[int, Candidate] = {}
    for c in candidates:
        items.setdefault(c.id, c)
    words = {i: normalize_title(c.title) for i, c in items.items()}
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, c in items.items():
        for vendor_id in c.vendor_ids or frozenset({-1}):  # -1: items naming no vendor
            buckets[vendor_id].append(i)

    window = dt.timedelta(days=window_days)
    uf = _UnionFind()
    joined_at: dict[tuple[int, int], float] = {}
    for vendor_id in sorted(buckets):
        ordered = sorted(buckets[vendor_id], key=lambda i: (_when(items[i]), i))
        recent: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=per_word_cap))
        for i in ordered:
            when = _when(items[i])
            seen: set[int] = set()
            for word in sorted(words[i]):
                for j in recent[word]:
                    if j in seen:
                        continue
                    seen.add(j)
                    if when - _when(items[j]) > window:
                        continue
                    if vendor_id == -1 and items[j].vendor_ids:
                        continue
                    score = similarity(words[i], words[j])
                    if score >= threshold:
                        uf.union(i, j)
                        key = (min(i, j), max(i, j))
                        joined_at[key] = score
                recent[word].append(i)

    members: dict[int, list[int]] = defaultdict(list)
    for i in sorted(items):
        members[uf.find(i)].append(i)
    min_score: dict[int, float] = {}
    for (a, _b), score in joined_at.items():
        root = uf.find(a)
        min_score[root] = min(score, min_score.get(root, 1.0))

    groups = []
    for root, ids in members.items():
        if len(ids) < min_size:
            continue
        chosen = [items[i] for i in ids]
        by_time = sorted(chosen, key=lambda c: (_when(c), c.id))
        dates = [c.published_at for c in chosen if c.published_at is not None]
        groups.append(
            SuggestedGroup(
                item_ids=tuple(sorted(ids)),
                title=by_time[0].title,
                vendor_ids=tuple(sorted(set().union(*(c.vendor_ids for c in chosen)))),
                first_published=min(dates) if dates else None,
                last_published=max(dates) if dates else None,
                similarity=round(min_score.get(root, 1.0), 3),
            )
        )
    groups.sort(key=lambda g: (-g.size, -_ts(g.last_published), g.item_ids))
    return groups


def _ts(value: dt.datetime | None) -> float:
    return value.timestamp() if value else 0.0


def group_of(groups: Sequence[SuggestedGroup], item_id: int) -> SuggestedGroup | None:
    """The suggested group that holds ``item_id``, if any."""
    for group in groups:
        if item_id in group.item_ids:
            return group
    return None
