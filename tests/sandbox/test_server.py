"""The ways to run the sandbox (issue 3, acceptance 3): a server in a thread that announces
itself, the in-process transport, loopback only, a busy port, IPv6."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from reconciler.errors import UsageError
from reconciler.sandbox import (
    IN_PROCESS_URL,
    SandboxServer,
    in_process_transport,
    open_store,
    running_sandbox_url,
    serve,
)
from tests.support.sandbox import BASIC


def test_an_announced_server_is_found_until_it_stops(sandbox_db: Path) -> None:
    with SandboxServer(sandbox_db, announce=True) as server:
        assert running_sandbox_url(sandbox_db) == server.url
    assert running_sandbox_url(sandbox_db) is None


def test_in_process_transport_seeds_a_missing_database(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "sandbox.db"

    async def main() -> list[dict[str, object]]:
        transport = in_process_transport(db)
        async with httpx.AsyncClient(
            transport=transport, base_url=IN_PROCESS_URL, headers=BASIC
        ) as client:
            response = await client.get("/v3/targetGroups/channels")
            return list(response.json()["data"])

    assert [c["name"] for c in asyncio.run(main())] == ["SMS", "EMAIL", "MOBILE PUSH"]
    assert db.exists()
    assert open_store(db).request_log()[0].path == "/v3/targetGroups/channels"


# Refused before anything binds: no socket is ever opened on these.
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])  # noqa: S104
def test_only_loopback_may_be_served(sandbox_db: Path, host: str) -> None:
    with pytest.raises(UsageError, match="loopback only"):
        serve(host, 0, sandbox_db)
    with pytest.raises(UsageError, match="loopback only"):
        SandboxServer(sandbox_db, host=host)


def test_a_busy_port_is_a_usage_error(sandbox_db: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve("127.0.0.1", port, sandbox_db)
    assert not (sandbox_db.parent / "sandbox.json").exists()


def test_ipv6_loopback_works(sandbox_db: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    server = SandboxServer(sandbox_db, host="::1")
    try:
        server.start()
    except OSError:
        pytest.skip("IPv6 loopback is not configured")
    try:
        assert server.url.startswith("http://[::1]:")
        assert httpx.get(f"{server.url}/v3/targetGroups", headers=BASIC).status_code == 200
    finally:
        server.stop()
