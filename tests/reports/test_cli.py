"""`kb export report` and `kb export portfolio` as a real process: output and exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.config import get_settings
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


@pytest.fixture
def kb_cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``kb`` in-process (quicker than a process) on the test database, in tmp_path."""
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    yield run
    get_settings.cache_clear()


def test_portfolio_xlsx_goes_to_a_default_file(kb_cli, world: World, tmp_path: Path) -> None:
    result = kb_cli(
        "export", "portfolio", "--format", "xlsx", "--as-of", "2026-11-20", "--since",
        "2026-11-13",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    path = tmp_path / "portfolio-2026-11-20.xlsx"
    assert f"wrote {path.name}" in result.stderr
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    rows = list(wb["Summary"].iter_rows(values_only=True))
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [
        ("acme", "stability", 37.4),
        ("acme", "lock_in", 55.6),
        ("other", "stability", 12.0),
        ("other", "lock_in", 70.2),
    ]
    assert rows[1][8] == 30.1  # previous score: the one stored on --since


def test_markdown_to_a_named_file(kb_cli, world: World, tmp_path: Path) -> None:
    result = kb_cli("export", "report", "--vendor", "acme", "-f", "md", "--as-of", "2026-11-20",
                    "-o", "acme.md")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "| Stability risk | 37.4 | moderate |" in (tmp_path / "acme.md").read_text()


def test_bad_requests_exit_2_and_write_nothing(kb_cli, world: World, tmp_path: Path) -> None:
    unknown = kb_cli("export", "report", "--vendor", "nope", "-o", "out.html")
    assert unknown.exit_code == 2
    assert "unknown vendor 'nope'" in unknown.stderr
    bad_date = kb_cli("export", "portfolio", "--as-of", "20/11/2026", "-o", "out.html")
    assert bad_date.exit_code == 2
    assert "YYYY-MM-DD" in bad_date.stderr
    future = kb_cli("export", "portfolio", "--as-of", "2999-01-01", "-o", "out.html")
    assert future.exit_code == 2
    assert "in the future" in future.stderr
    bad_format = kb_cli("export", "portfolio", "--format", "docx")
    assert bad_format.exit_code == 2
    assert "unknown format 'docx'" in bad_format.stderr
    assert not list(tmp_path.glob("*out.*"))
