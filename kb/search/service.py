"""Full-text search over items (title + summary) and events (title + note) that stays fast on a
large database: SQLite FTS5 external-content tables (``item_fts``, ``event_fts``, kept in sync by
triggers) and, on PostgreSQL, stored generated ``tsvector`` columns ``search_fts`` with GIN
indexes (``ix_item_fts``, ``ix_event_fts``), both built by the initial migration. Results come
newest first (highest id first); totals are counted up to ``COUNT_CAP``.

The user's text is never passed to the engine's query syntax as is: it is cut into words and
"quoted phrases", and each becomes a quoted phrase, so input like ``"`` or ``AND OR (`` is safe.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, text
from sqlmodel import Session, col, select

from kb.models import Event, Item
from kb.pagination import Page, clamp, offset

COUNT_CAP = 10_000
DENSE_MATCHES = 5_000  # above this many matches, SQLite walks the date index instead
MAX_QUERY_CHARS = 500
MAX_TERMS = 16
# Bare words that are operators in one engine's syntax and stop words in the other's.
_OPERATOR_WORDS = frozenset({"and", "or", "not", "near"})
_CHUNK_RE = re.compile(r'"([^"]*)"|(\S+)')
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_TAG_RE = re.compile(r"<[^>]*>")

# The stored tsvector columns the initial migration adds on PostgreSQL (GIN-indexed).
PG_ITEM_TSV = "item.search_fts"
PG_EVENT_TSV = "event.search_fts"


@dataclass(frozen=True)
class ParsedQuery:
    """A user's search text as safe phrases: one FTS5 MATCH string, one websearch string."""

    phrases: tuple[str, ...]

    @property
    def fts5(self) -> str:
        return " ".join(f'"{p}"' for p in self.phrases)

    @property
    def websearch(self) -> str:
        return " ".join(f'"{p}"' for p in self.phrases)


@dataclass(frozen=True)
class ItemHit:
    """An item found by a search."""

    id: int
    title: str
    excerpt: str
    published_at: dt.datetime | None
    status: str


@dataclass(frozen=True)
class EventHit:
    """An event found by a search."""

    id: int
    title: str
    excerpt: str
    occurred_at: dt.date
    status: str


@dataclass(frozen=True)
class SearchResults:
    """Both result lists of one search; ``*_capped`` says the total is at least COUNT_CAP."""

    query: str
    items: Page[ItemHit]
    events: Page[EventHit]
    items_capped: bool
    events_capped: bool


def parse_query(q: str | None) -> ParsedQuery | None:
    """The user's text as safe phrases (words and "quoted phrases"); None when it has no words."""
    if not q:
        return None
    phrases: list[str] = []
    for quoted, bare in _CHUNK_RE.findall(q[:MAX_QUERY_CHARS]):
        words = _WORD_RE.findall(quoted if quoted else bare)
        if not quoted and len(words) == 1 and words[0].lower() in _OPERATOR_WORDS:
            continue
        if words:
            phrases.append(" ".join(words))
        if len(phrases) >= MAX_TERMS:
            break
    return ParsedQuery(tuple(phrases)) if phrases else None


def plain_text(value: str | None, limit: int = 240) -> str:
    """An excerpt of sanitized HTML as plain text (the template escapes it)."""
    if not value:
        return ""
    textual = " ".join(html.unescape(_TAG_RE.sub(" ", value)).split())
    return textual if len(textual) <= limit else textual[: limit - 1].rstrip() + "…"


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def item_match(
    *, session: Session, q: str | None, ordered: bool = False
) -> ColumnElement[bool] | None:
    """A WHERE clause on ``item`` true for items matching ``q``; None when ``q`` has no words.
    ``ordered``: the query reads rows newest first with a limit (not a count)."""
    parsed = parse_query(q)
    if parsed is None:
        return None
    if _dialect(session) == "sqlite":
        sub = text("SELECT rowid FROM item_fts WHERE item_fts MATCH :item_q").bindparams(
            item_q=parsed.fts5
        )
        # SQLite cannot know how many rows match. Few: look them up by id and sort them.
        # Many: ``id + 0`` keeps the id index out, so the query walks the date index in
        # order and stops once the page is full.
        if not ordered:
            return col(Item.id).in_(sub)
        many = session.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM item_fts WHERE item_fts MATCH :q LIMIT :n) m"
            ),
            {"q": parsed.fts5, "n": DENSE_MATCHES + 1},
        ).scalar_one()
        return (col(Item.id) + 0 if many > DENSE_MATCHES else col(Item.id)).in_(sub)
    return _pg_match(PG_ITEM_TSV, parsed)


