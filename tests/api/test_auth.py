"""Credentials from the environment, Basic md5 and OAuth token handling (SPEC §2, §7)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import httpx
import pytest

from reconciler.api import (
    BasicCredentials,
    CapillaryClient,
    OAuthCredentials,
    credentials_from_env,
)
from reconciler.api.auth import basic_authorization, md5_hex
from reconciler.errors import ApiError, AuthError, ConfigError
from reconciler.redact import scrub
from tests.support.client import (
    BASE,
    WRITE,
    FakeTime,
    Recorder,
    communication_of,
    envelope,
    settings,
    token_response,
)
from tests.support.servers import Reply, ScriptedServer, Seen

pytestmark = pytest.mark.anyio

OAUTH = OAuthCredentials("demo-key", "demo-secret")


# --- credentials (SPEC §7) ----------------------------------------------------------------


def test_credentials_come_from_the_named_environment_variables() -> None:
    oauth = credentials_from_env(
        "oauth", {"CAPILLARY_CLIENT_KEY": "k-1234", "CAPILLARY_CLIENT_SECRET": "s-5678"}
    )
    assert oauth == OAuthCredentials("k-1234", "s-5678")
    basic = credentials_from_env(
        "basic", {"CAPILLARY_USERNAME": "till-1", "CAPILLARY_PASSWORD": "pw-9999"}
    )
    assert basic == BasicCredentials("till-1", "pw-9999")
    # Reading them registers them with the scrubber.
    assert scrub("pw-9999 and s-5678") == "*** and ***"


@pytest.mark.parametrize(
    ("auth", "env", "missing"),
    [
        ("oauth", {"CAPILLARY_CLIENT_KEY": "k-1234"}, "CAPILLARY_CLIENT_SECRET is not set"),
        ("oauth", {"CAPILLARY_CLIENT_SECRET": "s-1234"}, "CAPILLARY_CLIENT_KEY is not set"),
        ("basic", {"CAPILLARY_USERNAME": "u-1234"}, "CAPILLARY_PASSWORD is not set"),
        ("basic", {"CAPILLARY_PASSWORD": ""}, "CAPILLARY_USERNAME and CAPILLARY_PASSWORD are"),
    ],
)
def test_a_missing_credential_variable_is_named(
    auth: str, env: dict[str, str], missing: str
) -> None:
    with pytest.raises(ConfigError, match=missing):
        credentials_from_env(auth, env)  # type: ignore[arg-type]


def test_credentials_never_show_in_repr() -> None:
    creds = BasicCredentials("till-user-x", "S3cret-Pass!")
    oauth = OAuthCredentials("client-key-x", "client-secret-x")
    text = repr(creds) + repr(oauth) + repr(settings(credentials=creds))
    for secret in ("till-user-x", "S3cret-Pass!", "client-key-x", "client-secret-x"):
        assert secret not in text


# --- Basic ---------------------------------------------------------------------------------


def test_md5_known_vectors() -> None:
    assert md5_hex("123") == "202cb962ac59075b964b07152d234b70"
    assert md5_hex("server123") == "8a16a6b70505eb1f1ff7cdc0cd5559a7"
    assert md5_hex("Pass123") == "2f23fa3579f3f75175793649115c1b25"


def test_basic_header_is_base64_of_user_and_md5_hex() -> None:
    header = basic_authorization("till", "123")
    assert header == "Basic " + base64.b64encode(b"till:202cb962ac59075b964b07152d234b70").decode()


async def test_basic_header_is_sent_with_json_headers_and_user_agent() -> None:
    rec = Recorder(lambda r: envelope([{"id": 1, "name": "SMS"}]))
    creds = BasicCredentials("till", "123")
    async with CapillaryClient(settings(credentials=creds), transport=rec.transport()) as client:
        channels = await client.list_channels()
    assert [c.name for c in channels] == ["SMS"]
    sent = rec.requests[0]
    assert sent.headers["authorization"] == basic_authorization("till", "123")
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["user-agent"].startswith("reconciler/")
    assert "x-cap-api-oauth-token" not in sent.headers


# --- OAuth ---------------------------------------------------------------------------------


def oauth_server(tokens: list[str], ttl: float = 300, reject: set[str] | None = None) -> Recorder:
    """Token endpoint handing out ``tokens`` in order; API answers 401 for rejected tokens."""
    issued = iter(tokens)
    rejected = reject or set()

    def script(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v3/oauth/token/generate"):
            assert json.loads(request.content) == {"key": "demo-key", "secret": "demo-secret"}
            assert "authorization" not in request.headers
            return token_response(next(issued), ttl)
        if request.headers.get("x-cap-api-oauth-token") in rejected:
            return envelope(None, [{"code": 401, "message": "invalid token"}], status=401)
        return envelope([communication_of(request)])

    return Recorder(script)


async def test_token_is_fetched_once_for_many_concurrent_requests() -> None:
    rec = oauth_server(["tok-A-123456"])
    async with CapillaryClient(settings(credentials=OAUTH), transport=rec.transport()) as client:
        await asyncio.gather(*(client.get_communications(1, n) for n in range(20)))
    assert rec.paths().count("/v3/oauth/token/generate") == 1
    api = [r for r in rec.requests if "communications" in r.url.path]
    assert {r.headers["x-cap-api-oauth-token"] for r in api} == {"tok-A-123456"}
    assert client.stats.token_requests == 1


async def test_requests_waiting_for_a_failed_token_fetch_share_its_failure(
    scripted_server: Callable[[Callable[[Seen], Reply]], ScriptedServer],
) -> None:
    """One failing fetch, not one per waiting request: 4 concurrent calls (the client's first
    window) with no retries, all waiting while a slow token fetch fails, ask for a token once."""

    def script(seen: Seen) -> Reply:
        if seen.path == "/v3/oauth/token/generate":
            body = {"data": None, "errors": [{"code": 500, "message": "token service down"}]}
            return Reply(500, body, delay=0.2)
        return Reply(200, {"data": [], "errors": []})

    server = scripted_server(script)
    async with CapillaryClient(settings(server.url, credentials=OAUTH, max_attempts=1)) as client:
        results = await asyncio.gather(
            *(client.get_communications(1, n) for n in range(4)), return_exceptions=True
        )
    assert server.paths() == ["/v3/oauth/token/generate"]
    assert all(isinstance(r, ApiError) for r in results), results
    assert all("OAuth token request failed" in str(r) for r in results), results


async def test_after_a_failed_token_fetch_a_later_request_fetches_again() -> None:
    answers = iter([500, 200])

    def script(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v3/oauth/token/generate"):
            if next(answers) == 500:
                return envelope(None, [{"code": 500, "message": "down"}], status=500)
            return token_response("tok-C-123456", 300)
        return envelope([communication_of(request)])

    rec = Recorder(script)
    async with CapillaryClient(
        settings(credentials=OAUTH, max_attempts=1), transport=rec.transport()
    ) as client:
        with pytest.raises(ApiError):
            await client.get_communications(1, 1)
        assert (await client.get_communications(1, 2))[0].id == 11
    assert rec.paths().count("/v3/oauth/token/generate") == 2


async def test_token_is_renewed_before_its_ttl_elapses(fake_time: FakeTime) -> None:
    rec = oauth_server(["tok-A-123456", "tok-B-123456"], ttl=10)
    async with CapillaryClient(
        settings(credentials=OAUTH),
        transport=rec.transport(),
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    ) as client:
        await client.get_communications(1, 1)
        fake_time.now += 7.9  # renewal point is 10 - min(30, 0.2 * 10) = 8 s
        await client.get_communications(1, 2)
        fake_time.now += 0.2
        await client.get_communications(1, 3)
    tokens = [r.headers.get("x-cap-api-oauth-token") for r in rec.requests]
    # No 401 was needed: the renewal happened before the old token could be refused.
    assert tokens == [None, "tok-A-123456", "tok-A-123456", None, "tok-B-123456"]
    assert client.stats.token_renewals_on_401 == 0


async def test_a_401_renews_the_token_once_and_resends() -> None:
    rec = oauth_server(["tok-old-1234", "tok-new-1234"], reject={"tok-old-1234"})
    async with CapillaryClient(settings(credentials=OAUTH), transport=rec.transport()) as client:
        comms = await client.get_communications(1, 1)
    assert comms[0].id == 11
    assert rec.paths() == [
        "/v3/oauth/token/generate",
        "/v3/targetGroups/1/targets/1/communications",
        "/v3/oauth/token/generate",
        "/v3/targetGroups/1/targets/1/communications",
    ]
    assert client.stats.token_renewals_on_401 == 1
    assert client.stats.retries_total == 0


async def test_a_second_401_is_an_auth_error_that_stops_the_run() -> None:
    rec = oauth_server(["tok-bad-1111", "tok-bad-2222"], reject={"tok-bad-1111", "tok-bad-2222"})
    async with CapillaryClient(settings(credentials=OAUTH), transport=rec.transport()) as client:
        with pytest.raises(AuthError, match=r"HTTP 401.*authentication failed"):
            await client.list_channels()
        sent = len(rec.requests)
        with pytest.raises(AuthError, match="not sent: the run stopped"):
            await client.list_target_groups()
    assert sent == 4  # token, 401, token, 401 — and nothing was retried
    assert len(rec.requests) == sent  # the second call sent nothing


async def test_a_rejected_key_and_secret_is_an_auth_error_without_retries() -> None:
    def script(request: httpx.Request) -> httpx.Response:
        return envelope(None, [{"code": 1, "message": "Failed to generate OAuth token"}], 401)

    rec = Recorder(script)
    async with CapillaryClient(settings(credentials=OAUTH), transport=rec.transport()) as client:
        with pytest.raises(AuthError, match=r"OAuth token request rejected.*CAPILLARY_CLIENT_KEY"):
            await client.list_channels()
    assert rec.paths() == ["/v3/oauth/token/generate"]


async def test_a_failing_token_endpoint_is_retried_even_for_a_write() -> None:
    answers = iter([httpx.Response(502, text="<html>bad gateway</html>"), token_response()])

    def script(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/oauth/token/generate":
            return next(answers)
        return envelope([communication_of(request)])

    rec = Recorder(script)
    async with CapillaryClient(settings(credentials=OAUTH), transport=rec.transport()) as client:
        stored = await client.upsert_communications(2163, 2317, [WRITE])
    assert stored[0].id == 11
    # The write itself went out once: the failed attempt never got past the token request.
    assert rec.paths().count("/v3/targetGroups/2163/targets/2317/communications/upsert") == 1
    assert client.stats.retries == {"502": 1}


async def test_base_url_path_prefix_is_kept_for_the_token_request() -> None:
    rec = oauth_server(["tok-A-123456"])
    async with CapillaryClient(
        settings(f"{BASE}/prefix", credentials=OAUTH), transport=rec.transport()
    ) as client:
        await client.get_communications(1, 2)
    assert [str(r.url) for r in rec.requests] == [
        f"{BASE}/prefix/v3/oauth/token/generate",
        f"{BASE}/prefix/v3/targetGroups/1/targets/2/communications",
    ]
