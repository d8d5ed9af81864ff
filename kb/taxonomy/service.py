"""Taxonomy queries and analysts' edits of category weights, severity and half-life."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from kb.audit import service as audit
from kb.models import Category, User

NAMESPACE = "kb:event"
# field -> (type, minimum, maximum)
EDITABLE: dict[str, tuple[type, float, float]] = {
    "default_severity": (int, 1, 5),
    "weight_stability": (float, 0.0, 1.0),
    "weight_lock_in": (float, 0.0, 1.0),
    "direction_stability": (int, -1, 1),
    "direction_lock_in": (int, -1, 1),
    "half_life_days": (float, 1.0, 36500.0),
}


class TaxonomyError(ValueError):
    """A taxonomy change was refused; the message says why."""


def machine_tag(value: str) -> str:
    """The MISP-style machine tag of a category value: ``kb:event="lawsuit"``."""
    return f'{NAMESPACE}="{value}"'


def list_categories(*, session: Session) -> list[Category]:
    """Every category by value."""
    return list(session.exec(select(Category).order_by(Category.value)))


def get_category(*, session: Session, value: str) -> Category | None:
    """The category with this value, or None."""
    return session.exec(select(Category).where(Category.value == value)).first()


def parse_changes(raw: dict[str, str]) -> dict[str, Any]:
    """Typed, range-checked values from form strings; raises TaxonomyError naming the field."""
    changes: dict[str, Any] = {}
    for name, text in raw.items():
        if name not in EDITABLE:
            raise TaxonomyError(f"{name} cannot be edited")
        kind, low, high = EDITABLE[name]
        try:
            number = float(text)
        except (TypeError, ValueError):
            raise TaxonomyError(f"{name}: {text!r} is not a number") from None
        if kind is int and number != int(number):
            raise TaxonomyError(f"{name}: must be a whole number")
        if not low <= number <= high:
            raise TaxonomyError(f"{name}: must be between {low:g} and {high:g}")
        changes[name] = int(number) if kind is int else number
    return changes


def update_category(
    *, session: Session, category: Category, changes: dict[str, Any], actor: User | str
) -> Category:
    """Apply an analyst's tuning; the catalog loader will keep it (``edited_fields``)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TaxonomyError(f"cannot edit: {', '.join(sorted(unknown))}")
    before, after = audit.diff({k: getattr(category, k) for k in changes}, changes)
    if not after:
        return category
    for key, value in after.items():
        setattr(category, key, value)
    category.edited_fields = sorted(set(category.edited_fields or []) | set(after))
    session.add(category)
    audit.record(
        session=session,
        actor=actor,
        action="category.update",
        entity_type="category",
        entity_id=category.id,
        before=before,
        after=after,
    )
    return category
