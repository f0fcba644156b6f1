"""Fixtures shared by the whole suite.

Guards (autouse): every test starts with no CI/GitHub/reconciler/Capillary variables and no
colour settings, secrets it registers with ``redact`` are forgotten after it, and any socket
connection outside loopback fails the test, even when the code under test swallows the error.

Sandbox: ``sandbox_db`` is a freshly seeded demo database, ``sandbox`` a server on it, and
``sandbox_factory(**settings)`` starts more servers (fault settings as ``FaultConfig`` keywords;
``dialects=["replace-set", ...]`` for a sandbox that answers in those dialects).
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import redact, session
from reconciler.api.settings import ClientSettings
from reconciler.sandbox import FaultConfig, SandboxServer, reset
from tests.support import ROOT
from tests.support.cli import FAST_RETRIES, PASSWORD, USERNAME, Run, run_in_process
from tests.support.guards import NonLoopbackConnection, is_loopback

_ENV_NAMES = frozenset({"CI", "NO_COLOR", "FORCE_COLOR"})
_ENV_PREFIXES = ("GITHUB_", "RECONCILER_", "CAPILLARY_")
_SERVER_SETTINGS = frozenset(
    {
        "db_path",
        "faults",
        "token_ttl",
        "rate_limit_per_minute",
        "credentials",
        "announce",
        "dialects",
    }
)

SandboxFactory = Callable[..., SandboxServer]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name in _ENV_NAMES or name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)
    # Secrets a test registers with the scrubber must not mask text in later tests.
    monkeypatch.setattr(redact, "_secrets", set(redact._secrets))


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Yields the refused addresses; a test of the guard itself may clear them."""
    attempts: list[object] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(address: object) -> None:
        if not is_loopback(address):
            attempts.append(address)
            raise NonLoopbackConnection(f"tests may not connect outside loopback: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    if attempts:
        pytest.fail(f"the test tried to connect outside loopback: {attempts!r}")


@pytest.fixture
def sandbox_db(tmp_path: Path) -> Path:
    """A freshly seeded demo sandbox database, private to the test."""
    path = tmp_path / "sandbox" / "sandbox.db"
    reset(path)
    return path


@pytest.fixture
def sandbox(sandbox_db: Path) -> Iterator[SandboxServer]:
    """A sandbox server on ``sandbox_db``; ``sandbox.url``, ``sandbox.store.request_log()``."""
    with SandboxServer(sandbox_db) as server:
        yield server


@pytest.fixture
def sandbox_factory(sandbox_db: Path) -> Iterator[SandboxFactory]:
    """``sandbox_factory(fail_rate=0.1, seed=7, token_ttl=5, dialects=["key-match"], ...)`` -> a
    started server.

    Keywords of ``SandboxServer`` (``db_path`` defaults to ``sandbox_db``) are passed on; the
    rest build its ``FaultConfig``. Every server is stopped at teardown.
    """
    started: list[SandboxServer] = []

    def start(**settings: Any) -> SandboxServer:
        server_settings = {k: v for k, v in settings.items() if k in _SERVER_SETTINGS}
        fault_settings = {k: v for k, v in settings.items() if k not in _SERVER_SETTINGS}
        if fault_settings:
            server_settings["faults"] = FaultConfig(**fault_settings)
        db_path = server_settings.pop("db_path", sandbox_db)
        server = SandboxServer(db_path, **server_settings).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


# --- the CLI, in process, and the repository it runs in -------------------------------------


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in-process: ``cli(*argv) -> (exit code, stdout, stderr)``."""
    return functools.partial(run_in_process, capsys)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository (the working directory) with Basic demo credentials set."""
    path = tmp_path / "repo"
    (path / "manifests").mkdir(parents=True)
    monkeypatch.chdir(path)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    return path


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository itself as the working directory, where reconciler.yaml defines the demo."""
    monkeypatch.chdir(ROOT)
    return ROOT


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's client retries as configured, but waits milliseconds between attempts."""
    monkeypatch.setattr(
        session, "ClientSettings", functools.partial(ClientSettings, **FAST_RETRIES)
    )
