"""Fixtures of the contract suites (issue 16): the demo repository against a sandbox that speaks
the given dialects, with or without the contract file a probe would have written."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.sandbox import SandboxServer
from tests.conftest import SandboxFactory
from tests.support import ROOT
from tests.support.cli import write_config
from tests.support.contracts import write_contract


@dataclass
class Demo:
    """The demo manifests in ``repo``, whose ``test`` environment is ``server``."""

    repo: Path
    server: SandboxServer
    db: Path

    def contract(self, settings: Mapping[str, object]) -> Path:
        return write_contract(self.repo, settings, endpoint=self.server.url)


DemoFactory = Callable[..., Demo]


@pytest.fixture
def demo(repo: Path, sandbox_db: Path, sandbox_factory: SandboxFactory) -> DemoFactory:
    """``demo("replace-set", contract={"upsert": "replace"})`` -> a started Demo; ``stated`` is
    a ``contract:`` block for reconciler.yaml, ``faults`` the sandbox's ``FaultConfig``."""

    def make(
        *dialects: str,
        contract: Mapping[str, object] | None = None,
        stated: str | None = None,
        faults: Mapping[str, object] | None = None,
    ) -> Demo:
        server = sandbox_factory(dialects=list(dialects), **(faults or {}))
        shutil.rmtree(repo / "manifests")
        shutil.copytree(ROOT / "manifests", repo / "manifests")
        write_config(repo, server.url, **({"contract": stated} if stated else {}))
        made = Demo(repo, server, sandbox_db)
        if contract is not None:
            made.contract(contract)
        return made

    return make
