"""Fixtures of the API client tests; the helpers themselves live in ``tests.support.client``
and ``tests.support.servers``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.client import FakeTime
from tests.support.servers import Reply, ScriptedServer, Seen


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
