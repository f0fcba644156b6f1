"""Issue 14 item 6: no answer can hold a request for longer than its deadline, or be too big.

Every server here is a real socket on loopback that misbehaves below HTTP: headers or a body
trickled one byte at a time (each byte well within the read timeout, so httpx's per-read
timeout never fires), a body without end, a ``Content-Length`` over the limit, gzip and
deflate bombs. Each test bounds itself with ``asyncio.wait_for`` so that a regression fails
instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings, OAuthCredentials
from reconciler.errors import AmbiguousWriteError, ApiError, ServerError, TransportError
from reconciler.sandbox import SandboxServer
from reconciler.sandbox.seed import EMAIL
from tests.support.cli import Run, write_config
from tests.support.client import WRITE
from tests.support.manifests import communication, manifest
from tests.support.raw_servers import (
    RawServer,
    answer,
    bomb,
    envelope_bytes,
    flood,
    trickle,
    trickle_body,
    trickle_status_line,
)
from tests.support.sandbox import writes
from tests.support.servers import Answer, Proxy, Seen

T = TypeVar("T")
MiB = 1024 * 1024
READ_TIMEOUT = 1.0
GUARD = 20.0  # far beyond any deadline here: reaching it means the request hung


def client_settings(url: str, **overrides: object) -> ClientSettings:
    values: dict[str, object] = {
        "read_timeout": READ_TIMEOUT,
        "max_attempts": 1,
        "backoff_base": 0.01,
        "backoff_cap": 0.02,
    }
    values.update(overrides)
    return ClientSettings(
        base_url=url,
        credentials=BasicCredentials("demo", "demo-password"),
        **values,  # type: ignore[arg-type]
    )


def timed(call: Callable[[CapillaryClient], Awaitable[T]], settings: ClientSettings) -> float:
    """Run ``call`` on a fresh client; return how long it took to fail with an ApiError."""

    async def go() -> float:
        async with CapillaryClient(settings) as client:
            started = time.monotonic()
            with pytest.raises(ApiError) as info:
                await asyncio.wait_for(call(client), GUARD)
            elapsed = time.monotonic() - started
        failures.append(info.value)
        return elapsed

    failures: list[ApiError] = []
    elapsed = asyncio.run(go())
    timed.last = failures[0]  # type: ignore[attr-defined]
    return elapsed


def last_error() -> ApiError:
    return timed.last  # type: ignore[attr-defined, no-any-return]


def read_communications(client: CapillaryClient) -> Awaitable[object]:
    return client.get_communications(1, 2)


# --- a total deadline per attempt ----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        trickle_status_line,
        trickle_body,
        lambda server: trickle_body(server, chunked=True),
    ],
    ids=["headers", "body", "chunked-body"],
)
def test_a_trickling_answer_fails_the_read_within_about_the_read_timeout(
    make: Callable[[RawServer], Callable[[socket.socket, Seen], None]],
) -> None:
    server = RawServer(lambda conn, request: None)
    server.respond = make(server)
    with server:
        elapsed = timed(read_communications, client_settings(server.url))
    error = last_error()
    assert isinstance(error, TransportError)
    assert "no complete answer within 1.35 s" in error.message
    assert elapsed < READ_TIMEOUT + 1.5
    assert server.sent_bytes >= 2  # it really was trickling, each byte within the read timeout


def test_a_trickling_read_is_retried_like_any_timeout_and_gives_up_in_bounded_time() -> None:
    server = RawServer(lambda conn, request: None)
    server.respond = trickle_body(server)
    with server:
        elapsed = timed(read_communications, client_settings(server.url, max_attempts=3))
    assert isinstance(last_error(), TransportError)
    assert "gave up after 3 attempts" in last_error().message
    assert len(server.requests) == 3
    assert elapsed < 3 * READ_TIMEOUT + 2.5


def test_a_trickling_token_endpoint_is_bounded_too() -> None:
    server = RawServer(lambda conn, request: None)
    server.respond = trickle_body(server)
    settings = client_settings(server.url)
    settings = ClientSettings(
        base_url=server.url,
        credentials=OAuthCredentials("key", "secret-value-1"),
        read_timeout=READ_TIMEOUT,
        max_attempts=1,
    )
    with server:
        elapsed = timed(read_communications, settings)
    assert isinstance(last_error(), TransportError)
    assert server.paths() == ["/v3/oauth/token/generate"]
    assert elapsed < READ_TIMEOUT + 1.5


def test_a_write_whose_answer_trickles_is_ambiguous_and_never_resent() -> None:
    server = RawServer(lambda conn, request: None)
    server.respond = trickle_body(server)
    with server:
        elapsed = timed(
            lambda client: client.upsert_communications(1, 2, [WRITE]),
            client_settings(server.url, max_attempts=5),
        )
    assert isinstance(last_error(), AmbiguousWriteError)
    assert "may or may not have been committed" in last_error().message
    assert [r.method for r in server.requests] == ["POST"]  # never resent blindly
    assert elapsed < READ_TIMEOUT + 1.5


def test_the_deadline_is_a_setting_of_its_own() -> None:
    server = RawServer(lambda conn, request: None)
    server.respond = trickle_body(server, interval=0.1)
    with server:
        elapsed = timed(
            read_communications, client_settings(server.url, read_timeout=30.0, deadline=0.5)
        )
    assert "no complete answer within 0.5 s" in last_error().message
    assert elapsed < 2.0


def test_settings_refuse_a_deadline_or_limit_that_cannot_work() -> None:
    from reconciler.errors import ConfigError

    with pytest.raises(ConfigError, match="deadline"):
        client_settings("http://127.0.0.1:9", deadline=0)
    with pytest.raises(ConfigError, match="max_response_bytes"):
        client_settings("http://127.0.0.1:9", max_response_bytes=0)


# --- a limit on what an answer may weigh ----------------------------------------------------


def test_the_default_limit_is_16_mib() -> None:
    assert client_settings("http://127.0.0.1:9").max_response_bytes == 16 * MiB


def test_a_content_length_over_the_limit_fails_before_the_body_is_read() -> None:
    server = RawServer(lambda conn, request: None)

    def respond(conn: socket.socket, request: Seen) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {17 * MiB}\r\n\r\n".encode()
        trickle(server, conn, head, interval=0.2)  # the body would take days

    server.respond = respond
    with server:
        elapsed = timed(read_communications, client_settings(server.url, max_attempts=3))
    error = last_error()
    assert isinstance(error, ServerError)
    assert "answer of 17 MiB is larger than the 16 MiB this client accepts" in error.message
    assert len(server.requests) == 1  # the same answer would come again: not retried
    assert elapsed < 0.9


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "lying-content-length"])
def test_an_endless_body_stops_being_read_at_the_limit(declared: bool) -> None:
    server = RawServer(lambda conn, request: None)
    # A Content-Length under the limit that the server then ignores, or no length at all.
    server.respond = flood(server, declare_length=MiB // 2 if declared else None)
    with server:
        timed(read_communications, client_settings(server.url, max_response_bytes=MiB))
    error = last_error()
    if declared:  # h11 stops at the declared length; the rest is not a body at all
        assert isinstance(error, ApiError)
    else:
        assert isinstance(error, ServerError)
        assert "larger than the 1 MiB this client accepts" in error.message
    time.sleep(0.2)
    assert server.sent_bytes < 8 * MiB  # the client stopped reading; nothing unbounded


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "gzip, gzip"])
def test_a_compression_bomb_is_limited_by_its_decoded_size_without_expanding_it(
    encoding: str,
) -> None:
    payload = bomb(200 * MiB, encoding)
    assert len(payload) < MiB  # small on the wire: under any limit
    server = RawServer(
        lambda conn, request: answer(conn, payload, headers={"Content-Encoding": encoding})
    )
    tracemalloc.start()
    try:
        with server:
            timed(read_communications, client_settings(server.url, max_response_bytes=4 * MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = last_error()
    assert isinstance(error, ServerError)
    assert "decoded answer is larger than the 4 MiB this client accepts" in error.message
    assert peak < 40 * MiB  # expanding the bomb in one go would take 200 MiB


def test_a_compressed_answer_within_the_limit_is_read_as_usual() -> None:
    row = {
        "id": 5,
        "targetId": 2,
        "targetGroupId": 1,
        "communicationType": "START",
        "channelId": 2,
        "subjectTemplate": "s",
        "messageTemplate": "x" * 100_000,
        "sender": "a@example.com",
        "offsetDays": 0,
        "active": True,
    }
    import gzip

    payload = gzip.compress(envelope_bytes([row]))
    server = RawServer(
        lambda conn, request: answer(conn, payload, headers={"Content-Encoding": "gzip"})
    )

    async def go() -> list[object]:
        async with CapillaryClient(client_settings(server.url)) as client:
            return list(await client.get_communications(1, 2))

    with server:
        [comm] = asyncio.run(go())
    assert comm.messageTemplate == "x" * 100_000  # type: ignore[attr-defined]
    assert "gzip" in server.requests[0].headers.get("accept-encoding", "")


def test_a_bomb_from_the_token_endpoint_is_limited_too() -> None:
    payload = bomb(100 * MiB)
    server = RawServer(
        lambda conn, request: answer(conn, payload, headers={"Content-Encoding": "gzip"})
    )
    settings = ClientSettings(
        base_url=server.url,
        credentials=OAuthCredentials("key", "secret-value-2"),
        max_attempts=1,
        max_response_bytes=MiB,
    )
    with server:
        timed(read_communications, settings)
    assert "larger than the 1 MiB this client accepts" in last_error().message
    assert server.paths() == ["/v3/oauth/token/generate"]


def test_a_write_answered_with_too_much_is_ambiguous() -> None:
    server = RawServer(lambda conn, request: None)
    server.respond = flood(server)
    with server:
        timed(
            lambda client: client.upsert_communications(1, 2, [WRITE]),
            client_settings(server.url, max_attempts=5, max_response_bytes=MiB),
        )
    assert isinstance(last_error(), AmbiguousWriteError)
    assert "larger than the 1 MiB this client accepts" in last_error().message
    assert [r.method for r in server.requests] == ["POST"]


# --- through the CLI: a trickled upsert answer goes through ambiguous-write recovery ---------


def test_apply_recovers_a_committed_write_whose_answer_trickles(
    repo: Path, sandbox: SandboxServer, cli: Run
) -> None:
    upstream = httpx.Client(base_url=sandbox.url, timeout=30)
    trickled: list[str] = []

    def respond(conn: socket.socket, request: Seen) -> None:
        keep = {"authorization", "content-type", "accept"}
        reply = upstream.request(
            request.method,
            request.path,
            headers={k: v for k, v in request.headers.items() if k in keep},
            content=request.body,
        )
        if request.path.endswith("/upsert") and not trickled:
            trickled.append(request.path)  # committed upstream; the answer never completes
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += f"Content-Length: {len(reply.content) + 10}\r\n\r\n".encode()
            trickle(server, conn, head + reply.content[:5], interval=0.2)
            return
        answer(conn, reply.content, status=f"{reply.status_code} X")

    server = RawServer(respond)
    entry = communication("START", EMAIL, "Welcome, {{first_name}}!", subject="Hi")
    (repo / "manifests" / "one.yaml").write_text(manifest("one", 2163, 2317, [entry]))
    with server:
        write_config(repo, server.url, readTimeout=1)
        started = time.monotonic()
        code, out, err = cli("apply", "--auto-approve")
        elapsed = time.monotonic() - started
    upstream.close()
    assert code == 0, err
    assert "recovered after ambiguous write" in out
    assert elapsed < 15
    committed = [r for r in writes(sandbox.store.request_log()) if r.committed]
    assert len(committed) == 1  # the trickled write was not sent again
    live = sandbox.store.communications(2163, 2317)
    starts = [
        c
        for c in live
        if c["active"]
        and (c["communicationType"], c["channelId"])
        == (
            "START",
            EMAIL,
        )
    ]
    assert len(starts) == 1
    assert json.loads(json.dumps(starts[0]))["messageTemplate"] == "Welcome, {{first_name}}!"


def test_plan_reports_an_oversized_answer_as_an_unreadable_target_and_the_limit_is_configurable(
    repo: Path, sandbox: SandboxServer, cli: Run
) -> None:
    big = envelope_bytes([])[:-1] + b" " * (2 * MiB) + b"}"  # 2 MiB of valid, empty JSON

    def rule(seen: Seen, n: int) -> Answer | None:
        return (
            Answer(200, big, {"Content-Type": "application/json"})
            if seen.path.endswith("/2317/communications")
            else None
        )

    entry = communication("START", EMAIL, "Welcome, {{first_name}}!", subject="Hi")
    (repo / "manifests" / "one.yaml").write_text(manifest("one", 2163, 2317, [entry]))
    with Proxy(sandbox.url, rule) as proxy:
        write_config(repo, proxy.url, maxResponseMiB=1)
        code, _, err = cli("plan")
        assert code == 1
        assert "could not be read" in err
        assert "larger than the 1 MiB this client accepts" in err
        write_config(repo, proxy.url, maxResponseMiB=3)
        code, out, err = cli("plan")
    assert code == 0, err  # the same answer, now within the limit
    assert "create" in out


def test_stacked_encodings_are_bounded_too() -> None:
    import gzip

    payload = envelope_bytes([])
    for _ in range(4):
        payload = gzip.compress(payload)
    server = RawServer(
        lambda conn, request: answer(
            conn, payload, headers={"Content-Encoding": "gzip, gzip, gzip, gzip"}
        )
    )
    with server:
        timed(read_communications, client_settings(server.url))
    assert "encoded 4 times over" in last_error().message


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_broken_encoding_is_a_bad_body(encoding: str) -> None:
    server = RawServer(
        lambda conn, request: answer(
            conn, b"\x1f\x8b not really", headers={"Content-Encoding": encoding}
        )
    )
    with server:
        timed(read_communications, client_settings(server.url, max_attempts=2))
    assert f"the answer's {encoding} encoding is broken" in last_error().message
    assert len(server.requests) == 2  # retried, like a truncated body


def test_raw_deflate_and_a_deflate_stream_are_both_read() -> None:
    import zlib

    body = envelope_bytes([])
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    for payload in (zlib.compress(body), raw.compress(body) + raw.flush()):
        server = RawServer(
            lambda conn, request, payload=payload: answer(
                conn, payload, headers={"Content-Encoding": "deflate"}
            )
        )

        async def go(url: str) -> list[object]:
            async with CapillaryClient(client_settings(url)) as client:
                return list(await client.get_communications(1, 2))

        with server:
            assert asyncio.run(go(server.url)) == []
