"""``reconciler preview``: every communication rendered with sample data in one static page,
``DIR/index.html`` (docs/preview.md). Offline: reads manifests and configuration only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.context import state
from reconciler.cli.options import ChangedSinceOption
from reconciler.errors import ExitCode, OutputError

if TYPE_CHECKING:
    from reconciler.cli.context import RunContext
    from reconciler.config import Settings
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
    changed_since: ChangedSinceOption = None,
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
    head, base = list(result.documents), None
    if changed_since is not None:
        head, base = _changed(run, settings, paths or [], changed_since, head)
    return write_preview(run, head, base, options, out)


def _changed(
    run: RunContext,
    settings: Settings,
    paths: Sequence[str],
    ref: str,
    documents: list[LoadedDocument],
) -> tuple[list[LoadedDocument], list[LoadedDocument]]:
    """The documents changed since ``ref`` and their versions at ``ref`` (plus the documents
    deleted since, shown as removed): the page's before and after."""
    from reconciler.affected import changed_since

    diff = changed_since(settings, paths, ref, head=documents)
    if diff.full is not None:
        run.out.info(f"every document counts as changed: {diff.full}")
    head = [doc for doc in documents if diff.is_changed(doc)]
    base = [old for doc in head if (old := diff.base_of(doc)) is not None]
    return head, base + list(diff.released)


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
        _replace(target, page)
    except (OSError, ValueError) as exc:
        raise OutputError(f"--out {str(out)!r} cannot be written: {failure_reason(exc)}") from None
    run.out.print(totals.line())
    run.out.info(f"wrote {target}")
    return ExitCode.OK


def _replace(target: Path, text: str) -> None:
    """``text`` written to a new file of a random name beside ``target`` and renamed over it:
    a symlink at ``target`` (a checkout may hold one) is replaced, never written through."""
    import os
    import tempfile

    descriptor, scratch = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(scratch, 0o666 & ~umask)  # as a file created there would be
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
