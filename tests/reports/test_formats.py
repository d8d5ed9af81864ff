"""Every format, read back by its own parser: the numbers equal the stored snapshots."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader
from sqlmodel import Session

from kb.reports import render, render_pdf, service
from kb.reports.render_pdf import latin1
from kb.vendors.catalog import default_path
from tests.factories import make_category, make_event, make_fact, make_vendor
from tests.reports.conftest import AS_OF, NOW, World


def _expected(world: World) -> dict[tuple[str, str], Any]:
    return {("acme", dim): snap for dim, snap in world.current.items()}


def _vendor_report(session: Session) -> service.Report:
    return service.build_report(session=session, vendor_slug="acme", as_of=AS_OF, now=NOW)


def test_json_validates_against_the_schema(session: Session, world: World) -> None:
    data = json.loads(render.render(_vendor_report(session), "json"))
    schema = json.loads(default_path("report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(data)
    portfolio = json.loads(
        render.render(service.build_report(session=session, as_of=AS_OF, now=NOW), "json")
    )
    validator.validate(portfolio)
    assert [v["slug"] for v in portfolio["vendors"]] == ["acme", "other"]

    acme = data["vendors"][0]
    assert acme["name"] == world.acme.name  # full Unicode
    for (_, dim), snap in _expected(world).items():
        score = acme["scores"][dim]
        assert score["value"] == snap.value
        assert score["band"] == snap.band
        assert score["confidence"] == snap.confidence
        assert score["snapshot_id"] == snap.id
        assert score["previous"]["value"] == world.previous[dim].value
    assert data["as_of"] == "2026-11-20"
    assert data["model_versions"] == ["2026.11-test"]
    assert acme["scores"]["stability"]["drivers"][0]["links"][0]["url"] == (
        "https://news.example/sues"
    )
    assert [e["status"] for e in acme["events"]] == ["suggested", "confirmed", "confirmed"]


def test_html_is_self_contained_and_shows_the_stored_numbers(
    session: Session, world: World
) -> None:
    soup = BeautifulSoup(render.render(_vendor_report(session), "html"), "lxml")
    assert soup.find("script") is None
    assert soup.find("link") is None
    assert soup.find("iframe") is None
    assert soup.find("img") is None
    for tag in soup.find_all(src=True):
        pytest.fail(f"external resource: {tag}")
    assert all(not re.search(r"url\(", s.get_text()) for s in soup.find_all("style"))
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs and all(h.startswith(("https://", "http://", "#")) for h in hrefs)
    assert "https://news.example/sues" in hrefs
    assert soup.find_all("svg")  # inline charts

    for (slug, dim), snap in _expected(world).items():
        row = soup.find("tr", attrs={"data-vendor": slug, "data-dimension": dim})
        assert row is not None
        assert row.find("td", class_="score").get_text(strip=True) == f"{snap.value:.1f}"
        assert row.find("td", class_="confidence").get_text(strip=True) == (
            f"{snap.confidence:.2f}"
        )
        assert row.find("span", class_="band").get_text(strip=True) == snap.band
        change = snap.value - world.previous[dim].value
        assert row.find("td", class_="change").get_text(strip=True) == f"{change:+.1f}"
    assert soup.find(id="as-of").get_text() == "2026-11-20"
    assert soup.find(id="model-version").get_text() == "2026.11-test"
    assert world.acme.name in soup.find("h1").get_text()
    section = soup.find("section", id="vendor-acme")
    assert section.find("b") is None  # the description's markup is escaped
    events = section.find("table", class_="events").find("tbody").find_all("tr")
    assert [tr["data-event"] for tr in events] == [
        str(world.suggested.id),
        str(world.release.id),
        str(world.lawsuit.id),
    ]
    assert "suggested" in events[0]["class"]
    facts = {tr["data-fact"]: tr for tr in section.find("table", class_="facts").find_all("tr")[1:]}
    assert facts["open_weights"].find("td", class_="value").get_text() == "partial"
    assert soup.find("section", id="method") is not None


def test_xlsx_sheets_read_back(session: Session, world: World) -> None:
    data = render.render(_vendor_report(session), "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Events", "Contributions", "Profile facts", "Method"]
    summary = list(wb["Summary"].iter_rows(values_only=True))
    header = summary[0]
    rows = [dict(zip(header, r, strict=True)) for r in summary[1:]]
    for (slug, dim), snap in _expected(world).items():
        (row,) = [r for r in rows if r["Slug"] == slug and r["Dimension"] == dim]
        assert row["Score"] == snap.value
        assert row["Band"] == snap.band
        assert row["Confidence"] == snap.confidence
        assert row["Previous score"] == world.previous[dim].value
        assert row["Snapshot id"] == snap.id

    events = list(wb["Events"].iter_rows(values_only=True))
    assert len(events) == 1 + 3
    lawsuit_cell = next(
        c for c in wb["Events"]["D"] if isinstance(c.value, str) and "Founder" in c.value
    )
    assert lawsuit_cell.data_type == "s"  # "=SUM(1) ..." is text, not a formula
    assert lawsuit_cell.value == world.lawsuit.title
    # A control character XML forbids (\x0b) is dropped, not a crash.
    assert "Acme releases open weights" in [r[3] for r in events]

    contributions = list(wb["Contributions"].iter_rows(values_only=True))
    points = {(r[1], r[4]): r[6] for r in contributions[1:]}
    assert points[("stability", str(world.lawsuit.id))] == 29.3
    assert points[("lock_in", "open_weights")] == 61.9
    facts = list(wb["Profile facts"].iter_rows(values_only=True))
    assert [r[1] for r in facts[1:]] == ["open_weights", "data_residency", "government_ties"]
    method = [r[0] for r in wb["Method"].iter_rows(values_only=True)]
    assert "Model version 2026.11-test" in method


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_text_shows_the_stored_numbers(session: Session, world: World) -> None:
    text = _pdf_text(render.render(_vendor_report(session), "pdf"))
    for (_, dim), snap in _expected(world).items():
        label = "Stability risk" if dim == "stability" else "Lock-in risk"
        assert f"{label}: {snap.value:.1f} ({snap.band})" in text
        assert f"confidence {snap.confidence:.2f}" in text
    assert "model version 2026.11-test" in text
    assert "Method" in text
    assert "Rumoured lawsuit" in text
    assert "page 1/2" in text
    # The embedded font draws the quotes and accents; the CJK it lacks becomes "?", noted.
    assert "Acme AI \u201cLabs\u201d \u00e9t\u00e9 ??" in text
    assert "2 characters not in the PDF font (U+963F, U+91CC) are shown as '?'" in text
    assert "keep the full text" in text


# Text the PDF font has: Greek, Cyrillic, Polish, Turkish and Czech letters, typographic
# quotes and dashes (escaped here: ruff flags look-alike characters in source).
POLYGLOT_NAME = (  # "Ellinika" in Greek, "Kirillitsa" in Cyrillic in low-high quotes, ...
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac "
    "\u201e\u041a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430\u201d "
    "Za\u017c\u00f3\u0142\u0107 \u0130\u015f\u0131k"
)
POLYGLOT_EVENT = (  # Greek, an em dash, Cyrillic, guillemets, Polish L with stroke
    "\u03a3\u03cd\u03b3\u03ba\u03c1\u03bf\u03c5\u03c3\u03b7 \u2014 "
    "\u0421\u0431\u043e\u0439 \u00abAPI\u00bb w \u0141odzi"
)
POLYGLOT_CATEGORY = "Ausfall \u201egro\u00df\u201d \u2018\u011f\u2019"  # German and Turkish
POLYGLOT_DETAIL = (  # Cyrillic, Czech
    "\u0414\u0430\u0442\u0430-\u0446\u0435\u043d\u0442\u0440\u044b \u0432 "
    "\u0415\u0421; P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148"
)
# Four Chinese characters the font lacks, then a fullwidth colon it draws as ":".
CJK_EVENT = "\u6df1\u5ea6\u6c42\u7d22\uff1aDeepSeek-R2"


def _polyglot_report(session: Session) -> service.Report:
    vendor = make_vendor(session, slug="polyglot", name=POLYGLOT_NAME)
    category = make_category(
        session, value="outage", label=POLYGLOT_CATEGORY, weight_stability=0.5, weight_lock_in=0.2
    )
    make_event(
        session,
        vendors=[vendor],
        category=category,
        title=POLYGLOT_EVENT,
        occurred_at=dt.date(2026, 11, 5),
    )
    make_event(
        session,
        vendors=[vendor],
        category=category,
        title=CJK_EVENT,
        occurred_at=dt.date(2026, 11, 6),
    )
    make_fact(
        session,
        vendor=vendor,
        key="data_residency",
        value="partial",
        detail=POLYGLOT_DETAIL,
        checked_at=dt.date(2026, 11, 1),
    )
    session.commit()
    return service.build_report(session=session, vendor_slug="polyglot", as_of=AS_OF, now=NOW)


def test_pdf_keeps_non_latin_text_and_notes_what_the_font_lacks(
    session: Session, world: World
) -> None:
    report = _polyglot_report(session)
    text = _pdf_text(render.render(report, "pdf"))
    assert f"{POLYGLOT_NAME} (polyglot)" in text  # the vendor heading
    assert f"{POLYGLOT_NAME}: vendor risk report - as of 2026-11-20" in text  # the footer
    for value in (POLYGLOT_EVENT, POLYGLOT_CATEGORY, POLYGLOT_DETAIL):
        assert value in text
    assert "????:DeepSeek-R2" in text
    assert (
        "4 characters not in the PDF font (U+6DF1, U+5EA6, U+6C42, U+7D22) are shown as '?'"
        in " ".join(text.split())  # the note may wrap
    )
    # The other formats keep the full text.
    md = render.render(report, "md").decode()
    assert CJK_EVENT in md
    assert POLYGLOT_EVENT in md


def test_pdf_without_a_font_to_embed_uses_the_core_fonts(
    session: Session, world: World, tmp_path: Path
) -> None:
    report = _polyglot_report(session)
    with pytest.warns(RuntimeWarning, match="core fonts"):
        data = render_pdf.render(report, font_dir=tmp_path)  # no font files there
    text = _pdf_text(data)
    assert latin1(POLYGLOT_NAME) == '???????? "?????????" Zaz\u00f3?c Is?k'
    assert f"{latin1(POLYGLOT_NAME)} (polyglot)" in text
    assert "Some characters outside Latin-1 are shown as '?' here" in text
    assert "Stability risk: " in text
    assert b"FontFile2" not in data  # nothing embedded
    assert b"FontFile2" in render.render(report, "pdf")


def test_csv_vendor_rows_are_contributions(session: Session, world: World) -> None:
    data = render.render(_vendor_report(session), "csv").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == 4  # two drivers per dimension
    for (_, dim), snap in _expected(world).items():
        mine = [r for r in rows if r["dimension"] == dim]
        assert {r["value"] for r in mine} == {str(snap.value)}
        assert {r["band"] for r in mine} == {snap.band}
        assert {r["confidence"] for r in mine} == {str(snap.confidence)}
        assert {r["snapshot_id"] for r in mine} == {str(snap.id)}
    (lawsuit,) = [r for r in rows if r["driver_ref"] == str(world.lawsuit.id)]
    assert lawsuit["driver_label"] == "'" + world.lawsuit.title  # never a formula
    assert lawsuit["driver_source_url"] == "https://news.example/sues"
    assert lawsuit["vendor_name"] == world.acme.name


def test_csv_portfolio_rows_are_vendor_dimensions(session: Session, world: World) -> None:
    report = service.build_report(session=session, as_of=AS_OF, now=NOW)
    rows = list(csv.DictReader(io.StringIO(render.render(report, "csv").decode())))
    assert [(r["vendor_slug"], r["dimension"]) for r in rows] == [
        ("acme", "stability"),
        ("acme", "lock_in"),
        ("other", "stability"),
        ("other", "lock_in"),
    ]
    assert rows[0]["value"] == "37.4"
    assert rows[0]["previous_value"] == "30.1"
    assert rows[0]["change"] == "7.3"
    assert rows[3]["value"] == "70.2"
    assert rows[3]["previous_value"] == ""


def _md_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("| "):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if set("".join(cells)) != {"-"}:
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_markdown_tables_show_the_stored_numbers(session: Session, world: World) -> None:
    text = render.render(_vendor_report(session), "md").decode("utf-8")
    tables = _md_tables(text)
    summary = tables[0]
    assert summary[0][:3] == ["Vendor", "Dimension", "Score"]
    by_dim = {row[1]: row for row in summary[1:]}
    for dim, label in (("stability", "Stability risk"), ("lock_in", "Lock-in risk")):
        snap = world.current[dim]
        assert by_dim[label][2] == f"{snap.value:.1f}"
        assert by_dim[label][3] == snap.band
        assert by_dim[label][4] == f"{snap.confidence:.2f}"
    assert "<script>" not in text  # escaped: \<script\>
    assert "javascript:" not in text
    assert "[Reuters: founder sues](https://news.example/sues)" in text
    assert "Model version: 2026.11-test" in text
    events = next(t for t in tables if t[0][0] == "Date")
    assert len(events) == 1 + 3
    assert events[-1][4] == "confirmed"
