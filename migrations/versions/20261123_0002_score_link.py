"""score_link: what scoring reads of each (event, vendor) link, kept by triggers

Why: a full rescore of 100 vendors over 1M events must take under a second on SQLite. The
one-pass aggregate over event JOIN event_vendor spent most of its time on the join, on
parsing dates and on sorting 1M rows for the GROUP BY. score_link holds one narrow row per
link (vendor, category, event, status, merged flag, day number, severity/5 * confidence,
source grade in capitals, directions); on SQLite it is a WITHOUT ROWID table clustered by (vendor,
category, directions), so the sums per group stream in key order without a sort.

The database keeps it right whoever writes (events service, ingestion, merges, SQL by hand):
- a link added to or removed from event_vendor adds or removes its row;
- a change to any scoring column of an event (including event.source_grade, itself kept by
  the triggers of revision 0001) rewrites its rows;
- deleting an event or a vendor removes them (foreign keys, ON DELETE CASCADE).
Existing links are copied in by this migration.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_COLUMNS = (
    "category_id, status, merged_into_id, occurred_at, severity, confidence, source_grade, "
    "direction_stability, direction_lock_in"
)


def _values(dialect: str, e: str) -> str:
    """The score_link values of event alias ``e`` (after the vendor id)."""
    if dialect == "sqlite":
        merged = f"({e}.merged_into_id IS NOT NULL)"
        day = f"CAST(julianday({e}.occurred_at) - 2440587.5 AS INTEGER)"
    else:
        merged = f"({e}.merged_into_id IS NOT NULL)::int"
        day = f"({e}.occurred_at - DATE '1970-01-01')"
    trim = "trim" if dialect == "sqlite" else "btrim"
    return (
        f"{e}.category_id, {e}.id, {e}.status, {merged}, {day}, "
        f"{e}.severity / 5.0 * {e}.confidence, upper({trim}({e}.source_grade)), "
        f"{e}.direction_stability, {e}.direction_lock_in"
    )


def _set(dialect: str) -> str:
    """SET clause copying an updated event (``new``) into its rows."""
    cols = ("category_id", "event_id", "status", "merged", "day", "base", "grade", "ds", "dl")
    values = _values(dialect, "new").split(", ")
    return ", ".join(f"{c} = {v}" for c, v in zip(cols, values, strict=True) if c != "event_id")


INSERT = "INSERT INTO score_link (vendor_id, category_id, event_id, status, merged, day, base, grade, ds, dl)"


def upgrade() -> None:
    op.create_table(
        'score_link',
        sa.Column('vendor_id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('merged', sa.Integer(), nullable=False),
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('base', sa.Float(), nullable=False),
        sa.Column('grade', sa.String(length=1), nullable=True),
        sa.Column('ds', sa.Integer(), nullable=False),
        sa.Column('dl', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_score_link_event_id_event'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_score_link_vendor_id_vendor'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('vendor_id', 'category_id', 'ds', 'dl', 'event_id', name=op.f('pk_score_link')),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f('ix_score_link_event_id'), 'score_link', ['event_id'], unique=False)
    dialect = op.get_bind().dialect.name
    op.execute(
        f"{INSERT} SELECT ev.vendor_id, {_values(dialect, 'e')} "
        "FROM event_vendor ev JOIN event e ON e.id = ev.event_id"
    )
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER trg_score_link_ev_ai AFTER INSERT ON event_vendor BEGIN "
            f"{INSERT} SELECT new.vendor_id, {_values(dialect, 'e')} FROM event e "
            "WHERE e.id = new.event_id; END"
        )
        op.execute(
            "CREATE TRIGGER trg_score_link_ev_ad AFTER DELETE ON event_vendor BEGIN "
            "DELETE FROM score_link WHERE event_id = old.event_id AND vendor_id = old.vendor_id; "
            "END"
        )
        op.execute(
            "CREATE TRIGGER trg_score_link_ev_au AFTER UPDATE OF event_id, vendor_id "
            "ON event_vendor BEGIN "
            "DELETE FROM score_link WHERE event_id = old.event_id AND vendor_id = old.vendor_id; "
            f"{INSERT} SELECT new.vendor_id, {_values(dialect, 'e')} FROM event e "
            "WHERE e.id = new.event_id; END"
        )
        op.execute(
            f"CREATE TRIGGER trg_score_link_event_au AFTER UPDATE OF {EVENT_COLUMNS} ON event "
            f"BEGIN UPDATE score_link SET {_set(dialect)} WHERE event_id = new.id; END"
        )
        return
    op.execute(
        f"""
CREATE OR REPLACE FUNCTION kb_score_link_ev() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM score_link WHERE event_id = OLD.event_id AND vendor_id = OLD.vendor_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {INSERT} SELECT NEW.vendor_id, {_values(dialect, 'e')} FROM event e
        WHERE e.id = NEW.event_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
    )
    op.execute(
        f"""
CREATE OR REPLACE FUNCTION kb_score_link_event() RETURNS trigger AS $$
BEGIN
    UPDATE score_link SET {_set(dialect)} WHERE event_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
    )
    op.execute(
        "CREATE TRIGGER trg_score_link_ev AFTER INSERT OR DELETE OR UPDATE OF event_id, vendor_id "
        "ON event_vendor FOR EACH ROW EXECUTE FUNCTION kb_score_link_ev()"
    )
    op.execute(
        f"CREATE TRIGGER trg_score_link_event AFTER UPDATE OF {EVENT_COLUMNS} ON event "
        "FOR EACH ROW EXECUTE FUNCTION kb_score_link_event()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("trg_score_link_ev_ai", "trg_score_link_ev_ad", "trg_score_link_ev_au",
                     "trg_score_link_event_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_score_link_ev ON event_vendor")
        op.execute("DROP TRIGGER IF EXISTS trg_score_link_event ON event")
        op.execute("DROP FUNCTION IF EXISTS kb_score_link_ev()")
        op.execute("DROP FUNCTION IF EXISTS kb_score_link_event()")
    op.drop_index(op.f('ix_score_link_event_id'), table_name='score_link')
    op.drop_table('score_link')