def event_match(*, session: Session, q: str | None) -> ColumnElement[bool] | None:
    """A WHERE clause on ``event`` true for events matching ``q``; None when it has no words."""
    parsed = parse_query(q)
    if parsed is None:
        return None
    if _dialect(session) == "sqlite":
        sub = text("SELECT rowid FROM event_fts WHERE event_fts MATCH :event_q").bindparams(
            event_q=parsed.fts5
        )
        return col(Event.id).in_(sub)
    return _pg_match(PG_EVENT_TSV, parsed)


def _pg_match(tsvector_sql: str, parsed: ParsedQuery) -> ColumnElement[bool]:
    """``<indexed expression> @@ websearch_to_tsquery('english', :q)``."""
    query = func.websearch_to_tsquery(literal_column("'english'"), parsed.websearch)
    return literal_column(tsvector_sql).op("@@")(query)


def _ids_and_count(
    session: Session, table: str, expr: str, parsed: ParsedQuery, page: int, per_page: int
) -> tuple[list[int], int]:
    """One page of matching ids (newest first) and the total, counted up to COUNT_CAP + 1."""
    # Only fixed table names and expressions are formatted into the SQL; the text is bound.
    if _dialect(session) == "sqlite":
        source, key, where = f"{table}_fts", "rowid", f"{table}_fts MATCH :q"
        value = parsed.fts5
    else:
        source, key, where = table, "id", f"{expr} @@ websearch_to_tsquery('english', :q)"
        value = parsed.websearch
    page_sql = f"SELECT {key} FROM {source} WHERE {where} ORDER BY {key} DESC"  # noqa: S608
    page_sql += " LIMIT :lim OFFSET :off"
    count_sql = f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT :cap) m"  # noqa: S608
    ids = [
        int(r)
        for r in session.execute(
            text(page_sql), {"q": value, "lim": per_page, "off": offset(page, per_page)}
        ).scalars()
    ]
    total = int(session.execute(text(count_sql), {"q": value, "cap": COUNT_CAP + 1}).scalar_one())
    return ids, total


def _ordered(rows: Sequence[Any], ids: list[int]) -> list[Any]:
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _search_page(
    session: Session,
    *,
    kind: str,
    tsv: str,
    model: Any,
    to_hit: Callable[[Any], Any],
    q: str | None,
    page: int,
    per_page: int | None,
) -> tuple[Page[Any], bool]:
    """One page of ``model`` rows matching ``q`` (newest first) as hits; and whether the total
    is capped. Shared by items and events, which differ only in table and hit shape."""
    page, per_page = clamp(page, per_page)
    parsed = parse_query(q)
    if parsed is None:
        return Page(items=[], page=page, per_page=per_page, total=0), False
    ids, total = _ids_and_count(session, kind, tsv, parsed, page, per_page)
    rows: list[Any] = []
    if ids:
        rows = list(session.exec(select(model).where(col(model.id).in_(ids))))
    hits = [to_hit(r) for r in _ordered(rows, ids)]
    capped = total > COUNT_CAP
    return Page(items=hits, page=page, per_page=per_page, total=min(total, COUNT_CAP)), capped


def _item_hit(r: Any) -> ItemHit:
    return ItemHit(
        id=r.id,
        title=r.title,
        excerpt=plain_text(r.summary),
        published_at=r.published_at,
        status=r.status,
    )


def _event_hit(r: Any) -> EventHit:
    return EventHit(
        id=r.id,
        title=r.title,
        excerpt=plain_text(r.note),
        occurred_at=r.occurred_at,
        status=r.status,
    )


def search_items(
    *, session: Session, q: str | None, page: int = 1, per_page: int | None = None
) -> tuple[Page[ItemHit], bool]:
    """Items matching ``q``, newest first, one page; and whether the total is capped."""
    return _search_page(
        session, kind="item", tsv=PG_ITEM_TSV, model=Item, to_hit=_item_hit,
        q=q, page=page, per_page=per_page,
    )  # fmt: skip


def search_events(
    *, session: Session, q: str | None, page: int = 1, per_page: int | None = None
) -> tuple[Page[EventHit], bool]:
    """Events matching ``q`` (merged ones included), newest first; and whether total is capped."""
    return _search_page(
        session, kind="event", tsv=PG_EVENT_TSV, model=Event, to_hit=_event_hit,
        q=q, page=page, per_page=per_page,
    )  # fmt: skip


def search(
    *, session: Session, q: str | None, page: int = 1, per_page: int | None = None
) -> SearchResults:
    """Items and events matching ``q``, each list paginated the same way."""
    items, items_capped = search_items(session=session, q=q, page=page, per_page=per_page)
    events, events_capped = search_events(session=session, q=q, page=page, per_page=per_page)
    return SearchResults(
        query=q or "",
        items=items,
        events=events,
        items_capped=items_capped,
        events_capped=events_capped,
    )
