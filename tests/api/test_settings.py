"""Client settings and the endpoint check (SPEC §7): https only, except to loopback; TLS always
verified; redirects never followed."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from reconciler.api import BasicCredentials, CapillaryClient, ClientSettings, check_endpoint
from reconciler.errors import ConfigError
from tests.support.client import envelope, settings

pytestmark = pytest.mark.anyio


# --- endpoint (SPEC §7) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://eu.api.capillarytech.com",
        "https://eu.api.capillarytech.com/",
        "http://127.0.0.1:8080",
        "http://127.3.4.5",
        "http://localhost:9000",
        "http://[::1]:8080",
        "http://sandbox.localhost",
    ],
)
def test_https_or_loopback_endpoints_are_accepted(url: str) -> None:
    assert check_endpoint(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1", "plain http:// to a non-loopback host"),
        ("http://eu.api.capillarytech.com", "plain http:// to a non-loopback host"),
        ("http://localhost.evil.example", "plain http:// to a non-loopback host"),
        ("http://128.0.0.1", "plain http:// to a non-loopback host"),
        ("ftp://example.com", "absolute https:// URL"),
        ("eu.api.capillarytech.com", "absolute https:// URL"),
        ("https://api.example.com/?token=x", "query string"),
        ("https://api.example.com/api?", "query string"),  # empty, but still not a base URL
        ("https://api.example.com/api#", "fragment"),
    ],
)
def test_other_endpoints_are_refused_with_a_clear_error(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        check_endpoint(url)


def test_userinfo_in_the_endpoint_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        check_endpoint("https://till:Hunter2-Secret@eu.api.capillarytech.com")
    assert "Hunter2-Secret" not in str(info.value)


def test_plain_http_to_10_0_0_1_is_refused_before_any_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connects: list[object] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connects.append(address))
    with pytest.raises(ConfigError) as info:
        ClientSettings(base_url="http://10.0.0.1", credentials=BasicCredentials("u-1", "p-1234"))
    assert str(info.value) == (
        "endpoint http://10.0.0.1 uses plain http:// to a non-loopback host; use https:// "
        "(plain http is allowed only for localhost, 127.0.0.0/8 and ::1)"
    )
    # Settings are the only way to build a client, so no client and no socket ever existed.
    assert connects == []


async def test_localhost_subdomains_need_an_in_process_transport() -> None:
    with pytest.raises(ConfigError, match=r"only the in-process sandbox transport"):
        CapillaryClient(settings("http://sandbox.localhost"))
    transport = httpx.MockTransport(lambda r: envelope([]))
    async with CapillaryClient(settings("http://sandbox.localhost"), transport=transport) as c:
        assert await c.list_channels() == []


async def test_tls_verification_is_always_on_and_redirects_are_never_followed() -> None:
    assert "verify" not in ClientSettings.__dataclass_fields__
    async with CapillaryClient(settings()) as client:
        http = client._calls.http
        assert http.follow_redirects is False
        pool = http._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
        assert pool._ssl_context.check_hostname is True
