"""The ``kb`` command: one sub-command per job, each a thin call into a service."""

from __future__ import annotations

import typer

from kb.cli import db as db_cli
from kb.cli import export as export_cli
from kb.cli import ingest as ingest_cli
from kb.cli import score as score_cli
from kb.cli import serve as serve_cli
from kb.cli import users as users_cli
from kb.cli import vendors as vendors_cli

app = typer.Typer(
    name="kb",
    help="kb: a knowledge base of LLM vendor governance, stability and lock-in risk.\n\n"
    "Settings come from the environment: KB_DATABASE_URL (default: SQLite file "
    "kb.sqlite3 in KB_DATA_DIR), KB_DATA_DIR (default: .), KB_SECRET_KEY.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(vendors_cli.app, name="vendors")
app.add_typer(users_cli.app, name="users")
app.add_typer(export_cli.app, name="export")
app.add_typer(score_cli.app, name="score")
app.command(name="ingest")(ingest_cli.ingest)
app.command(name="serve")(serve_cli.serve)


def main() -> None:
    """Console entry point."""
    app()
