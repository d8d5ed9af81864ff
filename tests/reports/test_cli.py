"""`kb export report` and `kb export portfolio` as a real process: output and exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from tests.reports.conftest import World


def run_kb(*args: str, db_url: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KB_") or k == "KB_TEST_POSTGRES_URL"
    }
    env.update(KB_DATABASE_URL=db_url, KB_DATA_DIR=str(cwd), NO_COLOR="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "kb", *args],
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_vendor_report_json_to_stdout(db_url: str, world: World, tmp_path: Path) -> None:
    result = run_kb(
        "export", "report", "--vendor", "acme", "--format", "json", "--as-of", "2026-11-20",
        db_url=db_url, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert data["kind"] == "vendor"
    assert data["vendors"][0]["scores"]["stability"]["value"] == world.current["stability"].value
    assert data["vendors"][0]["scores"]["lock_in"]["band"] == world.current["lock_in"].band


def test_portfolio_xlsx_goes_to_a_default_file(db_url: str, world: World, tmp_path: Path) -> None:
    result = run_kb(
        "export", "portfolio", "--format", "xlsx", "--as-of", "2026-11-20", "--since",
        "2026-11-13", db_url=db_url, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    path = tmp_path / "portfolio-2026-11-20.xlsx"
    assert f"wrote {path.name}" in result.stderr.decode()
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    rows = list(wb["Summary"].iter_rows(values_only=True))
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [
        ("acme", "stability", 37.4),
        ("acme", "lock_in", 55.6),
        ("other", "stability", 12.0),
        ("other", "lock_in", 70.2),
    ]
    assert rows[1][8] == 30.1  # previous score: the one stored on --since


def test_bad_requests_exit_2_and_write_nothing(db_url: str, world: World, tmp_path: Path) -> None:
    unknown = run_kb("export", "report", "--vendor", "nope", db_url=db_url, cwd=tmp_path)
    assert unknown.returncode == 2
    assert b"unknown vendor 'nope'" in unknown.stderr
    bad_date = run_kb(
        "export", "portfolio", "--as-of", "20/11/2026", "-o", "out.html",
        db_url=db_url, cwd=tmp_path,
    )  # fmt: skip
    assert bad_date.returncode == 2
    assert b"YYYY-MM-DD" in bad_date.stderr
    bad_format = run_kb("export", "portfolio", "--format", "docx", db_url=db_url, cwd=tmp_path)
    assert bad_format.returncode == 2
    assert b"unknown format 'docx'" in bad_format.stderr
    assert not list(tmp_path.glob("*out.*"))
