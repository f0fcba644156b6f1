"""The async Capillary v3 client: one typed method per SPEC §2 endpoint, envelope unwrapped.

Owns the connection pool, limits, retries and error mapping; callers see wire models or an
``ApiError`` subclass, never an httpx exception, a header or a secret.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import operator
import random
import select
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import httpcore
import httpx
from pydantic import TypeAdapter, ValidationError

from reconciler.api.auth import KIND_EXTENSION, make_auth
from reconciler.api.bounds import (
    ACCEPT_ENCODING,
    BodyProblem,
    body_failure,
    deadline_failure,
    limit_body,
)
from reconciler.api.envelope import (
    NO_DATA,
    classify,
    classify_transport_error,
    classify_unexpected,
)
from reconciler.api.limits import SLOW_START_WINDOW, AdaptiveLimiter
from reconciler.api.logs import log
from reconciler.api.ownership import describe_foreign, foreign_row
from reconciler.api.retry import (
    AttemptFailure,
    CircuitBreaker,
    CircuitOpenError,
    RetryPolicy,
    run_with_retries,
)
from reconciler.api.settings import ClientSettings, is_localhost_subdomain
from reconciler.api.stats import ClientStats
from reconciler.api.wire import Channel, Communication, CommunicationWrite, Target, TargetGroup
from reconciler.assumptions import THROTTLE_STATUSES
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    ApiValidationError,
    AuthError,
    ConfigError,
    PermissionDenied,
    ServerError,
)

# httpcore tries ``import sniffio`` whenever it sets up a lock, several times per request. anyio 4
# no longer installs it, and a failed import is not cached: each try searched sys.path again, a
# third of a plan's CPU (issue 9). Recording the absence once gives the same answer in ~1 µs.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

M = TypeVar("M")


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's stream, but "is the idle socket readable?" costs one poll, not ~10 µs more.

    httpcore asks that of every idle pooled connection whenever a request starts or ends, and
    its anyio stream rebuilds a dict of socket attributes for each answer: with 16 connections,
    0.6 ms of CPU per request, a quarter of a plan's CPU at no latency (issue 9).
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._poller: select.poll | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        if info != "is_readable":
            return self._inner.get_extra_info(info)
        sock = self._socket
        if sock is None or sock.fileno() < 0:
            return True  # as httpcore: a closed socket counts as readable, so it is dropped
        if not hasattr(select, "poll"):  # Windows
            return bool(select.select([sock], [], [], 0)[0])
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN)
        return bool(self._poller.poll(0))


class _Backend(httpcore.AsyncNetworkBackend):
    """Wraps httpcore's network backend so that its streams are ``_Stream``s."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(
            await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _cheap_idle_checks(client: httpx.AsyncClient) -> None:
    """Install ``_Backend`` in the client's own connection pool, if it is httpcore's as we know
    it; otherwise leave everything as it is (only slower)."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        pool._network_backend = _Backend(backend)


class _NoCookies(httpx.Cookies):
    """A cookie store that stores nothing: the API is stateless, and this client sends no cookie.

    httpx builds two urllib adapters per response to look for ``Set-Cookie``: 3 % of a plan's
    CPU (issue 9). Skipping that is what keeping no cookies means.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("this client keeps no cookies")


