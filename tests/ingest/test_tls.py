"""HTTPS certificate verification against real HTTPS servers on 127.0.0.1, with certificates
from a private CA made by trustme: an unknown CA or a certificate for another host is a recorded
per-feed error that stores nothing and never stops the run; a CA named in KB_INGEST_CA_FILE is
trusted. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from kb.cli import app
from kb.config import Settings, get_settings
from kb.ingest.fetch import FetchOptions, FetchRequest, fetch_one
from kb.ingest.run import RunReport, run_ingest
from kb.models import Feed, IngestRun, Item, ItemSource
from tests.ingest.factories import entry, feed_spec, rss, write_feeds
from tests.ingest.server import FeedServer, Route

FAST = FetchOptions(timeout=5.0, connect_timeout=2.0, max_bytes=256 * 1024, concurrency=4)
UNTRUSTED = "TLS error: certificate verify failed: unable to get local issuer certificate"

HttpsServer = Callable[..., FeedServer]


def run(
    settings: Settings, engine: Engine, feeds: list[dict[str, Any]], ca_file: Path | None = None
) -> RunReport:
    path = write_feeds(settings.data_dir / "feeds.yaml", feeds)
    options = dataclasses.replace(FAST, ca_file=str(ca_file) if ca_file else None)
    return run_ingest(engine=engine, settings=settings, feeds_path=path, options=options)


def feed(session: Session, name: str) -> Feed:
    session.expire_all()
    return session.execute(select(Feed).where(Feed.name == name)).scalar_one()


def sources_of(session: Session, name: str) -> int:
    session.expire_all()
    return session.execute(
        select(func.count())
        .select_from(ItemSource)
        .join(Feed, Feed.id == ItemSource.feed_id)  # type: ignore[arg-type]
        .where(Feed.name == name)
    ).scalar_one()


def items(session: Session) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(Item)).scalar_one()


def test_an_untrusted_ca_is_a_recorded_tls_error_and_the_run_goes_on(
    settings: Settings,
    engine: Engine,
    session: Session,
    feed_server: FeedServer,
    https_server: HttpsServer,
) -> None:
    internal = https_server()
    internal.routes["/feed"] = Route(body=rss([entry(i) for i in range(3)]))
    feed_server.routes["/ok"] = Route(body=rss([entry(i) for i in range(10, 12)]))

    # No CA file: certifi's bundle, which has never heard of the test session's CA.
    report = run(
        settings,
        engine,
        [
            feed_spec("Internal mirror", internal.url("/feed")),
            feed_spec("Public", feed_server.url("/ok")),
        ],
    )

    out = {f.name: f for f in report.feeds}
    assert report.exit_code == 1 and report.status == "partial"
    assert out["Internal mirror"].status == "error"
    error = out["Internal mirror"].error or ""
    assert error.startswith(UNTRUSTED), error
    assert "not signed by a CA kb trusts; see KB_INGEST_CA_FILE" in error
    assert out["Public"].status == "ok" and out["Public"].new == 2

    bad = feed(session, "Internal mirror")
    assert bad.last_error == error and bad.error_count == 1 and bad.last_status is None
    assert bad.next_check_at is not None and bad.last_success_at is None
    assert sources_of(session, "Internal mirror") == 0
    assert sources_of(session, "Public") == 2 and items(session) == 2
    # kb hung up during the handshake: no HTTP request ever reached the server.
    assert internal.hits == []
    assert any("unknown ca" in e for e in internal.handshake_errors), internal.handshake_errors

    (saved,) = session.execute(select(IngestRun)).scalars().all()
    assert saved.report is not None
    assert {f["name"]: f["error"] for f in saved.report["feeds"]}["Internal mirror"] == error


def test_a_trusted_private_ca_is_accepted_and_replaces_certifi(
    settings: Settings,
    engine: Engine,
    session: Session,
    https_server: HttpsServer,
    private_ca_file: Path,
) -> None:
    internal = https_server()
    internal.routes["/feed"] = Route(body=rss([entry(i) for i in range(3)]), etag='"v1"')
    stranger = https_server(ca=trustme.CA())  # signed by a CA that is not in the file
    stranger.routes["/feed"] = Route(body=rss([entry(7)]))
    feeds = [
        feed_spec("Internal mirror", internal.url("/feed")),
        feed_spec("Other CA", stranger.url("/feed")),
    ]

    report = run(settings, engine, feeds, ca_file=private_ca_file)

    out = {f.name: f for f in report.feeds}
    assert out["Internal mirror"].status == "ok" and out["Internal mirror"].new == 3
    assert sources_of(session, "Internal mirror") == 3 and items(session) == 3
    ok = feed(session, "Internal mirror")
    assert ok.last_error is None and ok.last_status == 200 and ok.etag == '"v1"'
    # The file replaces certifi's bundle rather than adding to it: only its CAs are trusted.
    error = out["Other CA"].error or ""
    assert out["Other CA"].status == "error" and error.startswith(UNTRUSTED), error
    assert f"not signed by the CAs in {private_ca_file}" in error
    assert sources_of(session, "Other CA") == 0 and stranger.hits == []

    again = run(settings, engine, feeds[:1], ca_file=private_ca_file)  # keep-alive, 304
    assert again.feeds[0].status == "not-modified" and items(session) == 3
    assert internal.hits[-1].headers["if-none-match"] == '"v1"'


def test_a_certificate_for_another_host_name_fails(
    settings: Settings,
    engine: Engine,
    session: Session,
    feed_server: FeedServer,
    https_server: HttpsServer,
    private_ca_file: Path,
) -> None:
    # Both certificates come from the trusted CA; only the names are wrong.
    by_ip = https_server("feeds.example.test")
    by_ip.routes["/feed"] = Route(body=rss([entry(1)]))
    by_name = https_server("127.0.0.1")  # no DNS name in it, so not valid for "localhost"
    by_name.routes["/feed"] = Route(body=rss([entry(2)]))
    feed_server.routes["/ok"] = Route(body=rss([entry(3)]))
    localhost_url = by_name.url("/feed").replace("127.0.0.1", "localhost")

    report = run(
        settings,
        engine,
        [
            feed_spec("By IP", by_ip.url("/feed")),
            feed_spec("By name", localhost_url),
            feed_spec("Public", feed_server.url("/ok")),
        ],
        ca_file=private_ca_file,
    )

    out = {f.name: f for f in report.feeds}
    assert out["By IP"].status == "error" and out["By IP"].error == (
        "TLS error: certificate verify failed: "
        "IP address mismatch, certificate is not valid for '127.0.0.1'."
    )
    assert out["By name"].status == "error" and out["By name"].error == (
        "TLS error: certificate verify failed: "
        "Hostname mismatch, certificate is not valid for 'localhost'."
    )
    assert out["Public"].status == "ok" and out["Public"].new == 1
    for name in ("By IP", "By name"):
        assert feed(session, name).last_error == out[name].error
        assert sources_of(session, name) == 0
    assert items(session) == 1
    assert by_ip.hits == [] and by_name.hits == []


def test_ssl_cert_file_is_not_read(
    https_server: HttpsServer, private_ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documented choice: only KB_INGEST_CA_FILE changes the trusted CAs, not SSL_CERT_FILE."""
    server = https_server()
    server.routes["/feed"] = Route(body=rss([entry(1)]))
    monkeypatch.setenv("SSL_CERT_FILE", str(private_ca_file))
    result = fetch_one(FetchRequest(key=1, url=server.url("/feed")), FAST)
    assert (result.error or "").startswith(UNTRUSTED) and result.body == b""


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`kb ingest` in-process on this test's database; settings re-read from the environment."""
    for key in ("KB_INGEST_CA_FILE", "KB_FEEDS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KB_DATABASE_URL", db_url)
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KB_INGEST_TIMEOUT", "5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_kb_ingest_trusts_the_ca_in_kb_ingest_ca_file(
    cli_env: None,
    tmp_path: Path,
    engine: Engine,
    https_server: HttpsServer,
    private_ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = https_server()
    server.routes["/feed"] = Route(body=rss([entry(i) for i in range(2)]))
    feeds = write_feeds(tmp_path / "feeds.yaml", [feed_spec("Internal", server.url("/feed"))])

    untrusted = CliRunner().invoke(app, ["ingest", "--feeds", str(feeds), "--force"])
    assert untrusted.exit_code == 1, untrusted.output
    assert f"Internal: ERROR: {UNTRUSTED}" in untrusted.stdout

    monkeypatch.setenv("KB_INGEST_CA_FILE", str(private_ca_file))
    get_settings.cache_clear()
    trusted = CliRunner().invoke(app, ["ingest", "--feeds", str(feeds), "--force"])
    assert trusted.exit_code == 0, trusted.output
    assert "Internal: ok: 2 new" in trusted.stdout
    with Session(engine) as session:
        assert items(session) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read: No such file or directory"),
        (b"not a certificate\n", "no PEM certificate found in it"),
    ],
)
def test_an_unusable_kb_ingest_ca_file_exits_2_and_fetches_nothing(
    cli_env: None,
    tmp_path: Path,
    engine: Engine,
    https_server: HttpsServer,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes | None,
    message: str,
) -> None:
    server = https_server()
    server.routes["/feed"] = Route(body=rss([entry(1)]))
    feeds = write_feeds(tmp_path / "feeds.yaml", [feed_spec("Internal", server.url("/feed"))])
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_bytes(content)
    monkeypatch.setenv("KB_INGEST_CA_FILE", str(ca_file))
    get_settings.cache_clear()

    result = CliRunner().invoke(app, ["ingest", "--feeds", str(feeds)])

    assert result.exit_code == 2, result.output
    assert f"kb: error: KB_INGEST_CA_FILE: {ca_file}: {message}" in result.stderr
    assert "(nothing was fetched)" in result.stderr
    assert server.hits == [] and server.handshake_errors == []
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(IngestRun)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Feed)).scalar_one() == 0
