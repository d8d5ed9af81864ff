"""Settings read from the environment (prefix ``KB_``); nothing happens at import time."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_FILE = "kb.sqlite3"


class Settings(BaseSettings):
    """Every setting kb reads. Build one per process (or per test) with ``Settings(...)``."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; default: a SQLite file kb.sqlite3 in the data directory.",
    )
    data_dir: Path = Field(default=Path("."), description="Where kb keeps its files.")
    secret_key: str = Field(
        default="",
        description="Signs sessions and CSRF tokens. Set it in production; "
        "when empty, a random key is kept in <data_dir>/secret_key.",
    )
    feeds_file: Path = Field(default=Path("feeds.yaml"), description="Feed list for ingestion.")
    ingest_concurrency: int = Field(default=8, ge=1, le=64, description="Feeds fetched at once.")
    ingest_timeout: float = Field(default=30.0, gt=0, description="Seconds per feed, with body.")
    ingest_max_bytes: int = Field(default=10_485_760, ge=1024, description="Largest feed body.")
    ingest_user_agent: str = Field(default="", description="User-Agent; default names kb.")
    ingest_workers: int = Field(default=2, ge=0, le=16, description="Parse processes; 0: none.")
    ingest_ca_file: str = Field(
        default="",
        description="PEM bundle of the CAs trusted for HTTPS feeds, used instead of certifi's "
        "(e.g. an internal CA of a feed mirror); empty: certifi's bundle.",
    )
    score_webhook_url: str = Field(
        default="", description="When set, `kb score` POSTs its alerts there as JSON."
    )
    page_cache_entries: int = Field(
        default=256,
        ge=0,
        le=100_000,
        description="Rendered pages kept per web worker, reused while the data is unchanged; "
        "0 turns the page cache off.",
    )
    page_cache_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest a cached page is reused (for what moves with the clock alone).",
    )
    sql_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        value = value.strip()
        # Accept the plain libpq form and use the psycopg 3 driver kb depends on.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def effective_database_url(self) -> str:
        """The URL to connect to: the configured one, else the SQLite file in data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DEFAULT_DB_FILE).resolve()}"

    def effective_secret_key(self) -> str:
        """The configured secret key, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
