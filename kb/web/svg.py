"""Charts drawn on the server as inline SVG: a sparkline and a trend chart.

Pure functions of numbers and dates (no I/O). Only numbers and escaped text reach the
markup, and presentation attributes are used instead of inline styles, so the strict CSP holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

BAND_EDGES = (25.0, 50.0, 75.0)
COLORS = {"stability": "#1f5fbf", "lock_in": "#9a3fb5"}
LABELS = {"stability": "Stability risk", "lock_in": "Lock-in risk"}
Point = tuple[dt.datetime, float]


def _trusted(svg: str) -> Markup:
    """Mark the built SVG safe: it holds only formatted numbers and ``escape``d text."""
    return Markup(svg)  # noqa: S704


def _clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return max(low, min(high, value))


def sparkline(
    values: Sequence[float],
    *,
    width: int = 96,
    height: int = 24,
    color: str = "#1f5fbf",
    label: str = "trend",
) -> Markup:
    """A tiny line of 0-100 values, oldest first; a flat dash when there is nothing to draw."""
    pad = 2.0
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    title = f"<title>{escape(label)}</title>"
    if not values:
        return _trusted(
            f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
            f' role="img" aria-label="{escape(label)}: no history">{title}</svg>'
        )
    if len(values) == 1:
        values = [values[0], values[0]]
    step = inner_w / (len(values) - 1)
    points = " ".join(
        f"{pad + i * step:.1f},{pad + inner_h * (1 - _clamp(v) / 100):.1f}"
        for i, v in enumerate(values)
    )
    last_x = pad + (len(values) - 1) * step
    last_y = pad + inner_h * (1 - _clamp(values[-1]) / 100)
    return _trusted(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{escape(label)}">{title}'
        f'<polyline fill="none" stroke="{escape(color)}" stroke-width="1.5" points="{points}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="{escape(color)}"/></svg>'
    )


def trend_chart(
    series: Mapping[str, Sequence[Point]],
    *,
    width: int = 640,
    height: int = 220,
    title: str = "Score trend",
) -> Markup:
    """Lines of 0-100 scores over time (one per dimension), with the band edges as guides."""
    left, right, top, bottom = 36.0, 12.0, 12.0, 36.0
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [t for points in series.values() for t, _ in points]
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafbfd"'
        f' stroke="#d9dee7"/>',
    ]

    def y_of(value: float) -> float:
        return top + plot_h * (1 - _clamp(value) / 100)

    for edge in (0.0, *BAND_EDGES, 100.0):
        y = y_of(edge)
        if 0 < edge < 100:
            parts.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"'
                f' stroke="#d9dee7" stroke-dasharray="4 3"/>'
            )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end"'
            f' fill="#5b6576">{edge:.0f}</text>'
        )
    if not times:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="12"'
            f' text-anchor="middle" fill="#5b6576">No score history yet</text></svg>'
        )
        return _trusted("".join(parts))
    start, end = min(times), max(times)
    span = (end - start).total_seconds() or 1.0

    def x_of(when: dt.datetime) -> float:
        if start == end:
            return left + plot_w / 2
        return left + plot_w * (when - start).total_seconds() / span

    for label, when, anchor in ((start, start, "start"), (end, end, "end")):
        parts.append(
            f'<text x="{x_of(when):.1f}" y="{top + plot_h + 16}" font-size="10"'
            f' text-anchor="{anchor}" fill="#5b6576">{label:%Y-%m-%d}</text>'
        )
    legend_x = left
    for dimension, points in series.items():
        color = COLORS.get(dimension, "#333333")
        name = LABELS.get(dimension, dimension)
        if points:
            coords = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in points)
            parts.append(
                f'<polyline class="line-{escape(dimension)}" fill="none" stroke="{color}"'
                f' stroke-width="2" points="{coords}"/>'
            )
            t, v = points[-1]
            parts.append(f'<circle cx="{x_of(t):.1f}" cy="{y_of(v):.1f}" r="3" fill="{color}"/>')
        parts.append(
            f'<rect x="{legend_x}" y="{height - 12}" width="10" height="3" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{height - 8}" font-size="11"'
            f' fill="#1d2430">{escape(name)}</text>'
        )
        legend_x += 120
    parts.append("</svg>")
    return _trusted("".join(parts))
