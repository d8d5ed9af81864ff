"""`kb ingest` and `kb export items` as cron runs them: real processes, exit codes, output,
SIGKILL mid-run and overlapping runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from kb.cli import app
from kb.config import get_settings
from kb.models import IngestRun, Item, ItemSource, ScoreSnapshot, Vendor
from tests.ingest.factories import entry, feed_spec, rss, write_feeds
from tests.ingest.server import FeedServer, Route

KB = [sys.executable, "-m", "kb"]


def env(db_url: str, data_dir: Path, timeout: int = 5) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    out.update(
        KB_DATABASE_URL=db_url,
        KB_DATA_DIR=str(data_dir),
        KB_INGEST_TIMEOUT=str(timeout),
        NO_COLOR="1",
        COLUMNS="200",
    )
    return out


def kb(*args: str, db_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KB, *args], capture_output=True, text=True, env=env(db_url, data_dir), timeout=120
    )


def scalar(engine: Engine, query) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """The CLI caches its settings per process: start and end with a clean cache."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_exit_codes_summary_json_and_export(
    db_url: str,
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    # In-process (typer's runner) to keep the suite fast; the process-level behaviour (signals,
    # overlapping processes) is covered below with real processes.
    for key, value in env(db_url, tmp_path).items():
        if key.startswith("KB_"):
            monkeypatch.setenv(key, value)

    def kb(*args: str, **_kw: object) -> Result:
        return CliRunner().invoke(app, list(args))

    feed_server.routes["/a"] = Route(
        body=rss([entry(i, title=f"Lawsuit story {i}") for i in range(3)])
    )
    feed_server.routes["/b"] = Route(status=500)
    feeds = tmp_path / "feeds.yaml"
    write_feeds(feeds, [feed_spec("Good feed", feed_server.url("/a"))])
    ok = kb("ingest", "--feeds", str(feeds), db_url=db_url, data_dir=tmp_path)
    assert ok.exit_code == 0, ok.output
    assert "[1/1] Good feed: ok: 3 new, 0 updated, 0 unchanged" in ok.stdout
    assert "1 feeds, 0 failed; 3 new" in ok.stdout

    write_feeds(
        feeds,
        [
            feed_spec("Good feed", feed_server.url("/a")),
            feed_spec("Broken feed", feed_server.url("/b")),
        ],
    )
    bad = kb("ingest", "--feeds", str(feeds), "--json", db_url=db_url, data_dir=tmp_path)
    assert bad.exit_code == 1, bad.output
    report = json.loads(bad.stdout)
    assert report["status"] == "partial" and report["totals"]["new"] == 0
    (failed,) = [f for f in report["feeds"] if f["status"] == "error"]
    assert failed["name"] == "Broken feed" and "500" in failed["error"]

    exported = kb("export", "items", "--format", "jsonl", db_url=db_url, data_dir=tmp_path)
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(rows) == 3
    assert {
        "guid",
        "url",
        "title",
        "published_at",
        "feeds",
        "vendors",
        "suggested_categories",
    } <= set(rows[0])
    assert rows[0]["feeds"] == ["Good feed"]
    assert rows[0]["published_at"].startswith("2026-11-")
    out = tmp_path / "items.jsonl"
    written = kb(
        "export",
        "items",
        "--output",
        str(out),
        "--since",
        "2000-01-01",
        db_url=db_url,
        data_dir=tmp_path,
    )
    assert written.exit_code == 0 and len(out.read_text().splitlines()) == 3


def test_a_bad_feeds_file_exits_2_and_fetches_nothing(
    sqlite_template: Path,
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    # No database difference here: SQLite only, in-process, to keep the suite fast.
    db = tmp_path / "kb.sqlite3"
    shutil.copyfile(sqlite_template, db)
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    feed_server.routes["/a"] = Route(body=rss([entry(1)]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"version: 1\nfeeds:\n  - name: a\n    url: {feed_server.url('/a')}\n    kind: gossip\n"
    )
    result = CliRunner().invoke(app, ["ingest", "--feeds", str(feeds)])
    assert result.exit_code == 2
    assert "feeds.yaml:5: feeds[0].kind" in result.stderr
    assert "nothing was fetched" in result.stderr
    missing = CliRunner().invoke(app, ["ingest", "--feeds", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert feed_server.hits == []
    wrong = CliRunner().invoke(app, ["export", "items", "--format", "csv"])
    assert wrong.exit_code == 2 and "jsonl" in wrong.stderr


def test_sigkill_loses_nothing_and_overlapping_runs_never_duplicate(
    db_url: str, tmp_path: Path, engine: Engine, feed_server: FeedServer
) -> None:
    for i in range(6):
        feed_server.routes[f"/f{i}"] = Route(body=rss([entry(i * 100 + j) for j in range(20)]))
    # the slow feed holds the first run open until it is killed
    feed_server.routes["/slow"] = Route(body=rss([entry(999)]), delay=25)
    feeds = tmp_path / "feeds.yaml"
    specs = [feed_spec(f"f{i}", feed_server.url(f"/f{i}")) for i in range(6)]
    write_feeds(feeds, [*specs, feed_spec("slow", feed_server.url("/slow"))])
    args = [*KB, "ingest", "--feeds", str(feeds)]
    first = subprocess.Popen(
        args,
        env=env(db_url, tmp_path, timeout=60),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while scalar(engine, select(func.count()).select_from(Item)) < 120:  # fast feeds committed
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    # an overlapping run refuses to start and changes nothing
    overlap = subprocess.run(
        args, env=env(db_url, tmp_path), capture_output=True, text=True, timeout=60
    )
    assert overlap.returncode == 1 and "another ingest run is in progress" in overlap.stderr
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    assert scalar(engine, select(func.count()).select_from(Item)) == 120

    feed_server.routes["/slow"] = Route(body=rss([entry(999)]))
    second = subprocess.run(
        args, env=env(db_url, tmp_path), capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert scalar(engine, select(func.count()).select_from(Item)) == 121
    assert scalar(engine, select(func.count()).select_from(ItemSource)) == 121
    with engine.connect() as conn:
        statuses = conn.execute(select(IngestRun.status).order_by(IngestRun.id)).scalars().all()  # type: ignore[arg-type]
    assert statuses == ["interrupted", "ok"]


def test_each_run_stores_a_score_snapshot_of_every_vendor(
    catalog,  # type: ignore[no-untyped-def]
    db_url: str,
    engine: Engine,
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    for key, value in env(db_url, tmp_path).items():
        if key.startswith("KB_"):
            monkeypatch.setenv(key, value)
    feed_server.routes["/a"] = Route(body=rss([entry(1, title="OpenAI sued over training data")]))
    feeds = tmp_path / "feeds.yaml"
    write_feeds(feeds, [feed_spec("Good feed", feed_server.url("/a"))])
    result = CliRunner().invoke(app, ["ingest", "--feeds", str(feeds), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)["scores"]
    assert "error" not in scores, scores
    vendors = scalar(engine, select(func.count()).select_from(Vendor))
    assert scores["vendors"] == vendors > 0
    with engine.connect() as conn:
        run_ids = set(conn.execute(select(ScoreSnapshot.run_id).distinct()).scalars())  # type: ignore[call-overload]
    assert run_ids == {scores["run_id"]}
    assert scalar(engine, select(func.count()).select_from(ScoreSnapshot)) == 2 * vendors
