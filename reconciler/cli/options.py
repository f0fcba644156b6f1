"""Options and arguments several commands share, and their checks and parsing (a Selection);
raises ``UsageError`` for bad values and prints nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

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
        "--select",
        metavar="K=V",
        help="A label, or name=metadata.name; all must match.",
        autocompletion=complete_selector,
    ),
]
TargetGroupOption = Annotated[
    str | None,
    typer.Option("--target-group", metavar="ID|NAME", help="Only this group (id or name)."),
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


def hoist_global_options(
    root: TyperGroup, argv: Sequence[str], *, completing: bool = False
) -> list[str]:
    """``argv`` with the root group's own options that follow a command moved in front of it,
    so that ``reconciler plan --env prod-eu -v`` reads as ``reconciler --env prod-eu -v plan``.

    Every command registered on the app, at any depth, gets this without a line of its own:
    the global options are whatever the root callback declares. A command's own option of the
    same name wins (it is left in place), values of a command's options are never mistaken
    for options, and nothing after ``--`` moves. A global option that needs a value and ends
    the line is a ``UsageError`` (it would take the command's name for its value), except
    while ``completing``, when its value is what is being completed.
    """
    args = list(argv)
    globals_ = _options_of(root)
    # Walk the leading options of the root group, then the command path (groups).
    index, command = _skip_options(args, 0, globals_), None
    group: object = root
    start = index
    while index < len(args) and isinstance(group, TyperGroup):
        command = group.commands.get(args[index])
        if command is None:
            return args
        group = command
        index += 1
        if isinstance(group, TyperGroup):
            index = _skip_options(args, index, _options_of(group))
    if command is None:
        return args
    own = _options_of(group)
    kept: list[str] = []
    hoisted: list[str] = []
    rest = args[index:]
    i = 0
    while i < len(rest):
        token = rest[i]
        if token == "--":  # noqa: S105 (the end of options, not a password)
            kept.extend(rest[i:])
            break
        name = token.split("=", 1)[0] if token.startswith("--") else token
        if name in own:
            takes = _takes_value(own[name]) and "=" not in token
            kept.extend(rest[i : i + 1 + takes])
            i += 1 + takes
        elif name in globals_:
            takes = _takes_value(globals_[name]) and "=" not in token
            if takes and i + 1 == len(rest) and not completing:
                raise UsageError(f"option '{name}' requires a value")
            hoisted.extend(rest[i : i + 1 + takes])
            i += 1 + takes
        elif _global_short_flags(token, globals_, own):
            hoisted.append(token)  # ``-vv``: flags of the root group only, combined
            i += 1
        else:
            kept.append(token)
            i += 1
    return args[:start] + hoisted + args[start:index] + kept


def _global_short_flags(
    token: str, globals_: dict[str, TyperOption], own: dict[str, TyperOption]
) -> bool:
    """``token`` is short flags combined (``-vv``), each a root group's flag, none the
    command's."""
    if len(token) < 3 or token[0] != "-" or token[1] == "-":
        return False
    flags = [f"-{letter}" for letter in token[1:]]
    return all(
        flag in globals_ and flag not in own and not _takes_value(globals_[flag]) for flag in flags
    )


def _options_of(command: object) -> dict[str, TyperOption]:
    params = getattr(command, "params", [])
    return {
        name: param
        for param in params
        if isinstance(param, TyperOption)
        for name in (*param.opts, *param.secondary_opts)
    }


def _takes_value(param: TyperOption) -> bool:
    return not param.is_flag and not param.count


def _skip_options(args: list[str], index: int, options: dict[str, TyperOption]) -> int:
    """The index of the first token at or after ``index`` that is not an option of
    ``options`` (or its value)."""
    while index < len(args) and args[index].startswith("-") and args[index] != "--":
        token = args[index]
        param = options.get(token.split("=", 1)[0] if token.startswith("--") else token)
        index += 1 + (param is not None and _takes_value(param) and "=" not in token)
    return index


# Metavars by type, for options and arguments that name none (typer would print ``<str>``,
# ``<list[str]>``, ``<int range>``).
_METAVARS = {str: "TEXT", int: "N", float: "NUMBER", Path: "PATH"}


class _PlainArgument(TyperArgument):
    """An argument shown by its metavar alone (``PATHS...``), without typer's type string."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        return None

    def _rich_display_name(self) -> str:
        return str(self.metavar) + ("..." if self.nargs != 1 else "")


def plain_help(command: object) -> None:
    """Give every option and argument of ``command`` (and of its subcommands) a plain metavar
    and mark options that may be given more than once as repeatable. Applied by the app's
    group to every command, so a new command needs nothing of its own."""
    if getattr(command, "_plain_help", False):
        return
    for param in getattr(command, "params", []):
        if not isinstance(param, TyperOption | TyperArgument):
            continue
        repeats = isinstance(param, TyperOption) and param.multiple
        if repeats and "repeatable" not in (param.help or "").lower():
            param.help = f"{(param.help or '').rstrip('.')} (repeatable)."
        if param.metavar is not None:
            continue
        annotation = param.type_descriptor.annotation
        item = next(iter(getattr(annotation, "__args__", ())), annotation)
        if annotation is bool:
            continue
        if isinstance(param, TyperArgument):
            param.metavar = (param.name or "ARG").upper()
            param.__class__ = _PlainArgument
            continue
        param.metavar = _METAVARS.get(item, "VALUE") if isinstance(item, type) else "VALUE"
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    setattr(command, "_plain_help", True)  # noqa: B010 (a marker on typer's object)
