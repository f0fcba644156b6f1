"""Running the sandbox: a uvicorn server in a thread (tests), in the foreground (``sandbox serve``),
or in process through httpx's ASGI transport. What the discovery file says is ``discovery``'s.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from reconciler.errors import UsageError
from reconciler.sandbox.auth import DEFAULT_TOKEN_TTL, Credentials
from reconciler.sandbox.dialects import parse_dialects
from reconciler.sandbox.discovery import (
    DISCOVERY_FILE,
    discover,
    remove_discovery,
    write_discovery,
)
from reconciler.sandbox.faults import FaultConfig
from reconciler.sandbox.seed import ensure_seeded
from reconciler.sandbox.store import DEFAULT_DB_PATH, Store

# The web framework and the server are imported where they run: a client that only looks for a
# running sandbox (``running_sandbox_url``) must not pay 0.3 s for them (issue 9).
if TYPE_CHECKING:
    import httpx
    import uvicorn
    from fastapi import FastAPI

    from reconciler.sandbox.threaded import ThreadedServer

# Base URL for clients of ``in_process_transport``: ``.localhost`` never leaves the machine.
IN_PROCESS_URL = "http://sandbox.localhost"
_START_TIMEOUT_S = 10.0
_log = logging.getLogger("reconciler.sandbox")


class SandboxServer:
    """The sandbox on a free loopback port, served by uvicorn in a background thread.

    ``port=0`` lets the system pick the port; ``url`` is known once started. The database is
    seeded with the demo programme if the file does not exist.
    """

    def __init__(
        self,
        db_path: Path | str = DEFAULT_DB_PATH,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        rate_limit_per_minute: int | None = None,
        credentials: Credentials | None = None,
        announce: bool = False,
        dialects: Sequence[str] = (),
    ) -> None:
        _require_loopback(host)
        self.dialect = parse_dialects(dialects)  # refused here, before anything starts
        self.db_path = Path(db_path)
        self.host = host
        self.port = port
        self.faults = faults
        self.token_ttl = token_ttl
        self.rate_limit_per_minute = rate_limit_per_minute
        self.credentials = credentials
        self.announce = announce
        self.store: Store = ensure_seeded(self.db_path)
        self._server: ThreadedServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._app: FastAPI | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the sandbox server is not running")
        return self._url

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        from reconciler.sandbox.app import create_app
        from reconciler.sandbox.threaded import ThreadedServer

        app = create_app(
            self.db_path,
            self.faults,
            self.token_ttl,
            self.rate_limit_per_minute,
            self.credentials,
            dialects=self.dialect,
        )
        sock = _bind(self.host, self.port)
        server = ThreadedServer(_config(app, log_level="warning"))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.002)
        self._server, self._thread, self._app = server, thread, app
        self._url = _url(sock)
        self.port = sock.getsockname()[1]
        if self.announce:
            write_discovery(self.db_path, self._url)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        if self.announce:
            remove_discovery(self.db_path)
        self._server.request_exit()
        self._thread.join(timeout=_START_TIMEOUT_S)
        if self._app is not None:
            self._app.state.sandbox.store.close()
        self._server = self._thread = self._app = None
        self._url = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    db_path: Path | str = DEFAULT_DB_PATH,
    faults: FaultConfig | None = None,
    token_ttl: int = DEFAULT_TOKEN_TTL,
    rate_limit: int | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
    dialects: Sequence[str] = (),
) -> None:
    """Serve the sandbox in the foreground until interrupted (``reconciler sandbox serve``).

    Binds loopback only. While it runs, ``<db dir>/sandbox.json`` tells clients its URL.
    ``on_ready`` receives the URL once the port is bound (the CLI prints it). ``dialects``
    (``dialects.DIALECTS``) make it answer as another reading of the API would.
    """
    import uvicorn

    from reconciler.sandbox.app import create_app

    _require_loopback(host)
    dialect = parse_dialects(dialects)
    path = Path(db_path)
    ensure_seeded(path)
    app = create_app(path, faults, token_ttl, rate_limit, dialects=dialect)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    url = _url(sock)
    write_discovery(path, url)
    try:
        config = _config(app, log_level=log_level)  # also sets up uvicorn's log format
        logging.getLogger("uvicorn.error").info(
            "Sandbox on %s (database %s%s); press CTRL+C to quit",
            url,
            path,
            f", dialects: {dialect}" if dialect.names else "",
        )
        if on_ready is not None:
            on_ready(url)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        remove_discovery(path)
        sock.close()


def running_sandbox_url(db_path: Path | str = DEFAULT_DB_PATH) -> str | None:
    """The URL of a sandbox server running on ``db_path``, if its discovery file says so and
    can be trusted (issue 14): see ``discover``. A file that cannot is ignored with a debug
    line, and the caller uses the in-process sandbox."""
    url, reason = discover(db_path)
    if reason is not None:
        _log.debug(
            "ignoring %s: %s; using the in-process sandbox",
            Path(db_path).parent / DISCOVERY_FILE,
            reason,
        )
    return url


def in_process_transport(
    db_path: Path | str = DEFAULT_DB_PATH, *, dialects: Sequence[str] = ()
) -> httpx.ASGITransport:
    """The sandbox app behind an httpx transport: no server, no socket (use ``IN_PROCESS_URL``)."""
    import httpx

    from reconciler.sandbox.app import create_app

    dialect = parse_dialects(dialects)
    path = Path(db_path)
    ensure_seeded(path)
    return httpx.ASGITransport(app=create_app(path, dialects=dialect))


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(
            f"the sandbox listens on loopback only (127.0.0.1, ::1 or localhost), not {host!r}"
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say TCP, and
    # without it every answer waits 40 ms for a delayed ACK (headers and body are two writes).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _config(app: FastAPI, *, log_level: str) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level in ("debug", "trace", "info"),
        lifespan="off",
        ws="none",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )
