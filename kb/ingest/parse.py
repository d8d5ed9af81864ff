"""Stage 2, parse: hand feedparser the fetched bytes (never a URL) and keep what it recovers.

- A recoverable ill-formed feed: its entries are kept and the feed is flagged ``ill_formed``.
- An empty body, an HTML page or anything else that is not a feed: a clear ``ParseError``.
- Entity tricks: feedparser drops ENTITY declarations that reference other entities or outside
  resources before its SAX parser sees them, and external entities are switched off, so a
  "billion laughs" feed stays small and ``file://`` entities are never read (tests prove both).
- HTML inside entries is not sanitized here (feedparser's sanitizer is off for speed); the
  normalize stage sanitizes everything with nh3 before it is stored.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Any

import feedparser


class ParseError(ValueError):
    """The body is not a feed (empty, HTML, unparsable); the message says which."""


@dataclass(frozen=True)
class RawEntry:
    """The fields kb uses from one feed entry, as the feed gave them."""

    guid: str | None
    link: str | None
    title: str
    summary: str  # HTML or text, unsanitized
    author: str | None
    published: time.struct_time | None  # UTC, from feedparser
    updated: time.struct_time | None


@dataclass
class ParsedFeed:
    """A parsed feed: its entries, and whether feedparser had to recover from errors."""

    title: str
    version: str
    entries: list[RawEntry] = field(default_factory=list)
    ill_formed: bool = False
    problem: str | None = None  # what was wrong with an ill-formed feed


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _entry(e: Any) -> RawEntry:
    content = e.get("content") or []
    summary = _text(e.get("summary"))
    if content:
        # The longest content block is the article; the summary is often a teaser of it.
        best = max((_text(c.get("value")) for c in content), key=len, default="")
        if len(best) > len(summary):
            summary = best
    guid = _text(e.get("id")).strip() or None
    link = _text(e.get("link")).strip() or None
    return RawEntry(
        guid=guid,
        link=link,
        title=_text(e.get("title")).strip(),
        summary=summary,
        author=_text(e.get("author")).strip() or None,
        published=e.get("published_parsed"),
        updated=e.get("updated_parsed"),
    )


def parse_feed(body: bytes, *, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse fetched bytes into entries; raise ParseError when the body is not a feed."""
    if not body.strip():
        raise ParseError("empty body: the server sent no feed")
    # No content-location: feedparser would resolve every URI against it (a fifth of its time);
    # normalize resolves the few relative entry links itself.
    headers = {"content-type": content_type} if content_type else {}
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    version = result.get("version") or ""
    entries = result.get("entries") or []
    problem = None
    exc = result.get("bozo_exception")
    # A missing or non-XML Content-Type says nothing about the feed itself: not ill-formed.
    if result.get("bozo") and type(exc).__name__ != "NonXMLContentType":
        problem = f"{type(exc).__name__}: {exc}" if exc is not None else "ill-formed"
    if not version and not entries:
        if _looks_like_html(body):
            kind = f" (Content-Type {content_type})" if content_type else ""
            raise ParseError(f"an HTML page, not a feed{kind}: check the feed URL")
        raise ParseError(f"not a feed: {problem or 'no RSS, Atom or RDF structure found'}")
    feed_title = _text(result.get("feed", {}).get("title"))
    return ParsedFeed(
        title=feed_title,
        version=version or "unknown",
        entries=[_entry(e) for e in entries],
        ill_formed=problem is not None,
        problem=problem,
    )
