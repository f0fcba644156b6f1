"""The HTTP transport the client talks through: one tuned ``httpx.AsyncClient`` per client.

Owns connection pooling, TLS, timeouts, default headers and the httpcore speed-ups of issue 9;
it knows nothing about endpoints, envelopes or retries.
"""

from __future__ import annotations

import importlib.util
import select
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from reconciler.api.bounds import ACCEPT_ENCODING
from reconciler.api.pool import install as install_lean_pool
from reconciler.api.settings import ClientSettings

# The other import trick, declining httpx's command-line client, sits in ``api/__init__.py``:
# it must run before the first ``import httpx`` of any module of this package, and that file is
# the only code that runs before all of them.

# httpcore tries ``import sniffio`` whenever it sets up a lock, several times per request. anyio 4
# no longer installs it, and a failed import is not cached: each try searched sys.path again, a
# third of a plan's CPU (issue 9). Recording the absence once gives the same answer in ~1 µs.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

RequestHook = Callable[[httpx.Request], Awaitable[None]]
ResponseHook = Callable[[httpx.Response], Awaitable[None]]


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
        # Set by ``pool.assign`` for the span of one assignment: one poll answered for every
        # pooled socket at once (issue 21), instead of one poll per idle connection.
        self.readable_now: bool | None = None

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
        if self.readable_now is not None:
            return self.readable_now
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
        install_lean_pool(pool)  # issue 21: linear request assignment


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


def http_client(
    settings: ClientSettings,
    *,
    auth: httpx.Auth,
    transport: httpx.AsyncBaseTransport | None,
    on_request: RequestHook,
    on_response: ResponseHook,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` for ``settings``: pooled, cookie-less, never redirected.

    ``transport`` replaces the network (the in-process sandbox, test transports); the httpcore
    speed-ups apply only to the network transport httpx builds itself.
    """
    timeout = httpx.Timeout(
        settings.read_timeout,
        connect=settings.connect_timeout,
        write=settings.read_timeout,
        pool=settings.read_timeout,
    )
    client = _HttpClient(
        base_url=settings.base_url,
        auth=auth,
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
        event_hooks={"request": [on_request], "response": [on_response]},
    )
    if transport is None:
        _cheap_idle_checks(client)
    return client
