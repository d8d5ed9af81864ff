"""Plain factories for the ingestion tests: fixture feeds (RSS/Atom bytes), feeds.yaml files,
vendors with aliases and taxonomy categories."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml
from sqlmodel import Session

from kb.models import Category, Vendor, VendorAlias


def rss(
    entries: list[dict[str, Any]], *, title: str = "Fixture feed", encoding: str = "utf-8"
) -> bytes:
    """An RSS 2.0 document. Entry keys: title, link, guid, description, pubDate, author."""
    items = []
    for e in entries:
        parts = []
        for key in ("title", "link", "guid", "description", "pubDate", "author"):
            if e.get(key) is not None:
                parts.append(f"<{key}>{escape(str(e[key]))}</{key}>")
        items.append("<item>" + "".join(parts) + "</item>")
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.test/</link>"
        f"<description>fixture</description>{''.join(items)}</channel></rss>"
    )
    return doc.encode(encoding)


def atom(entries: list[dict[str, Any]], *, title: str = "Fixture atom") -> bytes:
    """An Atom 1.0 document. Entry keys: title, link, id, summary, updated."""
    out = []
    for e in entries:
        parts = [f"<title>{escape(e.get('title', ''))}</title>"]
        if e.get("link"):
            parts.append(f'<link href="{escape(e["link"])}"/>')
        if e.get("id"):
            parts.append(f"<id>{escape(e['id'])}</id>")
        if e.get("summary"):
            parts.append(f'<summary type="html">{escape(e["summary"])}</summary>')
        if e.get("updated"):
            parts.append(f"<updated>{e['updated']}</updated>")
        out.append("<entry>" + "".join(parts) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:fixture:{escape(title)}</id>"
        f"<updated>2026-11-01T00:00:00Z</updated>{''.join(out)}</feed>"
    ).encode()


def entry(n: int, **overrides: Any) -> dict[str, Any]:
    """A plain RSS entry number n, dated in November 2026."""
    values = {
        "title": f"Story number {n}",
        "link": f"https://news.example.test/story/{n}",
        "guid": f"https://news.example.test/story/{n}",
        "description": f"<p>Body of story {n}.</p>",
        "pubDate": f"Mon, {n % 20 + 1:02d} Nov 2026 10:00:00 GMT",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def feed_spec(name: str, url: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "url": url, "kind": "news", "reliability": "B"}
    spec.update(overrides)
    return spec


def write_feeds(path: Path, feeds: list[dict[str, Any]]) -> Path:
    """Write a feeds.yaml with the given feed specs."""
    path.write_text(yaml.safe_dump({"version": 1, "feeds": feeds}, sort_keys=False))
    return path


def make_vendor(
    session: Session,
    slug: str = "acme",
    name: str | None = None,
    aliases: list[dict[str, Any]] | None = None,
) -> Vendor:
    vendor = Vendor(slug=slug, name=name or slug.title())
    session.add(vendor)
    session.flush()
    assert vendor.id is not None
    for a in aliases if aliases is not None else [{"text": vendor.name}]:
        session.add(VendorAlias(vendor_id=vendor.id, **a))
    session.flush()
    return vendor


def make_category(session: Session, value: str = "lawsuit") -> Category:
    category = Category(value=value, label=value.replace("-", " ").title())
    session.add(category)
    session.flush()
    return category
