"""Formatting helpers the renderers share: numbers, dates and safe links."""

from __future__ import annotations

import datetime as dt

from kb.reports.service import DIMENSION_LABELS, Driver, EventLine, Link


def num(value: float | None) -> str:
    """A score or points figure as shown to people: one decimal ("" for None)."""
    return "" if value is None else f"{value:.1f}"


def signed(value: float | None) -> str:
    """A change with its sign, e.g. +3.5 / -1.0 / 0.0 ("n/a" for None)."""
    return "n/a" if value is None else f"{value:+.1f}"


def conf(value: float) -> str:
    """A confidence 0-1 as shown to people: two decimals."""
    return f"{value:.2f}"


def day(value: dt.date | dt.datetime | None) -> str:
    """A date as YYYY-MM-DD ("" for None); a datetime is shown by its UTC day."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return value.isoformat()


def stamp(value: dt.datetime) -> str:
    """A timestamp as YYYY-MM-DD HH:MM UTC."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def dim_label(dimension: str) -> str:
    return DIMENSION_LABELS.get(dimension, dimension)


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None: a feed's javascript: link never becomes a link."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def driver_links(driver: Driver) -> list[Link]:
    """A driver's source links: its own source URL first, then the event's articles."""
    links: list[Link] = []
    own = safe_url(driver.source_url)
    if own:
        links.append(Link(title="source", url=own))
    for link in driver.links:
        url = safe_url(link.url)
        if url and url != own:
            links.append(Link(title=link.title, url=url))
    return links


def event_links(event: EventLine) -> list[Link]:
    return [Link(title=lk.title, url=u) for lk in event.links if (u := safe_url(lk.url))]


def direction(event: EventLine) -> str:
    """How the event moves the two dimensions, e.g. "stability +, lock-in -"."""
    sign = {1: "+", -1: "-", 0: "0"}
    return (
        f"stability {sign.get(event.direction_stability, '?')}, "
        f"lock-in {sign.get(event.direction_lock_in, '?')}"
    )
