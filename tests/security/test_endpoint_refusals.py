"""Issue 10 case 12 (SPEC §7): where requests go, and how, cannot be weakened by a change.

- A plain ``http://`` endpoint that is not loopback is refused before any connection.
- A manifest cannot name an endpoint (``endpoint`` is an unknown field there).
- A pull request that points the configuration at another host gets no credentials for it:
  with no ``CAPILLARY_*`` variables the run stops naming the missing variable, having sent
  nothing (not even a DNS lookup).
- TLS verification cannot be switched off: no configuration key does it (``insecure``,
  ``verify``, ... are unknown fields) and the client built for a real endpoint verifies.
``tests/test_config.py`` and ``tests/api/test_settings.py`` pin the checks themselves.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest

from reconciler.config import select
from reconciler.sandbox import SandboxServer
from reconciler.sandbox.seed import EMAIL
from reconciler.session import open_client
from tests.support.cli import Run, write_config
from tests.support.manifests import communication, manifest

GOOD = manifest("good", 2163, 2317, [communication("START", EMAIL, "m")])


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every DNS lookup the code under test tries (the loopback guard only sees connects)."""
    seen: list[object] = []
    real = socket.getaddrinfo

    def recording(host: object, *args: object, **kwargs: object) -> object:
        seen.append(host)
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return seen


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://10.0.0.1",
        "http://eu.api.capillarytech.com",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:10.0.0.1]",
        "http://0.0.0.0:8080",
        "http://2130706433",
        "http://localhost@evil.example",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused_before_any_connection(
    repo: Path, cli: Run, lookups: list[object], endpoint: str
) -> None:
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, endpoint)
    for command in ("plan", "apply"):
        code, _, err = cli(command, *(["--auto-approve"] if command == "apply" else []))
        assert code == 1
        assert err.startswith("error: reconciler.yaml:"), err  # at its position
        assert ".endpoint: http://" in err, err
        assert "Traceback" not in err
    assert lookups == []  # and the loopback guard saw no connection


@pytest.mark.parametrize(
    "where", ["top-level", "target", "metadata", "communication"], ids=lambda w: f"endpoint-in-{w}"
)
def test_a_manifest_cannot_set_the_endpoint(
    repo: Path, sandbox: SandboxServer, cli: Run, where: str
) -> None:
    text = GOOD
    evil = 'endpoint: "https://capillary.evil.example"'
    if where == "top-level":
        text += evil + "\n"
    elif where == "target":
        text = text.replace(
            "target: {targetGroup: 2163, target: 2317}",
            f"target: {{targetGroup: 2163, target: 2317, {evil}}}",
        )
    elif where == "metadata":
        text = text.replace('metadata: {name: "good"}', f'metadata: {{name: "good", {evil}}}')
    else:
        text = text.replace("{communicationType", f"{{{evil}, communicationType")
    assert text != GOOD
    (repo / "manifests" / "good.yaml").write_text(text)
    write_config(repo, sandbox.url)

    code, _, err = cli("plan")

    assert code == 1
    assert "unknown field 'endpoint'" in err
    assert sandbox.store.request_log() == []


@pytest.mark.parametrize(
    ("auth", "variables"),
    [
        ("oauth", "CAPILLARY_CLIENT_KEY and CAPILLARY_CLIENT_SECRET"),
        ("basic", "CAPILLARY_USERNAME and CAPILLARY_PASSWORD"),
    ],
)
def test_a_config_pointing_at_another_host_without_credentials_stops_and_sends_nothing(
    repo: Path,
    cli: Run,
    monkeypatch: pytest.MonkeyPatch,
    lookups: list[object],
    auth: str,
    variables: str,
) -> None:
    for name in ("CAPILLARY_USERNAME", "CAPILLARY_PASSWORD"):
        monkeypatch.delenv(name)
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, "https://capillary.evil.example", auth=auth)
    for argv in (("plan",), ("apply", "--auto-approve"), ("drift",), ("export", "--all")):
        code, out, err = cli(*argv)
        assert code == 1
        assert (
            err
            == f"error: {variables} are not set; auth: {auth} reads {variables} from the environment\n"
        )
        assert out == ""
    assert lookups == []


@pytest.mark.parametrize(
    "setting",
    [
        "insecure: true",
        "verify: false",
        "tlsVerify: false",
        "verifySsl: false",
        "caBundle: /tmp/ca.pem",
        "followRedirects: true",
    ],
)
def test_no_configuration_key_switches_tls_verification_off(
    repo: Path, cli: Run, setting: str
) -> None:
    (repo / "manifests" / "good.yaml").write_text(GOOD)
    write_config(repo, "https://eu.api.capillarytech.com")
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + f"    {setting}\n")
    for command in ("validate", "plan"):
        code, _, err = cli(command)
        assert code == 1
        key = setting.split(":")[0]
        assert f"environments.test: unknown field {key!r}" in err


def test_the_client_for_a_real_endpoint_verifies_tls(
    repo: Path, monkeypatch: pytest.MonkeyPatch, lookups: list[object]
) -> None:
    """Even with the variables some tools read to switch verification off."""
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("CAPILLARY_CLIENT_KEY", "key-1234")
    monkeypatch.setenv("CAPILLARY_CLIENT_SECRET", "secret-1234")
    write_config(repo, "https://eu.api.capillarytech.com", auth="oauth")

    async def inspect() -> tuple[bool, ssl.VerifyMode, bool]:
        async with open_client(select()) as client:
            http = client._calls.http
            context = http._transport._pool._ssl_context  # type: ignore[attr-defined]
            return http.follow_redirects, context.verify_mode, context.check_hostname

    follows, mode, hostname = asyncio.run(inspect())
    assert (follows, mode, hostname) == (False, ssl.CERT_REQUIRED, True)
    assert lookups == []


def test_a_loopback_http_client_holds_a_tls_context_that_trusts_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain http (loopback only) never negotiates TLS; if it ever did, it would fail closed."""
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-password")
    write_config(repo, "http://127.0.0.1:9", auth="basic")

    async def inspect() -> tuple[ssl.VerifyMode, bool, int]:
        async with open_client(select()) as client:
            context = client._calls.http._transport._pool._ssl_context  # type: ignore[attr-defined]
            return context.verify_mode, context.check_hostname, context.cert_store_stats()["x509"]

    assert asyncio.run(inspect()) == (ssl.CERT_REQUIRED, True, 0)
