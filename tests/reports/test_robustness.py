"""Renderers never fail on odd text, and empty reports still make valid files (no database)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import jsonschema
import openpyxl
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from kb.reports import render, service
from kb.reports.service import (
    Driver,
    EventLine,
    FactLine,
    Link,
    Report,
    ScoreLine,
    TrendPoint,
    VendorSection,
)
from kb.vendors.catalog import default_path

WHEN = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
SCHEMA = json.loads(default_path("report.schema.json").read_text())


def _report(text: str, url: str, vendors: int = 1) -> Report:
    link = Link(title=text, url=url)
    sections = []
    for i in range(vendors):
        scores = tuple(
            ScoreLine(
                dimension=dim,
                value=value,
                band="high",
                confidence=0.5,
                model_version="m1",
                as_of=WHEN,
                snapshot_id=i,
                drivers=(
                    Driver("event", "1", text, value, dt.date(2026, 1, 1), url, (link,)),
                    Driver("fact", "open_weights", text, 0.0, None, None),
                ),
                trend=(
                    TrendPoint(dt.date(2026, 1, 1), 10.0),
                    TrendPoint(dt.date(2026, 11, 20), value),
                ),
            )
            for dim, value in (("stability", 55.5), ("lock_in", 0.0))
        )
        sections.append(
            VendorSection(
                id=i,
                slug=f"v{i}",
                name=text or "x",
                website=url,
                jurisdiction=text,
                corporate_form=text,
                parent=text,
                description=text,
                scores=scores,
                events=(
                    EventLine(
                        1,
                        dt.date(2026, 1, 1),
                        text,
                        "lawsuit",
                        text,
                        3,
                        "confirmed",
                        1.0,
                        1,
                        -1,
                        text,
                        (link,),
                    ),
                ),
                facts=(FactLine("government_ties", "yes", text, url, None),),
            )
        )
    return Report(
        kind="portfolio" if vendors != 1 else "vendor",
        title=f"Report {text}",
        as_of=dt.date(2026, 11, 20),
        since=None,
        generated_at=WHEN,
        vendors=tuple(sections),
        method=(text,),
    )


def _check_all(report: Report) -> None:
    soup = BeautifulSoup(render.render(report, "html"), "lxml")
    assert soup.find("script") is None
    assert all(
        a["href"].startswith(("http://", "https://", "#")) for a in soup.find_all("a", href=True)
    )
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(render.render(report, "pdf"))).pages
    )
    assert "Method" in text
    wb = openpyxl.load_workbook(io.BytesIO(render.render(report, "xlsx")))
    assert wb.sheetnames[0] == "Summary"
    rows = list(csv.reader(io.StringIO(render.render(report, "csv").decode())))
    assert rows[0][0] == "vendor_slug"
    data = json.loads(render.render(report, "json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    md = render.render(report, "md").decode()
    assert re.search(r"(?<!\\)<", md) is None  # every < escaped: no raw HTML
    assert re.search(r"(?<!\\)\]\(javascript", md) is None  # no javascript: link


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=60),
    url=st.sampled_from(["https://ok.example/a b)", "javascript:alert(1)", "", "ftp://x"]),
)
def test_any_text_renders_in_every_format(text: str, url: str) -> None:
    _check_all(_report(text, url))


def test_hostile_text_is_inert() -> None:
    _check_all(
        _report(
            '<script>alert(1)</script> =cmd| "\u202e\u0000\x0b [x](javascript:y) \U0001f600',
            "javascript:alert(1)",
        )
    )


def test_empty_portfolio_makes_valid_files() -> None:
    report = _report("x", "https://ok.example", vendors=0)
    _check_all(report)
    assert service.report_dict(report)["vendors"] == []
