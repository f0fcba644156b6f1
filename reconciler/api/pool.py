"""httpcore's connection pool without its quadratic bookkeeping (issue 21).

Whenever a request starts or ends, ``AsyncConnectionPool._assign_requests_to_connections``
asks every idle connection whether the pool holds too many connections, by building a list of
``is_idle()`` answers for all of them and taking its length (the length of the pool), then
builds two full lists of connections for every queued request although it uses the first
element of one. At 16 connections that is some 300 calls per request start or end: a tenth of
a plan's CPU, paid by every httpx client alike.

``LeanPool.assign`` does the same assignment with the same outcome (the same connections
closed, the first available connection reused, the same new connections made), asking each
question once. It is installed only on httpcore 1.0's pool, whose method it replaces; on any
other version the pool keeps its own (only slower).
"""

from __future__ import annotations

import select
from typing import Any

import httpcore
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface


def supported() -> bool:
    """True on the httpcore release line whose pool this module's method was written for."""
    return httpcore.__version__.startswith("1.0.") and hasattr(
        httpcore.AsyncConnectionPool, "_assign_requests_to_connections"
    )


class LeanPool(httpcore.AsyncConnectionPool):
    """``httpcore.AsyncConnectionPool`` with a linear ``_assign_requests_to_connections``."""

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        return assign(self)


def install(pool: httpcore.AsyncConnectionPool) -> bool:
    """Make ``pool`` a ``LeanPool`` if its class is exactly httpcore's; True if it now is."""
    if type(pool) is not httpcore.AsyncConnectionPool or not supported():
        return False
    pool.__class__ = LeanPool
    return True


def assign(pool: httpcore.AsyncConnectionPool) -> list[AsyncConnectionInterface]:
    """httpcore 1.0's ``_assign_requests_to_connections``, each question asked once, and the
    readability of every pooled socket learnt in one ``poll`` (see ``_polled``)."""
    streams = _polled(pool._connections)
    try:
        return _assign(pool)
    finally:
        for stream in streams:
            stream.readable_now = None


def _polled(connections: list[AsyncConnectionInterface]) -> list[Any]:
    """Answer "is this socket readable?" for every pooled connection's stream with one poll.

    httpcore asks it of each idle connection (``has_expired``) on every assignment: one system
    call each, some 12 per assignment and 5 assignments per request at 16 in flight (issue 21).
    One ``poll`` of all of them, at the same instant, gives each the answer its own would have:
    nothing else runs between this and the questions. Streams other than the client's own
    (``transport._Stream``, which has ``readable_now``) are left to answer themselves."""
    if len(connections) < 2 or not hasattr(select, "poll"):
        return []
    streams: dict[int, Any] = {}
    for connection in connections:
        stream = getattr(getattr(connection, "_connection", None), "_network_stream", None)
        sock = getattr(stream, "_socket", None)
        if not hasattr(stream, "readable_now") or sock is None or sock.fileno() < 0:
            continue
        streams[sock.fileno()] = stream
    if len(streams) < 2:
        return []
    poller = select.poll()
    for fd in streams:
        poller.register(fd, select.POLLIN)
    ready = {fd for fd, _ in poller.poll(0)}
    for fd, stream in streams.items():
        stream.readable_now = fd in ready
    return list(streams.values())


def _assign(pool: httpcore.AsyncConnectionPool) -> list[AsyncConnectionInterface]:
    closing: list[AsyncConnectionInterface] = []
    connections: list[AsyncConnectionInterface] = pool._connections
    keepalive = pool._max_keepalive_connections
    # Closed, expired, or idle while the pool holds more than the keep-alive limit; httpcore's
    # ``len([c.is_idle() for c in connections])`` is ``len(connections)``.
    for connection in list(connections):
        if connection.is_closed():
            connections.remove(connection)
        elif connection.has_expired() or (connection.is_idle() and len(connections) > keepalive):
            connections.remove(connection)
            closing.append(connection)
    requests: list[AsyncPoolRequest] = pool._requests
    for pool_request in [r for r in requests if r.is_queued()]:
        origin = pool_request.request.url.origin
        available = next(
            (c for c in connections if c.can_handle_request(origin) and c.is_available()), None
        )
        if available is not None:
            pool_request.assign_to_connection(available)
        elif len(connections) < pool._max_connections:
            connection = pool.create_connection(origin)
            connections.append(connection)
            pool_request.assign_to_connection(connection)
        else:
            idle = next((c for c in connections if c.is_idle()), None)
            if idle is not None:
                connections.remove(idle)
                closing.append(idle)
                connection = pool.create_connection(origin)
                connections.append(connection)
                pool_request.assign_to_connection(connection)
    return closing
