"""The house rules that hold today, pinned: the HTTP and web libraries stay in ``api/`` and
``sandbox/``, ruamel.yaml in ``manifests/``, the pure layers (plan model, planner, renderers)
load no HTTP library, and reading, resolving and export import one way."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"

# library -> the package paths (module names or package prefixes) that may import it
ALLOWED = {
    "httpx": ("reconciler.api", "reconciler.sandbox"),
    "httpcore": ("reconciler.api", "reconciler.sandbox"),
    "fastapi": ("reconciler.sandbox",),
    "starlette": ("reconciler.sandbox",),
    "uvicorn": ("reconciler.sandbox",),
    # Manifests are read and written through one layer; export writes through manifests.writer.
    "ruamel": ("reconciler.manifests",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(name: str) -> set[str]:
    """Every module ``name`` imports at run time (top level or inside functions)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            for alias in node.names:  # `from reconciler import plan` imports a module
                if f"{base}.{alias.name}" in MODULES:
                    found.add(f"{base}.{alias.name}")
    return found


def allowed(owner: str, prefixes: tuple[str, ...]) -> bool:
    return any(owner == p or owner.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_each_library_is_imported_only_by_its_layer(library: str) -> None:
    offenders = sorted(
        name
        for name in MODULES
        if any(i == library or i.startswith(library + ".") for i in imports(name))
        and not allowed(name, ALLOWED[library])
    )
    assert offenders == []


def cycle_through(start: str, within: tuple[str, ...]) -> list[str]:
    """A chain of imports from ``start`` back to itself among modules under ``within``, or []."""
    inside = {name for name in MODULES if allowed(name, within)}
    graph = {name: sorted(i for i in imports(name) if i in inside and i != name) for name in inside}
    trail: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str]:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done:
            return []
        trail.append(name)
        for child in graph[name]:
            found = visit(child)
            if found:
                return found
        trail.pop()
        done.add(name)
        return []

    return visit(start)


ONE_WAY = ("reconciler.manifests", "reconciler.resolve", "reconciler.export")


@pytest.mark.parametrize("start", sorted(n for n in MODULES if allowed(n, ONE_WAY)))
def test_reading_resolving_and_export_import_one_way(start: str) -> None:
    assert cycle_through(start, ONE_WAY) == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above could fail: a back edge from merge to build is reported as a chain."""
    real = imports
    extra = {"reconciler.export.merge": {"reconciler.export.build"}}
    monkeypatch.setitem(globals(), "imports", lambda name: real(name) | extra.get(name, set()))
    chain = cycle_through("reconciler.export.build", ONE_WAY)
    assert chain[0] == chain[-1] == "reconciler.export.build"
    assert "reconciler.export.merge" in chain


def test_the_pure_layers_load_no_http_library() -> None:
    code = (
        "import sys, reconciler.plan, reconciler.planner, reconciler.render; "
        "import reconciler.render.text, reconciler.render.markdown, reconciler.render.jsondoc; "
        "bad = sorted(m for m in ('httpx', 'httpcore', 'tenacity', 'aiolimiter', 'fastapi') "
        "if m in sys.modules); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_api_package_names_resolve_on_first_use() -> None:
    import reconciler.api as api

    assert sorted(api.__all__) == sorted(api._HOMES)
    for name in api.__all__:
        home = importlib.import_module(f"reconciler.api.{api._HOMES[name]}")
        assert getattr(api, name) is getattr(home, name)
    with pytest.raises(AttributeError):
        _ = api.NoSuchName
