"""Helpers for the API client tests: fake time, scripted transports and a tiny loopback server.

Imported by the tests as ``apikit`` (a unique name, so it cannot clash with other test dirs).
Nothing here connects outside 127.0.0.1; the scripted server is a real HTTP/1.1 server so the
failure paths that need a socket (timeouts, dropped connections) are exercised for real.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from reconciler.api import BasicCredentials, ClientSettings, OAuthCredentials

BASE = "https://api.test"


class FakeTime:
    """A monotonic clock that only moves when ``sleep`` is awaited; records every wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def settings(
    base_url: str = BASE,
    credentials: BasicCredentials | OAuthCredentials | None = None,
    **overrides: object,
) -> ClientSettings:
    """Settings for tests: tiny backoff unless a test is about backoff."""
    values: dict[str, object] = {"backoff_base": 0.001, "backoff_cap": 0.01}
    values.update(overrides)
    return ClientSettings(
        base_url=base_url,
        credentials=credentials or BasicCredentials("demo", "demo-password"),
        **values,  # type: ignore[arg-type]
    )


def envelope(data: object = None, errors: object = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "errors": errors, "warnings": None})


def token_response(token: str = "tok-0001-abcdef", ttl: float = 300) -> httpx.Response:  # noqa: S107
    return envelope({"accessToken": token, "ttlSeconds": ttl})


COMMUNICATION = {
    "id": 11,
    "targetId": 2317,
    "targetGroupId": 2163,
    "communicationType": "FINISH",
    "channelId": 2,
    "subjectTemplate": "s",
    "messageTemplate": "m",
    "sender": "a@example.com",
    "offsetDays": 1,
    "active": True,
    "configs": [],
    "attribution": {
        "createdOn": "2025-06-24T08:25:55.590+0000",
        "lastUpdatedOn": "2025-06-24T08:25:55.590+0000",
        "createdBy": {"id": 1, "code": "c", "name": "n", "type": "TILL"},
    },
}


_TARGET_PATH = re.compile(r"/targetGroups/(\d+)/targets/(\d+)/")


def communication_of(request: httpx.Request) -> dict[str, object]:
    """COMMUNICATION as a row of the target the request's path names: a read answered with a
    row of another target fails (issue 14 item 4)."""
    found = _TARGET_PATH.search(request.url.path)
    if found is None:
        return dict(COMMUNICATION)
    return {**COMMUNICATION, "targetGroupId": int(found[1]), "targetId": int(found[2])}


@dataclass
class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    script: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.script(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


# --- a real loopback HTTP server answering from a script ----------------------------------


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | object = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (read timeouts)
    drop: bool = False  # close the connection without answering (after reading the request)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """``ThreadingHTTPServer`` on 127.0.0.1 whose answers come from ``script(seen) -> Reply``."""

    def __init__(self, script: Callable[[Seen], Reply]) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with outer._lock:
                    outer.seen.append(seen)
                reply = outer.script(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = reply.body
                if not isinstance(body, bytes):
                    body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the client hung up on purpose (timeouts): not worth a traceback

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def paths(self) -> list[str]:
        with self._lock:
            return [s.path for s in self.seen]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    """A loopback port with nothing listening (for connection-refused paths)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
