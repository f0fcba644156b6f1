"""The probe's scratch target in the sandbox, and what a probe left there and in the repository:
its rows, the upserts it sent, its contract file and its journal."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.sandbox import RequestRecord, SandboxServer, open_store
from tests.support import ROOT
from tests.support.cli import write_config

GROUP, SCRATCH = 2185, 2502  # an undeclared, empty target the probe fixtures add to the demo
SCRATCH_ARGS = ("probe", "--target-group", str(GROUP), "--target", str(SCRATCH))


def scratch_sandbox(
    factory: Callable[..., SandboxServer],
    db: Path,
    repo: Path,
    *dialects: str,
    **settings: Any,
) -> SandboxServer:
    """A sandbox on ``db`` speaking ``dialects``, with the scratch target added; ``repo`` gets
    the demo manifests and a 'test' environment pointed at it."""
    if not (repo / "manifests" / "spring-sprint.yaml").exists():
        shutil.rmtree(repo / "manifests", ignore_errors=True)
        shutil.copytree(ROOT / "manifests", repo / "manifests")
    open_store(db).add_target(GROUP, SCRATCH, "Probe scratch")
    server = factory(dialects=list(dialects), **settings)
    write_config(repo, server.url)
    return server


def rows(server: SandboxServer, target: int = SCRATCH, group: int = GROUP) -> list[dict[str, Any]]:
    """The target's communications as the sandbox stores them (whatever its dialect)."""
    return [dict(row) for row in server.store.communications(group, target)]


def active_probe_rows(server: SandboxServer, target: int = SCRATCH) -> list[dict[str, Any]]:
    """The target's active rows that a probe wrote (their message names the probe)."""
    return [
        row
        for row in rows(server, target)
        if row["active"] and row["messageTemplate"].startswith("reconciler probe")
    ]


def upserts(server: SandboxServer) -> list[RequestRecord]:
    return [record for record in server.store.request_log() if record.is_write]


def contract_path(repo: Path) -> Path:
    return repo / ".reconciler" / "contract-test.json"


def contract_file(repo: Path) -> dict[str, Any]:
    data = json.loads(contract_path(repo).read_text())
    assert isinstance(data, dict)
    return data


def journal_file(repo: Path) -> Path:
    return repo / ".reconciler" / "probe-test.journal.json"
