"""``kb score`` as cron runs it (a real process, a real database) and the alert webhook against
a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner, Result

from kb.cli import app
from kb.config import get_settings
from kb.scoring import service
from kb.scoring import weights as weights_module
from tests.scoring.test_service import build_acme


@pytest.fixture
def kb(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Result]]:
    """Run ``kb`` in-process (typer's runner, the real command) with the test's settings;
    extra keyword arguments become environment variables."""
    for key in [k for k in os.environ if k.startswith("KB_") and k != "KB_TEST_POSTGRES_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))

    def run(*args: str, **env: str) -> Result:
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            get_settings.cache_clear()
            try:
                return CliRunner().invoke(app, list(args))
            finally:
                get_settings.cache_clear()

    yield run
    get_settings.cache_clear()


class Hook:
    """A webhook receiver: records JSON bodies; answers with ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 204
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def test_kb_score_snapshots_alerts_webhook_and_explain(
    session: Session, kb: Callable[..., Result], hook: Hook
) -> None:
    ids = build_acme(session)
    session.commit()

    first = kb("score", "--as-of", "2025-10-19")
    assert first.exit_code == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["vendor", "stability", "lock-in", "alerts"]
    acme = next(line for line in lines if line.startswith("acme "))
    assert acme.split()[1:3] == ["3.0", "low"]
    assert "2 snapshots stored" in first.stdout

    second = kb("score", "--as-of", "2026-11-23T12:00:00", "--json", KB_SCORE_WEBHOOK_URL=hook.url)
    assert second.exit_code == 0, second.stderr
    data = json.loads(second.stdout)
    (score,) = data["scores"]
    assert score["slug"] == "acme"
    assert score["stability"] == {"value": 15.7, "band": "low", "confidence": 0.427}
    assert score["lock_in"]["value"] == 48.4
    assert data["snapshots_stored"] == 2
    assert {(a["dimension"], a["reason"]) for a in data["alerts"]} == {
        ("stability", "jumped +12.7"),
        ("lock_in", "jumped +19.0"),
    }
    # The webhook got the same alerts.
    assert len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["kind"] == "score-alerts"
    assert body["run_id"] == data["run_id"]
    assert {a["slug"] for a in body["alerts"]} == {"acme"}
    assert len(service.score_history(session=session, vendor_id=ids["vendor"])) == 4

    # --no-snapshot stores nothing and sends nothing.
    dry = kb("score", "--no-snapshot", "--vendor", "acme", KB_SCORE_WEBHOOK_URL=hook.url)
    assert dry.exit_code == 0, dry.stderr
    assert "no snapshot stored" in dry.stdout
    session.expire_all()
    assert len(service.score_history(session=session, vendor_id=ids["vendor"])) == 4
    assert len(hook.bodies) == 1

    explain = kb("score", "explain", "acme", "--as-of", "2026-11-23")
    assert explain.exit_code == 0, explain.stderr
    text = explain.stdout
    assert "stability: 15.7 (low), confidence 0.43" in text
    assert "lock_in: 48.4 (moderate), confidence 0.70" in text
    assert "Acme sued" in text and "Acme releases open weights" in text
    assert "-5.16  event" in text

    preview = kb(
        "score",
        "what-if",
        str(ids["sued"]),
        "--status",
        "dismissed",
        "--as-of",
        "2026-11-23",
    )
    assert preview.exit_code == 0, preview.stderr
    rows = [line.split() for line in preview.stdout.splitlines()]
    assert ["acme", "stability", "15.7", "low", "->", "3.0", "low", "(-12.7)"] in rows
    assert ["acme", "lock_in", "48.4", "moderate", "->", "48.4", "moderate", "(+0.0)"] in rows


def test_kb_score_usage_errors(
    kb: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad_vendor = kb("score", "--vendor", "nope")
    assert bad_vendor.exit_code == 2
    assert "no vendor with slug 'nope'" in bad_vendor.stderr
    bad_date = kb("score", "--as-of", "23/11/2026")
    assert bad_date.exit_code == 2
    assert "--as-of" in bad_date.stderr
    broken = tmp_path / "scoring.yaml"
    broken.write_text("model_version: x\n")
    monkeypatch.setattr(weights_module, "default_path", lambda: broken)
    for args in (
        ["score"],
        ["score", "explain", "acme"],
        ["score", "what-if", "1", "--status", "dismissed"],
    ):
        result = kb(*args)
        assert result.exit_code == 2, result.output
        assert f"{broken}: dimensions: Field required" in result.stderr


def test_webhook_failures_are_reported_not_raised(hook: Hook) -> None:
    alert = service.Alert(
        vendor_id=1,
        slug="acme",
        dimension="stability",
        previous=10.0,
        current=30.0,
        previous_band="low",
        band="moderate",
        reason="band worsened low -> moderate; jumped +20.0",
    )
    assert service.post_alerts(url=hook.url, alerts=[alert]) is None
    assert hook.bodies[-1]["alerts"][0]["reason"].startswith("band worsened")
    hook.status = 500
    assert service.post_alerts(url=hook.url, alerts=[alert]) == f"webhook {hook.url}: HTTP 500"
    closed = Hook()
    url = closed.url
    closed.close()
    error = service.post_alerts(url=url, alerts=[alert], timeout=2)
    assert error is not None and error.startswith(f"webhook {url}: ConnectError")
