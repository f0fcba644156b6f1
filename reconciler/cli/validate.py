"""``reconciler validate`` (every manifest problem at once, offline) and ``reconciler schema``
(the manifest JSON Schema). Nothing here reaches the network.
"""

from __future__ import annotations

from typing import Annotated

import typer

from reconciler.cli.context import state
from reconciler.cli.options import check_choice
from reconciler.errors import ExitCode


def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Manifest files or directories.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text | json | github", metavar="FORMAT")
    ] = "text",
    no_lint: Annotated[
        bool, typer.Option("--no-lint", help="Skip the message checks of reconciler lint.")
    ] = False,
) -> int:
    """Check manifests offline and report every problem at once."""
    from reconciler.cli.lint import show_diagnostics
    from reconciler.manifests import load_manifests

    check_choice("--format", fmt, ("text", "json", "github"))
    run = state(ctx)
    settings = run.settings(network=False)
    result = load_manifests(
        paths or list(settings.manifests),
        variables=settings.env.vars,
        root=settings.root,
        ignore=settings.env.ignore,
    )
    diagnostics = result.diagnostics
    # Lint reads valid documents: once the manifests pass, their messages are checked.
    if result.ok and not no_lint:
        from reconciler.lint.engine import LintOptions, lint_documents

        diagnostics = lint_documents(result.documents, LintOptions.of(settings.env))
    return show_diagnostics(run.out, diagnostics, fmt, result)


def schema(ctx: typer.Context) -> int:
    """Print the JSON Schema of a manifest document."""
    from reconciler.manifests.schema import json_schema

    state(ctx).out.write(json_schema())
    return ExitCode.OK
