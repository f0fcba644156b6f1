"""``reconciler export``: write manifests from live state so that the next plan shows no change.
Building the files is ``export``'s; this module reads the options and reports what was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.context import state
from reconciler.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from reconciler.config import Settings
    from reconciler.console import Console
    from reconciler.export import ExportedFile


def export(
    ctx: typer.Context,
    target_group: Annotated[
        list[str] | None,
        typer.Option("--target-group", metavar="ID|NAME", help="Group id or name (repeatable)."),
    ] = None,
    all_groups: Annotated[bool, typer.Option("--all", help="Every target group.")] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            metavar="DIR",
            help="Where to write.  [default: the manifests: directory of reconciler.yaml, "
            "else ./manifests]",
            show_default=False,
        ),
    ] = None,
    by_name: Annotated[
        bool, typer.Option("--by-name", help="Refer to groups, targets, channels by name.")
    ] = False,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Also export inactive communications.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Update existing files in place.")] = False,
) -> int:
    """Write manifests from live state; the next plan shows no change."""
    from reconciler.export import build_export, check_not_declared, write_files
    from reconciler.session import open_client

    if not all_groups and not target_group:
        raise UsageError("say what to export: --all or --target-group ID|NAME")
    run = state(ctx)
    settings = run.settings()
    if out_dir is None:
        out_dir = Path(settings.manifests[0])
    groups: list[int | str] = [int(g) if g.isdigit() else g for g in target_group or []]

    async def go() -> tuple[list[ExportedFile], list[str], list[str]]:
        async with open_client(settings) as client:
            return await build_export(
                client,
                groups=groups,
                all_groups=all_groups,
                out_dir=out_dir,
                by_name=by_name,
                include_inactive=include_inactive,
                root=settings.root,
                parallelism=settings.env.parallelism,
            )

    files, notes, errors = run.run_async(go())
    check_not_declared(files, settings.manifests, variables=settings.env.vars, root=settings.root)
    written = write_files(
        files, force=force, variables=settings.env.vars, ignore=settings.env.ignore
    )
    console = run.out
    for file in files:
        for warning in file.warnings:
            console.warn(f"{file.path}: {warning}")
    for note in notes:
        console.info(note)
    _unknown_tags(run.out, files, settings)
    console.print(
        f"exported {len(written)} manifest{'s' if len(written) != 1 else ''} to {out_dir}"
    )
    # A target that cannot be written never stops the others; it fails the run.
    for error in errors:
        console.error(error)
    return ExitCode.FAILURE if errors else ExitCode.OK


def _unknown_tags(console: Console, files: list[ExportedFile], settings: Settings) -> None:
    """Tell which tags the live templates use that lint does not know, as the ``tags:`` line
    that makes the exported manifests lint clean (docs/lint.md). Nothing is written to the
    configuration: it is the user's file."""
    from reconciler.lint.placeholders import known, tags_in

    used = set().union(*(tags_in(file.text) for file in files))
    unknown = sorted(tag for tag in used if not known(tag, settings.env.tags))
    if unknown:
        n = len(unknown)
        console.info(
            f"the live templates use {n} tag{'s' if n != 1 else ''} that lint does not know "
            f"({', '.join(unknown)}); add {'it' if n == 1 else 'them'} to "
            f"environments.{settings.environment}.tags in reconciler.yaml so that the exported "
            "manifests lint clean"
        )
