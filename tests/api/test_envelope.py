"""How the client classifies each answer: status codes to typed errors, and bodies that are
not the envelope (an HTML page, truncated JSON, errors in a 2xx, the wrong shape)."""

from __future__ import annotations

import httpx
import pytest

from reconciler.errors import (
    AmbiguousWriteError,
    ApiError,
    ApiValidationError,
    NotFoundError,
    PermissionDenied,
    ServerError,
)
from tests.support.client import COMMUNICATION, WRITE, client_for, envelope, sequence
from tests.support.sandbox import upsert

pytestmark = pytest.mark.anyio

UPSERT = upsert()


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


# --- connection errors name the host, never the credentials (issue 20 item 8) ---------------


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_connection_error_names_the_host_and_port_and_no_credential(
    repo: object,
    fast_retries: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path

    from reconciler.cli import main
    from tests.support.cli import PASSWORD, USERNAME, write_config

    port = _closed_port()
    write_config(Path.cwd(), f"http://127.0.0.1:{port}")
    (Path("manifests") / "a.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: TargetCommunications\nmetadata: {name: a}\n"
        "target: {targetGroup: 1, target: 2}\ncommunications: []\n"
    )
    monkeypatch.setenv("CAPILLARY_PASSWORD", "pw-" + PASSWORD)
    assert main(["plan"]) == 1
    err = capsys.readouterr().err
    assert f"could not connect to 127.0.0.1:{port}" in err
    assert PASSWORD not in err
    assert USERNAME + ":" not in err


@pytest.mark.parametrize(
    "url",
    ["http://demo:s3cret-pw@127.0.0.1:9/", "http://127.0.0.1:9/v3/x?token=s3cret-pw"],
)
def test_the_host_is_shown_without_userinfo_or_query(url: str) -> None:
    from reconciler.api.envelope import classify_transport_error

    request = httpx.Request("GET", url)
    failure = classify_transport_error(
        httpx.ConnectError("All connection attempts failed", request=request), write=False, sent=0
    )
    assert "could not connect to 127.0.0.1:9" in failure.detail
    assert "s3cret" not in failure.detail
    assert "demo" not in failure.detail
