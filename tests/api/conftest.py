"""Fixtures of the API client tests; the helpers themselves live in ``apikit``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from apikit import FakeTime, Reply, ScriptedServer, Seen

from reconciler import redact


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_redaction() -> Iterator[None]:
    """Secrets registered by a test (e.g. a wrong password "nope-...") are forgotten after it,
    so they cannot mask words in other tests' output. The registry is process-wide by design.
    """
    saved = set(redact._secrets)
    yield
    with redact._lock:
        redact._secrets.clear()
        redact._secrets.update(saved)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def scripted_server() -> Iterator[Callable[[Callable[[Seen], Reply]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Callable[[Seen], Reply]) -> ScriptedServer:
        server = ScriptedServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
