"""Fixtures of the ingestion tests: a live fixture-feed server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ingest.server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()
