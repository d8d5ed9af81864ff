"""Load the shipped vendor catalog and taxonomy into the database, idempotently.

A re-run updates what the catalog changed, never duplicates, and never overwrites what an
analyst changed: vendor and category fields an analyst edited are listed in ``edited_fields``,
and facts and aliases an analyst wrote carry ``origin = analyst``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from kb.audit import service as audit
from kb.models import Category, Origin, Vendor, VendorAlias, VendorFact, utcnow
from kb.vendors.schemas import Taxonomy, VendorCatalog

ACTOR = "catalog"
M = TypeVar("M", bound=BaseModel)


class CatalogError(ValueError):
    """A catalog file is missing, unparsable or invalid; the message names the place."""


@dataclass
class LoadReport:
    """What one load changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_analyst_edits: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def default_path(name: str) -> Path:
    """A data file shipped inside the kb package."""
    return Path(str(resources.files("kb") / "data" / name))


def read_spec(path: Path, model: type[M]) -> M:
    """Parse and validate a YAML catalog file, with errors that name the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogError(
            f"{path}: {where}: {first['msg']} ({exc.error_count()} error(s) in all)"
        ) from exc


def _apply(row: Any, values: dict[str, Any], protected: set[str]) -> tuple[dict, dict, list[str]]:
    """Set the values on row except protected fields; return (before, after, kept)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    kept: list[str] = []
    for name, value in values.items():
        current = getattr(row, name)
        if current == value:
            continue
        if name in protected:
            kept.append(name)
            continue
        before[name], after[name] = current, value
        setattr(row, name, value)
    return before, after, kept


def load_vendors(*, session: Session, path: Path | None = None) -> LoadReport:
    """Upsert the vendor catalog (vendors, aliases, facts) without touching analyst edits."""
    spec = read_spec(path or default_path("vendors.yaml"), VendorCatalog)
    report = LoadReport()
    existing = {v.slug: v for v in session.exec(select(Vendor))}
    for vspec in spec.vendors:
        values = vspec.model_dump(exclude={"slug", "aliases", "facts"})
        vendor = existing.get(vspec.slug)
        created = vendor is None
        if vendor is None:
            vendor = Vendor(slug=vspec.slug, **values)
            session.add(vendor)
            session.flush()
            before: dict[str, Any] = {}
            after: dict[str, Any] = {"slug": vspec.slug, **values}
            kept: list[str] = []
        else:
            before, after, kept = _apply(vendor, values, set(vendor.edited_fields or []))
        assert vendor.id is not None
        alias_changes = _sync_aliases(session, vendor.id, vspec.aliases)
        fact_changes, fact_kept = _sync_facts(session, vendor.id, vspec.facts)
        if alias_changes:
            after["aliases"] = alias_changes
        if fact_changes:
            before["facts"] = {k: b for k, (b, _a) in fact_changes.items()}
            after["facts"] = {k: a for k, (_b, a) in fact_changes.items()}
        kept += [f"fact:{k}" for k in fact_kept]
        if kept:
            report.kept_analyst_edits.append(f"{vspec.slug} ({', '.join(kept)})")
        if created:
            report.created.append(vspec.slug)
        elif after:
            vendor.updated_at = utcnow()
            report.updated.append(vspec.slug)
        else:
            report.unchanged.append(vspec.slug)
        if created or after:
            session.add(vendor)
            audit.record(
                session=session,
                actor=ACTOR,
                action="vendor.create" if created else "vendor.update",
                entity_type="vendor",
                entity_id=vendor.id,
                before=before or None,
                after=after,
            )
    session.flush()
    return report


def _sync_aliases(session: Session, vendor_id: int, specs: list[Any]) -> list[str]:
    """Make the vendor's catalog aliases match the spec; analyst aliases stay. Returns changes."""
    rows = {
        a.text: a
        for a in session.exec(select(VendorAlias).where(VendorAlias.vendor_id == vendor_id))
    }
    changes: list[str] = []
    wanted = set()
    for spec in specs:
        wanted.add(spec.text)
        values = {
            "kind": spec.kind,
            "case_sensitive": spec.case_sensitive,
            "context": list(spec.context),
        }
        row = rows.get(spec.text)
        if row is None:
            session.add(VendorAlias(vendor_id=vendor_id, text=spec.text, **values))
            changes.append(f"+{spec.text}")
        elif row.origin == Origin.catalog:
            _b, after, _k = _apply(row, values, set())
            if after:
                session.add(row)
                changes.append(f"~{spec.text}")
    for text_, row in rows.items():
        if text_ not in wanted and row.origin == Origin.catalog:
            session.delete(row)
            changes.append(f"-{text_}")
    return changes


def _sync_facts(
    session: Session, vendor_id: int, specs: list[Any]
) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """Upsert catalog facts; facts an analyst wrote are kept. Returns (changes, kept keys)."""
    rows = {
        f.key: f for f in session.exec(select(VendorFact).where(VendorFact.vendor_id == vendor_id))
    }
    changes: dict[str, tuple[Any, Any]] = {}
    kept: list[str] = []
    for spec in specs:
        values = spec.model_dump(exclude={"key"})
        row = rows.get(spec.key)
        if row is None:
            session.add(VendorFact(vendor_id=vendor_id, key=spec.key, **values))
            changes[spec.key] = (None, values)
            continue
        if row.origin != Origin.catalog:
            if any(getattr(row, k) != v for k, v in values.items()):
                kept.append(spec.key)
            continue
        before, after, _k = _apply(row, values, set())
        if after:
            row.updated_at = utcnow()
            session.add(row)
            changes[spec.key] = (before, after)
    return changes, kept


def load_taxonomy(*, session: Session, path: Path | None = None) -> LoadReport:
    """Upsert the taxonomy categories without touching fields an analyst edited."""
    spec = read_spec(path or default_path("taxonomy.yaml"), Taxonomy)
    report = LoadReport()
    existing = {c.value: c for c in session.exec(select(Category))}
    for cspec in spec.categories:
        values: dict[str, Any] = {
            "label": cspec.label,
            "description": cspec.description,
            "default_severity": cspec.default_severity,
            "weight_stability": cspec.weights.stability,
            "weight_lock_in": cspec.weights.lock_in,
            "direction_stability": cspec.direction.stability,
            "direction_lock_in": cspec.direction.lock_in,
            "half_life_days": cspec.half_life_days,
        }
        row = existing.get(cspec.value)
        if row is None:
            row = Category(value=cspec.value, **values)
            session.add(row)
            session.flush()
            report.created.append(cspec.value)
            audit.record(
                session=session,
                actor=ACTOR,
                action="category.create",
                entity_type="category",
                entity_id=row.id,
                after={"value": cspec.value, **values},
            )
            continue
        before, after, kept = _apply(row, values, set(row.edited_fields or []))
        if kept:
            report.kept_analyst_edits.append(f"{cspec.value} ({', '.join(kept)})")
        if after:
            session.add(row)
            report.updated.append(cspec.value)
            audit.record(
                session=session,
                actor=ACTOR,
                action="category.update",
                entity_type="category",
                entity_id=row.id,
                before=before,
                after=after,
            )
        else:
            report.unchanged.append(cspec.value)
    session.flush()
    return report
