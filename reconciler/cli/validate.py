"""``reconciler validate`` (every manifest problem at once, offline) and ``reconciler schema``
(the manifest JSON Schema). Nothing here reaches the network.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated

import typer

from reconciler.cli.context import state
from reconciler.cli.options import check_choice
from reconciler.errors import ExitCode
from reconciler.redact import scrub


def validate(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Manifest files or directories.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text | json | github", metavar="FORMAT")
    ] = "text",
) -> int:
    """Check manifests offline and report every problem at once."""
    from reconciler.manifests import load_manifests

    check_choice("--format", fmt, ("text", "json", "github"))
    run = state(ctx)
    settings = run.settings(network=False)
    result = load_manifests(
        paths or list(settings.manifests), variables=settings.env.vars, root=settings.root
    )
    console = run.out
    # Messages are scrubbed one by one: the JSON and the annotations keep their shape.
    diagnostics = [replace(d, message=scrub(d.message)) for d in result.diagnostics]
    if fmt == "json":
        console.raw(json.dumps([d.to_json() for d in diagnostics], indent=2))
    elif fmt == "github":
        from reconciler.render.github import annotation_for

        for d in diagnostics:
            console.raw(annotation_for(d))
    else:
        for d in result.diagnostics:
            console.error(d.render())
    if result.diagnostics:
        if fmt == "text":
            n = len(result.diagnostics)
            console.info(f"{n} problem{'s' if n != 1 else ''} found")
        return ExitCode.FAILURE
    if fmt == "text":
        n, f = len(result.documents), len(result.files)
        console.print(f"ok: {n} document{'s' if n != 1 else ''} in {f} file{'s' if f != 1 else ''}")
    return ExitCode.OK


def schema(ctx: typer.Context) -> int:
    """Print the JSON Schema of a manifest document."""
    from reconciler.manifests.schema import json_schema

    state(ctx).out.write(json_schema())
    return ExitCode.OK
