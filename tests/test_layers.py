"""The house rules, pinned: each library stays in its layer (typer in ``cli/``, HTTP and web
libraries in ``api/`` and ``sandbox/``, ruamel.yaml in ``manifests/``), the pure layers load no
HTTP library, no import cycle, only the console writes to stdout/stderr, and no two sibling
modules share a stem."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

import reconciler

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"

# library -> the package paths (module names or package prefixes) that may import it
ALLOWED = {
    "httpx": ("reconciler.api", "reconciler.sandbox"),
    "httpcore": ("reconciler.api", "reconciler.sandbox"),
    "fastapi": ("reconciler.sandbox",),
    "starlette": ("reconciler.sandbox",),
    "uvicorn": ("reconciler.sandbox",),
    "typer": ("reconciler.cli",),
    "click": ("reconciler.cli",),
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
    """Inside the body of ``if TYPE_CHECKING:`` (its ``else:`` runs, so it counts)."""
    while node in parents:
        parent = parents[node]
        if (
            isinstance(parent, ast.If)
            and "TYPE_CHECKING" in ast.unparse(parent.test)
            and node in parent.body
        ):
            return True
        node = parent
    return False


def lazy_home(package: str, name: str) -> str | None:
    """The module a lazy package attribute (``reconciler.make_run_plan``) is imported from."""
    if package not in MODULES or MODULES[package].name != "__init__.py":
        return None
    homes = getattr(importlib.import_module(package), "_HOMES", {})
    home = homes.get(name)
    if home is None:
        return None
    module = home[0] if isinstance(home, tuple) else f"{package}.{home}"
    return module if module in MODULES else None


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
                elif home := lazy_home(base, alias.name):
                    found.add(home)
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith("import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
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


# --- no import cycles --------------------------------------------------------------------------

# Cycles tolerated, each as its sorted modules; none today, and nothing may be added here.
KNOWN_CYCLES: set[tuple[str, ...]] = set()


def import_graph() -> dict[str, list[str]]:
    """Module -> the package modules it imports at run time (module level or in functions)."""
    return {
        name: sorted(i for i in imports(name) if i in MODULES and i != name) for name in MODULES
    }


def cycles(graph: Mapping[str, list[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_a_cycle_and_names_its_modules() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"]}
    assert cycles(graph) == [("a", "b", "c")]
    assert cycles({"a": ["b"], "b": []}) == []


def test_the_package_has_no_import_cycle() -> None:
    """Function-level imports count too: a lazy import that closes a loop is still a loop."""
    graph = import_graph()
    found = cycles(graph)
    unknown = [
        " -> ".join(f"{m} (imports {', '.join(i for i in graph[m] if i in c)})" for m in c)
        for c in found
        if c not in KNOWN_CYCLES
    ]
    assert unknown == [], "import cycle(s):\n" + "\n".join(unknown)
    stale = sorted(KNOWN_CYCLES - set(found))
    assert stale == [], f"KNOWN_CYCLES lists cycles that are gone; delete them: {stale}"


# --- only the console writes to stdout and stderr ------------------------------------------------

CONSOLE = "reconciler.console"
_STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}


def stream_uses(source: str) -> list[str]:
    """Where ``source`` names ``sys.stdout``/``sys.stderr`` or calls the built-in ``print``."""
    uses: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _STREAMS
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            uses.append((node.lineno, f"sys.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            uses += [
                (node.lineno, f"from sys import {a.name}") for a in node.names if a.name in _STREAMS
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            uses.append((node.lineno, "print()"))
    return [f"line {line}: {what}" for line, what in sorted(uses)]


def test_the_stream_check_sees_each_way_of_writing() -> None:
    source = "import sys\nfrom sys import stderr\nsys.stdout.write('x')\nprint('y')\nconsole.print('ok')\n"
    assert stream_uses(source) == [
        "line 2: from sys import stderr",
        "line 3: sys.stdout",
        "line 4: print()",
    ]


def test_only_the_console_writes_to_stdout_and_stderr() -> None:
    offenders = {
        name: uses
        for name, path in MODULES.items()
        if name != CONSOLE and (uses := stream_uses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


# --- no two modules differ only by a suffix ------------------------------------------------------

# Pairs that may share a stem, each with its reason.
SHARED_STEMS = {
    # STYLE.md's layout names both: the pure diff (planner) and the model it builds (plan).
    frozenset({"plan", "planner"}),
    # A compound (text normalisation), not "text" plus a suffix; render/text.py renders plans.
    frozenset({"text", "textnorm"}),
}


def word(name: str) -> str:
    return name.split("_")[0].lower()


def suffix_only(a: str, b: str) -> bool:
    """Two different names whose first words are one stem with a suffix:
    plan/planner/planning, apply/applier/apply_run, resolve/resolver, template/templates."""
    x, y = word(a), word(b)
    if a == b:
        return False
    short, long = sorted((x, y), key=len)
    # Words under four letters (api, app) are words of their own, not stems.
    if len(short) < 4:
        return False
    # The shorter word starts the longer (plan/planning, resolve/resolver), or does so but for
    # a final y or e that the suffix replaces (apply/applier, store/storing).
    return long.startswith(short) or (short[-1] in "ye" and long.startswith(short[:-1]))


def shared_stems(names: list[str]) -> list[set[str]]:
    """Pairs of module names that differ only by a suffix, but for the allowed pairs."""
    unique = sorted(set(names))
    return [
        {a, b}
        for i, a in enumerate(unique)
        for b in unique[i + 1 :]
        if suffix_only(a, b) and frozenset({a, b}) not in SHARED_STEMS
    ]


def test_the_stem_rule_catches_the_old_names_and_their_kin() -> None:
    assert shared_stems(["plan", "planning"]) == [{"plan", "planning"}]
    assert shared_stems(["applier", "apply_run"]) == [{"applier", "apply_run"}]
    assert shared_stems(["export", "export_merge"]) == [{"export", "export_merge"}]
    for pair in (["resolve", "resolver"], ["write", "writer"], ["store", "stores"]):
        assert shared_stems(pair) == [set(pair)]
    assert (
        shared_stems(["plan", "planner", "app", "applier", "api", "text", "textnorm", "export"])
        == []
    )
    assert shared_stems(["export", "exact", "outputs", "outcomes", "lock", "localstate"]) == []


# Command modules under cli/ are named for their command (cli/apply.py runs the applier).
CLI = "reconciler.cli."


def test_no_two_modules_differ_only_by_a_suffix() -> None:
    """Across the whole package, packages included; a module named as its command is exempt."""
    leaves = [
        name.rpartition(".")[2]
        for name in MODULES
        if "." in name and not name.startswith(CLI) and not name.endswith("__main__")
    ]
    assert shared_stems(leaves) == []


# --- module size -------------------------------------------------------------------------------

MAX_MODULE_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    """Past ~400 lines a module is split by responsibility, so each can be read at one sitting."""
    package = Path(reconciler.__file__).parent
    long = {
        str(path.relative_to(package)): n
        for path in sorted(package.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_import_walker_sees_else_branches_import_module_and_lazy_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three ways an import can hide from a naive walker; each must still be an edge."""
    source = tmp_path / "hidden.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from reconciler import fingerprint\n"
        "else:\n    from reconciler import matching\n"
        "import importlib\n"
        "def later():\n    importlib.import_module('reconciler.planner')\n"
        "from reconciler import make_run_plan\n",
        encoding="utf-8",
    )
    monkeypatch.setitem(MODULES, "reconciler.hidden", source)
    found = imports("reconciler.hidden") & set(MODULES)
    assert "reconciler.fingerprint" not in found  # only for the type checker
    assert {"reconciler.matching", "reconciler.planner", "reconciler.live"} <= found
