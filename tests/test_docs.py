"""The user's manual: every relative link and anchor in README.md and docs/ resolves, the
README stays a front door, and no user-facing page cites the internal specification."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(`{3,}|~{3,})")


def prose(text: str) -> str:
    """The text outside fenced code blocks (links inside code are not links)."""
    out, fence = [], ""
    for line in text.splitlines():
        match = FENCE.match(line.lstrip())
        if match and (not fence or match.group(1).startswith(fence)):
            fence = "" if fence else match.group(1)[:3]
            continue
        if not fence:
            out.append(line)
    return "\n".join(out)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line in prose(path.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6} (.+)$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def test_the_manual_has_its_pages() -> None:
    names = {p.name for p in PAGES}
    for page in (
        "manifests.md",
        "cli.md",
        "planning.md",
        "configuration.md",
        "ci.md",
        "guarantees.md",
        "api-assumptions.md",
        "troubleshooting.md",
        "library.md",
    ):
        assert page in names


# Contributor pages are checked for links too (they may cite the specification).
LINKED = [*PAGES, ROOT / "CONTRIBUTING.md", ROOT / "tests" / "README.md", ROOT / "CHANGELOG.md"]


@pytest.mark.parametrize("page", LINKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    problems = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no such anchor")
    assert problems == []


def test_every_manual_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md")}
    for page in (ROOT / "docs").glob("*.md"):
        assert page.resolve() in linked, page.name


def test_the_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


@pytest.mark.parametrize("page", [*PAGES, ROOT / ".pre-commit-hooks.yaml"], ids=lambda p: p.name)
def test_user_facing_pages_cite_no_internal_specification(page: Path) -> None:
    assert "SPEC" not in page.read_text(encoding="utf-8")


def test_slug_follows_github() -> None:
    assert slug("Adopting an existing programme: export") == "adopting-an-existing-programme-export"
    assert slug("`--changed-since` and bases") == "--changed-since-and-bases"


def test_help_cites_no_internal_specification() -> None:
    import contextlib
    import io

    from reconciler.cli import main

    commands = [[], ["validate"], ["plan"], ["drift"], ["apply"], ["export"], ["schema"]]
    commands += [["sandbox"], ["sandbox", "serve"], ["sandbox", "reset"]]
    for command in commands:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main([*command, "--help"]) == 0
        assert "Usage" in out.getvalue(), command
        assert "SPEC" not in out.getvalue(), command


def test_the_library_page_example_runs_as_written(tmp_path: Path) -> None:
    """docs/library.md's example, run as a user would from the repository root."""
    import subprocess
    import sys

    text = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    script = tmp_path / "example.py"
    script.write_text(code.group(1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "CI"))}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("Plan: 4 to create, 3 to update")


def _runtime_strings(path: Path) -> list[tuple[int, str]]:
    """String constants of a module that are not docstrings: what can reach a user."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_message_the_package_can_print_cites_the_specification() -> None:
    """Error text, help and output strings never cite the internal SPEC (it is not shipped)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}"
        for path in sorted((ROOT / "reconciler").rglob("*.py"))
        for line, text in _runtime_strings(path)
        if "SPEC" in text or re.search(r"§\s*\d", text)  # a bare § is in the GSM alphabet
    ]
    assert found == []


def test_the_sandbox_openapi_document_cites_no_specification(tmp_path: Path) -> None:
    """Class and route docstrings become OpenAPI descriptions, so they count as user-facing."""
    import json

    from reconciler.sandbox import create_app

    document = json.dumps(create_app(tmp_path / "sandbox.db").openapi())
    assert "SPEC" not in document
    assert "§" not in document
