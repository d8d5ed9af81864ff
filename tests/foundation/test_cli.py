"""The ``kb`` command as cron and admins run it: a real process, real databases, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KB = [sys.executable, "-m", "kb"]


def run_kb(
    *args: str, db_url: str, data_dir: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KB_") or k == "KB_TEST_POSTGRES_URL"
    }
    env.update(KB_DATABASE_URL=db_url, KB_DATA_DIR=str(data_dir), NO_COLOR="1", COLUMNS="200")
    return subprocess.run(
        [*KB, *args], input=stdin or "", capture_output=True, text=True, env=env, timeout=120
    )


def test_upgrade_load_list_and_reload(db_url: str, tmp_path: Path) -> None:
    first = run_kb("db", "upgrade", db_url=db_url, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "already at" in first.stdout

    load = run_kb("vendors", "load", db_url=db_url, data_dir=tmp_path)
    assert load.returncode == 0, load.stderr
    assert "vendors: 0 created" not in load.stdout
    again = run_kb("vendors", "load", db_url=db_url, data_dir=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "taxonomy: 0 created, 0 updated" in again.stdout
    assert "vendors: 0 created, 0 updated" in again.stdout

    listed = run_kb("vendors", "list", "--json", db_url=db_url, data_dir=tmp_path)
    assert listed.returncode == 0
    assert '"slug": "anthropic"' in listed.stdout


def test_fresh_sqlite_file_is_created_and_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    result = run_kb("db", "upgrade", db_url=url, data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database migrated empty ->" in result.stdout
    current = run_kb("db", "current", db_url=url, data_dir=tmp_path)
    assert current.returncode == 0


def test_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = run_kb("vendors", "list", db_url=url, data_dir=tmp_path)
    assert result.returncode == 2
    assert "kb db upgrade" in result.stderr


def test_unreachable_database_is_a_clear_failure(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = run_kb("db", "upgrade", db_url=url, data_dir=tmp_path)
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr


def test_users_add_reads_the_password_from_stdin(db_url: str, tmp_path: Path) -> None:
    ok = run_kb("users", "add", "root-admin", "--role", "admin", db_url=db_url, data_dir=tmp_path,
                stdin="a long enough password\n")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    dup = run_kb("users", "add", "root-admin", "--role", "admin", db_url=db_url, data_dir=tmp_path,
                 stdin="a long enough password\n")  # fmt: skip
    assert dup.returncode == 2 and "already exists" in dup.stderr
    short = run_kb("users", "add", "other", db_url=db_url, data_dir=tmp_path, stdin="short\n")
    assert short.returncode == 2 and "at least 10" in short.stderr
    listed = run_kb("users", "list", db_url=db_url, data_dir=tmp_path)
    assert "root-admin" in listed.stdout and "admin" in listed.stdout


def test_password_is_never_an_argument(db_url: str, tmp_path: Path) -> None:
    result = run_kb("users", "add", "x1", "--password", "secretsecret", db_url=db_url,
                    data_dir=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_bad_catalog_file_exits_2_and_names_the_field(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "vendors.yaml"
    bad.write_text("version: 1\nvendors:\n  - name: No Slug\n")
    result = run_kb("vendors", "load", "--vendors-file", str(bad), db_url=db_url, data_dir=tmp_path)
    assert result.returncode == 2
    assert "vendors.0.slug" in result.stderr


@pytest.mark.parametrize("group", ["", "db", "vendors", "users", "export"])
def test_help_works_for_every_group(group: str, tmp_path: Path) -> None:
    args = [group, "--help"] if group else ["--help"]
    result = run_kb(*args, db_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", data_dir=tmp_path)
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_bootstrap_creates_the_first_admin_once(db_url: str, tmp_path: Path) -> None:
    first = run_kb("users", "bootstrap", db_url=db_url, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    saved = (tmp_path / "initial_admin_password").read_text().strip()
    assert saved in first.stdout and len(saved) >= 20
    assert (tmp_path / "initial_admin_password").stat().st_mode & 0o077 == 0
    second = run_kb("users", "bootstrap", db_url=db_url, data_dir=tmp_path)
    assert second.returncode == 0 and "already exists" in second.stdout
    listed = run_kb("users", "list", db_url=db_url, data_dir=tmp_path)
    assert listed.stdout.split() == ["admin", "admin"]
