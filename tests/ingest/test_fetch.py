"""fetch: HTTP against a real server on 127.0.0.1 — conditional GET, redirects, 410, 429/503,
errors, slow and huge bodies, gzip, the User-Agent and the concurrency bound."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from kb.ingest.fetch import (
    FetchOptions,
    FetchRequest,
    fetch_one,
    iter_fetch,
    parse_retry_after,
)
from tests.ingest.factories import entry, rss
from tests.ingest.server import FeedServer, Route

FAST = FetchOptions(timeout=1.0, connect_timeout=1.0, max_bytes=64 * 1024, concurrency=4)
BODY = rss([entry(1), entry(2)])


def get(server: FeedServer, path: str, **kw: str | None):  # type: ignore[no-untyped-def]
    return fetch_one(FetchRequest(key=path, url=server.url(path), **kw), FAST)


def test_ok_sends_a_user_agent_naming_kb(feed_server: FeedServer) -> None:
    feed_server.routes["/f"] = Route(
        body=BODY, etag='"v1"', last_modified="Mon, 02 Nov 2026 10:00:00 GMT"
    )
    r = get(feed_server, "/f")
    assert r.ok and r.status == 200 and r.body == BODY
    assert r.etag == '"v1"' and r.last_modified == "Mon, 02 Nov 2026 10:00:00 GMT"
    ua = feed_server.hits_of("/f")[0].headers["user-agent"]
    assert ua.startswith("kb/")


def test_conditional_get_gets_304(feed_server: FeedServer) -> None:
    feed_server.routes["/f"] = Route(body=BODY, etag='"v1"')
    r = get(feed_server, "/f", etag='"v1"')
    assert r.ok and r.not_modified and r.body == b""
    assert feed_server.hits_of("/f")[0].headers["if-none-match"] == '"v1"'
    feed_server.routes["/lm"] = Route(body=BODY, last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    r = get(feed_server, "/lm", last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    assert r.not_modified


def test_permanent_redirects_report_the_new_url_temporary_do_not(feed_server: FeedServer) -> None:
    feed_server.routes["/new"] = Route(body=BODY)
    feed_server.routes["/old"] = Route(status=301, location=feed_server.url("/new"))
    feed_server.routes["/older"] = Route(status=308, location=feed_server.url("/old"))
    feed_server.routes["/tmp"] = Route(status=302, location=feed_server.url("/new"))
    feed_server.routes["/mixed"] = Route(status=302, location=feed_server.url("/old"))
    r = get(feed_server, "/older")
    assert r.ok and r.body == BODY and r.permanent_url == feed_server.url("/new")
    assert get(feed_server, "/tmp").permanent_url is None
    assert get(feed_server, "/mixed").permanent_url is None
    feed_server.routes["/loop"] = Route(status=301, location=feed_server.url("/loop"))
    assert "redirects" in (get(feed_server, "/loop").error or "")


def test_gone_and_server_errors(feed_server: FeedServer) -> None:
    feed_server.routes["/gone"] = Route(status=410, body=b"gone")
    r = get(feed_server, "/gone")
    assert r.gone and not r.ok and "410" in (r.error or "")
    feed_server.routes["/500"] = Route(status=500, body=b"oops")
    r = get(feed_server, "/500")
    assert r.error == "HTTP 500 Internal Server Error" and r.body == b""
    assert "404" in (get(feed_server, "/missing").error or "")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(feed_server: FeedServer, status: int) -> None:
    feed_server.routes["/busy"] = Route(status=status, headers={"Retry-After": "120"})
    r = get(feed_server, "/busy")
    assert r.retry_after == 120 and str(status) in (r.error or "")


def test_parse_retry_after() -> None:
    now = time.time()
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 300))
    assert 290 <= (parse_retry_after(date, now=now) or 0) <= 301
    assert parse_retry_after("10") == 10
    assert parse_retry_after("99999999") == 7 * 24 * 3600
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_slow_servers_time_out(feed_server: FeedServer) -> None:
    quick = FetchOptions(timeout=0.3)
    feed_server.routes["/slow"] = Route(body=BODY, delay=1)
    started = time.monotonic()
    r = fetch_one(FetchRequest(key=1, url=feed_server.url("/slow")), quick)
    assert "timed out" in (r.error or "") and time.monotonic() - started < 0.9
    # a server that dribbles the body chunk by chunk is cut off by the total deadline
    feed_server.routes["/drip"] = Route(body=BODY * 20, trickle=0.1)
    r = fetch_one(FetchRequest(key=1, url=feed_server.url("/drip")), quick)
    assert "timed out" in (r.error or "")


def test_huge_bodies_are_refused(feed_server: FeedServer) -> None:
    big = b"<rss>" + b"x" * (FAST.max_bytes + 10) + b"</rss>"
    feed_server.routes["/big"] = Route(body=big)
    assert "larger than" in (get(feed_server, "/big").error or "")
    feed_server.routes["/stream"] = Route(body=big, lie_length=True)
    assert "larger than" in (get(feed_server, "/stream").error or "")
    # a gzip bomb: small on the wire, huge once decoded
    feed_server.routes["/bomb"] = Route(body=b"<rss>" + b" " * 5_000_000 + b"</rss>", gzip=True)
    assert "larger than" in (get(feed_server, "/bomb").error or "")


def test_gzip_bodies_are_decoded(feed_server: FeedServer) -> None:
    feed_server.routes["/gz"] = Route(body=BODY, gzip=True)
    r = get(feed_server, "/gz")
    assert r.ok and r.body == BODY
    assert "gzip" in feed_server.hits_of("/gz")[0].headers["accept-encoding"]


def test_connection_refused_is_a_result_not_a_crash() -> None:
    r = fetch_one(FetchRequest(key=1, url="http://127.0.0.1:9/feed"), FAST)
    assert r.error and "connect" in r.error


def test_unknown_host_is_a_result_naming_it() -> None:
    r = fetch_one(FetchRequest(key=1, url="http://no-such-host.invalid/feed"), FAST)
    assert r.error and r.error.startswith("cannot connect: host name not found")


def test_proxies_come_from_the_environment(
    feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, feed_server.base)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "direct.invalid")
    # the feed server plays the proxy: it receives the absolute URL
    feed_server.routes["http://feeds.invalid/f"] = Route(body=BODY)
    r = fetch_one(FetchRequest(key=1, url="http://feeds.invalid/f"), FAST)
    assert r.ok and r.body == BODY
    assert feed_server.hits_of("http://feeds.invalid/f")[0].headers["host"] == "feeds.invalid"
    # NO_PROXY, and trust_env=False, go direct (where the host does not exist)
    r = fetch_one(FetchRequest(key=1, url="http://direct.invalid/f"), FAST)
    assert "host name not found" in (r.error or "")
    r = fetch_one(FetchRequest(key=1, url="http://feeds.invalid/f"), replace(FAST, trust_env=False))
    assert "host name not found" in (r.error or "")
    assert len(feed_server.hits) == 1


def test_concurrency_is_bounded(feed_server: FeedServer) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()
    original = feed_server.httpd.RequestHandlerClass.do_GET  # type: ignore[attr-defined]

    def counting(handler):  # type: ignore[no-untyped-def]
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            time.sleep(0.05)
            original(handler)
        finally:
            with lock:
                active -= 1

    feed_server.httpd.RequestHandlerClass.do_GET = counting  # type: ignore[attr-defined]
    for i in range(12):
        feed_server.routes[f"/c{i}"] = Route(body=BODY)
    options = FetchOptions(timeout=5, concurrency=3)
    results = list(
        iter_fetch([FetchRequest(key=i, url=feed_server.url(f"/c{i}")) for i in range(12)], options)
    )
    assert sorted(r.request.key for r in results) == list(range(12))
    assert all(r.ok for r in results)
    assert 1 < peak <= 3


def test_a_slow_consumer_holds_back_the_fetches(feed_server: FeedServer) -> None:
    for i in range(30):
        feed_server.routes[f"/p{i}"] = Route(body=BODY)
    options = FetchOptions(timeout=5, concurrency=2)  # at most 2 * 4 bodies waiting
    requests = [FetchRequest(key=i, url=feed_server.url(f"/p{i}")) for i in range(30)]
    consumed = 0
    for _result in iter_fetch(requests, options):
        consumed += 1
        time.sleep(0.01)
        assert len(feed_server.hits) <= consumed + 8 + 2
    assert consumed == 30
    # a consumer that stops early leaves nothing hanging
    gen = iter_fetch(requests, options)
    next(gen)
    gen.close()
