"""HTML renderer: one self-contained, printable file (inline CSS, charts as inline SVG, no
scripts, no external resources), from templates/reports/report.html.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from kb.reports import text as t
from kb.reports.service import Report, ScoreLine, VendorSection

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
BAND_COLOURS = {
    "low": "#2e7d32",
    "moderate": "#b58900",
    "high": "#e65100",
    "severe": "#b71c1c",
}


def band_colour(band: str) -> str:
    return BAND_COLOURS.get(band, "#555555")


def scores_chart(vendors: tuple[VendorSection, ...]) -> Markup:
    """Horizontal bars: each vendor's stability and lock-in scores on a 0-100 scale."""
    row_h, label_w, bar_w = 26, 170, 300
    height = 30 + row_h * len(vendors)
    width = label_w + bar_w + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        "<title>Scores by vendor (0-100)</title>",
    ]
    for tick in (25, 50, 75, 100):
        x = label_w + bar_w * tick / 100
        parts.append(
            f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height - 4}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="11" font-size="9" text-anchor="middle">{tick}</text>'
        )
    for i, vendor in enumerate(vendors):
        y = 18 + i * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end">'
            f"{escape(vendor.name)}</text>"
        )
        for j, score in enumerate(vendor.scores[:2]):
            yy = y + 2 + j * 11
            w = bar_w * max(0.0, min(score.value, 100.0)) / 100
            parts.append(
                f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" height="9" '
                f'fill="{band_colour(score.band)}" opacity="{1.0 if j == 0 else 0.6}">'
                f"<title>{escape(score.label)}: {t.num(score.value)} ({escape(score.band)})</title>"
                f"</rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{yy + 8}" font-size="8">'
                f"{'S' if j == 0 else 'L'} {t.num(score.value)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


def trend_chart(score: ScoreLine) -> Markup:
    """A line of the stored scores over the past year (one point per day with a snapshot)."""
    width, height, pad = 260, 70, 6
    points = score.trend
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(score.label)} over time</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>',
    ]
    if len(points) >= 2:
        first, last = points[0].date.toordinal(), points[-1].date.toordinal()
        span = max(last - first, 1)
        coords = " ".join(
            f"{pad + (width - 2 * pad) * (p.date.toordinal() - first) / span:.1f},"
            f"{height - pad - (height - 2 * pad) * max(0.0, min(p.value, 100.0)) / 100:.1f}"
            for p in points
        )
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{band_colour(score.band)}" '
            f'stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{pad}" y="{height - 2}" font-size="8">{points[0].date.isoformat()}</text>'
            f'<text x="{width - pad}" y="{height - 2}" font-size="8" text-anchor="end">'
            f"{points[-1].date.isoformat()}</text>"
        )
    else:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" font-size="10" text-anchor="middle">'
            "one score stored so far</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


def drivers_chart(score: ScoreLine, limit: int = 10) -> Markup:
    """Bars of the biggest drivers' points (raising to the right, lowering to the left)."""
    drivers = score.drivers[:limit]
    if not drivers:
        return Markup("")
    row_h, label_w, half = 18, 220, 120
    biggest = max(abs(d.points) for d in drivers) or 1.0
    width, height = label_w + 2 * half + 40, 8 + row_h * len(drivers)
    mid = label_w + half
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>Biggest drivers of {escape(score.label.lower())}</title>",
        f'<line x1="{mid}" y1="0" x2="{mid}" y2="{height}" stroke="#999"/>',
    ]
    for i, d in enumerate(drivers):
        y = 4 + i * row_h
        w = half * abs(d.points) / biggest
        x = mid if d.points >= 0 else mid - w
        label = d.label if len(d.label) <= 38 else d.label[:37] + "\u2026"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 11}" font-size="10" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="11" '
            f'fill="{"#c62828" if d.points >= 0 else "#2e7d32"}"/>'
            f'<text x="{mid + half + 6}" y="{y + 11}" font-size="9">{t.num(d.points)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=t.num,
        signed=t.signed,
        conf=t.conf,
        day=t.day,
        stamp=t.stamp,
        safe_url=t.safe_url,
        band_colour=band_colour,
    )
    env.globals.update(
        scores_chart=scores_chart,
        trend_chart=trend_chart,
        drivers_chart=drivers_chart,
        driver_links=t.driver_links,
        event_links=t.event_links,
        direction=t.direction,
    )
    return env


def render(report: Report) -> bytes:
    """The report as one UTF-8 HTML document."""
    template = _environment().get_template("reports/report.html")
    return template.render(report=report).encode("utf-8")
