"""One API call through its attempts: retries and Retry-After, giving up, writes resent only
when provably not committed, redirects, the circuit breaker (``tests/api/test_envelope.py`` has
how each answer is classified).

Scripted ``MockTransport`` answers where only the HTTP semantics matter; the loopback
``ScriptedServer`` where a real socket is the point (timeouts, dropped connections, real waits).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable

import httpx
import pytest

from reconciler.api import CapillaryClient, CircuitOpenError, OAuthCredentials
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    ApiValidationError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from tests.support.client import (
    COMMUNICATION,
    WRITE,
    FakeTime,
    Recorder,
    client_for,
    envelope,
    sequence,
    settings,
    token_response,
)
from tests.support.sandbox import upsert
from tests.support.servers import Reply, ScriptedServer, Seen, free_port

pytestmark = pytest.mark.anyio

UPSERT = upsert()
Script = Callable[[Seen], Reply]


# --- Retry-After --------------------------------------------------------------------------


async def test_retry_after_2_delays_the_next_attempt_by_at_least_2_s(fake_time: FakeTime) -> None:
    sent_at: list[float] = []

    def script(request: httpx.Request) -> httpx.Response:
        sent_at.append(fake_time.now)
        if len(sent_at) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, text="slow down")
        return envelope([{"id": 1, "name": "SMS"}])

    rec = Recorder(script)
    async with client_for(rec, fake_time, backoff_base=0.5, backoff_cap=30.0) as client:
        await client.list_channels()
    assert sent_at[1] - sent_at[0] >= 2.0
    assert fake_time.sleeps[0] >= 2.0
    assert client.stats.retries == {"429": 1}
    assert client.stats.throttled == 1


async def test_retry_after_2_measured_over_real_http(
    scripted_server: Callable[[Script], ScriptedServer],
) -> None:
    seen_at: list[float] = []

    def script(seen: Seen) -> Reply:
        seen_at.append(time.monotonic())
        if len(seen_at) == 1:
            return Reply(429, b"", {"Retry-After": "2"})
        return Reply(200, {"data": [{"id": 1, "name": "SMS"}], "errors": None})

    server = scripted_server(script)
    async with CapillaryClient(settings(server.url)) as client:
        await client.list_channels()
    assert seen_at[1] - seen_at[0] >= 2.0  # a lower bound only: never assert the upper side


async def test_retry_after_as_an_http_date_is_honoured(fake_time: FakeTime) -> None:
    date = email.utils.formatdate(1_750_000_000, usegmt=True)
    later = email.utils.formatdate(1_750_000_003, usegmt=True)
    rec = sequence(
        httpx.Response(503, headers={"Retry-After": later, "Date": date}, text="busy"),
        envelope([{"id": 1, "name": "SMS"}]),
    )
    async with client_for(rec, fake_time) as client:
        await client.list_channels()
    assert fake_time.sleeps[0] == pytest.approx(3.0)


async def test_retry_after_above_the_limit_fails_fast(fake_time: FakeTime) -> None:
    rec = sequence(httpx.Response(429, headers={"Retry-After": "120"}, text="later"))
    async with client_for(rec, fake_time) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.list_channels()
        # The next call is not paused for 120 s either: it asks, and fails fast in turn.
        with pytest.raises(RateLimitedError):
            await client.list_target_groups()
    assert "asked to wait 120 s (Retry-After), longer than the 60 s this run allows" in str(
        info.value
    )
    assert len(rec.requests) == 2
    assert fake_time.sleeps == []


# --- giving up ----------------------------------------------------------------------------


async def test_a_persistent_503_gives_up_after_5_attempts(fake_time: FakeTime) -> None:
    rec = sequence(httpx.Response(503, text="Service Unavailable"))
    async with client_for(rec, fake_time, backoff_base=0.5, backoff_cap=30.0) as client:
        with pytest.raises(ServerError, match="gave up after 5 attempts: HTTP 503"):
            await client.list_target_groups()
    assert len(rec.requests) == 5
    assert len(fake_time.sleeps) == 4
    # Full jitter: each wait lies inside its doubling window.
    for n, wait in enumerate(fake_time.sleeps, start=1):
        assert 0.0 <= wait <= 0.5 * 2 ** (n - 1)


async def test_connection_refused_is_a_transport_error_after_retries(fake_time: FakeTime) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with CapillaryClient(
        settings(url, max_attempts=3), sleep=fake_time.sleep, clock=fake_time.clock
    ) as client:
        with pytest.raises(
            TransportError, match="gave up after 3 attempts: could not connect"
        ) as info:
            await client.list_channels()
    assert client.stats.retries == {"connect": 2}
    # No httpx exception (whose request holds the headers) is chained to what callers see.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


async def test_a_read_timeout_on_a_read_is_retried(
    scripted_server: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Reply:
        if len(server.seen) == 1:
            return Reply(200, {"data": [], "errors": None}, delay=1.0)
        return Reply(200, {"data": [{"id": 1, "name": "SMS"}], "errors": None})

    server = scripted_server(script)
    async with CapillaryClient(settings(server.url, read_timeout=0.2)) as client:
        assert [c.id for c in await client.list_channels()] == [1]
    assert client.stats.retries == {"timeout": 1}


async def test_a_dropped_connection_on_a_read_is_retried(
    scripted_server: Callable[[Script], ScriptedServer],
) -> None:
    def script(seen: Seen) -> Reply:
        if len(server.seen) == 1:
            return Reply(drop=True)
        return Reply(200, {"data": [{"id": 1, "name": "SMS"}], "errors": None})

    server = scripted_server(script)
    async with CapillaryClient(settings(server.url)) as client:
        assert [c.id for c in await client.list_channels()] == [1]
    assert client.stats.retries == {"network": 1}


# --- writes: resent only when provably not committed ---------------------------------------


async def test_a_write_refused_with_429_is_resent() -> None:
    rec = sequence(
        httpx.Response(429, headers={"Retry-After": "0"}, text="throttled"),
        envelope([COMMUNICATION]),
    )
    async with client_for(rec) as client:
        stored = await client.upsert_communications(2163, 2317, [WRITE])
    assert [c.id for c in stored] == [11]
    assert rec.paths() == [UPSERT, UPSERT]
    assert client.stats.writes == 2


async def test_a_write_that_could_not_connect_is_resent() -> None:
    calls: list[httpx.Request] = []

    def script(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return envelope([COMMUNICATION])

    async with CapillaryClient(settings(), transport=httpx.MockTransport(script)) as client:
        await client.upsert_communications(2163, 2317, [WRITE])
    assert len(calls) == 2


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(503, text="unavailable"),
        httpx.Response(521, text="web server is down"),
        httpx.Response(200, text="<html>maintenance</html>"),
        envelope([], [{"code": 1, "message": "partial failure"}]),
        envelope([{"id": "x"}]),
    ],
    ids=["500", "503", "521", "html-200", "errors-200", "bad-shape-200"],
)
async def test_a_write_with_an_unknown_outcome_is_ambiguous_after_one_attempt(
    answer: httpx.Response,
) -> None:
    rec = sequence(answer)
    async with client_for(rec) as client:
        with pytest.raises(AmbiguousWriteError, match="may or may not have been committed"):
            await client.upsert_communications(2163, 2317, [WRITE])
    assert rec.paths() == [UPSERT]
    assert client.stats.ambiguous_writes == 1


async def test_a_write_that_timed_out_after_sending_is_ambiguous_never_resent(
    scripted_server: Callable[[Script], ScriptedServer],
) -> None:
    server = scripted_server(lambda seen: Reply(200, {"data": [], "errors": None}, delay=1.0))
    async with CapillaryClient(settings(server.url, read_timeout=0.2)) as client:
        with pytest.raises(
            AmbiguousWriteError,
            match=r"timed out talking to 127.0.0.1:\d+ \(ReadTimeout\) after the write",
        ):
            await client.upsert_communications(2163, 2317, [WRITE])
    assert server.paths() == [UPSERT]


async def test_a_write_whose_connection_dropped_is_ambiguous_never_resent(
    scripted_server: Callable[[Script], ScriptedServer],
) -> None:
    server = scripted_server(lambda seen: Reply(drop=True))
    async with CapillaryClient(settings(server.url)) as client:
        with pytest.raises(AmbiguousWriteError, match="after the write was sent"):
            await client.upsert_communications(2163, 2317, [WRITE])
    assert server.paths() == [UPSERT]


async def test_an_empty_write_sends_nothing() -> None:
    rec = sequence(envelope([]))
    async with client_for(rec) as client:
        assert await client.upsert_communications(1, 2, []) == []
    assert rec.requests == []


async def test_ids_must_be_integers_so_paths_cannot_be_forged() -> None:
    rec = sequence(envelope([]))
    async with client_for(rec) as client:
        with pytest.raises(ApiValidationError, match="target id must be an integer"):
            await client.get_communications(1, "2/../../x")  # type: ignore[arg-type]
        with pytest.raises(ApiValidationError, match="target group id must be an integer"):
            await client.list_targets(True)
    assert rec.requests == []


# --- redirects (SPEC §7) ------------------------------------------------------------------


async def test_a_redirect_to_another_host_is_not_followed_and_the_token_never_leaves() -> None:
    def script(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/oauth/token/generate":
            return token_response("tok-redirect-7777")
        return httpx.Response(302, headers={"Location": "https://evil.example/steal?x=1"})

    rec = Recorder(script)
    creds = OAuthCredentials("demo-key", "demo-secret")
    async with client_for(rec, credentials=creds) as client:
        with pytest.raises(ApiError, match="HTTP 302: the server answered with a redirect") as info:
            await client.list_channels()
    assert {r.url.host for r in rec.requests} == {"api.test"}
    assert "evil.example" not in str(info.value)
    assert len(rec.requests) == 2  # token + the one API request; a redirect is not retried


async def test_a_real_302_to_another_host_is_not_followed(
    scripted_server: Callable[[Script], ScriptedServer],
) -> None:
    other = scripted_server(lambda seen: Reply(200, {"data": [], "errors": None}))
    api = scripted_server(lambda seen: Reply(302, b"", {"Location": f"{other.url}/steal"}))
    async with CapillaryClient(settings(api.url)) as client:
        with pytest.raises(ApiError, match="redirect"):
            await client.list_channels()
    assert other.seen == []
    assert len(api.seen) == 1


# --- circuit breaker ----------------------------------------------------------------------


async def test_a_full_outage_across_50_targets_is_stopped_early(fake_time: FakeTime) -> None:
    rec = sequence(httpx.Response(502, text="Bad Gateway"))
    async with client_for(rec, fake_time, parallelism=8) as client:
        results = await asyncio.gather(
            *(client.get_communications(1, n) for n in range(50)), return_exceptions=True
        )
    assert all(isinstance(r, ServerError) for r in results)
    threshold = client.settings.effective_breaker_threshold  # max(10, 2 * 8) = 16
    # Without the breaker: 50 targets x 5 attempts = 250 requests.
    assert len(rec.requests) <= threshold + client.settings.parallelism
    assert sum(isinstance(r, CircuitOpenError) for r in results) >= 40
    assert "circuit open after" in str(next(r for r in results if isinstance(r, CircuitOpenError)))
    assert client.stats.circuit_rejections >= 40


async def test_throttling_alone_does_not_open_the_breaker(fake_time: FakeTime) -> None:
    rec = sequence(
        *[httpx.Response(429, headers={"Retry-After": "0"}) for _ in range(4)],
        envelope([{"id": 1, "name": "SMS"}]),
    )
    async with client_for(rec, fake_time, breaker_threshold=2) as client:
        await client.list_channels()
        await client.list_channels()
    assert not client.breaker.is_open


# --- anything else a transport raises ------------------------------------------------------


def crashing(request: httpx.Request) -> httpx.Response:
    raise RuntimeError("database is locked")


async def test_an_unexpected_transport_exception_becomes_a_server_error() -> None:
    async with CapillaryClient(settings(), transport=httpx.MockTransport(crashing)) as client:
        with pytest.raises(ServerError, match=r"failed unexpectedly \(RuntimeError: database"):
            await client.list_channels()
        with pytest.raises(AmbiguousWriteError, match="RuntimeError"):
            await client.upsert_communications(2163, 2317, [WRITE])


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:8080",
        "https://eu.api.capillarytech.com",
        "https://eu.api.capillarytech.com/prefix/v",
        "http://[::1]:9000",
        "https://xn--bcher-kva.example",
    ],
)
@pytest.mark.parametrize(
    "path", ["/v3/targetGroups/7/targets/8/communications", "/v3/targetGroups", "/a b?c"]
)
def test_request_urls_are_what_httpx_makes_of_base_and_path(base: str, path: str) -> None:
    from reconciler.api.calls import Caller

    client = CapillaryClient(settings(base_url=base))
    caller: Caller = client._calls
    expected = httpx.URL(base + path)
    built = caller.url(path)
    assert built == expected
    assert (str(built), built.raw_path, built.host, built.port) == (
        str(expected),
        expected.raw_path,
        expected.host,
        expected.port,
    )
    assert caller._fast_urls is True  # this httpx: built without a second parse
