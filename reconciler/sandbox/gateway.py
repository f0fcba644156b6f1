"""The sandbox's front door: what a CDN and an API gateway do around the service (SPEC §8).

Per request: fault draw, latency, CDN faults, authentication, permission, rate limit, content
type, the application, ambiguous-write and truncation faults, then the request log row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.assumptions import OAUTH_TOKEN_HEADER
from reconciler.sandbox.auth import Authenticator, Principal
from reconciler.sandbox.envelope import (
    FORBIDDEN,
    INTERNAL_ERROR,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
    ApiFailure,
    Reply,
    failure_reply,
)
from reconciler.sandbox.faults import TOKEN_PATH, Fault, FaultConfig, FaultInjector
from reconciler.sandbox.store import Store

logger = logging.getLogger("reconciler.sandbox")

# Not part of the emulated API: no auth, no faults, not logged.
DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
PUBLIC_PATHS = frozenset({TOKEN_PATH})
UPSERT_PATH = re.compile(r"^/v3/targetGroups/[^/]+/targets/[^/]+/communications/upsert$")

_CDN_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
_CDN_CHALLENGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head>'
    b"<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)
_STALL_LIMIT_S = 30.0
_HTML_HEADERS = [(b"content-type", b"text/html; charset=UTF-8"), (b"server", b"cloudflare")]


class RateLimiter:
    """A token bucket per credential: ``per_minute`` requests a minute, refilled continuously.

    The bucket holds one second's worth of requests, at least 10 (at most ``per_minute``): with
    a whole minute's worth, a client could send twice the limit in its first minute, and a
    short run would never meet the limit at all (issue 9).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("rate_limit_per_minute must be at least 1")
        self.capacity = float(max(math.ceil(per_minute / 60), min(per_minute, 10)))
        self.per_second = per_minute / 60
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """0 if a request may go now (and count it), else the seconds until one may."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second


class Gateway:
    """ASGI layer outside the whole FastAPI stack, so it holds the server's own ``send``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        authenticator: Authenticator,
        faults: FaultConfig,
        rate_limit_per_minute: int | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.authenticator = authenticator
        self.faults = faults
        self.injector = FaultInjector(faults)
        self.limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in DOC_PATHS:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        is_write = method == "POST" and UPSERT_PATH.match(path) is not None
        # Drawn on arrival, before any await, so the draw order is the arrival order.
        fault = None
        if path not in self.faults.exempt_paths:
            fault = self.injector.decide(is_write=is_write, path=path)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        state: dict[str, object] = scope.setdefault("state", {})
        reply, fault = await self._answer(scope, receive, is_write, fault, state)
        committed = state.get("committed") is True
        if fault is not None and fault.processed:
            reply, fault = _after(fault, reply, committed)
        dropped = fault in (Fault.AMBIGUOUS_DROP, Fault.STALL, Fault.AMBIGUOUS_STALL)
        principal = state.get("principal")
        # Written on the loop, like the routes' own SQLite work (see app.py), and before the
        # answer leaves, so a client that has its answer always finds its request logged.
        self.store.log_request(
            method,
            path,
            0 if dropped else reply.status,
            committed=committed,
            fault=fault,
            actor=principal.actor["name"] if isinstance(principal, Principal) else None,
        )
        if fault in (Fault.STALL, Fault.AMBIGUOUS_STALL):
            await _stall(receive)
            return
        if dropped:
            await _drop_connection(send)
            return
        start = {"type": "http.response.start", "status": reply.status, "headers": reply.headers}
        await send(start)
        await send({"type": "http.response.body", "body": reply.body})

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        is_write: bool,
        fault: Fault | None,
        state: dict[str, object],
    ) -> tuple[Reply, Fault | None]:
        """The answer before post-processing faults, and the fault that actually happened."""
        if fault is not None and not fault.processed:
            await _drain(receive)
            return _fault_reply(fault, self.faults.throttle_retry_after), fault
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            state["principal"] = principal = self._authenticate(scope["path"], headers, is_write)
            if principal and self.limiter and (wait := self.limiter.acquire(principal.credential)):
                await _drain(receive)
                retry_after = {"Retry-After": str(max(1, math.ceil(wait)))}
                message = "rate limit exceeded for these credentials"
                failure = ApiFailure(429, TOO_MANY_REQUESTS, message, headers=retry_after)
                return failure_reply(failure), Fault.RATE_LIMITED
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if scope["method"] == "POST" and media_type != "application/json":
                message = "Content-Type must be application/json"
                raise ApiFailure(415, UNSUPPORTED_MEDIA_TYPE, message)
        except ApiFailure as failure:
            await _drain(receive)
            return failure_reply(failure), fault
        return await self._call_app(scope, receive), fault

    def _authenticate(self, path: str, headers: dict[str, str], is_write: bool) -> Principal | None:
        """Who the request acts as (None on public paths); 401 or 403 ``ApiFailure`` otherwise."""
        if path in PUBLIC_PATHS:
            return None
        principal = self.authenticator.authenticate(
            headers.get("authorization"), headers.get(OAUTH_TOKEN_HEADER.lower())
        )
        if is_write and not principal.can_write:
            message = "access denied: these credentials may only read Target Loyalty"
            raise ApiFailure(403, FORBIDDEN, message)
        return principal

    async def _call_app(self, scope: Scope, receive: Receive) -> Reply:
        reply = Reply(0)
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                reply.status = message["status"]
                reply.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except Exception:
            # FastAPI already answered with the 500 envelope; keep serving, but say why.
            logger.exception("sandbox: unhandled error in %s %s", scope["method"], scope["path"])
            if not reply.status:
                return failure_reply(ApiFailure(500, INTERNAL_ERROR, "internal server error"))
        reply.body = b"".join(chunks)
        return reply


