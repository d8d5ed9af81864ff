"""The shipped catalog and taxonomy load idempotently and keep analysts' edits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, func, select

from kb.models import AuditLog, Category, Vendor, VendorAlias, VendorFact
from kb.vendors import catalog
from kb.vendors import service as vendors
from kb.vendors.schemas import FACT_KEYS

REQUIRED = {
    "openai", "anthropic", "xai", "google", "meta", "mistral", "microsoft", "amazon",
    "deepseek", "alibaba", "cohere", "ai21", "ibm", "nvidia",
}  # fmt: skip
DEFAULT_CATEGORIES = {
    "governance-shift", "leadership-change", "ownership-funding", "lawsuit",
    "regulatory-action", "licensing-change", "pricing-change", "model-deprecation",
    "terms-policy-change", "data-privacy", "security-incident", "outage",
    "partnership-exclusivity",
}  # fmt: skip


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in (Vendor, VendorAlias, VendorFact, Category, AuditLog)
    }


def test_shipped_catalog_covers_the_main_providers(catalog: Session) -> None:
    slugs = {v.slug for v in vendors.list_vendors(session=catalog)}
    assert len(slugs) >= 15
    assert slugs >= REQUIRED
    for vendor in vendors.list_vendors(session=catalog):
        assert vendor.id is not None
        facts = vendors.facts_of(session=catalog, vendor_id=vendor.id)
        assert {f.key for f in facts} == set(FACT_KEYS), vendor.slug
        assert all(f.source_url and f.source_url.startswith("http") for f in facts)
        assert all(isinstance(f.checked_at, dt.date) for f in facts)
        assert vendor.jurisdiction and vendor.corporate_form
        assert vendors.aliases_of(session=catalog, vendor_id=vendor.id), vendor.slug
    values = {c.value for c in catalog.exec(select(Category))}
    assert values >= DEFAULT_CATEGORIES


def test_ambiguous_aliases_are_guarded(catalog: Session) -> None:
    rows = {a.text: a for a in catalog.exec(select(VendorAlias))}
    for word in ("Meta", "Mistral", "Gemini", "Claude", "Grok"):
        alias = rows[word]
        assert alias.case_sensitive or alias.context, word
    assert rows["xAI"].case_sensitive


def test_loading_twice_changes_nothing(catalog: Session) -> None:
    before = _counts(catalog)
    tax = catalog_module_load(catalog)
    assert not tax[0].changed and not tax[1].changed
    assert _counts(catalog) == before


def catalog_module_load(session: Session) -> tuple[catalog.LoadReport, catalog.LoadReport]:
    tax = catalog.load_taxonomy(session=session)
    ven = catalog.load_vendors(session=session)
    session.commit()
    return tax, ven


def test_reload_keeps_analyst_edits(catalog: Session) -> None:
    openai = vendors.get_vendor(session=catalog, slug="openai")
    assert openai is not None
    vendors.update_vendor(
        session=catalog, vendor=openai, changes={"description": "Analyst view"}, actor="tester"
    )
    vendors.set_fact(
        session=catalog, vendor=openai, key="open_weights", value="yes",
        source_url="https://example.org/analyst-note", checked_at=dt.date(2026, 11, 20),
        detail="analyst override", actor="tester",
    )  # fmt: skip
    lawsuit = catalog.exec(select(Category).where(Category.value == "lawsuit")).one()
    lawsuit.half_life_days = 999
    lawsuit.edited_fields = ["half_life_days"]
    catalog.add(lawsuit)
    catalog.commit()

    tax, ven = catalog_module_load(catalog)
    assert not ven.changed and not tax.changed
    assert any(k.startswith("openai") for k in ven.kept_analyst_edits)
    catalog.expire_all()
    openai = vendors.get_vendor(session=catalog, slug="openai")
    assert openai is not None and openai.description == "Analyst view"
    fact = catalog.exec(
        select(VendorFact).where(
            VendorFact.vendor_id == openai.id, VendorFact.key == "open_weights"
        )
    ).one()
    assert (fact.value, fact.origin) == ("yes", "analyst")
    assert (
        catalog.exec(select(Category).where(Category.value == "lawsuit")).one().half_life_days
        == 999
    )


def test_catalog_update_applies_and_is_audited(session: Session, tmp_path: Path) -> None:
    src = yaml.safe_load(catalog.default_path("vendors.yaml").read_text())
    src["vendors"] = src["vendors"][:2]
    first = tmp_path / "vendors.yaml"
    first.write_text(yaml.safe_dump(src))
    catalog.load_vendors(session=session, path=first)
    session.commit()

    slug = src["vendors"][0]["slug"]
    src["vendors"][0]["name"] = "Renamed Inc."
    src["vendors"][0]["aliases"] = src["vendors"][0]["aliases"][1:]
    first.write_text(yaml.safe_dump(src))
    report = catalog.load_vendors(session=session, path=first)
    session.commit()
    assert report.updated == [slug]
    vendor = vendors.get_vendor(session=session, slug=slug)
    assert vendor is not None and vendor.name == "Renamed Inc."
    texts = {a.text for a in vendors.aliases_of(session=session, vendor_id=vendor.id or 0)}
    assert texts == {a["text"] for a in src["vendors"][0]["aliases"]}
    updates = session.exec(select(AuditLog).where(AuditLog.action == "vendor.update")).all()
    assert len(updates) == 1 and updates[0].after and updates[0].after["name"] == "Renamed Inc."


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["vendors"][0].pop("slug"), "vendors.0.slug"),
        (lambda d: d["vendors"][0]["facts"][0].update(value="maybe"), "facts.0.value"),
        (lambda d: d["vendors"][1]["aliases"].append(dict(d["vendors"][0]["aliases"][0])), "alias"),
        (lambda d: d["vendors"][0]["facts"][0].update(source_url="not a url"), "source_url"),
    ],
)
def test_invalid_catalog_is_refused_and_loads_nothing(
    session: Session, tmp_path: Path, mutate, message: str
) -> None:
    data = yaml.safe_load(catalog.default_path("vendors.yaml").read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.load_vendors(session=session, path=path)
    assert session.exec(select(func.count()).select_from(Vendor)).one() == 0


def test_unparsable_yaml_names_the_file(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nvendors: [\n")
    with pytest.raises(catalog.CatalogError, match=r"broken\.yaml: not valid YAML"):
        catalog.load_vendors(session=session, path=path)
