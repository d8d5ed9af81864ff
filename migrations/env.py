"""Alembic environment: the URL comes from kb.config (or a connection passed in by kb.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kb import models
from kb.config import get_settings
from kb.db import make_engine
from kb.migrate import include_object

config = context.config
target_metadata = models.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().effective_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(get_settings())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
