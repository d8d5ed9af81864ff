"""Migrations build the schema on SQLite and PostgreSQL, match the models, and go down and up."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from kb import migrate
from kb.migrate import include_object
from kb.models import metadata


def _drift(engine: Engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(ctx, metadata)


def test_head_matches_models(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _drift(engine) == []


def test_every_model_table_exists(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert not (remaining & set(metadata.tables))
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _drift(engine) == []


def test_constraint_names_follow_the_convention(engine: Engine) -> None:
    insp = inspect(engine)
    uniques = {u["name"] for u in insp.get_unique_constraints("item")}
    assert "uq_item_dedup_key" in uniques
    fks = {fk["name"] for fk in insp.get_foreign_keys("item_source")}
    assert {"fk_item_source_item_id_item", "fk_item_source_feed_id_feed"} <= fks


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
)
def test_audit_log_is_append_only_in_the_database(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor_name, action, entity_type) "
                "VALUES (CURRENT_TIMESTAMP, 'test', 'a', 'b')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["a"]
