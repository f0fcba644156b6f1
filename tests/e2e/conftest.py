"""End-to-end fixtures: a copy of the demo repository pointed at a real sandbox server."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD = "demo", "demo-password"

Run = Callable[..., tuple[int, str, str]]


def write_config(directory: Path, url: str, **extra: object) -> None:
    lines = [
        "defaultEnvironment: test",
        "environments:",
        "  test:",
        f"    endpoint: {url}",
        "    auth: basic",
        "    vars: {sender: loyalty@northwind.example}",
        "    rateLimit: 600000  # the test server has no limit; keep the client from pacing",
    ]
    lines += [f"    {key}: {value}" for key, value in extra.items()]
    (directory / "reconciler.yaml").write_text("\n".join(lines) + "\n")


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


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def writes(sandbox: object) -> list[object]:
    return [r for r in sandbox.store.request_log() if r.method == "POST" and "upsert" in r.path]  # type: ignore[attr-defined]
