"""``kb serve`` starts a real uvicorn server on 127.0.0.1 that serves the app."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from uvicorn.protocols.http.h11_impl import H11Protocol

from kb.config import Settings
from kb.web.server import NoDelayH11Protocol, set_nodelay


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KB_DATABASE_URL=settings.effective_database_url,
        KB_DATA_DIR=str(settings.data_dir),
        KB_SECRET_KEY=settings.secret_key,
        PYTHONUNBUFFERED="1",
    )
    return env


def test_kb_serve_answers_on_a_free_port(settings: Settings, tmp_path: Path):
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kb", "serve", "--port", "0"],
            env=_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"running on http://127\.0\.0\.1:(\d+)", log.read_text())
            port = int(found.group(1)) if found else None
            time.sleep(0.1)
        assert port, log.read_text()
        base = f"http://127.0.0.1:{port}"
        login = httpx.get(f"{base}/login", timeout=10)
        assert login.status_code == 200
        assert "script-src 'self'" in login.headers["content-security-policy"]
        assert httpx.get(f"{base}/", timeout=10).status_code == 303
        assert httpx.get(f"{base}/static/kb.css", timeout=10).status_code == 200
        assert httpx.get(f"{base}/api/v1/vendors", timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_kb_serve_refuses_an_unmigrated_database(tmp_path: Path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        data_dir=tmp_path,
        secret_key="x" * 20,
    )
    result = subprocess.run(
        [sys.executable, "-m", "kb", "serve", "--port", "0"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "kb db upgrade" in result.stderr


class _Transport:
    """The one thing set_nodelay asks of a transport: its socket (a real accepted one)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> socket.socket | None:
        return self.sock if name == "socket" else None


def test_accepted_connections_get_tcp_nodelay():
    """Without it, multi-worker uvicorn answers each request after a ~40 ms delayed ACK."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()) as _client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                set_nodelay(_Transport(accepted))  # type: ignore[arg-type]
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert issubclass(NoDelayH11Protocol, H11Protocol)
