"""Raw-socket servers on loopback that misbehave below HTTP (issue 14 item 6).

``RawServer(respond)`` reads each request (headers and a ``Content-Length`` body) and hands the
socket to ``respond(conn, request)``, which writes whatever bytes it likes: a status line that
never ends, a body one byte at a time, a gzip bomb. The connection is closed afterwards.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable

from tests.support.servers import Seen

Respond = Callable[[socket.socket, Seen], None]


class RawServer:
    """A threaded TCP server on 127.0.0.1; ``respond`` may block (trickle) until the peer leaves."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.requests: list[Seen] = []
        self.sent_bytes = 0  # body bytes ``trickle``/``flood`` managed to write
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = _read_request(conn)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                self.respond(conn, request)
            except OSError:  # the client hung up: that is what most of these servers await
                return

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def count(self, written: int) -> None:
        with self._lock:
            self.sent_bytes += written

    def close(self) -> None:
        self.closed.set()
        self._listener.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_request(conn: socket.socket) -> Seen | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Seen(method, path, headers, time.monotonic(), body)


def envelope_bytes(data: object) -> bytes:
    return json.dumps({"data": data, "errors": None, "warnings": None}).encode()


def answer(
    conn: socket.socket,
    body: bytes,
    *,
    status: str = "200 OK",
    headers: dict[str, str] | None = None,
) -> None:
    """A complete, well-formed answer (``Connection: close``)."""
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    fields.update(headers or {})
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    conn.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + body)


def trickle(
    server: RawServer,
    conn: socket.socket,
    prefix: bytes,
    *,
    byte: bytes = b" ",
    interval: float = 0.2,
    stop: Callable[[], bool] | None = None,
) -> None:
    """``prefix`` at once, then one ``byte`` every ``interval`` until the client leaves (or
    ``stop()`` is true, or the server closes): each byte well within any read timeout."""
    conn.sendall(prefix)
    while not server.closed.is_set() and not (stop and stop()):
        time.sleep(interval)
        conn.sendall(byte)
        server.count(len(byte))


def trickle_status_line(server: RawServer, interval: float = 0.2) -> Respond:
    """Headers that never end: ``HTTP/1.1 200 OK\\r\\nX-Slow: aaaa…``."""

    def respond(conn: socket.socket, request: Seen) -> None:
        trickle(server, conn, b"HTTP/1.1 200 OK\r\nX-Slow: ", byte=b"a", interval=interval)

    return respond


def trickle_body(server: RawServer, interval: float = 0.2, *, chunked: bool = False) -> Respond:
    """Complete headers promising a body that arrives one byte (or one chunk) at a time."""

    def respond(conn: socket.socket, request: Seen) -> None:
        if chunked:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += b"Transfer-Encoding: chunked\r\n\r\n" + b"1\r\n{\r\n"
            trickle(server, conn, head, byte=b"1\r\n \r\n", interval=interval)
        else:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += b"Content-Length: 1000000\r\n\r\n" + b'{"data": ['
            trickle(server, conn, head, byte=b" ", interval=interval)

    return respond


def flood(server: RawServer, *, declare_length: int | None = None, chunk: int = 65536) -> Respond:
    """A body without end, as fast as the client takes it; ``declare_length`` sends that
    ``Content-Length`` (else chunked). The bytes form a JSON array that never closes."""

    def respond(conn: socket.socket, request: Seen) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if declare_length is not None:
            head += f"Content-Length: {declare_length}\r\n\r\n".encode()
        else:
            head += b"Transfer-Encoding: chunked\r\n\r\n"
        conn.sendall(head)
        piece = b'{"data": [' + b"1," * (chunk // 2)
        while not server.closed.is_set():
            if declare_length is None:
                conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                conn.sendall(piece)
            server.count(len(piece))
            piece = b"1," * (chunk // 2)

    return respond


def bomb(decoded_size: int, encoding: str = "gzip") -> bytes:
    """A compressed JSON envelope whose ``data`` is a string of ``decoded_size`` spaces."""
    payload = b'{"data": "' + b" " * decoded_size + b'", "errors": null}'
    if encoding == "gzip":
        return gzip.compress(payload, compresslevel=9)
    if encoding == "deflate":
        return zlib.compress(payload, 9)
    if encoding == "gzip, gzip":
        return gzip.compress(gzip.compress(payload, compresslevel=9), compresslevel=9)
    raise ValueError(encoding)
