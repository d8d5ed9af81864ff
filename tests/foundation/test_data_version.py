"""kb.db.data_version: the probe the page cache keys on changes with every commit, from this
connection's pool, from another engine, and from another process; on SQLite it stays put
while nothing is committed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb.config import Settings
from kb.db import data_version, is_sqlite, make_engine

WRITE_FROM_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from kb.config import Settings
    from kb.db import make_engine
    engine = make_engine(Settings(database_url=sys.argv[1]))
    with engine.begin() as conn:
        conn.execute(text("UPDATE vendor SET name = 'Renamed elsewhere' WHERE slug = 'openai'"))
    engine.dispose()
    """
)


def _name(session: Session) -> str:
    return str(session.execute(text("SELECT name FROM vendor WHERE slug = 'openai'")).scalar())


def test_version_moves_with_commits_from_anywhere(catalog: Session, settings: Settings):
    engine = make_engine(settings)  # the reader: a web worker's engine
    other = make_engine(settings)  # a writer with its own connections
    try:
        with Session(engine) as reader:
            first = data_version(reader)
            if is_sqlite(engine):  # PostgreSQL's probe also sees other tests' databases
                assert data_version(reader) == first
                _name(reader)  # reads change nothing
                assert data_version(reader) == first

            with Session(other) as writer:  # another engine commits
                writer.execute(text("UPDATE vendor SET name = 'Renamed' WHERE slug = 'openai'"))
                writer.commit()
            second = data_version(reader)
            assert second != first
            assert _name(reader) == "Renamed"

            with Session(engine) as same_pool:  # the reader's own pool commits
                same_pool.execute(text("UPDATE vendor SET name = 'Again' WHERE slug = 'openai'"))
                same_pool.commit()
            third = data_version(reader)
            assert third not in (first, second)

            subprocess.run(  # another process commits (kb ingest from cron, say)
                [sys.executable, "-c", WRITE_FROM_ANOTHER_PROCESS, settings.effective_database_url],
                check=True,
            )
            fourth = data_version(reader)
            assert fourth not in (first, second, third)
            assert _name(reader) == "Renamed elsewhere"
    finally:
        engine.dispose()
        other.dispose()


def test_uncommitted_changes_do_not_move_the_version_on_sqlite(catalog: Session, engine: Engine):
    with Session(engine) as reader, Session(engine) as writer:
        before = data_version(reader)
        writer.execute(text("UPDATE vendor SET name = 'Pending' WHERE slug = 'openai'"))
        writer.flush()
        if is_sqlite(engine):
            assert data_version(reader) == before
        writer.rollback()
        if is_sqlite(engine):
            assert data_version(reader) == before
        assert _name(reader) != "Pending"
