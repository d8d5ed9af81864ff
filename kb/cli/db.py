"""``kb db``: database schema commands."""

from __future__ import annotations

import typer

from kb import migrate
from kb.cli import common

app = typer.Typer(help="Database schema: migrate and inspect.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Migrate the database to the newest schema (safe to run every time)."""
    eng = common.engine()
    try:
        before = migrate.current_revision(eng)
        migrate.upgrade(eng, revision)
        after = migrate.current_revision(eng)
    except Exception as exc:
        common.fail(f"migration failed: {exc}")
    finally:
        eng.dispose()
    if before == after:
        typer.echo(f"database already at {after}")
    else:
        typer.echo(f"database migrated {before or 'empty'} -> {after}")


@app.command("current")
def current() -> None:
    """Show the database's schema revision and the newest one available."""
    eng = common.engine()
    try:
        rev = migrate.current_revision(eng)
    finally:
        eng.dispose()
    head = migrate.head_revision()
    typer.echo(f"current: {rev or 'none'}\nhead:    {head}")
    if rev != head:
        raise typer.Exit(common.EXIT_FAILED)
