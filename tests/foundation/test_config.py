"""Settings come from the environment, with safe defaults and no import-time side effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Settings


def test_default_database_is_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'kb.sqlite3'}"


def test_environment_prefix_and_postgres_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://kb@db/kb")
    assert Settings().effective_database_url == "postgresql+psycopg://kb@db/kb"


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="")
    key = settings.effective_secret_key()
    assert len(key) >= 32
    assert Settings(data_dir=tmp_path, secret_key="").effective_secret_key() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path, secret_key="given").effective_secret_key() == "given"
