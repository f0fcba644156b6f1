"""Lint tests: the corpus under tests/data/lint/, and the CLI run in-process in a directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "lint"

Cli = Callable[..., tuple[int, str, str]]

MANIFEST_HEAD = """apiVersion: reconciler/v1
kind: TargetCommunications
metadata: {name: NAME}
target: {targetGroup: 2163, target: 2317}
communications:
"""


def manifest(entries: str, name: str = "lint-test") -> str:
    """A manifest document of target 2163/2317 (the sandbox's 'Spend 500 in April')."""
    return MANIFEST_HEAD.replace("NAME", name) + entries


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return int(code), out, err

    return run


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository (the current directory) with a manifests/ directory."""
    (tmp_path / "manifests").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(directory: Path, *extra: str, endpoint: str = "sandbox") -> None:
    """reconciler.yaml with one environment, ``test``; ``extra`` lines go inside it."""
    lines = [
        "defaultEnvironment: test",
        "environments:",
        "  test:",
        f"    endpoint: {endpoint}",
        "    vars: {sender: loyalty@northwind.example}",
        *(f"    {line}" for line in extra),
    ]
    (directory / "reconciler.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
