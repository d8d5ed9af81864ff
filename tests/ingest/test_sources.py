"""feeds.yaml: the schema, and errors that name the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.ingest.sources import SourcesError, load_sources

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
version: 1
feeds:
  - name: Vendor blog
    url: https://vendor.example.test/feed.xml
    kind: vendor-blog
    reliability: A
    vendor: acme
    tags: [model-release]
    include: [model, API]
    exclude: [webinar]
  - name: News
    url: http://news.example.test/rss
    enabled: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_with_defaults_and_lines(tmp_path: Path) -> None:
    sources = load_sources(write(tmp_path, GOOD))
    blog, news = sources.feeds
    assert blog.vendor == "acme" and blog.kind == "vendor-blog" and blog.reliability == "A"
    assert blog.include == ["model", "API"] and blog.exclude == ["webinar"]
    assert news.kind == "news" and news.reliability == "C" and news.enabled is False
    assert sources.line_of("Vendor blog") == 3 and sources.line_of("News") == 11


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("kind: vendor-blog", "kind: blog", 5, ["feeds[0].kind", "vendor-blog"]),
        ("reliability: A", "reliability: Z", 6, ["feeds[0].reliability"]),
        ("url: http://news", "url: ftp://news", 12, ["feeds[1].url"]),
        ("    enabled: false", "    enabled: maybe", 13, ["feeds[1].enabled"]),
        ("    exclude: [webinar]", "    exclude: [webinar]\n    colour: red", 11, ["colour"]),
        ("tags: [model-release]", "tags: [Model Release]", 8, ["feeds[0].tags"]),
        ("vendor: acme", "vendor: Not A Slug", 7, ["feeds[0].vendor"]),
    ],
)
def test_errors_name_the_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, words: list[str]
) -> None:
    assert old in GOOD
    with pytest.raises(SourcesError) as info:
        load_sources(write(tmp_path, GOOD.replace(old, new)))
    message = str(info.value)
    assert f"feeds.yaml:{line}:" in message
    for word in words:
        assert word in message


def test_a_missing_field_names_the_feed_line(tmp_path: Path) -> None:
    text = GOOD.replace("    url: http://news.example.test/rss\n", "")
    with pytest.raises(SourcesError, match=r"feeds.yaml:11: feeds\[1\]\.url: Field required"):
        load_sources(write(tmp_path, text))


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("name: News", "name: Vendor blog")
    with pytest.raises(SourcesError, match=r"feeds.yaml:11: .*already used on line 3"):
        load_sources(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("feeds: [\n  - name: x\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping"),
        ("version: 2\nfeeds: []\n", "version"),
    ],
)
def test_unusable_files(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SourcesError, match=expected):
        load_sources(write(tmp_path, text))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="no such file"):
        load_sources(tmp_path / "absent.yaml")


def test_the_shipped_feeds_yaml_is_valid() -> None:
    sources = load_sources(ROOT / "feeds.yaml")
    assert len(sources.feeds) >= 15
    assert all(f.url.startswith("https://") for f in sources.feeds)
    kinds = {f.kind for f in sources.feeds}
    assert {"vendor-blog", "news", "regulator"} <= kinds
