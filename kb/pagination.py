"""Pagination shared by services and pages: one small value object, no web imports."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


def clamp(page: int | None, per_page: int | None = None) -> tuple[int, int]:
    """A valid (page, per_page) pair from user input: page >= 1, 1 <= per_page <= MAX."""
    p = max(1, page or 1)
    pp = min(MAX_PER_PAGE, max(1, per_page or DEFAULT_PER_PAGE))
    return p, pp


def offset(page: int, per_page: int) -> int:
    """The row offset of the first row on ``page``."""
    return (max(1, page) - 1) * per_page


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and where it sits in the whole list."""

    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1, so "page 1 of 1" reads right when empty)."""
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_page(self) -> int:
        return max(1, self.page - 1)

    @property
    def next_page(self) -> int:
        return min(self.pages, self.page + 1)

    def as_json(self, convert: Callable[[T], Any] | None = None) -> dict[str, Any]:
        """The API's page envelope: items (converted one by one), page, per_page, total, pages."""
        rows = [convert(r) for r in self.items] if convert else list(self.items)
        return {
            "items": rows,
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": self.pages,
        }
