"""A per-worker cache of rendered pages, reused while the data they show is unchanged.

The heavy read pages (dashboard, inbox, vendor page, events list) cost milliseconds of
queries and template work each; analysts reload them far more often than the data changes.
:func:`cached_page` keys a rendered page by what it depends on:

- the template, path and query string;
- the viewer's role (which forms and buttons a page shows);
- :func:`kb.db.data_version`, a probe that changes as soon as any commit lands, in this
  worker or any other process, so a change always shows on the next request;
- the age of the entry: at most ``page_cache_seconds`` (what moves with the clock alone,
  such as "since last week" or decay, is at most that old).

What differs per session is not cached: the page is rendered with markers for the CSRF token
and the username, which are put in on the way out. A request with flash messages queued is
rendered directly (they belong to that session). ``KB_PAGE_CACHE_ENTRIES=0`` turns it off.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Request
from markupsafe import escape
from sqlmodel import Session
from starlette.responses import HTMLResponse, Response

from kb.db import data_version
from kb.web.deps import SignedIn
from kb.web.security import csrf_token
from kb.web.templating import FLASH_KEY, get_templates, page_context, render

# Random per process, letters and digits only (autoescaping leaves them as they are): feed
# text cannot forge them.
CSRF_MARK = f"kbcsrf{secrets.token_hex(12)}"
USER_MARK = f"kbuser{secrets.token_hex(12)}"


class PageCache:
    """A bounded LRU of rendered pages with an age limit; safe across threads."""

    def __init__(self, *, entries: int, seconds: float) -> None:
        self.entries = entries
        self.seconds = seconds
        self._pages: OrderedDict[tuple[Any, ...], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...], *, count: bool = True) -> str | None:
        """The page stored under ``key`` if it is young enough, else None (``count``: add
        the lookup to the hit and miss counters)."""
        now = time.monotonic()
        with self._lock:
            found = self._pages.get(key)
            if found is None or now - found[0] > self.seconds:
                self.misses += count
                return None
            self._pages.move_to_end(key)
            self.hits += count
            return found[1]

    def put(self, key: tuple[Any, ...], html: str) -> None:
        """Store a page; the least recently used one goes when the cache is full."""
        with self._lock:
            self._pages[key] = (time.monotonic(), html)
            self._pages.move_to_end(key)
            while len(self._pages) > self.entries:
                self._pages.popitem(last=False)

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        """The page under ``key``, built once when missing: requests that miss the same key
        at the same moment wait for the first one's page instead of each building it."""
        html = self.get(key)
        if html is not None:
            return html
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            html = self.get(key, count=False)  # built by the request we waited for
            if html is None:
                try:
                    html = build()
                    self.put(key, html)
                finally:
                    with self._lock:
                        self._building.pop(key, None)
        return html

    def __len__(self) -> int:
        return len(self._pages)


def page_cache(request: Request) -> PageCache | None:
    """This app's page cache (built on first use from the settings); None when turned off."""
    state = request.app.state
    cache: PageCache | None = getattr(state, "page_cache", None)
    if cache is None:
        settings = state.settings
        if settings.page_cache_entries <= 0:
            return None
        cache = state.page_cache = PageCache(
            entries=settings.page_cache_entries, seconds=settings.page_cache_seconds
        )
    return cache


def _render_shared(request: Request, name: str, context: dict[str, Any], user: SignedIn) -> str:
    """The page as every viewer with ``user``'s role sees it, with markers for what differs."""
    marked = SignedIn(id=0, username=USER_MARK, role=user.role, auth=user.auth)
    ctx = page_context(request, user=marked, csrf=CSRF_MARK, flashes=[])
    ctx["request"] = request
    ctx.update(context)
    return get_templates().env.get_template(name).render(ctx)


def cached_page(
    request: Request,
    session: Session,
    name: str,
    build: Callable[[], dict[str, Any]],
) -> Response:
    """Template ``name`` with the context ``build()`` returns, from the cache when the data,
    role, path and query are the same as when it was stored."""
    cache = page_cache(request)
    user: SignedIn | None = getattr(request.state, "user", None)
    if cache is None or user is None or request.session.get(FLASH_KEY):
        return render(request, name, build())
    key = (name, request.url.path, request.url.query, user.role, data_version(session))
    html = cache.get_or_build(key, lambda: _render_shared(request, name, build(), user))
    body = html.replace(CSRF_MARK, csrf_token(request)).replace(
        USER_MARK, str(escape(user.username))
    )
    return HTMLResponse(body)
