"""normalize: canonical URLs, UTC dates, sanitized HTML, dedup keys and content hashes."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from bs4 import BeautifulSoup

from kb.ingest.normalize import (
    canonical_url,
    dedup_key,
    entry_date,
    normalize_entry,
    sanitize_html,
)
from kb.ingest.parse import RawEntry

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def raw(**kw: object) -> RawEntry:
    values: dict[str, object] = {
        "guid": None,
        "link": "https://x.test/a",
        "title": "T",
        "summary": "S",
        "author": None,
        "published": None,
        "updated": None,
    }
    values.update(kw)
    return RawEntry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://News.Example.TEST:443/a/b?utm_source=x&id=7&fbclid=1#frag",
            "https://news.example.test/a/b?id=7",
        ),
        ("http://x.test:80", "http://x.test/"),
        ("http://x.test:8080/p?b=2&a=1", "http://x.test:8080/p?b=2&a=1"),
        ("https://x.test/p?utm_medium=rss&utm_campaign=c", "https://x.test/p"),
        ("javascript:alert(1)", None),
        ("mailto:a@b.test", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_very_long_urls_are_capped() -> None:
    url = "https://x.test/p?" + "&".join(f"k{i}=v{i}" for i in range(1000))
    out = canonical_url(url)
    assert out is not None and len(out) <= 2000 and out.startswith("https://x.test/p")


def test_sanitize_removes_scripts_handlers_and_bad_links() -> None:
    html = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> '
        '<a href="https://ok.test/">ok</a><script>alert(1)</script>'
        '<style>p{}</style><img src="https://t.test/pixel.gif"><iframe src="https://e.test"></iframe></p>'
    )
    soup = BeautifulSoup(sanitize_html(html), "html.parser")
    assert soup.find("script") is None and soup.find("style") is None
    assert soup.find("img") is None and soup.find("iframe") is None
    assert soup.p is not None and "onclick" not in soup.p.attrs
    links = soup.find_all("a")
    assert [a.get("href") for a in links] == [None, "https://ok.test/"]
    assert set(links[1]["rel"]) == {"noopener", "noreferrer", "nofollow"}
    assert "alert" not in soup.get_text()


def test_dates_in_utc_missing_and_future() -> None:
    when = time.strptime("2026-11-20 08:30:00", "%Y-%m-%d %H:%M:%S")
    assert entry_date(raw(published=when), now=NOW) == (
        dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC),
        False,
    )
    # updated is used when published is missing
    assert entry_date(raw(updated=when), now=NOW)[1] is False
    # missing: first-seen time, estimated
    assert entry_date(raw(), now=NOW) == (NOW, True)
    # future beyond the skew: clamped to now, estimated; a few minutes ahead is kept
    future = time.gmtime((NOW + dt.timedelta(days=3)).timestamp())
    assert entry_date(raw(published=future), now=NOW) == (NOW, True)
    soon = time.gmtime((NOW + dt.timedelta(minutes=2)).timestamp())
    assert entry_date(raw(published=soon), now=NOW)[1] is False


def test_dedup_key_prefers_guid_then_link_then_hash() -> None:
    feed = "https://feed.test/rss"
    assert (
        dedup_key(
            guid="tag:x.test,2026:1", url="https://x.test/a", title="t", text="b", feed_url=feed
        )
        == "guid:tag:x.test,2026:1"
    )
    assert (
        dedup_key(
            guid="https://x.test/a?utm_source=rss", url=None, title="t", text="b", feed_url=feed
        )
        == "guid:https://x.test/a"
    )
    # a bare number is only unique within its site
    assert dedup_key(guid="42", url=None, title="t", text="b", feed_url=feed) == "guid:feed.test/42"
    assert (
        dedup_key(guid=None, url="https://x.test/a", title="t", text="b", feed_url=feed)
        == "url:https://x.test/a"
    )
    hashed = dedup_key(guid=None, url=None, title="t", text="b", feed_url=feed)
    assert hashed.startswith("hash:") and hashed == dedup_key(
        guid=None, url=None, title="t", text="b", feed_url="other"
    )
    long = dedup_key(guid="urn:" + "x" * 2000, url=None, title="t", text="b", feed_url=feed)
    assert len(long) <= 512 and long.startswith("guid#sha256:")


def test_normalize_entry_and_content_hash_tracks_edits() -> None:
    a = normalize_entry(
        raw(title=" <b>Hello</b> &amp; bye ", summary="<p>x</p>"), feed_url="f", now=NOW
    )
    assert a.title == "Hello & bye" and a.summary == "<p>x</p>"
    assert a.dedup_key == "url:https://x.test/a" and a.published_estimated
    same = normalize_entry(
        raw(title="<b>Hello</b> &amp; bye", summary="<p>x</p>"),
        feed_url="f",
        now=NOW + dt.timedelta(days=1),
    )
    assert same.content_hash == a.content_hash  # the estimated date does not count as an edit
    edited = normalize_entry(raw(title="Hello & bye", summary="<p>y</p>"), feed_url="f", now=NOW)
    assert edited.dedup_key == a.dedup_key and edited.content_hash != a.content_hash


def test_relative_links_resolve_against_the_feed_url() -> None:
    got = normalize_entry(
        raw(link="/news/a?utm_source=x"), feed_url="https://v.test/feed.xml", now=NOW
    )
    assert got.url == "https://v.test/news/a"


def test_canonical_url_keeps_the_rest_of_the_query_as_written() -> None:
    url = "https://x.test/s?q=a%20b+c&utm_source=rss&lang=en&&fbclid=9"
    assert canonical_url(url) == "https://x.test/s?q=a%20b+c&lang=en"
