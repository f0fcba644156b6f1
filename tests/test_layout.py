"""The test layout, pinned: tests mirror the package, so ``reconciler/a/b.py``'s unit tests are
``tests/a/test_b.py``. A module with logic that has no mirror names the suite that covers it in
``COVERED_ELSEWHERE``. Helpers live in ``tests/support/``, and every test folder is a package (so
``tests/api/test_auth.py`` and ``tests/sandbox/test_auth.py`` cannot clash)."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "reconciler"
TESTS = ROOT / "tests"
# A module "has logic" past this many lines of code (docstrings, comments, blank lines and
# imports not counted); below it, a module is data or glue its callers' tests cover.
LOGIC_LINES = 30

# Modules with logic and no mirrored test module, each with the suite that covers it. Keep it
# short: when a module gets unit tests, they go to its mirror and its entry goes (a test below
# fails on an entry whose mirror exists).
COVERED_ELSEWHERE = {
    # What an apply prints (per-target lines, summary, warnings): through the apply command.
    "reconciler/cli/results.py": "tests/cli/test_apply.py",
    # Lint: the corpus holds one failing manifest per rule, checked at file:line:column, so the
    # rule modules are covered rule by rule there; the command by its CLI suite.
    "reconciler/cli/lint.py": "tests/lint/test_lint_cli.py",
    "reconciler/lint/email.py": "tests/lint/test_lint_corpus.py",
    "reconciler/lint/engine.py": "tests/lint/test_lint_corpus.py",
    "reconciler/lint/placeholders.py": "tests/lint/test_lint_corpus.py",
    "reconciler/lint/segments.py": "tests/lint/test_lint_plan.py",
    "reconciler/lint/senders.py": "tests/lint/test_lint_corpus.py",
    "reconciler/manifests/edit.py": "tests/lint/test_fix.py",
    "reconciler/manifests/scalars.py": "tests/lint/test_fix.py",
    "reconciler/diagnostics.py": "tests/lint/test_lint_cli.py",
    # The command line: the golden CLI outputs pin main(), the context and the error mapping;
    # each command is exercised over HTTP against a real sandbox by its end-to-end suite.
    "reconciler/cli/__init__.py": "tests/cli/test_cli_outputs_golden.py",
    "reconciler/cli/context.py": "tests/cli/test_cli_outputs_golden.py",
    "reconciler/cli/export.py": "tests/e2e/test_export_e2e.py",
    "reconciler/cli/rollback.py": "tests/e2e/test_rollback_e2e.py",
    # Export writes files; its round trips are end to end.
    "reconciler/export/files.py": "tests/e2e/test_export_e2e.py",
    "reconciler/export/merge.py": "tests/e2e/test_export_e2e.py",  # export --force
    "reconciler/export/exact.py": "tests/e2e/test_export_names.py",
    "reconciler/manifests/writer.py": "tests/e2e/test_export_roundtrip.py",
    # What apply writes besides the API, and how a run opens its client.
    "reconciler/outputs.py": "tests/e2e/test_output_paths_e2e.py",
    "reconciler/report.py": "tests/e2e/test_apply_e2e.py",
    "reconciler/applier/saved.py": "tests/security/test_no_internal_error.py",
    # Behaviour only real processes, sockets or a hostile repository show.
    "reconciler/applier/lock.py": "tests/reliability/test_apply_lock.py",
    "reconciler/interrupts.py": "tests/reliability/test_sigterm_during_reads.py",
    "reconciler/api/bounds.py": "tests/reliability/test_no_hang.py",
    "reconciler/manifests/templates.py": "tests/security/test_template_files.py",
    # A run's git base: the resolving, labelling and reading of released targets happen only
    # in a run against a server, so its suite is the end-to-end one (issue 18).
    "reconciler/baseline.py": "tests/e2e/test_changed_since_e2e.py",
    # Parts of a mirrored module's work, tested through it.
    "reconciler/changes.py": "tests/test_planner.py",
    "reconciler/desired.py": "tests/test_planner.py",
    "reconciler/applier/outcomes.py": "tests/applier/test_execute.py",
    "reconciler/api/stats.py": "tests/api/test_endpoints.py",
    "reconciler/manifests/reasons.py": "tests/manifests/test_load.py",
    "reconciler/manifests/schema.py": "tests/manifests/test_load.py",
    "reconciler/manifests/paths.py": "tests/cli/test_validate.py",
    "reconciler/render/wording.py": "tests/render/test_text.py",
    "reconciler/sandbox/envelope.py": "tests/sandbox/test_app.py",
    "reconciler/sandbox/gateway.py": "tests/sandbox/test_faults.py",
    "reconciler/sandbox/models.py": "tests/sandbox/test_upsert.py",
    "reconciler/sandbox/tables.py": "tests/sandbox/test_store.py",
}


def code_lines(path: Path) -> int:
    """Lines holding code, not counting docstrings, comments, blank lines or imports."""
    source = path.read_text(encoding="utf-8")
    skipped: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            skipped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            first = body[0]
            if isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                skipped.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    layout = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in layout | {tokenize.ENDMARKER}:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - skipped)


def only_reexports(path: Path) -> bool:
    """A package ``__init__`` (or ``__main__``) that defines nothing but lazy re-exports."""
    functions = {
        node.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    return path.name in ("__init__.py", "__main__.py") and functions <= {"__getattr__", "__dir__"}


def mirror(module: Path) -> Path | None:
    """``reconciler/a/b.py`` -> ``tests/a/test_b.py``; a package ``__init__`` has no mirror."""
    relative = module.relative_to(PACKAGE)
    if module.name in ("__init__.py", "__main__.py"):
        return None
    return TESTS / relative.parent / f"test_{module.stem}.py"


def modules_with_logic() -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if code_lines(path) > LOGIC_LINES and not only_reexports(path)
    )


def test_every_module_with_logic_has_a_mirrored_test_module_or_a_named_suite() -> None:
    missing = [
        f"{name}: add {mirror_path.relative_to(ROOT) if mirror_path else 'an entry'}"
        for name in modules_with_logic()
        if name not in COVERED_ELSEWHERE
        and ((mirror_path := mirror(ROOT / name)) is None or not mirror_path.is_file())
    ]
    assert missing == [], "modules without tests (or a COVERED_ELSEWHERE entry):\n" + "\n".join(
        missing
    )


def test_every_allowlisted_module_needs_its_entry_and_names_a_suite_that_exists() -> None:
    logic = set(modules_with_logic())
    stale = []
    for name, suite in COVERED_ELSEWHERE.items():
        mirror_path = mirror(ROOT / name)
        if name not in logic:
            stale.append(f"{name}: no such module with logic; drop the entry")
        elif mirror_path is not None and mirror_path.is_file():
            stale.append(f"{name}: {mirror_path.relative_to(ROOT)} exists; drop the entry")
        if not (ROOT / suite).is_file():
            stale.append(f"{name}: the suite {suite} does not exist")
    assert stale == []


def test_helpers_live_in_tests_support() -> None:
    """Besides tests, conftest.py files and __init__.py, a Python file under tests/ is support."""
    stray = [
        str(path.relative_to(ROOT))
        for path in TESTS.rglob("*.py")
        if not path.name.startswith("test_")
        and path.name not in ("conftest.py", "__init__.py")
        and TESTS / "support" not in path.parents
    ]
    assert stray == [], "move helpers to tests/support/"


def test_every_test_folder_is_a_package() -> None:
    """Test modules import as ``tests.<folder>.<name>``, so mirrored names never clash."""
    folders = {path.parent for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").is_file())
    assert missing == [], "add an empty __init__.py to each"


def test_the_line_count_skips_docstrings_comments_and_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Doc\nstring."""\n\nimport os\nfrom a import (\n    b,\n)\n\n'
        '# a comment\ndef f() -> None:\n    """Doc."""\n    x = [\n        1,\n    ]\n'
    )
    assert code_lines(module) == 4  # def, x = [, 1, ]
