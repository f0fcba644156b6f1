"""``reconciler preview``: every communication rendered with sample data in one static page,
``DIR/index.html`` (docs/preview.md). Offline: reads manifests and configuration only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.context import state
from reconciler.errors import ExitCode, OutputError

if TYPE_CHECKING:
    from reconciler.cli.context import RunContext
    from reconciler.manifests import LoadedDocument
    from reconciler.preview.page import PreviewOptions

PAGE = "index.html"


def preview(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write index.html into.", metavar="DIR")
    ],
    paths: Annotated[
        list[str] | None, typer.Argument(help="Manifest files or directories.")
    ] = None,
    sample: Annotated[
        str | None,
        typer.Option(
            "--sample",
            help="Sample profile from reconciler.yaml, 'worst-case', or a YAML file of values.",
            metavar="NAME|FILE",
        ),
    ] = None,
) -> int:
    """Render every communication with sample data into DIR/index.html.

    SMS bubbles with their segments, email cards (body sandboxed, remote images not loaded),
    push notifications as lock screens cut them; no network, nothing fetched by the page.
    """
    from reconciler.cli.lint import show_diagnostics
    from reconciler.manifests import load_manifests
    from reconciler.preview.page import PreviewOptions
    from reconciler.preview.samples import choose

    run = state(ctx)
    settings = run.settings(network=False)
    env = settings.env
    chosen = choose(sample, env.samples, tuple(env.tags))
    result = load_manifests(
        paths or list(settings.manifests), variables=env.vars, root=settings.root
    )
    if not result.ok:
        return show_diagnostics(run.out, result.diagnostics, "text", result)
    options = PreviewOptions.of(settings.environment, env, chosen)
    return write_preview(run, result.documents, None, options, out)


def write_preview(
    run: RunContext,
    head: Sequence[LoadedDocument],
    base: Sequence[LoadedDocument] | None,
    options: PreviewOptions,
    out: Path,
) -> int:
    """Build the page of ``head`` (before/after against ``base`` when given: the documents at
    ``--changed-since REF``) and write ``out/index.html``; print what it holds."""
    from reconciler.outputs import failure_reason
    from reconciler.preview.page import build_page

    page, totals = build_page(head, base, options=options)
    target = out / PAGE
    try:
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise OutputError(f"--out {str(out)!r} cannot be written: {failure_reason(exc)}") from None
    run.out.print(totals.line())
    run.out.info(f"wrote {target}")
    return ExitCode.OK
