"""The pure helpers: server-side SVG charts and the Page object."""

from __future__ import annotations

import datetime as dt

from bs4 import BeautifulSoup

from kb.pagination import MAX_PER_PAGE, Page, clamp, offset
from kb.web import svg


def parse(markup: str):
    return BeautifulSoup(markup, "xml")


def test_sparkline_scales_values_into_the_box_and_escapes_the_label():
    doc = parse(str(svg.sparkline([0, 50, 100, 150], width=100, height=24, label='<x "y">')))
    points = [tuple(map(float, p.split(","))) for p in doc.polyline["points"].split()]
    assert points[0] == (2.0, 22.0) and points[-1][0] == 98.0
    ys = [y for _x, y in points]
    assert ys[0] == 22.0 and ys[2] == 2.0 and ys[3] == 2.0  # 150 is clamped to 100
    assert doc.svg["aria-label"] == '<x "y">'
    assert "<title>&lt;x&gt;</title>" in str(svg.sparkline([1], label="<x>"))


def test_sparkline_without_history_is_an_empty_labelled_box():
    doc = parse(str(svg.sparkline([], label="trend")))
    assert doc.polyline is None and "no history" in doc.svg["aria-label"]


def test_trend_chart_draws_one_line_per_dimension_with_band_guides():
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    series = {
        "stability": [(t0, 10.0), (t0 + dt.timedelta(days=30), 60.0)],
        "lock_in": [(t0, 80.0)],
    }
    doc = parse(str(svg.trend_chart(series, width=640, height=220)))
    lines = doc.find_all("polyline")
    assert [line["class"] for line in lines] == ["line-stability", "line-lock_in"]
    assert len(doc.find_all("line")) == 3  # 25, 50, 75
    labels = [t.get_text() for t in doc.find_all("text")]
    assert "2026-01-01" in labels and "2026-01-31" in labels
    assert "Stability risk" in labels and "Lock-in risk" in labels


def test_trend_chart_without_data_says_so():
    doc = parse(str(svg.trend_chart({"stability": [], "lock_in": []})))
    assert "No score history yet" in doc.get_text()


def test_page_arithmetic():
    page = Page(items=[1, 2], page=2, per_page=2, total=5)
    assert page.pages == 3 and page.has_prev and page.has_next
    assert (page.prev_page, page.next_page) == (1, 3)
    empty = Page(items=[], page=1, per_page=50, total=0)
    assert empty.pages == 1 and not empty.has_prev and not empty.has_next
    assert clamp(0, 10_000) == (1, MAX_PER_PAGE) and clamp(None, None) == (1, 50)
    assert offset(3, 20) == 40
