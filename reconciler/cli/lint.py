"""``reconciler lint``: message quality of the manifests (SMS encoding and segments, senders,
subjects, placeholders), offline, and ``--fix`` for what can be fixed in place. Also the
printing of diagnostics that ``validate`` shares.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.context import state
from reconciler.cli.options import check_choice
from reconciler.errors import ExitCode
from reconciler.redact import scrub

if TYPE_CHECKING:
    from reconciler.config import Settings
    from reconciler.console import Console
    from reconciler.diagnostics import Diagnostic
    from reconciler.manifests import LoadResult


def lint(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Manifest files or directories.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text | json | github", metavar="FORMAT")
    ] = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Warnings are errors.")] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Replace characters that make an SMS UCS-2, in place.")
    ] = False,
) -> int:
    """Check the messages customers will receive, offline.

    SMS encoding and segments, senders, subjects, HTML, push length and placeholders; each
    problem with its position, rule id and fix (docs/lint.md).
    """
    from reconciler.lint.engine import LintOptions, lint_documents

    check_choice("--format", fmt, ("text", "json", "github"))
    run = state(ctx)
    settings = run.settings(network=False)
    options = LintOptions.of(settings.env, strict=strict)
    chosen = paths or list(settings.manifests)
    result = _load(chosen, settings)
    if result.ok and fix:
        from reconciler.lint.fix import fix_documents

        report = fix_documents(result.documents, options)
        for reason in report.skipped:
            run.out.warn(reason)
        if report.files:
            n = len(report.files)
            run.out.info(
                f"fixed {report.characters} character{'s' if report.characters != 1 else ''} "
                f"in {n} file{'s' if n != 1 else ''}: {', '.join(report.files)}"
            )
            result = _load(chosen, settings)
    diagnostics = result.diagnostics
    if result.ok:
        diagnostics = lint_documents(result.documents, options)
    return show_diagnostics(run.out, diagnostics, fmt, result)


def _load(paths: Sequence[str], settings: Settings) -> LoadResult:
    from reconciler.manifests import load_manifests

    return load_manifests(
        paths, variables=settings.env.vars, root=settings.root, ignore=settings.env.ignore
    )


def show_diagnostics(
    console: Console, diagnostics: Sequence[Diagnostic], fmt: str, result: LoadResult
) -> int:
    """Print ``diagnostics`` in ``fmt`` (errors and warnings, then a count or ``ok:``) and
    return the exit code: FAILURE when one of them is an error."""
    from reconciler.lint.engine import counts

    if fmt == "json":
        # Messages are scrubbed one by one: the JSON and the annotations keep their shape.
        scrubbed = [replace(d, message=scrub(d.message)) for d in diagnostics]
        console.raw(json.dumps([d.to_json() for d in scrubbed], indent=2))
    elif fmt == "github":
        from reconciler.render.github import annotation_for

        for d in diagnostics:
            console.raw(annotation_for(replace(d, message=scrub(d.message))))
    else:
        for d in diagnostics:
            (console.error if d.is_error else console.warn)(d.render())
    errors, warnings = counts(diagnostics)
    from reconciler.render.wording import plural

    if errors:
        if fmt == "text" and warnings:
            console.info(f"{plural(errors, 'error')} and {plural(warnings, 'warning')} found")
        elif fmt == "text":
            console.info(f"{errors} problem{'s' if errors != 1 else ''} found")
        return ExitCode.FAILURE
    if fmt == "text":
        also = f" ({plural(warnings, 'warning')})" if warnings else ""
        n, f = len(result.documents), len(result.files)
        console.print(
            f"ok: {n} document{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''}{also}"
        )
    return ExitCode.OK
