"""Issue 4 acceptance 5 / issue 10 case 9: no secret, token or Authorization value in any
exception text or log line, on every failure path, even when the server echoes them back.

Canary credentials are set in the environment and read with ``credentials_from_env``; a hostile
server copies the request's headers and body into every answer it gives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from reconciler import redact
from reconciler.api import CapillaryClient, ClientSettings, check_endpoint, credentials_from_env
from reconciler.api.auth import basic_authorization, md5_hex
from reconciler.errors import ReconcilerError
from tests.support.client import BASE, WRITE, settings
from tests.support.servers import Reply, ScriptedServer, Seen, free_port

pytestmark = pytest.mark.anyio

USER = "canary-till-user-77"
PASSWORD = "Cx7-canary-PASSWORD-e1f2"
KEY = "canary-client-KEY-5a6b"
SECRET = "canary/Secret+Value=9c8d"  # "/", "+" and "=" encode differently
TOKEN = "eyJhbGciOiJSUzI1NiJ9.canaryTOKENpayload.c2lnbmF0dXJl"


def forbidden() -> list[str]:
    """Every form in which a canary could leak. The user name and the client key are
    identifiers, not secrets (issue 14 item 1); the Basic value made from the name is one."""
    out: list[str] = []
    for value in (PASSWORD, SECRET, TOKEN, md5_hex(PASSWORD)):
        out += [
            value,
            urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value),
            base64.b64encode(value.encode()).decode(),
            base64.urlsafe_b64encode(value.encode()).decode(),
            hashlib.md5(value.encode()).hexdigest(),
            json.dumps(value)[1:-1],
        ]
    header = basic_authorization(USER, PASSWORD)
    out += [header, header.split()[1], f"{USER}:{md5_hex(PASSWORD)}"]
    return sorted(set(out))


@pytest.fixture(autouse=True)
def canary_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPILLARY_USERNAME", USER)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", KEY)
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", SECRET)


def echo(request: httpx.Request) -> str:
    """What a careless error page shows: the request headers (decoded too) and the body."""
    lines = [f"{k}: {v}" for k, v in request.headers.items()]
    auth = request.headers.get("authorization", "")
    if auth.startswith("Basic "):
        lines.append("decoded: " + base64.b64decode(auth.split()[1]).decode())
    lines.append(request.content.decode(errors="replace"))
    return "\n".join(lines)


def hostile(status: int, kind: str = "json", **headers: str) -> Callable[[httpx.Request], object]:
    def script(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token/generate") and kind != "token-echo":
            return httpx.Response(200, json={"data": {"accessToken": TOKEN, "ttlSeconds": 300}})
        text = echo(request)
        if kind == "html":
            body: bytes = f"<html><body><pre>{text}</pre></body></html>".encode()
        elif kind == "envelope-list":
            body = json.dumps([text]).encode()
        elif kind == "bad-shape":
            body = json.dumps({"data": [{"id": text, "name": text}], "errors": None}).encode()
        else:
            errors = [{"code": 1, "message": text}]
            body = json.dumps({"data": None, "errors": errors, "warnings": [text]}).encode()
        return httpx.Response(status, content=body, headers=headers)

    return script


Action = Callable[[CapillaryClient], Awaitable[object]]


async def read(client: CapillaryClient) -> object:
    return await client.get_communications(1, 2)


async def write(client: CapillaryClient) -> object:
    return await client.upsert_communications(1, 2, [WRITE])


SCENARIOS: list[tuple[str, str, Callable[[httpx.Request], object], Action]] = [
    ("400", "basic", hostile(400), write),
    ("401-basic", "basic", hostile(401), read),
    ("401-twice-oauth", "oauth", hostile(401), read),
    ("403", "oauth", hostile(403), read),
    ("404", "basic", hostile(404), read),
    ("500-html", "basic", hostile(500, "html"), read),
    ("502-html-oauth", "oauth", hostile(502, "html"), read),
    ("200-html", "basic", hostile(200, "html"), read),
    ("200-not-envelope", "oauth", hostile(200, "envelope-list"), read),
    ("200-errors", "oauth", hostile(200), read),
    ("200-bad-shape", "basic", hostile(200, "bad-shape"), read),
    ("429-retry-after-120", "oauth", hostile(429, "json", **{"Retry-After": "120"}), read),
    ("302", "oauth", hostile(302, "json", Location=f"https://evil.example/?t={TOKEN}"), read),
    ("write-500", "oauth", hostile(500), write),
    ("write-200-html", "basic", hostile(200, "html"), write),
    ("token-401", "oauth", hostile(401, "token-echo"), read),
    ("token-502", "oauth", hostile(502, "token-echo"), write),
]


def texts_of(error: BaseException) -> Iterator[str]:
    """The exception's text, repr and args, and those of everything chained to it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (str(a) for a in current.args)
        current = current.__cause__ or current.__context__


