"""Options and arguments several commands share, and their checks and parsing (a Selection);
raises ``UsageError`` for bad values and prints nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.live import Selection

FormatOption = Annotated[
    str, typer.Option("--format", help="text | json | markdown", metavar="FORMAT")
]
PathsArgument = Annotated[list[str] | None, typer.Argument(help="Manifest files or directories.")]
SelectOption = Annotated[
    list[str] | None, typer.Option("--select", help="k=v: labels, or name=metadata.name.")
]
TargetGroupOption = Annotated[
    str | None, typer.Option("--target-group", help="Only this group (id or name).")
]
RateLimitOption = Annotated[
    float | None,
    typer.Option(
        "--rate-limit",
        min=1,
        max=1_000_000_000,
        help="Requests per minute, instead of rateLimit (which --shard K/N divides by N).",
    ),
]
PLAN_FORMATS = ("text", "json", "markdown")


def check_rate_limit(value: float | None) -> None:
    if value is not None and value != value:  # NaN passes click's range check
        raise UsageError("--rate-limit must be a number of requests per minute, at least 1")


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not {value!r}")


def selection(
    paths: list[str] | None,
    select: list[str] | None,
    target_group: str | None,
    shard: str | None,
) -> Selection:
    """What a plan, drift or apply covers; bad selectors are usage errors before any work."""
    from reconciler.live import Selection
    from reconciler.selection import parse_selectors, parse_shard

    parse_selectors(select or [])
    group: int | str | None = target_group
    if target_group is not None and target_group.isdigit():
        group = int(target_group)
    return Selection(
        paths=tuple(paths or ()),
        selectors=tuple(select or ()),
        target_group=group,
        shard=parse_shard(shard),
    )
