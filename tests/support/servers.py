"""Loopback HTTP/1.1 servers written in the test, for answers the sandbox does not give.

``ScriptedServer(script)`` answers every request from ``script(seen) -> Reply`` (a delay, a
dropped connection...); ``Proxy(upstream, rule)`` forwards to the sandbox unless ``rule`` answers
instead. Both record each request as a ``Seen`` and run on ``LoopbackHTTPServer``. Nothing here
connects outside 127.0.0.1 (or the ``host`` a test names).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server serving ``handle(request_handler)`` from a daemon thread as
    soon as it is built. It logs nothing, and prints no traceback for a client that hung up
    (tests hang up on purpose: timeouts, a run that had already failed)."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, handle: Callable[[BaseHTTPRequestHandler], None], host: str = "127.0.0.1"
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                handle(self)

            do_GET = do_POST = _handle

        super().__init__((host, 0), Handler)
        self.url = f"http://{host}:{self.server_address[1]}"
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@dataclass
class Seen:
    """One request as a server here received it: header names lower-cased, ``at`` is
    ``time.monotonic()`` when it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    at: float
    body: bytes = b""


def receive(request: BaseHTTPRequestHandler) -> Seen:
    """Read the request (its ``Content-Length`` body too) being handled."""
    body = request.rfile.read(int(request.headers.get("content-length") or 0))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return Seen(request.command, request.path, headers, time.monotonic(), body)


def send(
    request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Answer the request being handled: ``headers`` and a ``Content-Length``, then ``body``."""
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


# --- a server answering from a script ---------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | object = b""  # str is sent as UTF-8, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (read timeouts)
    drop: bool = False  # close the connection without answering (after reading the request)


class ScriptedServer:
    """A loopback server whose answers come from ``script(seen) -> Reply`` (JSON by default)."""

    def __init__(self, script: Callable[[Seen], Reply]) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = LoopbackHTTPServer(self._handle)
        self.url = self._server.url

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        seen = receive(request)
        with self._lock:
            self.seen.append(seen)
        reply = self.script(seen)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        body = reply.body
        if not isinstance(body, bytes):
            body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        send(request, reply.status, body, {"Content-Type": "application/json", **reply.headers})

    def paths(self) -> list[str]:
        with self._lock:
            return [s.path for s in self.seen]

    def close(self) -> None:
        self._server.close()


def free_port() -> int:
    """A loopback port with nothing listening (for connection-refused paths)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a proxy in front of the sandbox ----------------------------------------------------------


@dataclass
class Answer:
    """What ``Proxy`` sends instead of forwarding: exactly these headers (no default type)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Rule = Callable[[Seen, int], "Answer | None"]  # (request, its number on that path) -> answer


class Proxy:
    """A loopback server that answers from ``rule`` or forwards to ``upstream``.

    ``rule(seen, n)`` gets each request and how many requests that path has had (1-based); it
    returns an ``Answer`` to send instead, or ``None`` to forward the request unchanged.
    """

    def __init__(self, upstream: str, rule: Rule, host: str = "127.0.0.1") -> None:
        self.seen: list[Seen] = []
        self._rule = rule
        self._lock = threading.Lock()
        self._upstream = httpx.Client(base_url=upstream, timeout=30)
        self._server = LoopbackHTTPServer(self._handle, host)
        self.url = self._server.url

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        seen = receive(request)
        with self._lock:
            self.seen.append(seen)
            n = sum(1 for s in self.seen if s.path == seen.path)
        answer = self._rule(seen, n) or self._forward(seen, seen.body)
        send(request, answer.status, answer.body, answer.headers)

    def _forward(self, seen: Seen, body: bytes) -> Answer:
        headers = {k: v for k, v in seen.headers.items() if k not in ("host", "content-length")}
        reply = self._upstream.request(seen.method, seen.path, headers=headers, content=body)
        keep = ("content-type", "retry-after", "date", "location")
        return Answer(
            reply.status_code, reply.content, {k: v for k, v in reply.headers.items() if k in keep}
        )

    def close(self) -> None:
        self._server.close()
        self._upstream.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