def assert_clean(label: str, texts: list[str]) -> None:
    blob = "\n".join(texts)
    leaked = [form for form in forbidden() if form in blob]
    assert not leaked, f"{label}: leaked {leaked!r} in:\n{blob}"


def run_settings(kind: str, base_url: str = BASE, **extra: object) -> ClientSettings:
    creds = credentials_from_env("oauth" if kind == "oauth" else "basic")
    return settings(base_url, creds, max_attempts=2, **extra)


@pytest.mark.parametrize(
    ("name", "kind", "script", "action"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
async def test_no_secret_in_errors_or_logs_for_hostile_answers(
    name: str,
    kind: str,
    script: Callable[[httpx.Request], httpx.Response],
    action: Action,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with CapillaryClient(run_settings(kind), transport=httpx.MockTransport(script)) as client:
        with pytest.raises(ReconcilerError) as info:
            await action(client)
        # A later call after a fatal error fails fast; its text must be clean too.
        with pytest.raises(ReconcilerError) as again:
            await action(client)
    texts = [*texts_of(info.value), *texts_of(again.value), repr(client), repr(client.settings)]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert_clean(name, texts)
    assert caplog.records, "the failure path should have logged something at DEBUG"


async def test_no_secret_on_socket_failures(
    scripted_server: Callable[[Callable[[Seen], Reply]], ScriptedServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    slow = scripted_server(lambda seen: Reply(200, {"data": [], "errors": None}, delay=1.0))
    drop = scripted_server(lambda seen: Reply(drop=True))
    errors: list[BaseException] = []
    cases = [
        (f"http://127.0.0.1:{free_port()}", read),  # connection refused
        (slow.url, write),  # read timeout after sending: ambiguous
        (drop.url, write),  # dropped connection: ambiguous
        (drop.url, read),
    ]
    for url, action in cases:
        for kind in ("basic", "oauth"):
            if kind == "oauth" and url != cases[0][0]:
                continue  # the scripted servers have no token endpoint
            async with CapillaryClient(run_settings(kind, url, read_timeout=0.2)) as client:
                with pytest.raises(ReconcilerError) as info:
                    await action(client)
                errors.append(info.value)
    texts = [t for e in errors for t in texts_of(e)]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert_clean("socket failures", texts)


async def test_no_secret_when_the_circuit_opens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = hostile(502, "html")
    async with CapillaryClient(
        run_settings("oauth", breaker_threshold=2), transport=httpx.MockTransport(script)
    ) as client:
        errors = []
        for n in range(4):
            with pytest.raises(ReconcilerError) as info:
                await client.get_communications(1, n)
            errors.append(info.value)
    assert "circuit open" in str(errors[-1])
    texts = [t for e in errors for t in texts_of(e)] + [caplog.text]
    assert_clean("circuit", texts)


def test_no_secret_in_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAPILLARY_CLIENT_SECRET")
    monkeypatch.setattr(redact, "_secrets", set())
    errors: list[BaseException] = []
    with pytest.raises(ReconcilerError) as info:
        credentials_from_env("oauth")
    errors.append(info.value)
    assert "CAPILLARY_CLIENT_SECRET" in str(info.value)
    # Nothing is registered with the scrubber yet here: the messages must simply not echo
    # the parts of a URL where a secret could have been pasted.
    for url in (
        f"https://{USER}:{PASSWORD}@eu.api.capillarytech.com",
        f"http://{USER}:{PASSWORD}@eu.api.capillarytech.com",
        f"https://eu.api.capillarytech.com/?secret={SECRET}",
        f"https://eu.api.capillarytech.com/#{SECRET}",
        f"ftp://{USER}:{PASSWORD}@eu.api.capillarytech.com",
    ):
        with pytest.raises(ReconcilerError) as info:
            check_endpoint(url)
        errors.append(info.value)
    assert_clean("config", [t for e in errors for t in texts_of(e)])
