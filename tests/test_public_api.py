"""The library API, pinned: ``reconciler.__all__``, where each name comes from, that importing
the package loads nothing heavy, and that the documented validate-and-plan recipe works against
a real sandbox server."""

from __future__ import annotations

import asyncio
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reconciler
from reconciler.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]


def test_the_public_names_are_exactly_these() -> None:
    """Adding or removing a name is an API change: this list changes with it, on purpose."""
    assert reconciler.__all__ == [
        "Diagnostic",
        "LoadResult",
        "Plan",
        "ReconcilerError",
        "Selection",
        "Settings",
        "ValidationFailed",
        "__version__",
        "load_manifests",
        "load_settings",
        "make_run_plan",
        "open_client",
        "render_json",
        "render_markdown",
        "render_text",
    ]


def test_each_name_is_its_home_modules_object() -> None:
    assert sorted(reconciler._HOMES) == sorted(set(reconciler.__all__) - {"__version__"})
    for name, (module, attribute) in reconciler._HOMES.items():
        assert getattr(reconciler, name) is getattr(importlib.import_module(module), attribute)
    assert reconciler.load_settings.__name__ == "select"
    assert set(reconciler.__all__) <= set(dir(reconciler))
    with pytest.raises(AttributeError):
        _ = reconciler.NoSuchName


def test_importing_the_package_loads_no_heavy_library() -> None:
    """``import reconciler`` runs before every submodule: it must stay free (issue 15)."""
    code = (
        "import sys, reconciler; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'httpcore', 'typer', 'click', 'ruamel', 'fastapi', 'pydantic') "
        "or m.startswith('reconciler.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_documented_recipe_validates_and_plans_the_demo(
    tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package docstring's example, through the public names only, over HTTP."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    (tmp_path / "reconciler.yaml").write_text(
        "environments:\n"
        "  test:\n"
        f"    endpoint: {sandbox.url}\n"
        "    auth: basic\n"
        "    vars: {sender: loyalty@northwind.example}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAPILLARY_USERNAME", "demo")
    monkeypatch.setenv("CAPILLARY_PASSWORD", "demo-password")

    settings = reconciler.load_settings(env_name="test")
    assert isinstance(settings, reconciler.Settings)
    result = reconciler.load_manifests(settings.manifests, variables=settings.env.vars)
    assert isinstance(result, reconciler.LoadResult)
    assert result.diagnostics == []

    async def plan() -> reconciler.Plan:
        async with reconciler.open_client(settings) as client:
            return await reconciler.make_run_plan(
                settings, reconciler.Selection(), client, parallelism=settings.env.parallelism
            )

    planned = asyncio.run(plan())
    # The same plan the CLI prints for the demo (its golden stdout), byte for byte.
    golden = (ROOT / "tests/golden/cli/demo-plan.text.txt").read_text(encoding="utf-8")
    printed = golden.split("--- stdout\n", 1)[1].split("--- stderr\n", 1)[0]
    assert reconciler.render_text(planned).rstrip("\n") == printed.rstrip("\n")
    assert '"environment": "test"' in reconciler.render_json(planned)
    assert "4 to create" in reconciler.render_markdown(planned)
    assert sandbox.store.request_log()  # read over HTTP from this server


def test_a_bad_manifest_is_reported_through_the_public_error_types(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: nope\n", encoding="utf-8")
    result = reconciler.load_manifests([str(bad)])
    assert result.diagnostics
    assert all(isinstance(d, reconciler.Diagnostic) for d in result.diagnostics)
    error = reconciler.ValidationFailed(result.diagnostics)
    assert isinstance(error, reconciler.ReconcilerError)
    assert error.lines() == [d.render() for d in result.diagnostics]
