"""Jinja2 templates from the repository's ``templates/`` folder (autoescaped) and ``render``,
which adds what every page needs: the user, the CSRF token, flash messages and the nav."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import nh3
from fastapi import Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from kb.web.security import csrf_token

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
FLASH_KEY = "_flashes"

# (label, path, minimum role); pages appear in the nav for users with that role or above.
NAV = (
    ("Dashboard", "/", "viewer"),
    ("Inbox", "/inbox", "viewer"),
    ("Events", "/events", "viewer"),
    ("Search", "/search", "viewer"),
    ("Vendors", "/vendors", "viewer"),
    ("Feeds", "/feeds", "viewer"),
    ("Taxonomy", "/taxonomy", "viewer"),
    ("Audit", "/audit", "admin"),
    ("Users", "/users", "admin"),
)
_RANK = {"viewer": 1, "analyst": 2, "admin": 3}


def fmt_datetime(value: dt.datetime | None) -> str:
    """``2026-11-23 12:30 UTC``; empty for None."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    """``2026-11-23``; empty for None."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d")


def fmt_score(value: float | None) -> str:
    """A score with one decimal; an en dash when there is none."""
    return "\u2013" if value is None else f"{value:.1f}"


def fmt_delta(value: float | None) -> str:
    """A signed change (``+3.2``, ``-1.0``, ``±0.0``); an en dash when unknown."""
    if value is None:
        return "\u2013"
    if abs(value) < 0.05:
        return "±0.0"
    return f"{value:+.1f}"


SAFE_TAGS = {"a", "b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "blockquote", "code"}


def sanitize(value: str | None) -> Markup:
    """Untrusted HTML (feed summaries) cleaned again at display time: a few inline tags, links
    only to http(s)/mailto, no scripts, styles or event handlers."""
    if not value:
        return Markup("")
    cleaned = nh3.clean(
        value,
        tags=SAFE_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 (nh3 output: sanitized by construction)


@lru_cache(maxsize=1)
def get_templates() -> Jinja2Templates:
    """The template engine (built on first use, not at import time)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with kb: no stat() of every file on each render
    )
    env.filters["datetime"] = fmt_datetime
    env.filters["date"] = fmt_date
    env.filters["score"] = fmt_score
    env.filters["delta"] = fmt_delta
    env.filters["sanitize"] = sanitize
    return Jinja2Templates(env=env)


def flash(request: Request, message: str, category: str = "info") -> None:
    """Queue a message for the next page this session renders (category: info|error)."""
    flashes = list(request.session.get(FLASH_KEY) or [])
    flashes.append({"message": message, "category": category})
    request.session[FLASH_KEY] = flashes


def pop_flashes(request: Request) -> list[dict[str, str]]:
    """The queued messages, removed from the session."""
    if FLASH_KEY not in request.session:
        return []
    return list(request.session.pop(FLASH_KEY) or [])


def nav_for(user: Any, path: str) -> list[dict[str, Any]]:
    """The nav entries this user may see, with the current one marked."""
    if user is None:
        return []
    rank = _RANK.get(user.role, 0)
    entries = []
    for label, href, role in NAV:
        if rank >= _RANK[role]:
            active = path == href if href == "/" else path == href or path.startswith(href + "/")
            entries.append({"label": label, "href": href, "active": active})
    return entries


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """Render a template with the user, CSRF token, flash messages and nav added."""
    user = getattr(request.state, "user", None)
    ctx = page_context(request, user=user, csrf=csrf_token(request), flashes=pop_flashes(request))
    ctx.update(context or {})
    return get_templates().TemplateResponse(request, name, ctx, status_code=status_code)


def page_context(
    request: Request, *, user: Any, csrf: str, flashes: list[dict[str, str]]
) -> dict[str, Any]:
    """What every page's layout reads: the user, the CSRF token, flash messages and nav."""
    return {
        "user": user,
        "csrf_token": csrf,
        "flashes": flashes,
        "nav": nav_for(user, request.url.path),
    }


def redirect(
    request: Request, url: str, message: str | None = None, category: str = "info"
) -> Response:
    """A 303 redirect (the answer to a successful POST), optionally with a flash message."""
    if message:
        flash(request, message, category)
    return RedirectResponse(url, status_code=303)
