"""uvicorn's HTTP protocol with TCP_NODELAY on every accepted connection.

In multi-worker mode (``kb serve --workers 2``) uvicorn 0.54 hands the listening socket to
spawned workers, and the connections they accept come without TCP_NODELAY; every response
then waits for the client's delayed ACK (about 40 ms on Linux), which capped a bare endpoint
at about 23 requests a second per connection. Setting the option restores sub-millisecond
responses.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Turn on TCP_NODELAY for the transport's socket (no-op for non-TCP sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """H11Protocol that sets TCP_NODELAY when a connection is made."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Set TCP_NODELAY, then let uvicorn set the connection up."""
        set_nodelay(transport)
        super().connection_made(transport)
