"""The lean connection pool (issue 21): the same assignments as httpcore's own, installed on
the client's network transport only."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
from types import SimpleNamespace

import httpcore
import httpx
import pytest
from httpcore._async.connection_pool import AsyncPoolRequest

from reconciler.api import CapillaryClient
from reconciler.api.pool import LeanPool, _polled, assign, install
from reconciler.api.transport import _Stream
from reconciler.sandbox import SandboxServer
from tests.support.client import settings

ORIGIN = httpcore.URL("http://127.0.0.1:1/").origin
OTHER = httpcore.URL("http://127.0.0.2:1/").origin


class _Connection:
    """A pooled connection in a given state: only the questions the pool asks."""

    def __init__(self, name: str, state: tuple[bool, bool, bool, bool, bool]) -> None:
        self.name = name
        self.closed, self.expired, self.idle, self.available, self.other = state

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        return self.expired

    def is_idle(self) -> bool:
        return self.idle

    def is_available(self) -> bool:
        return self.available

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == (OTHER if self.other else ORIGIN)


class _Pool(httpcore.AsyncConnectionPool):
    def create_connection(self, origin: httpcore.Origin) -> _Connection:  # type: ignore[override]
        return _Connection(f"new-{len(self._connections)}", (False, False, False, False, False))


def _pool(seed: int, size: int, queued: int, keepalive: int) -> _Pool:
    rng = random.Random(seed)
    pool = _Pool(max_connections=6, max_keepalive_connections=keepalive)
    pool._connections = [
        _Connection(f"c{n}", tuple(rng.random() < 0.4 for _ in range(5)))  # type: ignore[misc, arg-type]
        for n in range(size)
    ]
    for n in range(queued):
        url = "http://127.0.0.2:1/" if rng.random() < 0.2 else "http://127.0.0.1:1/"
        pool._requests.append(AsyncPoolRequest(httpcore.Request("GET", f"{url}{n}")))
    return pool


def _outcome(pool: _Pool, closing: list[object]) -> tuple[object, ...]:
    return (
        [c.name for c in pool._connections],  # type: ignore[attr-defined]
        [c.name for c in closing],  # type: ignore[attr-defined]
        [getattr(r.connection, "name", None) for r in pool._requests],
    )


@pytest.mark.parametrize(
    ("size", "queued", "keepalive"), list(itertools.product([0, 1, 3, 6, 8], [0, 1, 4], [2, 6]))
)
def test_lean_assignment_matches_httpcores_own(size: int, queued: int, keepalive: int) -> None:
    for seed in range(25):
        theirs = _pool(seed, size, queued, keepalive)
        ours = _pool(seed, size, queued, keepalive)
        expected = _outcome(theirs, theirs._assign_requests_to_connections())  # type: ignore[arg-type]
        assert _outcome(ours, assign(ours)) == expected  # type: ignore[arg-type]


def test_only_httpcores_own_pool_class_is_replaced() -> None:
    plain = httpcore.AsyncConnectionPool()
    assert install(plain)
    assert type(plain) is LeanPool
    assert not install(_Pool())  # a subclass keeps its own behaviour


@pytest.mark.anyio
async def test_the_client_reads_through_the_lean_pool(sandbox: SandboxServer) -> None:
    async with CapillaryClient(settings(base_url=sandbox.url, parallelism=4)) as client:
        pool = client._calls.http._transport._pool  # type: ignore[attr-defined]
        assert type(pool) is LeanPool
        groups = await client.list_target_groups()
        reads = [
            client.get_communications(group.id, target.id)
            for group in groups
            for target in (await client.list_targets(group.id))[:10]
        ]
        await asyncio.gather(*reads)
        assert 0 < len(pool.connections) <= 5  # parallelism plus one, all reused
    assert client.stats.failures == 0


def test_an_injected_transport_is_left_alone() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    client = CapillaryClient(settings(), transport=transport)
    assert client._calls.http._transport is transport  # type: ignore[attr-defined]


class _Inner:
    """The network stream under the client's ``_Stream``: only its socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> object:
        return self.sock if info == "socket" else None


class _Idle:
    """An idle pooled connection whose ``has_expired`` asks its stream, as httpcore's does."""

    def __init__(self, stream: _Stream) -> None:
        self._connection = SimpleNamespace(_network_stream=stream)

    def is_closed(self) -> bool:
        return False

    def is_idle(self) -> bool:
        return True

    def has_expired(self) -> bool:
        return bool(self._connection._network_stream.get_extra_info("is_readable"))


def test_one_poll_answers_each_socket_as_its_own_poll_would() -> None:
    """Issue 21: an assignment learns every pooled socket's readability in one poll; each
    answer is the one the socket's own poll gives (idle, data waiting, closed by the peer)."""
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        pairs[1][1].send(b"x")
        pairs[2][1].close()
        streams = [_Stream(_Inner(mine)) for mine, _ in pairs]  # type: ignore[arg-type]
        own = [stream.get_extra_info("is_readable") for stream in streams]
        assert own == [False, True, True]
        pooled = [_Idle(stream) for stream in streams]

        polled = _polled(pooled)  # type: ignore[arg-type]

        assert polled == streams
        assert [stream.readable_now for stream in streams] == own
        pool = httpcore.AsyncConnectionPool()
        pool._connections = list(pooled)  # type: ignore[arg-type]
        assert assign(pool) == pooled[1:]  # the readable two closed: httpcore's has_expired
        assert [stream.readable_now for stream in streams] == [None, None, None]  # reset
        pairs[0][1].send(b"y")  # so a later question polls again
        assert streams[0].get_extra_info("is_readable") is True
    finally:
        for pair in pairs:
            for sock in pair:
                sock.close()
