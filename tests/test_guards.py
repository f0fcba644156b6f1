"""The suite-wide guards (``tests/conftest.py``, ``tests/support/guards.py``): a clean environment
and loopback-only sockets."""

from __future__ import annotations

import os
import socket

import httpx
import pytest


def test_the_environment_is_clean() -> None:
    leftovers = [
        name
        for name in os.environ
        if name in ("CI", "NO_COLOR", "FORCE_COLOR")
        or name.startswith(("GITHUB_", "RECONCILER_", "CAPILLARY_"))
    ]
    assert leftovers == []


def test_a_connection_outside_loopback_is_refused_and_remembered(
    loopback_only: list[object],
) -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="outside loopback"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, and never tried
    with pytest.raises(RuntimeError, match="outside loopback"):
        httpx.get("http://198.51.100.7/", timeout=1)  # not turned into a retryable ConnectError
    assert loopback_only == [("192.0.2.1", 80), ("198.51.100.7", 80)]
    loopback_only.clear()  # else the guard fails this test at teardown, as it should


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "localhost", "::ffff:127.0.0.1"])
def test_loopback_connections_are_allowed(host: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as server:
        server.bind((host if host != "localhost" else "127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.socket(family) as sock:
            assert sock.connect_ex((host, port)) == 0
