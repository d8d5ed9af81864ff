"""``kb users``: accounts (the first admin is created here)."""

from __future__ import annotations

import getpass
import sys

import typer

from kb.cli import common
from kb.models import Role
from kb.users import service as users

app = typer.Typer(help="User accounts.", no_args_is_help=True)


def _read_password() -> str:
    """From a prompt on a terminal (asked twice), else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            common.fail("the passwords do not match", common.EXIT_USAGE)
        return first
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name (letters, digits, _ . @ -)."),
    role: Role = typer.Option(Role.viewer, "--role", help="viewer, analyst or admin."),
) -> None:
    """Add a user. The password is read from a prompt, or from standard input when piped;
    never from an argument."""
    password = _read_password()
    try:
        with common.job_session() as session:
            users.create_user(session=session, username=name, password=password, role=role.value)
    except users.UserError as exc:
        common.fail(str(exc), common.EXIT_USAGE)
    typer.echo(f"user {name} added with role {role.value}")


@app.command("list")
def list_() -> None:
    """List users and their roles."""
    with common.job_session() as session:
        for u in users.list_users(session=session):
            state = "" if u.active else " (disabled)"
            typer.echo(f"{u.username:<24} {u.role}{state}")


@app.command("bootstrap")
def bootstrap(
    name: str = typer.Option("admin", "--name", help="Name of the first admin."),
) -> None:
    """Create the first admin with a random password if no admin exists yet (idempotent).

    The password is printed once and kept in <KB_DATA_DIR>/initial_admin_password (mode 600)
    until you change it; `make run` calls this so a fresh install can be signed in to."""
    try:
        with common.job_session() as session:
            password = users.bootstrap_admin(session=session, username=name)
    except users.UserError as exc:
        common.fail(str(exc), common.EXIT_USAGE)
    if password is None:
        typer.echo("an admin already exists; nothing to do")
        return
    path = common.settings().data_dir / "initial_admin_password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    typer.echo(f"created admin {name!r} with password: {password}")
    typer.echo(f"(also saved in {path}; change it after signing in and delete that file)")
