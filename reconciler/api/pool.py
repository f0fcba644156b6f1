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
    """httpcore 1.0's ``_assign_requests_to_connections``, each question asked once."""
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
