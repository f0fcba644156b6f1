"""The client's HTTP transport (issue 9): the URL httpx would build, no cookies, and pooled
connections the server closed while idle dropped, not reused.

The client answers httpcore's "is this idle socket readable?" itself, more cheaply than
httpcore's anyio stream does; it must give the same answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest

from reconciler.api import CapillaryClient
from tests.support.client import COMMUNICATION, Recorder, envelope, settings

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


# --- building requests ----------------------------------------------------------------------

PATH = "/v3/targetGroups/2163/targets/2317/communications"


@pytest.mark.parametrize(
    "base_url",
    [
        "https://eu.api.capillarytech.com",
        "https://eu.api.capillarytech.com/",
        "https://api.test:8443/some/prefix/",
        "https://Example.COM/caf%C3%A9 path",
        "http://127.0.0.1:40455",
        "http://[::1]:8080/x",
    ],
)
async def test_request_urls_are_the_ones_httpx_would_merge(base_url: str) -> None:
    async with CapillaryClient(settings(base_url)) as client:
        for path in (PATH, "/v3/targetGroups", f"{PATH}/upsert"):
            ours = client._calls.url(path)
            merged = client._calls.http.build_request("GET", path).url
            assert ours == merged
            assert str(ours) == str(merged)
            assert ours.raw_path == merged.raw_path


async def test_the_sent_request_has_the_merged_url() -> None:
    rec = Recorder(lambda request: envelope([COMMUNICATION]))
    async with CapillaryClient(settings(), transport=rec.transport()) as client:
        await client.get_communications(2163, 2317)
    assert [str(r.url) for r in rec.requests] == [f"https://api.test{PATH}"]


async def test_cookies_the_server_sets_are_never_kept_or_sent() -> None:
    def script(request: httpx.Request) -> httpx.Response:
        response = envelope([COMMUNICATION])
        response.headers["Set-Cookie"] = "AWSALB=sticky-1; Path=/"
        return response

    rec = Recorder(script)
    async with CapillaryClient(settings(), transport=rec.transport()) as client:
        await client.get_communications(2163, 2317)
        await client.get_communications(2163, 2317)
        assert len(client._calls.http.cookies) == 0
        with pytest.raises(TypeError, match="keeps no cookies"):
            client._calls.http.cookies.set("a", "b")
        with pytest.raises(TypeError, match="keeps no cookies"):
            client._calls.http.cookies = {"a": "b"}
    assert len(rec.requests) == 2
    assert all("cookie" not in r.headers for r in rec.requests)


async def test_several_idle_connections_closed_by_the_server_are_all_dropped() -> None:
    # Several pooled connections: their readability is learnt in one poll (api/pool.py).
    server = HangUpServer()
    try:
        async with CapillaryClient(settings(server.url, parallelism=4)) as client:
            first = await asyncio.gather(*(client.get_communications(1, n) for n in range(4)))
            assert first == [[]] * 4
            await asyncio.sleep(0.2)  # the server has hung up on every idle connection
            second = await asyncio.gather(*(client.get_communications(1, n) for n in range(4)))
            assert second == [[]] * 4
        assert client.stats.retries_total == 0  # fresh connections, not failed attempts
        assert server.connections >= 5
    finally:
        server.close()
