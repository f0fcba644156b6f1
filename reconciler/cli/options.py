"""Options and arguments several commands share, and their checks and parsing (a Selection);
raises ``UsageError`` for bad values and prints nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.live import Selection

FormatOption = Annotated[
    str, typer.Option("--format", help="text | json | markdown", metavar="FORMAT")
]
PathsArgument = Annotated[list[str] | None, typer.Argument(help="Manifest files or directories.")]


def complete_environment(ctx: typer.Context, incomplete: str) -> list[str]:
    """``--env``: the environments of the configuration named so far (or found)."""
    from reconciler.completion import environments

    return environments(_global(ctx, "config"), incomplete)


def complete_selector(ctx: typer.Context, incomplete: str) -> list[str]:
    """``--select``: the labels and names of the manifests."""
    from reconciler.completion import selectors

    return selectors(_global(ctx, "config"), _global(ctx, "env"), incomplete)


def _global(ctx: typer.Context, name: str) -> Any:
    """A global option given before the command, as far as the command line was parsed."""
    node: typer.Context | None = ctx
    while node is not None:
        if node.params.get(name) is not None:
            return node.params[name]
        node = node.parent  # type: ignore[assignment]
    return None


SelectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--select", help="k=v: labels, or name=metadata.name.", autocompletion=complete_selector
    ),
]
TargetGroupOption = Annotated[
    str | None, typer.Option("--target-group", help="Only this group (id or name).")
]
ChangedSinceOption = Annotated[
    str | None,
    typer.Option(
        "--changed-since",
        metavar="REF",
        help="Plan only the targets whose manifests changed since this git ref.",
    ),
]
BaseOption = Annotated[
    str | None,
    typer.Option(
        "--base", metavar="REF", help="Label each change against this git ref (full plan)."
    ),
]
PLAN_FORMATS = ("text", "json", "markdown")


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def selection(
    paths: list[str] | None,
    select: list[str] | None,
    target_group: str | None,
    shard: str | None,
    *,
    changed_since: str | None = None,
    base: str | None = None,
) -> Selection:
    """What a plan, drift or apply covers; bad selectors are usage errors before any work."""
    from reconciler.live import Selection
    from reconciler.selection import parse_selectors, parse_shard

    parse_selectors(select or [])
    if changed_since is not None and base is not None:
        raise UsageError("give --changed-since or --base, not both")
    group: int | str | None = target_group
    if target_group is not None and target_group.isdigit():
        group = int(target_group)
    return Selection(
        paths=tuple(paths or ()),
        selectors=tuple(select or ()),
        target_group=group,
        shard=parse_shard(shard),
        changed_since=changed_since,
        base=base,
    )
