"""Probe fixtures: ``start(*dialects, **settings)`` starts a sandbox (speaking those dialects)
with the scratch target added, and points the repository, which holds the demo manifests, at
it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.conftest import SandboxFactory
from tests.support.probe import scratch_sandbox

Start = Callable[..., SandboxServer]


@pytest.fixture
def start(sandbox_factory: SandboxFactory, sandbox_db: Path, repo: Path) -> Start:
    return functools.partial(scratch_sandbox, sandbox_factory, sandbox_db, repo)
