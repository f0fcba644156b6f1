"""Probe fixtures: the demo repository pointed at a sandbox server (any dialects) that also has
an undeclared, empty scratch target, 2502 in group 2185; and a CLI runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from reconciler.sandbox import SandboxServer, open_store
from tests.conftest import SandboxFactory

ROOT = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD = "demo", "demo-password"
GROUP, SCRATCH = 2185, 2502
SCRATCH_ARGS = ("probe", "--target-group", str(GROUP), "--target", str(SCRATCH))

Run = Callable[..., tuple[int, str, str]]
Start = Callable[..., SandboxServer]


def write_config(directory: Path, url: str, *, auth: str = "basic") -> None:
    (directory / "reconciler.yaml").write_text(
        "defaultEnvironment: test\n"
        "environments:\n"
        "  test:\n"
        f"    endpoint: {url}\n"
        f"    auth: {auth}\n"
        "    vars: {sender: loyalty@northwind.example}\n"
        "    rateLimit: 600000\n"
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo manifests in a temporary repository (the working directory)."""
    path = tmp_path / "repo"
    path.mkdir()
    shutil.copytree(ROOT / "manifests", path / "manifests")
    monkeypatch.chdir(path)
    monkeypatch.setenv("CAPILLARY_USERNAME", USERNAME)
    monkeypatch.setenv("CAPILLARY_PASSWORD", PASSWORD)
    return path


@pytest.fixture
def start(sandbox_factory: SandboxFactory, sandbox_db: Path, repo: Path) -> Start:
    """``start("replace-set", ..., **settings)``: a sandbox speaking those dialects, with the
    scratch target added, and the repository's 'test' environment pointed at it."""

    def go(*dialects: str, **settings: Any) -> SandboxServer:
        open_store(sandbox_db).add_target(GROUP, SCRATCH, "Probe scratch")
        server = sandbox_factory(dialects=list(dialects), **settings)
        write_config(repo, server.url)
        return server

    return go


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def rows(server: SandboxServer, target: int = SCRATCH, group: int = GROUP) -> list[dict[str, Any]]:
    """The target's communications as the sandbox stores them (whatever its dialect)."""
    return [dict(row) for row in server.store.communications(group, target)]


def active_probe_rows(server: SandboxServer, target: int = SCRATCH) -> list[dict[str, Any]]:
    return [
        row
        for row in rows(server, target)
        if row["active"] and row["messageTemplate"].startswith("reconciler probe")
    ]


def upserts(server: SandboxServer) -> list[object]:
    return [r for r in server.store.request_log() if r.is_write]


def contract_file(repo: Path) -> dict[str, Any]:
    data = json.loads((repo / ".reconciler" / "contract-test.json").read_text())
    assert isinstance(data, dict)
    return data


def journal_file(repo: Path) -> Path:
    return repo / ".reconciler" / "probe-test.journal.json"
