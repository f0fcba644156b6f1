"""``reconciler plan`` and ``reconciler drift``: read live state, plan it, show the plan (text,
JSON or markdown, and the GitHub step summary); they never write to the API.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.context import RunContext, state
from reconciler.cli.options import (
    PLAN_FORMATS,
    BaseOption,
    ChangedSinceOption,
    FormatOption,
    PathsArgument,
    RateLimitOption,
    SelectOption,
    TargetGroupOption,
    check_choice,
    check_rate_limit,
    selection,
)
from reconciler.errors import ExitCode

if TYPE_CHECKING:
    from reconciler.diagnostics import Diagnostic
    from reconciler.lint.engine import Located
    from reconciler.live import Selection
    from reconciler.plan import Plan

DRIFT_HELP = (
    "Report changes made outside git, with who made them and when; "
    f"exit {ExitCode.CHANGES} on drift."
)


def plan(
    ctx: typer.Context,
    paths: PathsArgument = None,
    select: SelectOption = None,
    target_group: TargetGroupOption = None,
    shard: Annotated[
        str | None, typer.Option("--shard", metavar="K/N", help="This job's share of the targets.")
    ] = None,
    rate_limit: RateLimitOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Save the plan as JSON.")
    ] = None,
    fmt: FormatOption = "text",
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help=f"Exit {ExitCode.CHANGES} when there are changes."
        ),
    ] = False,
    changed_since: ChangedSinceOption = None,
    base: BaseOption = None,
    fail_on_conflict: Annotated[
        bool,
        typer.Option(
            "--fail-on-conflict",
            help="Exit 1 when a change conflicts with a live edit (needs a git base).",
        ),
    ] = False,
) -> int:
    """Read live state and print what apply would change."""
    from reconciler.errors import OutputError, UsageError
    from reconciler.outputs import check_step_summary, check_writable, not_written
    from reconciler.render.wording import conflict_error

    check_choice("--format", fmt, PLAN_FORMATS)
    check_rate_limit(rate_limit)
    chosen = selection(paths, select, target_group, shard, changed_since=changed_since, base=base)
    if fail_on_conflict and changed_since is None and base is None:
        raise UsageError("--fail-on-conflict needs a git base: --changed-since REF or --base REF")
    if out is not None:
        check_writable(out, "--out")
    check_step_summary()
    run = state(ctx)
    warnings: list[Located] = []
    planned = _run_plan(run, chosen, warnings, rate_limit=rate_limit)
    if chosen.shard is not None and not planned.targets:
        run.out.info(f"shard {chosen.shard[0]}/{chosen.shard[1]} holds no targets")
    for _, warning in warnings:
        run.out.warn(warning.render())
    _show_plan(run, planned, fmt, drift=False, lint=_of_changes(planned, warnings))
    if out is not None:
        try:
            out.write_text(planned.to_json(), encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise OutputError(not_written("--out", out, exc)) from None
    if planned.unreadable:
        return ExitCode.FAILURE
    conflicts = planned.origins("conflict")
    if fail_on_conflict and conflicts:
        run.out.error(conflict_error(conflicts))
        return ExitCode.FAILURE
    return ExitCode.CHANGES if detailed_exitcode and planned.has_changes else ExitCode.OK


def drift(
    ctx: typer.Context,
    paths: PathsArgument = None,
    select: SelectOption = None,
    target_group: TargetGroupOption = None,
    fmt: FormatOption = "text",
    changed_since: ChangedSinceOption = None,
    base: BaseOption = None,
) -> int:
    # The help is DRIFT_HELP: it names the exit code from ExitCode.
    from reconciler.outputs import check_step_summary

    check_choice("--format", fmt, PLAN_FORMATS)
    chosen = selection(paths, select, target_group, None, changed_since=changed_since, base=base)
    check_step_summary()
    run = state(ctx)
    planned = _run_plan(run, chosen)
    _show_plan(run, planned, fmt, drift=True)
    if planned.unreadable:
        return ExitCode.FAILURE
    return ExitCode.CHANGES if planned.has_changes else ExitCode.OK


def _run_plan(
    run: RunContext,
    chosen: Selection,
    lint: list[Located] | None = None,
    *,
    rate_limit: float | None = None,
) -> Plan:
    from reconciler.live import make_run_plan
    from reconciler.session import open_client

    settings = run.settings()
    shards = chosen.shard[1] if chosen.shard else 1  # the key's budget is shared (issue 21)

    async def go() -> Plan:
        with run.out.progress(0, "reading") as bar:
            async with open_client(settings, rate_limit=rate_limit, shards=shards) as client:
                return await make_run_plan(
                    settings,
                    chosen,
                    client,
                    parallelism=settings.env.parallelism,
                    lint_warnings=lint,
                    on_progress=bar.update,
                )

    return run.run_async(go())


def _of_changes(planned: Plan, warnings: list[Located]) -> list[Diagnostic]:
    """The lint warnings of the communications the plan creates or updates."""
    changed = {c.source for c in planned.changes() if c.action in ("create", "update")}
    return [warning for source, warning in warnings if source in changed]


def _show_plan(
    run: RunContext, planned: Plan, fmt: str, *, drift: bool, lint: list[Diagnostic] | None = None
) -> None:
    from reconciler.render.jsondoc import render_json
    from reconciler.render.markdown import render_markdown
    from reconciler.render.text import render_text
    from reconciler.render.wording import unreadable_error
    from reconciler.report import append_step_summary

    console = run.out
    if fmt == "json":
        console.print(render_json(planned))
    elif fmt == "markdown":
        console.print(render_markdown(planned, drift=drift, lint=lint or ()))
    else:
        console.print(render_text(planned, color=console.color, drift=drift))
    if os.environ.get("GITHUB_STEP_SUMMARY"):  # only then: rendering is not free at scale
        try:
            append_step_summary(render_markdown(planned, drift=drift, lint=lint or ()))
        except (OSError, ValueError) as exc:  # checked at the start; it went away since
            from reconciler.outputs import STEP_SUMMARY, not_written

            console.warn(not_written(STEP_SUMMARY, os.environ["GITHUB_STEP_SUMMARY"], exc))
    for target in planned.unreadable:
        console.error(unreadable_error(target))
