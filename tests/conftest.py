"""Shared fixtures: every database test runs on SQLite and, when KB_TEST_POSTGRES_URL is set,
on PostgreSQL too. Databases are built with ``alembic upgrade head`` (never ``create_all``) once
per backend and worker; each test then gets a clean copy (SQLite) or clean tables (PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from kb import migrate
from kb.config import Settings
from kb.db import make_engine

PG_URL_ENV = "KB_TEST_POSTGRES_URL"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def backends() -> list[str]:
    """SQLite always; PostgreSQL when its URL is given."""
    return ["sqlite", "postgres"] if os.environ.get(PG_URL_ENV) else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    if _truthy(os.environ.get("CI")) and not os.environ.get(PG_URL_ENV):
        raise pytest.UsageError(
            f"CI is set but {PG_URL_ENV} is not: in CI the suite must also run on PostgreSQL."
        )


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_admin_url() -> str:
    url = os.environ[PG_URL_ENV]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _recreate_pg_database(name: str) -> str:
    """Drop and create database ``name`` on the test server; return its URL."""
    admin_url = make_url(_pg_admin_url())
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the CI contract: a missing PostgreSQL is a failure
        raise RuntimeError(
            f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is not usable: {exc}"
        ) from exc
    finally:
        admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    admin = create_engine(make_url(_pg_admin_url()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per worker, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}")
    engine = make_engine(settings)
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per worker."""
    # A unique name per run and worker, so concurrent test runs never share a database.
    name = f"kb_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    url = _recreate_pg_database(name)
    engine = make_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    _drop_pg_database(name)


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database URL for one test, on each backend in turn."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kb.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_database_url")
    engine = make_engine(Settings(database_url=url))
    _truncate_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, data directory and secret."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        feeds_file=tmp_path / "feeds.yaml",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def catalog(session: Session) -> Session:
    """The shipped vendor catalog and taxonomy, loaded and committed."""
    from kb.vendors import catalog as vendor_catalog

    vendor_catalog.load_taxonomy(session=session)
    vendor_catalog.load_vendors(session=session)
    session.commit()
    return session
