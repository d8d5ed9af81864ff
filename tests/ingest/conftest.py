"""Fixtures of the ingestion tests: live fixture-feed servers on 127.0.0.1 (HTTP, and HTTPS with
certificates from a private CA made for the test session)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from tests.ingest.server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_ca() -> trustme.CA:
    """A CA no trust store knows: it signs the HTTPS fixture servers' certificates."""
    return trustme.CA(organization_name="kb tests internal CA")


@pytest.fixture
def private_ca_file(private_ca: trustme.CA, tmp_path: Path) -> Path:
    """The private CA's certificate as a PEM file (what KB_INGEST_CA_FILE points at)."""
    path = tmp_path / "internal-ca.pem"
    private_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def https_server(private_ca: trustme.CA) -> Iterator[Callable[..., FeedServer]]:
    """``https_server(*hosts, ca=private_ca)`` starts an HTTPS FeedServer on 127.0.0.1 whose
    certificate, signed by ``ca``, names ``hosts`` (default: 127.0.0.1 and localhost)."""
    servers: list[FeedServer] = []

    def start(*hosts: str, ca: trustme.CA | None = None) -> FeedServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        (ca or private_ca).issue_cert(*(hosts or ("127.0.0.1", "localhost"))).configure_cert(
            context
        )
        server = FeedServer(tls=context).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
