"""Fixtures of the sandbox tests: an authenticated HTTP client on the ``sandbox`` server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox import SandboxServer
from tests.support.sandbox import BASIC


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client on the ``sandbox`` server, signed in as the demo till (Basic)."""
    with httpx.Client(base_url=sandbox.url, headers=BASIC, timeout=10) as http:
        yield http
