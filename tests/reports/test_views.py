"""Report downloads from the UI and the API, through the real app and its sign-in."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import openpyxl
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from pypdf import PdfReader
from sqlmodel import Session
from starlette.testclient import TestClient

from kb.config import Settings
from kb.users import tokens
from kb.web.app import create_app
from tests.reports.conftest import World
from tests.web.factories import login, make_user


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def viewer(app: FastAPI, session: Session) -> Iterator[TestClient]:
    make_user(session, username="vera", role="viewer")
    with TestClient(app, base_url="http://testserver") as client:
        assert login(client, "vera").status_code == 303
        yield client


def test_viewer_downloads_vendor_report_as_attachment(viewer: TestClient, world: World) -> None:
    response = viewer.get("/reports/vendor/acme", params={"format": "html", "as_of": "2026-11-20"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"] == (
        'attachment; filename="report-acme-2026-11-20.html"'
    )
    soup = BeautifulSoup(response.text, "lxml")
    row = soup.find("tr", attrs={"data-vendor": "acme", "data-dimension": "stability"})
    assert row.find("td", class_="score").get_text() == f"{world.current['stability'].value:.1f}"

    pdf = viewer.get("/reports/portfolio", params={"format": "pdf", "as_of": "2026-11-20"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="portfolio-2026-11-20.pdf"' in pdf.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Lock-in risk: 70.2 (high)" in text  # the other vendor's stored score


def test_download_errors(viewer: TestClient, world: World, app: FastAPI) -> None:
    assert viewer.get("/reports/vendor/nope").status_code == 404
    assert viewer.get("/reports/portfolio", params={"format": "docx"}).status_code == 400
    assert viewer.get("/reports/portfolio", params={"as_of": "2999-01-01"}).status_code == 422
    with TestClient(app, base_url="http://testserver") as anonymous:
        response = anonymous.get("/reports/portfolio", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
        assert anonymous.get("/api/v1/reports/portfolio").status_code == 401


def test_api_with_token(app: FastAPI, session: Session, world: World) -> None:
    user = make_user(session, username="script", role="viewer")
    _, token = tokens.create_token(session=session, user=user, name="reports")
    session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(app, base_url="http://testserver") as client:
        response = client.get(
            "/api/v1/reports/vendor/acme", params={"as_of": "2026-11-20"}, headers=auth
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "content-disposition" not in response.headers
        data = json.loads(response.content)
        assert data["vendors"][0]["scores"]["lock_in"]["value"] == world.current["lock_in"].value

        xlsx = client.get(
            "/api/v1/reports/portfolio",
            params={"as_of": "2026-11-20", "since": "2026-11-13", "format": "xlsx"},
            headers=auth,
        )
        assert xlsx.status_code == 200
        rows = list(
            openpyxl.load_workbook(io.BytesIO(xlsx.content))["Summary"].iter_rows(values_only=True)
        )
        assert rows[1][3] == world.current["stability"].value
        missing = client.get("/api/v1/reports/vendor/nope", headers=auth)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "unknown vendor 'nope'"
        openapi = client.get("/openapi.json").json()
        assert "/api/v1/reports/portfolio" in openapi["paths"]


def test_dashboard_and_vendor_page_link_every_format(viewer: TestClient, world: World) -> None:
    dashboard = BeautifulSoup(viewer.get("/").text, "lxml")
    nav = dashboard.find("nav", class_="report-downloads")
    assert nav is not None
    assert [a["href"] for a in nav.find_all("a")] == [
        f"/reports/portfolio?format={fmt}" for fmt in ("html", "pdf", "xlsx", "csv", "json", "md")
    ]
    page = viewer.get("/vendors/acme")
    assert page.status_code == 200
    links = BeautifulSoup(page.text, "lxml").find("nav", class_="report-downloads").find_all("a")
    assert len(links) == 6
    for a in links:
        response = viewer.get(a["href"])
        assert response.status_code == 200, a["href"]
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        assert response.headers["content-disposition"].endswith(f'.{a["data-format"]}"')
