"""Helpers shared by the CLI commands: settings, engine, errors and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from kb import migrate
from kb.config import Settings, get_settings
from kb.db import make_engine, session_scope

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print an error on stderr and exit with ``code``."""
    typer.secho(f"kb: error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings() -> Settings:
    """The settings from the environment, with the data directory created."""
    s = get_settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    return s


def engine() -> Engine:
    """An engine for the configured database; exits 1 with a clear message if unreachable."""
    s = settings()
    try:
        eng = make_engine(s)
        with eng.connect():
            pass
    except Exception as exc:
        fail(f"cannot open the database {s.effective_database_url}: {exc}")
    return eng


def require_migrated(eng: Engine) -> None:
    """Exit with a hint when the database is not at the newest migration."""
    try:
        current = migrate.current_revision(eng)
    except (OperationalError, ProgrammingError) as exc:
        fail(f"cannot read the database schema: {exc}")
    if current != migrate.head_revision():
        fail(
            f"the database is at revision {current or 'none'}, not "
            f"{migrate.head_revision()}: run `kb db upgrade` first",
            EXIT_USAGE,
        )


@contextmanager
def job_session() -> Iterator[Session]:
    """A committed-on-success session on a migrated database."""
    eng = engine()
    require_migrated(eng)
    try:
        with session_scope(eng) as session:
            yield session
    finally:
        eng.dispose()
