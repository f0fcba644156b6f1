"""How the client builds its requests: the URL httpx would build, and no cookies (issue 9)."""

from __future__ import annotations

import httpx
import pytest
from apikit import COMMUNICATION, Recorder, envelope, settings

from reconciler.api import CapillaryClient

pytestmark = pytest.mark.anyio

PATH = "/v3/targetGroups/2163/targets/2317/communications"


@pytest.mark.parametrize(
    "base_url",
    [
        "https://eu.api.capillarytech.com",
        "https://eu.api.capillarytech.com/",
        "https://api.test:8443/some/prefix/",
        "https://Example.COM/caf%C3%A9 path",
        "http://127.0.0.1:40455",
        "http://[::1]:8080/x",
    ],
)
async def test_request_urls_are_the_ones_httpx_would_merge(base_url: str) -> None:
    async with CapillaryClient(settings(base_url)) as client:
        for path in (PATH, "/v3/targetGroups", f"{PATH}/upsert"):
            ours = client._calls.url(path)
            merged = client._calls.http.build_request("GET", path).url
            assert ours == merged
            assert str(ours) == str(merged)
            assert ours.raw_path == merged.raw_path


async def test_the_sent_request_has_the_merged_url() -> None:
    rec = Recorder(lambda request: envelope([COMMUNICATION]))
    async with CapillaryClient(settings(), transport=rec.transport()) as client:
        await client.get_communications(2163, 2317)
    assert [str(r.url) for r in rec.requests] == [f"https://api.test{PATH}"]


async def test_cookies_the_server_sets_are_never_kept_or_sent() -> None:
    def script(request: httpx.Request) -> httpx.Response:
        response = envelope([COMMUNICATION])
        response.headers["Set-Cookie"] = "AWSALB=sticky-1; Path=/"
        return response

    rec = Recorder(script)
    async with CapillaryClient(settings(), transport=rec.transport()) as client:
        await client.get_communications(2163, 2317)
        await client.get_communications(2163, 2317)
        assert len(client._calls.http.cookies) == 0
        with pytest.raises(TypeError, match="keeps no cookies"):
            client._calls.http.cookies.set("a", "b")
        with pytest.raises(TypeError, match="keeps no cookies"):
            client._calls.http.cookies = {"a": "b"}
    assert len(rec.requests) == 2
    assert all("cookie" not in r.headers for r in rec.requests)
