"""Pooled connections the server closed while idle are dropped, not reused (issue 9).

The client answers httpcore's "is this idle socket readable?" itself, more cheaply than
httpcore's anyio stream does; it must give the same answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from apikit import settings

from reconciler.api import CapillaryClient

pytestmark = pytest.mark.anyio

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 46\r\n\r\n"
    b'{"data": [], "errors": null, "warnings": null}'
)


class HangUpServer:
    """Answers one request per connection as if keeping it alive, then closes it silently."""

    def __init__(self) -> None:
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                conn.sendall(ANSWER)

    def close(self) -> None:
        self._listener.close()


async def test_an_idle_connection_closed_by_the_server_is_not_reused() -> None:
    server = HangUpServer()
    try:
        async with CapillaryClient(settings(server.url, parallelism=1)) as client:
            assert await client.get_communications(1, 1) == []
            await asyncio.sleep(0.2)  # the server has hung up on the idle connection by now
            assert await client.get_communications(1, 2) == []
        assert server.connections == 2
        assert client.stats.retries_total == 0  # a fresh connection, not a failed attempt
    finally:
        server.close()


async def test_the_cheap_check_is_installed_with_the_pinned_httpx() -> None:
    """It quietly steps aside if httpx's internals change; this says when it did."""
    async with CapillaryClient(settings("http://127.0.0.1:9")) as client:
        pool = client._calls.http._transport._pool
        assert type(pool._network_backend).__name__ == "_Backend"
