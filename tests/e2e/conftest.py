"""End-to-end fixtures: a copy of the demo repository pointed at a real sandbox server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.cli import PASSWORD, USERNAME, write_config


@pytest.fixture
def workspace(tmp_path: Path, sandbox: object, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo manifests in a temporary repository whose 'test' environment is the sandbox."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    write_config(repo, sandbox.url)  # type: ignore[attr-defined]
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    return repo
