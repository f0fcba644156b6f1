"""``CapillaryClient.exchange``: the probe's evidence channel. A deliberate 4xx comes back as its
status and body, through the same authentication and retries as every call; credentials
failures and answers that leave a write unknown still raise."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.api.auth import BasicCredentials
from reconciler.api.endpoints import CapillaryClient, Exchange
from reconciler.api.settings import ClientSettings
from reconciler.errors import AmbiguousWriteError, ApiValidationError, AuthError
from reconciler.sandbox import Fault, SandboxServer
from tests.conftest import SandboxFactory
from tests.support.cli import PASSWORD

UPSERT = "/v3/targetGroups/2185/targets/2501/communications/upsert"


def _client(server: SandboxServer, password: str = PASSWORD) -> CapillaryClient:
    settings = ClientSettings(
        base_url=server.url, credentials=BasicCredentials("demo", password), backoff_base=0.001
    )
    return CapillaryClient(settings)


def _run(server: SandboxServer, method: str, path: str, body: object = None, **kw: str) -> Exchange:
    async def go() -> Exchange:
        async with _client(server, **kw) as client:
            return await client.exchange(method, path, body)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_a_400_comes_back_as_status_and_body(sandbox: SandboxServer) -> None:
    body = [{"active": True}]
    exchange = _run(sandbox, "POST", UPSERT, body)
    assert exchange.status == 400
    assert exchange.request_body == body
    answer = exchange.response_body
    assert isinstance(answer, dict)
    assert answer["data"] is None
    assert answer["errors"][0]["code"] == 300004
    assert [r.is_write for r in sandbox.store.request_log()].count(True) == 1  # sent once


def test_a_404_read_and_a_good_read_come_back_whole(sandbox: SandboxServer) -> None:
    missing = _run(sandbox, "GET", "/v3/targetGroups/2185/targets/9999/communications")
    assert missing.status == 404
    found = _run(sandbox, "GET", "/v3/targetGroups/2185/targets/2501/communications")
    assert found.status == 200
    assert isinstance(found.response_body, dict)
    ids = [row["id"] for row in found.response_body["data"]]
    assert ids == [5141, 5142]


def test_wrong_credentials_still_raise(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthError):
        _run(sandbox, "GET", "/v3/targetGroups", password="wrong-password")


def test_a_write_answered_500_is_ambiguous_and_not_resent(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(write_script={1: Fault.AMBIGUOUS_500})
    body = [
        {
            "active": False,
            "channelId": 1,
            "communicationType": "FINISH",
            "messageTemplate": "m",
            "offsetDays": 0,
            "sender": "S",
            "subjectTemplate": "",
        }
    ]
    with pytest.raises(AmbiguousWriteError):
        _run(server, "POST", UPSERT, body)
    assert [r.is_write for r in server.store.request_log()].count(True) == 1


@pytest.mark.parametrize("path", ["/v3/../secrets", "/v3/targetGroups?x=1", "https://evil/v3/x"])
def test_only_api_paths_are_sent(sandbox: SandboxServer, path: str) -> None:
    with pytest.raises(ApiValidationError):
        _run(sandbox, "GET", path)
    assert sandbox.store.request_log() == []
