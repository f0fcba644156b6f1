"""Every failure the client must survive or report: status mapping, bodies, retries, writes.

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
from apikit import (
    COMMUNICATION,
    FakeTime,
    Recorder,
    Reply,
    ScriptedServer,
    Seen,
    envelope,
    free_port,
    settings,
    token_response,
)

from reconciler.api import CapillaryClient, CircuitOpenError, OAuthCredentials
from reconciler.api.wire import CommunicationWrite
from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    ApiValidationError,
    NotFoundError,
    PermissionDenied,
    RateLimitedError,
    ServerError,
    TransportError,
)

pytestmark = pytest.mark.anyio

UPSERT = "/v3/targetGroups/2163/targets/2317/communications/upsert"
WRITE = CommunicationWrite(
    active=True,
    channelId=2,
    communicationType="FINISH",
    messageTemplate="m",
    offsetDays=1,
    sender="a@example.com",
    subjectTemplate="s",
)
Script = Callable[[Seen], Reply]


def sequence(*responses: httpx.Response) -> Recorder:
    """Answer with ``responses`` in order, repeating the last one."""
    answers = list(responses)

    def script(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return Recorder(script)


def client_for(rec: Recorder, fake: FakeTime | None = None, **overrides: object) -> CapillaryClient:
    timing = {"sleep": fake.sleep, "clock": fake.clock} if fake else {}
    return CapillaryClient(settings(**overrides), transport=rec.transport(), **timing)  # type: ignore[arg-type]


# --- status mapping -----------------------------------------------------------------------


async def test_400_is_a_validation_error_carrying_the_envelopes_messages() -> None:
    errors = [{"code": 4218, "message": "invalid channel"}, {"code": 300004, "message": "bad"}]
    rec = sequence(envelope(None, errors, status=400))
    async with client_for(rec) as client:
        with pytest.raises(ApiValidationError) as info:
            await client.upsert_communications(2163, 2317, [WRITE])
    assert str(info.value) == (
        f"POST {UPSERT}: HTTP 400: code 4218: invalid channel; code 300004: bad"
    )
    assert (info.value.method, info.value.path, info.value.status) == ("POST", UPSERT, 400)
    assert len(rec.requests) == 1


async def test_404_is_not_found_and_not_retried() -> None:
    rec = sequence(envelope(None, [{"code": 310017, "message": "target group not found"}], 404))
    async with client_for(rec) as client:
        with pytest.raises(NotFoundError, match="code 310017: target group not found"):
            await client.get_target_group(999)
    assert len(rec.requests) == 1


async def test_other_4xx_is_an_api_error_and_not_retried() -> None:
    rec = sequence(httpx.Response(415, text="Unsupported Media Type"))
    async with client_for(rec) as client:
        with pytest.raises(ApiError, match="HTTP 415 with a body that is not JSON"):
            await client.list_channels()
    assert len(rec.requests) == 1


async def test_403_is_permission_denied_never_retried_and_stops_the_run() -> None:
    rec = sequence(envelope(None, [{"code": 403, "message": "Access denied"}], 403))
    async with client_for(rec) as client:
        with pytest.raises(PermissionDenied, match="HTTP 403: code 403: Access denied"):
            await client.list_target_groups()
        with pytest.raises(PermissionDenied, match="not sent: the run stopped after an earlier"):
            await client.get_communications(1, 2)
    assert len(rec.requests) == 1


# --- bodies that are not the envelope -----------------------------------------------------

CLOUDFLARE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{color:red}</style>"
    "</head><body>\n<h1>502 Bad Gateway</h1>\n<center>cloudflare</center></body></html>"
)


async def test_an_html_page_from_the_cdn_becomes_a_one_line_server_error() -> None:
    rec = sequence(httpx.Response(502, text=CLOUDFLARE, headers={"content-type": "text/html"}))
    async with client_for(rec) as client:
        with pytest.raises(ServerError) as info:
            await client.list_channels()
    message = str(info.value)
    assert message == (
        "GET /v3/targetGroups/channels: gave up after 5 attempts: HTTP 502 with an HTML page: "
        "502 Bad Gateway 502 Bad Gateway cloudflare"
    )
    assert "\n" not in message
    assert "<" not in message


async def test_truncated_json_on_a_read_is_retried() -> None:
    rec = sequence(
        httpx.Response(200, content=b'{"data": [{"id": 1, "na'),
        envelope([{"id": 1, "name": "SMS"}]),
    )
    async with client_for(rec) as client:
        assert [c.id for c in await client.list_channels()] == [1]
    assert client.stats.retries == {"bad-body": 1}


async def test_json_that_is_not_the_envelope_is_a_server_error() -> None:
    rec = sequence(httpx.Response(200, json=[{"id": 1}]))
    async with client_for(rec, max_attempts=2) as client:
        with pytest.raises(ServerError, match="JSON that is not the API envelope"):
            await client.list_channels()


async def test_errors_in_a_2xx_envelope_are_an_error() -> None:
    rec = sequence(envelope([], [{"code": 310018, "message": "target not found"}]))
    async with client_for(rec) as client:
        with pytest.raises(ServerError, match="HTTP 200 with errors in the envelope: code 310018"):
            await client.get_communications(1, 2)
    assert len(rec.requests) == 1


async def test_an_envelope_without_data_is_never_read_as_nothing_there() -> None:
    rec = sequence(httpx.Response(200, json={"errors": None, "warnings": None}))
    async with client_for(rec) as client:
        with pytest.raises(ServerError, match="the envelope has no data"):
            await client.get_communications(1, 2)


async def test_null_data_is_an_empty_list_for_list_reads_only() -> None:
    # SPEC section 9 (issue 14): "data: null" is how some deployments say "no rows". It was an
    # error here before; a null single object or write answer still is.
    rec = sequence(
        envelope(None), envelope(None), envelope(None, []), envelope(None), envelope(None)
    )
    async with client_for(rec) as client:
        assert await client.get_communications(1, 2) == []
        assert await client.list_target_groups() == []
        assert await client.list_channels() == []
        with pytest.raises(ServerError, match="the envelope has no data"):
            await client.get_target_group(1)
        with pytest.raises(AmbiguousWriteError, match="the envelope has no data"):
            await client.upsert_communications(1, 2, [WRITE])


async def test_unknown_fields_are_ignored_and_timestamps_parsed() -> None:
    extra = {**COMMUNICATION, "createdOnISO": "2025-06-24T08:25:55Z", "whatever": {"x": 1}}
    rec = sequence(envelope([extra]))
    async with client_for(rec) as client:
        [comm] = await client.get_communications(2163, 2317)
    assert comm.attribution is not None
    assert comm.attribution.createdOn is not None
    assert comm.attribution.createdOn.year == 2025


async def test_a_response_of_the_wrong_shape_is_a_server_error_without_the_input() -> None:
    rec = sequence(envelope([{"id": "not-a-number", "name": "SMS-secret-looking"}]))
    async with client_for(rec) as client:
        with pytest.raises(ServerError, match=r"unexpected response shape at 0\.id") as info:
            await client.list_channels()
    assert "SMS-secret-looking" not in str(info.value)


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
        with pytest.raises(AmbiguousWriteError, match=r"timed out \(ReadTimeout\) after the write"):
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