class _HttpClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` without a cookie jar; httpx reads and keeps cookies only through
    the public ``cookies`` property, overridden here."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("this client keeps no cookies")


def _tls_for(base_url: str) -> ssl.SSLContext | bool:
    """TLS with verification for ``https://``. Plain ``http://`` (loopback only, §7) never
    negotiates TLS: it gets a context that trusts no certificate, so TLS would fail closed,
    and that costs nothing, where loading the system's CA bundle costs 20 ms (issue 9)."""
    if httpx.URL(base_url).scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname, no CA


# Request extension carrying the per-attempt trace that the request hook fills in.
_TRACE_EXTENSION = "reconciler.trace"

_TARGET_GROUPS: TypeAdapter[list[TargetGroup]] = TypeAdapter(list[TargetGroup])
_TARGET_GROUP: TypeAdapter[TargetGroup] = TypeAdapter(TargetGroup)
_TARGETS: TypeAdapter[list[Target]] = TypeAdapter(list[Target])
_CHANNELS: TypeAdapter[list[Channel]] = TypeAdapter(list[Channel])
_COMMUNICATIONS: TypeAdapter[list[Communication]] = TypeAdapter(list[Communication])


@dataclass
class _Trace:
    """What happened to one attempt on the wire; filled in by the request hook."""

    attempt: int
    sent: int = 0  # times the API request itself (not a token request) went to the transport


class CapillaryClient:
    """Async client over one ``httpx.AsyncClient``; use as ``async with CapillaryClient(...)``.

    ``transport`` is the seam for the in-process sandbox and for test transports. ``sleep``,
    ``clock`` (monotonic), ``wall_clock`` (epoch, for HTTP-date ``Retry-After``) and ``rng``
    (jitter) are injectable so tests can assert waits without real time.

    After an ``AuthError`` or ``PermissionDenied`` every later call fails fast with the same
    kind of error: the credentials will not get better during the run (SPEC §6, issue 10).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if transport is None and is_localhost_subdomain(httpx.URL(settings.base_url).host):
            raise ConfigError(
                f"endpoint {settings.base_url!r} names a *.localhost host, which only the "
                "in-process sandbox transport may use; over the network use http://127.0.0.1"
            )
        self.settings = settings
        self.stats = ClientStats()
        self._wall_clock = wall_clock
        self._fatal: ApiError | None = None
        self.limiter = AdaptiveLimiter(
            max_concurrency=settings.parallelism,
            rate_per_minute=settings.rate_limit_per_minute,
            adaptive=settings.adaptive,
            initial_concurrency=min(settings.parallelism, SLOW_START_WINDOW),
            decrease=settings.aimd_decrease,
            clock=clock,
            sleep=sleep,
        )
        self.breaker = CircuitBreaker(
            settings.effective_breaker_threshold, settings.breaker_cooldown, clock
        )
        self._policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap,
            max_retry_after=settings.max_retry_after,
            sleep=sleep,
            rng=rng,
        )
        timeout = httpx.Timeout(
            settings.read_timeout,
            connect=settings.connect_timeout,
            write=settings.read_timeout,
            pool=settings.read_timeout,
        )
        self._http = _HttpClient(
            base_url=settings.base_url,
            auth=make_auth(
                settings.credentials,
                base_url=settings.base_url,
                clock=clock,
                wall_clock=wall_clock,
                stats=self.stats,
            ),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "application/json",
                # Only what ``bounds`` decodes within the size limit (httpx would add br, zstd).
                "Accept-Encoding": ACCEPT_ENCODING,
                # Capillary documents Content-Type as required on every request, GETs included.
                "Content-Type": "application/json",
            },
            timeout=timeout,
            # One connection per allowed request plus one for a token fetch; all kept alive.
            limits=httpx.Limits(
                max_connections=settings.parallelism + 1,
                max_keepalive_connections=settings.parallelism + 1,
            ),
            follow_redirects=False,  # a redirect would carry the token header elsewhere (§7)
            verify=_tls_for(settings.base_url),  # deliberately not configurable (§7)
            transport=transport,
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        if transport is None:
            _cheap_idle_checks(self._http)

    def __repr__(self) -> str:
        kind = type(self.settings.credentials).__name__
        return f"CapillaryClient(base_url={self.settings.base_url!r}, credentials={kind})"

    async def __aenter__(self) -> CapillaryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- endpoints (SPEC §2) -------------------------------------------------------------

    async def list_target_groups(self) -> list[TargetGroup]:
        path = "/v3/targetGroups"
        return self._parse(_TARGET_GROUPS, await self._call("GET", path), "GET", path, listing=True)

    async def get_target_group(self, group_id: int) -> TargetGroup:
        path = f"/v3/targetGroups/{_id(group_id, 'target group id')}"
        return self._parse(_TARGET_GROUP, await self._call("GET", path), "GET", path)

    async def list_targets(self, group_id: int) -> list[Target]:
        path = f"/v3/targetGroups/{_id(group_id, 'target group id')}/targets"
        return self._parse(_TARGETS, await self._call("GET", path), "GET", path, listing=True)

    async def list_channels(self) -> list[Channel]:
        path = "/v3/targetGroups/channels"
        return self._parse(_CHANNELS, await self._call("GET", path), "GET", path, listing=True)

    async def get_communications(self, group_id: int, target_id: int) -> list[Communication]:
        """A target's communications; a row that names another target fails the read (SPEC §4:
        it is not this target's state, so nothing may be planned or pruned from it)."""
        path = _communications_path(group_id, target_id)
        rows = self._parse(
            _COMMUNICATIONS, await self._call("GET", path), "GET", path, listing=True
        )
        foreign = foreign_row(rows, group_id, target_id)
        if foreign is not None:
            self.stats.failures += 1
            raise ServerError(
                f"the API answered with a row of another target: "
                f"{describe_foreign(foreign, group_id, target_id)}",
                method="GET",
                path=path,
            )
        return rows

    async def upsert_communications(
        self, group_id: int, target_id: int, writes: Sequence[CommunicationWrite]
    ) -> list[Communication]:
        """Send all of one target's writes in one request; returns what the API stored.

        Raises ``AmbiguousWriteError`` when the request may have been committed (timeout, 5xx,
        dropped connection, unreadable answer); it is never resent then. An empty ``writes``
        sends nothing and returns ``[]``.
        """
        path = f"{_communications_path(group_id, target_id)}/upsert"
        if not writes:
            return []
        body = json.dumps([w.to_body() for w in writes], separators=(",", ":")).encode()
        data = await self._call("POST", path, body=body)
        return self._parse(_COMMUNICATIONS, data, "POST", path, write=True)

    # --- machinery ------------------------------------------------------------------------

    def _url(self, path: str) -> httpx.URL:
        """The URL httpx would make of ``base_url`` and ``path``, in one parse instead of its
        three (issue 9: half of building a request). ``base_url`` is normalised: no trailing
        slash, query or fragment (``check_endpoint``); the paths are ours, ids only."""
        return httpx.URL(self.settings.base_url + path)

    async def _call(self, method: str, path: str, *, body: bytes | None = None) -> object:
        write = body is not None
        self.stats.calls += 1
        url = self._url(path)

        async def attempt(number: int) -> object:
            return await self._attempt(method, path, url, body, write=write, number=number)

        try:
            return await run_with_retries(
                attempt,
                policy=self._policy,
                method=method,
                path=path,
                breaker=self.breaker,
                on_retry=lambda failure, n, delay: self._on_retry(method, path, failure, n, delay),
            )
        except ApiError as error:
            self.stats.failures += 1
            if isinstance(error, AmbiguousWriteError):
                self.stats.ambiguous_writes += 1
            if isinstance(error, CircuitOpenError):
                self.stats.circuit_rejections += 1
            if isinstance(error, AuthError | PermissionDenied) and self._fatal is None:
                self._fatal = error
            log.debug("%s", error.message)
            raise

    async def _attempt(
        self,
        method: str,
        path: str,
        url: httpx.URL,
        body: bytes | None,
        *,
        write: bool,
        number: int,
    ) -> object:
        self._check_fatal(method, path)
        self.breaker.check(method, path)
        async with self.limiter.slot() as started:
            self.breaker.check(method, path)  # it may have opened while this call waited
            self.stats.attempts += 1
            trace = _Trace(attempt=number)
            request = self._http.build_request(
                method,
                url,
                content=body,
                extensions={_TRACE_EXTENSION: trace, KIND_EXTENSION: "write" if write else "read"},
            )
            failure: AttemptFailure | None = None
            data: object = None
            # One deadline for all of it, token fetch, connect, send and the whole answer: the
            # read timeout alone is per read, and a trickling server never trips it (issue 14).
            deadline = asyncio.timeout(self.settings.effective_deadline)
            try:
                async with deadline:
                    response = await self._http.send(request)
            except AttemptFailure as raised:  # the token endpoint failed inside the auth flow
                failure = raised
            except BodyProblem as problem:  # over the size limit, or a broken encoding
                failure = body_failure(problem, write=write, sent=trace.sent)
            except httpx.HTTPError as exc:
                failure = classify_transport_error(exc, write=write, sent=trace.sent)
            except ApiError:
                raise
            except TimeoutError as exc:
                if deadline.expired():
                    failure = deadline_failure(
                        self.settings.effective_deadline, write=write, sent=trace.sent
                    )
                else:
                    failure = classify_unexpected(exc, write=write, sent=trace.sent)
            except Exception as exc:  # e.g. an in-process app crashing: still an ApiError
                failure = classify_unexpected(exc, write=write, sent=trace.sent)
            else:
                try:
                    data = classify(response, write=write, now=self._wall_clock())
                except AttemptFailure as raised:
                    failure = raised
            self._feedback(failure, started)
        if failure is not None:
            raise failure  # outside the except blocks: no httpx exception rides along as context
        return data

    def _feedback(self, failure: AttemptFailure | None, started: float) -> None:
        """Tell the breaker and the limiter how the attempt went."""
        if failure is None:
            self.breaker.record_success()
            self.limiter.on_success(started)
            return
        if failure.outage:
            self.breaker.record_failure(failure.detail)
        elif failure.status is not None and failure.status != 429:
            self.breaker.record_success()  # a deliberate answer (400, 404, ...): the API is up
        if failure.throttled:
            # A Retry-After beyond our patience fails this call fast; pausing every other call
            # for it would be exactly the CI stall that failing fast avoids.
            retry_after = failure.retry_after
            if retry_after is not None and retry_after > self.settings.max_retry_after:
                retry_after = None
            self.limiter.on_throttle(started, retry_after)

    def _check_fatal(self, method: str, path: str) -> None:
        fatal = self._fatal
        if fatal is not None:
            raise type(fatal)(
                f"not sent: the run stopped after an earlier error ({fatal.message})",
                status=fatal.status,
                method=method,
                path=path,
            )

    def _on_retry(
        self, method: str, path: str, failure: AttemptFailure, attempt: int, delay: float
    ) -> None:
        self.stats.retries[failure.reason] += 1
        log.debug(
            "%s %s: attempt %d/%d failed (%s); retrying in %.2f s",
            method,
            path,
            attempt,
            self.settings.max_attempts,
            failure.detail,
            delay,
        )

    async def _on_request(self, request: httpx.Request) -> None:
        self.stats.requests += 1
        kind = request.extensions.get(KIND_EXTENSION)
        if kind == "token":
            self.stats.token_requests += 1
        elif kind == "write":
            self.stats.writes += 1
        trace = request.extensions.get(_TRACE_EXTENSION)
        if isinstance(trace, _Trace):
            trace.sent += 1

    async def _on_response(self, response: httpx.Response) -> None:
        self.stats.responses += 1
        if response.status_code in THROTTLE_STATUSES:
            self.stats.throttled += 1
        request = response.request
        trace = request.extensions.get(_TRACE_EXTENSION)
        label = f"attempt {trace.attempt}" if isinstance(trace, _Trace) else "token"
        # Method, path and status only: never headers, bodies or query strings.
        log.debug("%s %s -> %d (%s)", request.method, request.url.path, response.status_code, label)
        # Before anything reads the body, token and 401 answers included (issue 14).
        limit_body(response, self.settings.max_response_bytes)

    def _parse(
        self,
        adapter: TypeAdapter[M],
        data: object,
        method: str,
        path: str,
        *,
        write: bool = False,
        listing: bool = False,
    ) -> M:
        """Validate ``data`` into wire models; a mismatch is the server's fault, not ours.

        ``"data": null`` in a good answer to a list read is an empty list (SPEC §9). An
        envelope without ``data`` is never "nothing there" (SPEC §4: a failed read plans
        nothing), nor is a null answer to a write (its outcome is judged by a re-read).
        """
        problem = ""
        if data is None and listing and not write:
            return adapter.validate_python([])
        if data is None or data is NO_DATA:
            problem = "the envelope has no data"
        else:
            try:
                return adapter.validate_python(data)
            except ValidationError as exc:
                first = exc.errors(include_input=False, include_url=False)[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "data"
                problem = f"unexpected response shape at {where}: {first.get('msg', 'invalid')}"
        self.stats.failures += 1
        if write:
            self.stats.ambiguous_writes += 1
            raise AmbiguousWriteError(
                f"{problem}; the write may or may not have been committed; "
                "re-read the target before writing again",
                method=method,
                path=path,
            )
        raise ServerError(problem, method=method, path=path)


def _id(value: int, what: str) -> int:
    """Ids go into URL paths, so only true integers are accepted (no "1/../2")."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise ApiValidationError(f"{what} must be an integer, not {value!r}") from None


def _communications_path(group_id: int, target_id: int) -> str:
    group, target = _id(group_id, "target group id"), _id(target_id, "target id")
    return f"/v3/targetGroups/{group}/targets/{target}/communications"
