"""parse: feedparser on the fetched bytes; ill-formed feeds recovered and flagged, non-feeds
refused, entity tricks harmless."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from kb.ingest.parse import ParseError, parse_feed
from tests.ingest.factories import atom, entry, rss


def test_rss_and_atom_entries() -> None:
    parsed = parse_feed(rss([entry(1), entry(2)]))
    assert [e.title for e in parsed.entries] == ["Story number 1", "Story number 2"]
    assert parsed.entries[0].guid == "https://news.example.test/story/1"
    assert parsed.entries[0].published is not None
    assert not parsed.ill_formed
    parsed = parse_feed(
        atom(
            [
                {
                    "title": "A",
                    "link": "https://x.test/a",
                    "id": "tag:x,2026:a",
                    "summary": "<b>s</b>",
                }
            ]
        )
    )
    assert parsed.entries[0].guid == "tag:x,2026:a" and parsed.entries[0].summary == "<b>s</b>"


def test_broken_xml_keeps_the_entries_and_flags_the_feed() -> None:
    body = rss([entry(1), entry(2)]).replace(b"</channel></rss>", b"<item><title>bad & worse")
    parsed = parse_feed(body)
    assert parsed.ill_formed and parsed.problem
    assert len(parsed.entries) >= 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"   \n ", "empty body"),
        (b"<!DOCTYPE html><html><body><p>Welcome</p></body></html>", "HTML page"),
        (b'{"items": []}', "not a feed"),
        (b"plain words", "not a feed"),
    ],
)
def test_non_feeds_are_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, content_type="text/html")


def test_wrong_declared_encoding_is_recovered() -> None:
    body = rss([entry(1, title="Café crème")], encoding="iso-8859-1")
    parsed = parse_feed(body.replace(b'encoding="iso-8859-1"', b'encoding="utf-8"'))
    assert len(parsed.entries) == 1
    assert parsed.entries[0].title.startswith("Caf")
    # declared correctly (header and prolog), it decodes exactly
    parsed = parse_feed(body, content_type="application/rss+xml; charset=iso-8859-1")
    assert parsed.entries[0].title == "Café crème"


def test_external_entities_never_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-VALUE")
    for doctype in (
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>',
        f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>',
    ):
        body = (
            f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>t</title>'
            "<item><title>x &xxe; y</title><link>https://x.test/1</link></item></channel></rss>"
        ).encode()
        parsed = parse_feed(body)
        text = " ".join(e.title + e.summary for e in parsed.entries)
        assert "TOPSECRET" not in text


def test_billion_laughs_stays_small_and_fast() -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        + "\n".join(levels)
        + '\n]>\n<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
        "<link>https://x.test/1</link></item></channel></rss>"
    ).encode()
    tracemalloc.start()
    started = time.monotonic()
    try:
        parsed = parse_feed(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 20 * 1024 * 1024  # 10**9 "lol"s would be gigabytes
    assert all(len(e.title) < 1000 for e in parsed.entries)


def test_a_missing_or_odd_content_type_is_not_ill_formed() -> None:
    for content_type in (None, "text/html", "application/octet-stream"):
        parsed = parse_feed(rss([entry(1)]), url="https://x.test/feed", content_type=content_type)
        assert not parsed.ill_formed and len(parsed.entries) == 1