def _fault_reply(fault: Fault, retry_after: int = 1) -> Reply:
    """The answer of a fault that stops the request before the application sees it."""
    if fault in (Fault.UNAUTHORIZED, Fault.FORBIDDEN):
        status, code = (401, UNAUTHORIZED) if fault is Fault.UNAUTHORIZED else (403, FORBIDDEN)
        return failure_reply(ApiFailure(status, code, f"injected {status}"))
    if fault is Fault.STALL:
        return Reply(0)  # never sent: the gateway stalls instead
    if fault is Fault.THROTTLE:
        return failure_reply(
            ApiFailure(
                429,
                TOO_MANY_REQUESTS,
                "too many requests",
                headers={"Retry-After": str(retry_after)},
            )
        )
    if fault is Fault.FAIL_500:
        return failure_reply(ApiFailure(500, INTERNAL_ERROR, "internal server error"))
    if fault is Fault.FAIL_503_HTML:
        return Reply(503, list(_HTML_HEADERS)).with_body(_CDN_503)
    return Reply(200, list(_HTML_HEADERS)).with_body(_CDN_CHALLENGE)  # Fault.HTML_200


def _after(fault: Fault, reply: Reply, committed: bool) -> tuple[Reply, Fault | None]:
    """Apply a fault to an answer the application produced; ``None`` when it does not apply."""
    if fault is Fault.TRUNCATE:
        if not reply.body:
            return reply, None
        return reply.with_body(reply.body[: len(reply.body) // 2]), fault
    if not committed:  # an ambiguous write needs a write; a rejected one stays rejected
        return reply, None
    if fault is Fault.AMBIGUOUS_500:
        return failure_reply(ApiFailure(500, INTERNAL_ERROR, "internal server error")), fault
    return reply, fault  # Fault.AMBIGUOUS_DROP: the gateway drops the connection


async def _drain(receive: Receive) -> None:
    """Read the rest of the request body so the connection stays usable after an early answer."""
    more = True
    while more:
        message = await receive()
        more = message["type"] == "http.request" and bool(message.get("more_body", False))


async def _stall(receive: Receive) -> None:
    """Answer nothing until the client hangs up (a read timeout), as a stuck backend would.

    Over HTTP the server sees the disconnect; in process nothing does, so it ends after a while.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_STALL_LIMIT_S):
            while (await receive())["type"] != "http.disconnect":
                pass


async def _drop_connection(send: Send) -> None:
    """Close the connection without any answer, as a crashed backend or a lost link would.

    uvicorn's ``send`` is a method of the request cycle that owns the socket's transport.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        # In process (httpx.ASGITransport) there is no socket: raise what a client sees.
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    transport.abort()
    # Let the server notice the lost connection, so it does not complain about no response.
    for _ in range(3):
        await asyncio.sleep(0)
